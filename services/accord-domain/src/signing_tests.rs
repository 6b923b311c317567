//! The signed message's form, and which commits `decide` takes signed, unsigned or not at all.

use ed25519_dalek::SigningKey;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use super::{
    Base64, CommitSignature, KeyId, Presented, PublicKey, SignatureBytes, all_verify, message,
    sign, verifies,
};
use crate::{
    Command, DomainError, EventId, EventInput, OrgId, Partnership, PartnershipId, Settings, decide,
    evolve,
};

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn public(k: &SigningKey) -> PublicKey {
    Base64(k.verifying_key().to_bytes())
}

fn pid() -> PartnershipId {
    PartnershipId::parse("acme-stmary").expect("slug")
}

fn input(v: Value) -> EventInput {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("bad test event {v}: {e}"))
}

fn ev(kind: &str, org: &str, data: Value) -> Value {
    json!({"type": kind, "occurred_at": "2026-05-01T09:00:00Z", "actor": {"org": org}, "data": data})
}

fn registration(org: &str, k: &SigningKey) -> Value {
    let public = public(k);
    ev(
        "org_key_registered",
        org,
        json!({"org": org, "key_id": KeyId::of(&public.0).to_string(), "public_key": public.to_string()}),
    )
}

fn follow_up(org: &str) -> Value {
    ev("follow_up_proposed", org, json!({"by_org": org}))
}

/// A commit of `events`, signed by an org with a key when given: over the commit's message
/// (idempotency key `key-1`), or over `over` instead.
struct Commit {
    events: Vec<Value>,
    signer: Option<(&'static str, SigningKey)>,
    over: Option<Vec<u8>>,
    /// The key the edge says it verified the signature with.
    verified_with: Option<PublicKey>,
}

fn unsigned(events: Vec<Value>) -> Commit {
    Commit {
        events,
        signer: None,
        over: None,
        verified_with: None,
    }
}

fn signed(org: &'static str, k: &SigningKey, events: Vec<Value>) -> Commit {
    Commit {
        events,
        signer: Some((org, k.clone())),
        over: None,
        verified_with: None,
    }
}

fn presented(org: &str, k: &SigningKey, inputs: &[EventInput], over: Option<&[u8]>) -> Presented {
    let message = message(&pid(), "key-1", inputs);
    Presented {
        signature: CommitSignature {
            org: OrgId::parse(org).expect("org"),
            key_id: KeyId::of(&public(k).0),
            sig: sign(k, over.unwrap_or(&message)),
        },
        message,
        verified_with: None,
    }
}

/// Records the proposal and its activation, then each commit; gives the first refusal.
fn run(commits: Vec<Commit>) -> Result<(), DomainError> {
    let settings = Settings::default();
    let mut state = Partnership::default();
    let opening = [
        ev(
            "partnership_proposed",
            "acme",
            json!({"parties": [
                {"org": "acme", "name": "Acme Health", "kind": "vendor"},
                {"org": "stmary", "name": "St Mary's", "kind": "health_system"}],
              "vision": "fewer readmissions", "rationale_tags": []}),
        ),
        ev(
            "partnership_status_changed",
            "stmary",
            json!({"status": "active", "reason": "signed"}),
        ),
    ];
    let mut n = 0u128;
    for commit in opening
        .into_iter()
        .map(|e| unsigned(vec![e]))
        .chain(commits)
    {
        let inputs: Vec<EventInput> = commit.events.into_iter().map(input).collect();
        let signed = commit.signer.map(|(org, k)| Presented {
            verified_with: commit.verified_with,
            ..presented(org, &k, &inputs, commit.over.as_deref())
        });
        let events = inputs
            .into_iter()
            .map(|i| {
                n += 1;
                (EventId::from_uuid(Uuid::from_u128(n)), i)
            })
            .collect();
        let command = Command::Record {
            partnership_id: pid(),
            recorded_at: NOW,
            events,
            signed,
        };
        let events = decide(&state, command, &settings)?;
        state = events.iter().fold(state, evolve);
    }
    Ok(())
}

#[track_caller]
fn refused(commits: Vec<Commit>, field: &str, says: &str) {
    match run(commits) {
        Err(DomainError::Validation(errors)) => assert!(
            errors
                .iter()
                .any(|e| e.field == field && e.message.contains(says)),
            "expected {field}: ...{says}..., got {errors:?}"
        ),
        other => panic!("expected a refusal of {field}, got {other:?}"),
    }
}

#[test]
fn the_message_is_the_jcs_form_of_the_stored_events_with_partnership_and_key() {
    let inputs = [input(
        json!({"type": "follow_up_proposed", "occurred_at": "2026-05-01T09:00:00Z",
        "actor": {"org": "acme", "person": "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"},
        "data": {"by_org": "acme"}}),
    )];
    let bytes = message(&pid(), "k-1", &inputs);
    assert_eq!(
        String::from_utf8(bytes).expect("utf-8"),
        concat!(
            r#"{"events":[{"actor":{"org":"acme","person":"47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"},"#,
            r#""data":{"by_org":"acme"},"occurred_at":"2026-05-01T09:00:00Z","type":"follow_up_proposed"}],"#,
            r#""idempotency_key":"k-1","partnership_id":"acme-stmary","type":"accord.commit.v1"}"#
        )
    );
}

#[test]
fn keys_ids_and_signatures_read_back_and_refuse_what_they_are_not() {
    let k = key(1);
    let p = public(&k);
    assert_eq!(p.to_string().parse::<PublicKey>(), Ok(p));
    let id = KeyId::of(&p.0);
    assert_eq!(id.to_string().len(), 16);
    assert_eq!(id.to_string().parse::<KeyId>(), Ok(id));
    assert!(
        "ABCDEF0123456789".parse::<KeyId>().is_err(),
        "lowercase only"
    );
    assert!("abc".parse::<KeyId>().is_err());
    assert!("AAAA".parse::<PublicKey>().is_err(), "3 bytes are no key");
    let sig = sign(&k, b"m");
    assert!(verifies(&p, b"m", &sig));
    assert!(!verifies(&p, b"n", &sig));
    assert!(!verifies(&public(&key(2)), b"m", &sig));
    assert_eq!(sig.to_string().parse::<SignatureBytes>(), Ok(sig));
}

#[test]
fn batch_verification_says_yes_only_when_every_signature_holds() {
    let keys: Vec<SigningKey> = (1..=5).map(key).collect();
    let publics: Vec<PublicKey> = keys.iter().map(public).collect();
    let messages: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 10]).collect();
    let sigs: Vec<SignatureBytes> = keys
        .iter()
        .zip(&messages)
        .map(|(k, m)| sign(k, m))
        .collect();
    let items = |sigs: &[SignatureBytes]| -> bool {
        let items: Vec<_> = publics
            .iter()
            .zip(&messages)
            .zip(sigs)
            .map(|((p, m), s)| (p, m.as_slice(), s))
            .collect();
        all_verify(&items)
    };
    assert!(items(&sigs));
    let mut bad = sigs.clone();
    bad.swap(0, 1);
    assert!(!items(&bad));
}

