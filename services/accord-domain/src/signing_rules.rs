//! Which commits must be signed, and by whom (docs/domain.md, "Signed acts"): a rule over the
//! whole commit, checked once its events passed their own rules.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::FieldError;
use crate::event::{Event, Payload};
use crate::ids::OrgId;
use crate::signing::{KeyId, Presented, PublicKey, verifies};

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
            format!("is not {org}'s signature (key {id}) of these events, this partnership and this idempotency key"),
        ));
    }
}
