//! Whatever bytes a store or a stream hands over, decoding answers with a `DecodeError` naming
//! the field, never a panic: arbitrary bytes, and real commits of arbitrary histories with
//! bytes changed.

use std::collections::HashMap;

use accord_domain::arbitrary::{record, step};
use accord_domain::personal::{Digest, Disclosure, seal};
use accord_domain::signing::{Base64, CommitSignature, KeyId, Signed};
use accord_domain::{Commit, CommitId, Hash, PartnershipId};
use proptest::prelude::*;
use time::macros::datetime;

use crate::SealedCommit;

/// Every way a stored commit is read.
fn decode_all(bytes: &[u8]) {
    let read = |sealed: &SealedCommit| {
        if let Ok(mut c) = sealed.read() {
            let _ = c.digests();
            let _ = c.join(&HashMap::<Digest, Disclosure>::new());
        }
    };
    if let Ok(sealed) = SealedCommit::decode(bytes) {
        let _ = sealed.head();
        read(&sealed);
    }
    let as_body = SealedCommit {
        body: bytes.to_vec(),
        hash: Hash([0; 32]),
    };
    let _ = as_body.head();
    read(&as_body);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        decode_all(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// A recorded commit's events give the fingerprint of the request that recorded them,
    /// whatever ids, partnership and time the ledger gave them; another request differs.
    #[test]
    fn a_commit_has_its_requests_fingerprint(steps in proptest::collection::vec(step(), 0..20)) {
        let events = record(&steps);
        let p = PartnershipId::parse("acme-stmary").expect("a slug");
        let inputs: Vec<_> = events
            .iter()
            .map(|e| accord_domain::EventInput {
                occurred_at: e.occurred_at,
                actor: e.actor.clone(),
                note: e.note.clone(),
                causation_id: e.causation_id.clone(),
                correlation_id: e.correlation_id.clone(),
                payload: e.payload.clone(),
            })
            .collect();
        prop_assert_eq!(crate::request_fingerprint(&p, &inputs), crate::events_fingerprint(&events));
        if inputs.len() > 1 {
            prop_assert_ne!(
                crate::request_fingerprint(&p, &inputs[1..]),
                crate::events_fingerprint(&events)
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn changed_commits_never_panic(
        steps in proptest::collection::vec(step(), 0..20),
        changes in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let events = record(&steps);
        let mut n = 0u8;
        let stored = seal(events.clone(), &mut || { n = n.wrapping_add(1); [n; 16] });
        let commit = Commit {
            commit_id: CommitId::from_uuid(accord_domain::ids::Uuid::from_u128(7)),
            partnership_id: PartnershipId::parse("acme-stmary").expect("a slug"),
            prev_hash: Hash([1; 32]),
            recorded_at: datetime!(2026-01-01 00:00 UTC),
            events: stored.events,
            // Kept as it is: the signature's bytes are not checked here, only carried.
            signed: (cut % 2 == 0).then(|| Signed {
                signature: CommitSignature {
                    org: accord_domain::OrgId::parse("acme").expect("a slug"),
                    key_id: KeyId([9; 8]),
                    sig: Base64([n; 64]),
                },
                idempotency_key: "key-1".into(),
            }),
        };
        let disclosures: HashMap<Digest, Disclosure> =
            stored.disclosures.into_iter().map(|d| (d.digest(), d)).collect();
        let sealed = SealedCommit::seal(&commit);
        let mut read = sealed.read().expect("a sealed commit decodes");
        prop_assert_eq!(read.digests().expect("digests").len(), disclosures.len());
        prop_assert_eq!(read.join(&disclosures), Commit { events, ..commit });
        let mut bytes = sealed.encode();
        for (at, value) in changes {
            let len = bytes.len();
            bytes[at % len] = value;
        }
        decode_all(&bytes);
        decode_all(&bytes[..cut % (bytes.len() + 1)]);
        let mut body = sealed.body.clone();
        let len = body.len();
        body[cut % len] ^= 0xff;
        decode_all(&body);
    }
}

/// A commit whose events a newer accord wrote is refused by name, never read as if current.
#[test]
fn an_event_of_a_newer_schema_version_is_refused_naming_it() {
    let events = record(&[]);
    let mut newer = events[0].clone();
    newer.schema_version = accord_domain::SCHEMA_VERSION + 1;
    let commit = Commit {
        commit_id: CommitId::from_uuid(accord_domain::ids::Uuid::from_u128(7)),
        partnership_id: newer.partnership_id.clone(),
        prev_hash: Hash::GENESIS,
        recorded_at: newer.recorded_at,
        events: vec![events[0].clone(), newer],
        signed: None,
    };
    let e = SealedCommit::seal(&commit)
        .read()
        .expect_err("a newer version");
    assert_eq!(e.field, "events[1].schema_version");
    assert!(e.message.contains("newer than this accord knows"), "{e}");
}