#[test]
fn an_org_registers_its_first_key_in_a_commit_that_key_signs() {
    let k = key(1);
    assert_eq!(
        run(vec![signed("acme", &k, vec![registration("acme", &k)])]),
        Ok(())
    );
    refused(
        vec![unsigned(vec![registration("acme", &k)])],
        "signature",
        "must carry its signature",
    );
    refused(
        vec![signed("acme", &key(2), vec![registration("acme", &k)])],
        "signature.key_id",
        "not",
    );
}

#[test]
fn once_registered_every_commit_of_the_org_is_signed_with_its_key() {
    let k = key(1);
    let register = || signed("acme", &k, vec![registration("acme", &k)]);
    assert_eq!(
        run(vec![
            register(),
            signed("acme", &k, vec![follow_up("acme")])
        ]),
        Ok(())
    );
    refused(
        vec![register(), unsigned(vec![follow_up("acme")])],
        "signature",
        "acme signs its acts in this partnership",
    );
    // The other party signs nothing until it registers a key of its own.
    assert_eq!(
        run(vec![register(), unsigned(vec![follow_up("stmary")])]),
        Ok(())
    );
    refused(
        vec![
            register(),
            signed("stmary", &key(3), vec![follow_up("stmary")]),
        ],
        "signature.org",
        "stmary has registered no key",
    );
    refused(
        vec![
            register(),
            unsigned(vec![follow_up("acme"), follow_up("stmary")]),
        ],
        "events",
        "acts for it alone",
    );
}

#[test]
fn a_signature_over_anything_else_is_refused() {
    let k = key(1);
    let register = || signed("acme", &k, vec![registration("acme", &k)]);
    let inputs = vec![input(follow_up("acme"))];
    let elsewhere = PartnershipId::parse("acme-globex").expect("slug");
    let other_events = vec![input(ev(
        "follow_up_proposed",
        "acme",
        json!({"by_org": "acme", "after_meeting_id": "m1"}),
    ))];
    for over in [
        message(&elsewhere, "key-1", &inputs),
        message(&pid(), "key-2", &inputs),
        message(&pid(), "key-1", &other_events),
    ] {
        let mut commit = signed("acme", &k, vec![follow_up("acme")]);
        commit.over = Some(over);
        refused(
            vec![register(), commit],
            "signature.sig",
            "is not acme's signature",
        );
    }
    refused(
        vec![register(), signed("acme", &key(2), vec![follow_up("acme")])],
        "signature.key_id",
        "acme's key here is",
    );
}

