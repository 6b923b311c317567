//! Which commits must be signed, and by whom (docs/domain.md, "Signed acts"): a rule over the
//! whole commit, checked once its events passed their own rules ([`check`]), and the same rule
//! audited over a partnership's stored commits ([`audit`], what `accord verify` runs).

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
    } else if !verifies(key, &p.message, &p.signature.sig) {
        errors.push(FieldError::new(
            "signature.sig",
            format!(
                "is not {org}'s signature (key {id}) of these events, this partnership and this idempotency key: the ledger checked the JCS text whose SHA-256 is {}",
                hex::encode(sha2::Sha256::digest(&p.message))
            ),
        ));
    }
}

/// What [`audit`] found of a partnership's signatures.
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

/// One commit of a partnership as stored, for [`audit`].
#[derive(Debug, Clone, Copy)]
pub struct StoredCommitRef<'a> {
    pub position: u64,
    /// The events as stored (personal values as digests), as the signature covers them.
    pub events: &'a [Event],
    pub signed: Option<&'a Signed>,
}

/// Checks a partnership's commits, in order, as `decide` checked them when they were recorded:
/// from its key's registration on, every commit of an org is signed with its current key (an
/// erasure, the ledger's own record, aside). The signatures are verified in one batch; only
/// when the batch fails is each checked alone to name the bad ones.
pub fn audit<'a>(
    partnership_id: &PartnershipId,
    commits: impl IntoIterator<Item = StoredCommitRef<'a>>,
) -> SignatureAudit {
    let mut keys: BTreeMap<OrgId, PublicKey> = BTreeMap::new();
    let mut report = SignatureAudit::default();
    // (position, key, message, signature) of each signature to verify.
    let mut pending: Vec<(u64, PublicKey, Vec<u8>, SignatureBytes)> = Vec::new();
    for c in commits {
        let erasure = c
            .events
            .iter()
            .all(|e| matches!(e.payload, Payload::PersonalDataErased(_)));
        let registered = c.events.iter().find_map(|e| match &e.payload {
            Payload::OrgKeyRegistered(k) => Some((k.org.clone(), k.public_key)),
            _ => None,
        });
        let acting: BTreeSet<&OrgId> = c.events.iter().map(|e| &e.actor.org).collect();
        let must_sign =
            !erasure && (registered.is_some() || acting.iter().any(|org| keys.contains_key(*org)));
        match c.signed {
            None if must_sign => report.unsigned.push(c.position),
            None => {}
            Some(s) => {
                let org = &s.signature.org;
                let key = keys.get(org).copied().or(registered
                    .as_ref()
                    .filter(|(o, _)| o == org)
                    .map(|(_, k)| *k));
                match key {
                    Some(key)
                        if acting.len() == 1
                            && acting.contains(org)
                            && KeyId::of(&key.0) == s.signature.key_id =>
                    {
                        let message =
                            message_of_stored(partnership_id, &s.idempotency_key, c.events);
                        pending.push((c.position, key, message, s.signature.sig));
                    }
                    _ => report.badly_signed.push(c.position),
                }
            }
        }
        if let Some((org, key)) = registered {
            keys.insert(org, key);
        }
    }
    let items: Vec<(&PublicKey, &[u8], &SignatureBytes)> = pending
        .iter()
        .map(|(_, k, m, s)| (k, m.as_slice(), s))
        .collect();
    if all_verify(&items) {
        report.signed = pending.len();
    } else {
        for (position, key, message, sig) in &pending {
            if verifies(key, message, sig) {
                report.signed += 1;
            } else {
                report.badly_signed.push(*position);
            }
        }
        report.badly_signed.sort_unstable();
    }
    report
}
