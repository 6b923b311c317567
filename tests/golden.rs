//! Golden fixtures: one encoded commit per event type and schema version, under
//! `tests/golden/v<N>/`, committed and decoded by this test forever after. A schema change that
//! breaks old commits fails here.
//!
//! - `v<N>/<type>.bin`: the commit's stored bytes, never changed once committed; its hash must
//!   still hold.
//! - `v<N>/<type>.json`: the events it reads as today, through the upcaster chain (an older
//!   version's consent of several orgs reads as one event per org).
//!
//! `ACCORD_BLESS_GOLDEN=1 cargo test -p accord-tests golden` writes the fixtures of the current
//! version; only do that for a new event type or a new version, never to make an old fixture
//! pass.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use accord_domain::ids::Uuid;
use accord_domain::personal::{Digest, Disclosure, SEALED_SINCE, seal};
use accord_domain::{
    ChainVerifier, Commit, CommitId, EventId, EventInput, EventType, Hash, Link, PartnershipId,
    SCHEMA_VERSION,
};
use accord_proto::SealedCommit;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::harness::workspace_root;

fn dir(version: u32) -> PathBuf {
    workspace_root().join(format!("tests/golden/v{version}"))
}

/// A sample of every event type, as a client would send it.
fn samples() -> Vec<Value> {
    let t = |kind: &str, data: Value| {
        json!({"type": kind, "occurred_at": "2025-03-04T10:30:00Z",
               "actor": {"org": "acme", "person": "Ana Ruiz", "role": "alliance manager"},
               "note": format!("golden {kind}"), "causation_id": "cmd-1", "correlation_id": "wf-9",
               "data": data})
    };
    let period = json!({"start": "2025-01-01", "end": "2025-03-31"});
    vec![
        t(
            "partnership_proposed",
            json!({"parties": [{"org": "acme", "name": "Acme Health", "kind": "vendor"},
                               {"org": "stmary", "name": "St Mary's", "kind": "health_system"},
                               {"org": "bluecross", "name": "Blue Cross", "kind": "payer"}],
                   "vision": "bundled-payment centre of excellence",
                   "rationale_tags": ["competitor_did_it", "market_access"]}),
        ),
        t(
            "partnership_status_changed",
            json!({"status": "active", "reason": "contract signed"}),
        ),
        t(
            "business_plan_agreed",
            json!({"plan_id": "plan-2025", "version": 2, "goal_ids": ["g1", "g2"],
                   "by_org": "acme"}),
        ),
        t(
            "governance_defined",
            json!({"forums": [{"name": "steering committee", "cadence_days": 90}],
                   "decision_rights": [{"topic": "roadmap", "org": "stmary"}]}),
        ),
        t(
            "exit_procedure_defined",
            json!({"triggers": ["missed two quarters"], "notice_days": 90,
                   "data_return_terms": "all patient data returned within 30 days"}),
        ),
        t(
            "role_assigned",
            json!({"org": "acme", "person": "Ana Ruiz", "role": "liaison", "allocation_pct": 40.5,
                   "selection_basis": "fit"}),
        ),
        t(
            "role_unassigned",
            json!({"org": "acme", "person": "Ana Ruiz", "role": "exec_sponsor", "reason": "left"}),
        ),
        t(
            "meeting_requested",
            json!({"meeting_id": "m1", "requested_by_org": "acme", "purpose": "kick-off",
                   "proposed_location_org": "stmary"}),
        ),
        t(
            "meeting_scheduled",
            json!({"meeting_id": "m1", "starts_at": "2025-03-10T15:00:00.123456789Z",
                   "host_org": "stmary", "location_org": "stmary"}),
        ),
        t(
            "meeting_rescheduled",
            json!({"meeting_id": "m1", "by_org": "stmary", "new_starts_at": "2025-03-12T15:00:00Z",
                   "notice_hours": 72}),
        ),
        t(
            "meeting_cancelled",
            json!({"meeting_id": "m1", "by_org": "stmary", "notice_hours": 24, "reason": "clash"}),
        ),
        t(
            "meeting_held",
            json!({"meeting_id": "m1", "in_person": true, "location_org": "stmary",
                   "introductions_made": 2,
                   "attendees": [{"org": "acme", "person": "Ana Ruiz", "seniority": "manager"},
                                 {"org": "stmary", "person": "Dr Sam Lee", "seniority": "exec"}]}),
        ),
        t(
            "follow_up_proposed",
            json!({"after_meeting_id": "m1", "by_org": "acme"}),
        ),
        t(
            "introduction_made",
            json!({"by_org": "stmary", "introduced_party": "Mercy Clinic", "to_org": "acme"}),
        ),
        t(
            "goal_proposed",
            json!({"goal_id": "g1", "kind": "sales", "metric": "revenue", "target": "250000.00",
                   "period": period, "by_org": "acme"}),
        ),
        t("goal_agreed", json!({"goal_id": "g1", "by_org": "acme"})),
        t(
            "goal_revised",
            json!({"goal_id": "g1", "new_target": "200000", "by_org": "stmary",
                   "new_period": {"start": "2025-01-01", "end": "2025-06-30"}}),
        ),
        t(
            "goal_dropped",
            json!({"goal_id": "g1", "by_org": "stmary", "reason": "budget freeze"}),
        ),
        t(
            "indicator_recorded",
            json!({"metric": "leads", "value": "42", "period": period, "org": "stmary"}),
        ),
        t(
            "deliverable_committed",
            json!({"deliverable_id": "d1", "title": "EHR integration", "owner_org": "acme",
                   "owner_person": "Ana Ruiz", "due_date": "2025-06-30", "top_priority": true,
                   "goal_id": "g1"}),
        ),
        t("deliverable_started", json!({"deliverable_id": "d1"})),
        t(
            "deliverable_due_date_changed",
            json!({"deliverable_id": "d1", "new_due": "2025-07-31", "by_org": "acme",
                   "reason": "vendor API delay"}),
        ),
        t(
            "deliverable_blocked",
            json!({"deliverable_id": "d1", "blocking_org": "stmary"}),
        ),
        t(
            "deliverable_unblocked",
            json!({"deliverable_id": "d1", "blocking_org": "stmary"}),
        ),
        t(
            "deliverable_completed",
            json!({"deliverable_id": "d1", "accepted_by_org": "stmary"}),
        ),
        t(
            "deliverable_cancelled",
            json!({"deliverable_id": "d2", "by_org": "stmary", "reason": "descoped"}),
        ),
        t(
            "deal_registered",
            json!({"deal_id": "deal-1", "account": "Mercy Clinic", "sourced_by_org": "stmary",
                   "value": "1250000.50", "currency": "USD"}),
        ),
        t(
            "deal_closed",
            json!({"deal_id": "deal-1", "won": true, "amount": "1200000", "currency": "USD",
                   "joint_customer": true}),
        ),
        t(
            "joint_customer_highlighted",
            json!({"customer": "Mercy Clinic", "channel": "press release",
                   "orgs": ["acme", "stmary"]}),
        ),
        t(
            "sales_incentive_changed",
            json!({"org": "acme", "partner_deal_credit_pct": 0.75,
                   "effective_from": "2025-04-01"}),
        ),
        t(
            "revenue_reported",
            json!({"org": "acme", "period": period, "total": "5000000",
                   "by_partner": [{"partner_org": "stmary", "amount": "1500000.25"}]}),
        ),
        t(
            "communication_tagged",
            json!({"org": "stmary", "class": "us_them", "doc_ref": "minutes-2025-03-10"}),
        ),
        t(
            "health_check_responded",
            json!({"wave_id": "w2025q1", "respondent_org": "stmary", "dimension": "relationship",
                   "score": 4}),
        ),
        t(
            "event_retracted",
            json!({"target_event_id": "0195f000-0000-7000-8000-000000000001",
                   "reason": "recorded twice"}),
        ),
        t(
            "event_corrected",
            json!({"target_event_id": "0195f000-0000-7000-8000-000000000002", "reason": "typo",
                   "replacement": {"type": "indicator_recorded", "occurred_at": "2025-03-31T00:00:00Z",
                                   "actor": {"org": "stmary"},
                                   "data": {"metric": "leads", "value": "24", "period": period,
                                            "org": "stmary"}}}),
        ),
        t(
            "personal_data_erased",
            json!({"requested_by_org": "stmary", "basis": "data_subject_request",
                   "request_ref": "dsr-2025-7",
                   "digests": ["47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"]}),
        ),
        // The public key of RFC 8032's first test vector.
        t(
            "org_key_registered",
            json!({"org": "stmary", "key_id": "21fe31dfa154a261",
                   "public_key": "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="}),
        ),
    ]
}