#[test]
fn a_later_key_is_registered_under_the_key_before_it() {
    let (old, new) = (key(1), key(2));
    let register = || signed("acme", &old, vec![registration("acme", &old)]);
    assert_eq!(
        run(vec![
            register(),
            signed("acme", &old, vec![registration("acme", &new)]),
            signed("acme", &new, vec![follow_up("acme")]),
        ]),
        Ok(())
    );
    refused(
        vec![
            register(),
            signed("acme", &new, vec![registration("acme", &new)]),
        ],
        "signature.key_id",
        "acme's key here is",
    );
    refused(
        vec![
            register(),
            signed("acme", &old, vec![registration("acme", &new)]),
            signed("acme", &old, vec![follow_up("acme")]),
        ],
        "signature.key_id",
        "acme's key here is",
    );
    refused(
        vec![
            register(),
            signed(
                "acme",
                &old,
                vec![registration("acme", &new), registration("acme", &key(3))],
            ),
        ],
        "events[1].type",
        "one key at most",
    );
}

#[test]
fn a_registration_names_its_own_org_and_the_id_of_its_key() {
    let k = key(1);
    let mut wrong_id = registration("acme", &k);
    wrong_id["data"]["key_id"] = json!("0000000000000000");
    refused(
        vec![signed("acme", &k, vec![wrong_id])],
        "events[0].data.key_id",
        "is not the id",
    );
    let mut for_another = registration("stmary", &k);
    for_another["actor"]["org"] = json!("acme");
    refused(
        vec![signed("acme", &k, vec![for_another])],
        "events[0].data.org",
        "",
    );
    let mut not_a_point = registration("acme", &k);
    // The y coordinate 2 is not on the curve.
    let mut bytes = [0u8; 32];
    bytes[0] = 2;
    let bad = Base64(bytes);
    not_a_point["data"]["public_key"] = json!(bad.to_string());
    not_a_point["data"]["key_id"] = json!(KeyId::of(&bytes).to_string());
    refused(
        vec![signed("acme", &k, vec![not_a_point])],
        "events[0].data.public_key",
        "not an ed25519 public key",
    );
}

/// Stored commits of acme-stmary for `audit`: each with its position, events and signature.
fn stored(
    position: u64,
    events: &[Value],
    signer: Option<&SigningKey>,
) -> (u64, Vec<crate::Event>, Option<super::Signed>) {
    let inputs: Vec<EventInput> = events.iter().cloned().map(input).collect();
    let signed = signer.map(|k| {
        let p = presented("acme", k, &inputs, None);
        super::Signed {
            signature: p.signature,
            idempotency_key: "key-1".into(),
        }
    });
    let events = inputs
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            e.into_event(
                EventId::from_uuid(Uuid::from_u128(position as u128 * 100 + i as u128)),
                pid(),
                NOW,
            )
        })
        .collect();
    (position, events, signed)
}

fn audit_of(
    commits: &[(u64, Vec<crate::Event>, Option<super::Signed>)],
) -> crate::signing_rules::SignatureAudit {
    let mut auditor = crate::signing_rules::Auditor::default();
    let pending: Vec<_> = commits
        .iter()
        .filter_map(|(position, events, signed)| {
            auditor.note(
                &pid(),
                crate::signing_rules::StoredCommitRef {
                    position: *position,
                    events,
                    signed: signed.as_ref(),
                },
            )
        })
        .collect();
    auditor.finish(crate::signing_rules::verify_all(&pending))
}

#[test]
fn the_audit_names_each_commit_that_should_have_been_signed_and_each_bad_signature() {
    let k = key(1);
    let erased = ev(
        "personal_data_erased",
        "acme",
        json!({"requested_by_org": "acme", "basis": "data_subject_request",
               "digests": ["47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"]}),
    );
    let mut commits = vec![
        stored(1, &[follow_up("acme")], None),
        stored(2, &[registration("acme", &k)], Some(&k)),
        stored(3, &[follow_up("acme")], Some(&k)),
        stored(4, &[follow_up("stmary")], None),
        stored(5, &[erased], None),
    ];
    let clean = audit_of(&commits);
    assert_eq!(clean.signed, 2);
    assert!(clean.holds(), "{clean:?}");

    // Appended behind the ledger's back: an unsigned act of acme, and one signed by another key.
    commits.push(stored(6, &[follow_up("acme")], None));
    commits.push(stored(7, &[follow_up("acme")], Some(&key(2))));
    // A signed commit whose events were changed afterwards.
    let mut changed = stored(8, &[follow_up("acme")], Some(&k));
    changed.1[0].occurred_at = NOW;
    commits.push(changed);
    let report = audit_of(&commits);
    assert_eq!(report.unsigned, [6]);
    assert_eq!(report.badly_signed, [7, 8]);
    assert_eq!(report.signed, 2);
    assert!(!report.holds());
}

#[test]
fn a_signature_the_edge_verified_with_the_expected_key_is_not_verified_again() {
    let k = key(1);
    let register = || signed("acme", &k, vec![registration("acme", &k)]);
    let garbage = || {
        let mut c = signed("acme", &k, vec![follow_up("acme")]);
        c.over = Some(b"something else".to_vec());
        c
    };
    let mut trusted = garbage();
    trusted.verified_with = Some(public(&k));
    assert_eq!(
        run(vec![register(), trusted]),
        Ok(()),
        "the edge's word for the expected key"
    );
    let mut other = garbage();
    other.verified_with = Some(public(&key(2)));
    refused(
        vec![register(), other],
        "signature.sig",
        "is not acme's signature",
    );
}
