//! Which commits must be signed, and by whom (docs/domain.md, "Signed acts"): a rule over the
//! whole commit, checked once its events passed their own rules ([`check`]), and the same rule
//! audited over a partnership's stored commits ([`Auditor`], what `accord verify` runs).

use std::collections::{BTreeMap, BTreeSet};

use sha2::Digest as _;

use crate::error::FieldError;
use crate::event::{Event, Payload};
use crate::ids::{OrgId, PartnershipId};
use crate::signing::{
    KeyId, Presented, PublicKey, SignatureBytes, Signed, all_verify, message_of_stored, verifies,
};

/// Checks the commit's signature against the keys registered before it (`keys`): an org with a
/// key, or registering one, signs the commit, and acts alone in it; a first key signs its own
/// registration, a later one is registered under the key before it.
pub(crate) fn check(
    keys: &BTreeMap<OrgId, PublicKey>,
    events: &[Event],
    presented: Option<&Presented>,
    errors: &mut Vec<FieldError>,
) {
    let acting: BTreeSet<&OrgId> = events.iter().map(|e| &e.actor.org).collect();
    let registered: Vec<(usize, &PublicKey)> = events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match &e.payload {
            Payload::OrgKeyRegistered(k) => Some((i, &k.public_key)),
            _ => None,
        })
        .collect();
    let signing: Vec<&OrgId> = acting
        .iter()
        .copied()
        .filter(|org| keys.contains_key(*org) || !registered.is_empty())
        .collect();
    if registered.len() > 1 {
        let (i, _) = registered[1];
        errors.push(FieldError::new(
            format!("events[{i}].type"),
            "a commit registers one key at most",
        ));
        return;
    }
    let Some(&org) = signing.first() else {
        if let Some(p) = presented {
            errors.push(FieldError::new(
                "signature.org",
                format!(
                    "{} has registered no key in this partnership: register one (org_key_registered) in a commit it signs with it",
                    p.signature.org
                ),
            ));
        }
        return;
    };
    if acting.len() > 1 {
        errors.push(FieldError::new(
            "events",
            format!("{org} signs its acts in this partnership, so a commit acting for it acts for it alone"),
        ));
        return;
    }
    // The key that must have signed: the current one, or, for a first key, the key itself.
    let Some(key) = keys.get(org).or(registered.first().map(|(_, k)| *k)) else {
        return;
    };
    let id = KeyId::of(&key.0);
    let Some(p) = presented else {
        errors.push(FieldError::new(
            "signature",
            format!("{org} signs its acts in this partnership (key {id}): the commit must carry its signature"),
        ));
        return;
    };
    if p.signature.org != *org {
        errors.push(FieldError::new(
            "signature.org",
            format!("the commit acts for {org}, not {}", p.signature.org),
        ));
    } else if p.signature.key_id != id {
        errors.push(FieldError::new(
            "signature.key_id",
            format!("{org}'s key here is {id}, not {}", p.signature.key_id),
        ));
    } else if p.verified_with.as_ref() != Some(key) && !verifies(key, &p.message, &p.signature.sig)
    {
        errors.push(FieldError::new(
            "signature.sig",
            format!(
                "is not {org}'s signature (key {id}) of these events, this partnership and this idempotency key: the ledger checked the JCS text whose SHA-256 is {}",
                hex::encode(sha2::Sha256::digest(&p.message))
            ),
        ));
    }
}

/// What an [`Auditor`] found of a partnership's signatures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureAudit {
    /// Commits whose signature holds.
    pub signed: usize,
    /// Positions of commits of an org with a key that carry no signature.
    pub unsigned: Vec<u64>,
    /// Positions of commits whose signature does not hold (another key, another org, bytes
    /// that are not its signature of these events).
    pub badly_signed: Vec<u64>,
}

impl SignatureAudit {
    pub fn holds(&self) -> bool {
        self.unsigned.is_empty() && self.badly_signed.is_empty()
    }
}