fn commit_of(n: usize, sample: &Value) -> Commit {
    let input: EventInput =
        serde_json::from_value(sample.clone()).unwrap_or_else(|e| panic!("sample {sample}: {e}"));
    let partnership_id = PartnershipId::parse("acme-stmary").expect("slug");
    let recorded_at = datetime!(2025-03-04 10:31:00.5 UTC);
    let event = input.into_event(
        EventId::from_uuid(Uuid::from_u128(
            0x0195_f000_0000_7000_8000_0000_0000_1000 + n as u128,
        )),
        partnership_id.clone(),
        recorded_at,
    );
    Commit {
        commit_id: CommitId::from_uuid(Uuid::from_u128(
            0x0195_f000_0000_7000_8000_0000_0000_2000 + n as u128,
        )),
        partnership_id,
        prev_hash: if n == 0 {
            Hash::GENESIS
        } else {
            Hash([n as u8; 32])
        },
        recorded_at,
        events: vec![event],
        signed: None,
    }
}

/// The disclosures of a fixture from version 3 on (`v<N>/<type>.disclosures.json`, the
/// disclosures as stored, one JSON string each); none before.
fn disclosures(version: u32, kind: &str) -> HashMap<Digest, Disclosure> {
    let path = dir(version).join(format!("{kind}.disclosures.json"));
    if version < SEALED_SINCE {
        return HashMap::new();
    }
    let texts: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read disclosures"))
            .expect("a list of disclosures");
    texts
        .iter()
        .map(|t| {
            let d = Disclosure::parse(t).expect("a disclosure");
            (d.digest(), d)
        })
        .collect()
}

/// Decodes the fixture of `kind` in `version`: its hash still holds, and it reads as its JSON
/// says, its personal values joined in from its disclosures. Returns the commit.
fn check_fixture(version: u32, kind: &str) -> Commit {
    let bin = dir(version).join(format!("{kind}.bin"));
    let bytes = std::fs::read(&bin)
        .unwrap_or_else(|e| panic!("{}: {e} (a fixture is missing)", bin.display()));
    let sealed = SealedCommit::decode(&bytes).expect("decode sealed commit");
    let mut read = sealed.read().expect("decode commit body");
    let values = disclosures(version, kind);
    assert_eq!(
        read.digests()
            .expect("digests")
            .into_iter()
            .collect::<HashSet<_>>(),
        values.keys().copied().collect(),
        "v{version} {kind}: one disclosure per sealed value"
    );
    let decoded = read.join(&values);
    ChainVerifier::after(decoded.prev_hash)
        .check(Link {
            prev_hash: decoded.prev_hash,
            body: &sealed.body,
            hash: sealed.hash,
        })
        .expect("the stored hash still matches its bytes");
    let json = dir(version).join(format!("{kind}.json"));
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("read json fixture"))
            .expect("json fixture");
    assert_eq!(
        serde_json::to_value(&decoded.events).expect("json"),
        expected,
        "v{version} {kind}: the decoded events read as {}",
        json.display()
    );
    decoded
}

/// The current version's fixtures: each is exactly the sample's commit, as recorded today.
#[test]
fn golden_commits_of_the_current_version_decode_to_what_was_recorded() {
    let bless = std::env::var_os("ACCORD_BLESS_GOLDEN").is_some();
    let mut covered = Vec::new();
    for (n, sample) in samples().iter().enumerate() {
        let kind = sample["type"].as_str().expect("type");
        let commit = commit_of(n, sample);
        if bless {
            let dir = dir(SCHEMA_VERSION);
            std::fs::create_dir_all(&dir).expect("mkdir");
            // Salts that do not change between blessings: 1, 2, 3, ... in every byte.
            let mut salt = 0u8;
            let stored = seal(commit.events.clone(), &mut || {
                salt += 1;
                [salt; 16]
            });
            let sealed = Commit {
                events: stored.events,
                ..commit.clone()
            };
            std::fs::write(
                dir.join(format!("{kind}.bin")),
                SealedCommit::seal(&sealed).encode(),
            )
            .expect("write bin");
            let texts: Vec<&str> = stored.disclosures.iter().map(Disclosure::as_json).collect();
            let texts = serde_json::to_string_pretty(&texts).expect("json");
            std::fs::write(dir.join(format!("{kind}.disclosures.json")), texts + "\n")
                .expect("write disclosures");
            let events = serde_json::to_string_pretty(&commit.events).expect("json");
            std::fs::write(dir.join(format!("{kind}.json")), events + "\n").expect("write json");
        }
        let decoded = check_fixture(SCHEMA_VERSION, kind);
        assert_eq!(
            decoded, commit,
            "{kind}: the fixture decodes to the same commit"
        );
        covered.push(decoded.events[0].event_type());
    }
    assert_eq!(
        covered,
        EventType::ALL,
        "one fixture per event type, in catalogue order"
    );
}

/// Every older version's fixtures still decode, their hashes hold, and they read through the
/// upcaster as their JSON says: version 1's consents of several orgs as one event per org.
#[test]
fn golden_commits_of_older_versions_still_decode_through_the_upcaster() {
    for version in 1..SCHEMA_VERSION {
        let mut covered = Vec::new();
        // Types added in a later version have no fixture in this one.
        let types: Vec<EventType> = EventType::ALL
            .iter()
            .copied()
            .filter(|t| {
                version >= SEALED_SINCE
                    || ![EventType::PersonalDataErased, EventType::OrgKeyRegistered].contains(t)
            })
            .collect();
        for kind in &types {
            let decoded = check_fixture(version, kind.as_str());
            assert!(
                decoded
                    .events
                    .iter()
                    .all(|e| e.schema_version == SCHEMA_VERSION)
            );
            covered.push(decoded.events[0].event_type());
        }
        assert_eq!(covered, types, "v{version}: one fixture per type");
    }
    // Version 1's consents of several orgs, one event per org under the stored id.
    for kind in ["goal_agreed", "business_plan_agreed"] {
        let events = check_fixture(1, kind).events;
        assert_eq!(events.len(), 2, "{kind}: acme's part and stmary's");
        assert_eq!(events[0].event_id, events[1].event_id);
    }
}