/// One commit of a partnership as stored, for an [`Auditor`].
#[derive(Debug, Clone, Copy)]
pub struct StoredCommitRef<'a> {
    pub position: u64,
    /// The events as stored (personal values as digests), as the signature covers them.
    pub events: &'a [Event],
    pub signed: Option<&'a Signed>,
}

/// A signature to verify: whose key, over which commit.
#[derive(Debug, Clone)]
pub struct ToVerify {
    pub partnership_id: PartnershipId,
    pub position: u64,
    pub key: PublicKey,
    pub sig: SignatureBytes,
    pub idempotency_key: String,
    pub events: Vec<Event>,
}

/// Audits one partnership's commits in order, as `decide` checked them when they were
/// recorded: from its key's registration on, every commit of an org is signed with its current
/// key (an erasure, the ledger's own record, aside). What it cannot tell alone, whether a
/// signature holds, it hands back as a [`ToVerify`], for [`verify_all`] to check with many.
#[derive(Debug, Default)]
pub struct Auditor {
    keys: BTreeMap<OrgId, PublicKey>,
    report: SignatureAudit,
}

impl Auditor {
    /// Notes the partnership's next commit; gives its signature to verify, if it has one that
    /// may hold.
    pub fn note(
        &mut self,
        partnership_id: &PartnershipId,
        c: StoredCommitRef<'_>,
    ) -> Option<ToVerify> {
        let erasure = c
            .events
            .iter()
            .all(|e| matches!(e.payload, Payload::PersonalDataErased(_)));
        let registered = c.events.iter().find_map(|e| match &e.payload {
            Payload::OrgKeyRegistered(k) => Some((k.org.clone(), k.public_key)),
            _ => None,
        });
        let acting: BTreeSet<&OrgId> = c.events.iter().map(|e| &e.actor.org).collect();
        let must_sign = !erasure
            && (registered.is_some() || acting.iter().any(|org| self.keys.contains_key(*org)));
        let pending = match c.signed {
            None => {
                if must_sign {
                    self.report.unsigned.push(c.position);
                }
                None
            }
            Some(s) => {
                let org = &s.signature.org;
                let key = self.keys.get(org).copied().or(registered
                    .as_ref()
                    .filter(|(o, _)| o == org)
                    .map(|(_, k)| *k));
                match key {
                    Some(key)
                        if acting.len() == 1
                            && acting.contains(org)
                            && KeyId::of(&key.0) == s.signature.key_id =>
                    {
                        Some(ToVerify {
                            partnership_id: partnership_id.clone(),
                            position: c.position,
                            key,
                            sig: s.signature.sig,
                            idempotency_key: s.idempotency_key.clone(),
                            events: c.events.to_vec(),
                        })
                    }
                    _ => {
                        self.report.badly_signed.push(c.position);
                        None
                    }
                }
            }
        };
        if let Some((org, key)) = registered {
            self.keys.insert(org, key);
        }
        pending
    }

    /// The audit, once [`verify_all`] said which of its signatures hold.
    pub fn finish(mut self, verified: impl IntoIterator<Item = (u64, bool)>) -> SignatureAudit {
        for (position, holds) in verified {
            if holds {
                self.report.signed += 1;
            } else {
                self.report.badly_signed.push(position);
            }
        }
        self.report.badly_signed.sort_unstable();
        self.report
    }
}

/// Verifies signatures together (ed25519 batch verification over the JCS messages); only when
/// the batch fails is each checked alone, to name the bad ones. Gives each position and whether
/// its signature holds.
pub fn verify_all(items: &[ToVerify]) -> Vec<(u64, bool)> {
    let messages: Vec<Vec<u8>> = items
        .iter()
        .map(|t| message_of_stored(&t.partnership_id, &t.idempotency_key, &t.events))
        .collect();
    let batch: Vec<(&PublicKey, &[u8], &SignatureBytes)> = items
        .iter()
        .zip(&messages)
        .map(|(t, m)| (&t.key, m.as_slice(), &t.sig))
        .collect();
    let all = all_verify(&batch);
    items
        .iter()
        .zip(&messages)
        .map(|(t, m)| (t.position, all || verifies(&t.key, m, &t.sig)))
        .collect()
}
