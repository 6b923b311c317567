//! The upcaster chain: a current event reads as stored; version 1's consent of several orgs reads
//! as one consent per org under its id, also inside a correction; what the chain cannot read is
//! refused with its reason; and the parts of one act are retracted and corrected together, so
//! that the read models see a version 1 consent exactly as the per-org consents it stands for.

use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::event::{EventRetracted, GoalAgreed};
use crate::history::effective_events;
use crate::ids::Uuid;
use crate::models::{Axes, Model, ModelSettings, evaluate};

fn org(s: &str) -> OrgId {
    OrgId::parse(s).expect("slug")
}

fn item(s: &str) -> ItemId {
    ItemId::parse(s).expect("slug")
}

fn event_id(n: u128) -> EventId {
    EventId::from_uuid(Uuid::from_u128(n))
}

fn stored(n: u128, version: u32, actor: &str, payload: StoredPayload) -> StoredEvent {
    let at = datetime!(2026-01-01 00:00 UTC) + time::Duration::days(n as i64);
    StoredEvent {
        event_id: event_id(n),
        partnership_id: PartnershipId::parse("acme-stmary").expect("slug"),
        schema_version: version,
        occurred_at: at,
        recorded_at: at,
        actor: Actor {
            org: org(actor),
            person: Some("Ana Ruiz".into()),
            role: None,
        },
        note: Some("as recorded".into()),
        causation_id: Some("cmd-1".into()),
        correlation_id: None,
        payload,
    }
}

fn current(n: u128, actor: &str, kind: &str, data: serde_json::Value) -> StoredEvent {
    let payload = Payload::deserialize_data(crate::EventType::parse(kind).expect("a type"), data)
        .expect("a payload");
    stored(n, SCHEMA_VERSION, actor, StoredPayload::Current(payload))
}

fn goal_v1(n: u128, actor: &str, orgs: &[&str]) -> StoredEvent {
    stored(
        n,
        1,
        actor,
        StoredPayload::V1GoalAgreed {
            goal_id: item("g1"),
            agreed_by_orgs: orgs.iter().map(|o| org(o)).collect(),
        },
    )
}

fn read(events: Vec<StoredEvent>) -> Vec<Event> {
    events
        .into_iter()
        .flat_map(|e| upcast(e).expect("reads"))
        .collect()
}

#[test]
fn a_current_event_reads_as_stored() {
    let e = current(
        1,
        "acme",
        "goal_agreed",
        json!({"goal_id": "g1", "by_org": "acme"}),
    );
    let read = upcast(e.clone()).expect("reads");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].schema_version, SCHEMA_VERSION);
    assert_eq!(StoredPayload::Current(read[0].payload.clone()), e.payload);
    assert_eq!(
        (read[0].event_id, read[0].occurred_at),
        (e.event_id, e.occurred_at)
    );
}

#[test]
fn a_version_1_consent_of_several_orgs_reads_as_one_consent_per_org_under_its_id() {
    let read = upcast(goal_v1(7, "acme", &["acme", "stmary", "acme"])).expect("reads");
    let by: Vec<&str> = read
        .iter()
        .map(|e| match &e.payload {
            Payload::GoalAgreed(GoalAgreed { goal_id, by_org }) => {
                assert_eq!(goal_id.as_str(), "g1");
                by_org.as_str()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(by, ["acme", "stmary"], "in the order listed, each org once");
    for e in &read {
        assert_eq!(e.event_id, event_id(7), "every part keeps the stored id");
        assert_eq!(e.schema_version, SCHEMA_VERSION);
        assert_eq!(e.actor.org.as_str(), "acme");
        assert_eq!(e.note.as_deref(), Some("as recorded"));
        assert_eq!(e.causation_id.as_deref(), Some("cmd-1"));
    }
    // One org: one event.
    assert_eq!(
        upcast(goal_v1(8, "acme", &["acme"])).expect("reads").len(),
        1
    );
}

#[test]
fn a_version_1_plan_signed_by_several_orgs_reads_as_one_signature_per_org() {
    let read = upcast(stored(
        3,
        1,
        "acme",
        StoredPayload::V1BusinessPlanAgreed {
            plan_id: item("plan"),
            version: 2,
            goal_ids: vec![item("g1")],
            signed_by_orgs: vec![org("acme"), org("stmary")],
        },
    ))
    .expect("reads");
    let signed: Vec<(String, u32, usize)> = read
        .iter()
        .map(|e| match &e.payload {
            Payload::BusinessPlanAgreed(p) => (p.by_org.to_string(), p.version, p.goal_ids.len()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        signed,
        [("acme".to_owned(), 2, 1), ("stmary".to_owned(), 2, 1)]
    );
}

#[test]
fn a_version_1_correction_to_a_consent_of_several_orgs_reads_as_one_correction_per_org() {
    let correction = stored(
        9,
        1,
        "acme",
        StoredPayload::Corrected {
            target_event_id: event_id(7),
            replacement: Box::new(StoredReplacement {
                occurred_at: datetime!(2026-02-01 00:00 UTC),
                actor: Actor {
                    org: org("acme"),
                    person: None,
                    role: None,
                },
                note: None,
                payload: StoredPayload::V1GoalAgreed {
                    goal_id: item("g1"),
                    agreed_by_orgs: vec![org("stmary"), org("acme")],
                },
            }),
            reason: "both, in fact".into(),
        },
    );
    let read = upcast(correction).expect("reads");
    let parts: Vec<(EventId, String)> = read
        .iter()
        .map(|e| match &e.payload {
            Payload::EventCorrected(c) => match &c.replacement.payload {
                Payload::GoalAgreed(g) => (c.target_event_id, g.by_org.to_string()),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        parts,
        [(event_id(7), "stmary".into()), (event_id(7), "acme".into())]
    );
    assert!(read.iter().all(|e| e.event_id == event_id(9)));
}

#[test]
fn what_the_chain_cannot_read_is_refused_with_its_reason() {
    let newer = current(
        1,
        "acme",
        "goal_agreed",
        json!({"goal_id": "g1", "by_org": "acme"}),
    );
    let newer = StoredEvent {
        schema_version: SCHEMA_VERSION + 1,
        ..newer
    };
    let e = upcast(newer).expect_err("newer");
    assert_eq!(e, UpcastError::Newer(SCHEMA_VERSION + 1));
    assert!(
        e.to_string().contains("newer than this accord knows"),
        "{e}"
    );

    let zero = StoredEvent {
        schema_version: 0,
        ..goal_v1(1, "acme", &["acme"])
    };
    assert_eq!(upcast(zero), Err(UpcastError::Zero));
    assert_eq!(
        upcast(goal_v1(1, "acme", &[])),
        Err(UpcastError::NoOrg("goal_agreed"))
    );
    let misplaced = StoredEvent {
        schema_version: 2,
        ..goal_v1(1, "acme", &["acme"])
    };
    assert!(matches!(
        upcast(misplaced),
        Err(UpcastError::Misplaced { version: 2, .. })
    ));
}

fn retraction(n: u128, target: u128) -> StoredEvent {
    stored(
        n,
        SCHEMA_VERSION,
        "acme",
        StoredPayload::Current(Payload::EventRetracted(EventRetracted {
            target_event_id: event_id(target),
            reason: "withdrawn".into(),
        })),
    )
}

fn proposal() -> StoredEvent {
    current(
        1,
        "acme",
        "partnership_proposed",
        json!({"parties": [{"org": "acme", "name": "Acme", "kind": "vendor"},
                           {"org": "stmary", "name": "St Mary", "kind": "health_system"}],
               "vision": "v", "rationale_tags": []}),
    )
}

fn goal() -> StoredEvent {
    current(
        2,
        "acme",
        "goal_proposed",
        json!({"goal_id": "g1", "kind": "marketing", "metric": "leads", "target": "10",
               "period": {"start": "2026-01-01", "end": "2026-12-31"}, "by_org": "acme"}),
    )
}

fn consents(events: &[Event]) -> Vec<(EventId, String)> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::GoalAgreed(g) => Some((e.event_id, g.by_org.to_string())),
            _ => None,
        })
        .collect()
}

#[test]
fn the_parts_of_one_act_are_retracted_and_corrected_together() {
    let v1 = goal_v1(3, "acme", &["acme", "stmary"]);
    // A retraction of the stored id retracts every part.
    let retracted = effective_events(&read(vec![
        proposal(),
        goal(),
        v1.clone(),
        retraction(4, 3),
    ]));
    assert_eq!(consents(&retracted), []);

    // A current correction replaces both parts with its one replacement, where the first was.
    let corrected = current(
        4,
        "acme",
        "event_corrected",
        json!({"target_event_id": event_id(3).to_string(), "reason": "only ours",
               "replacement": {"type": "goal_agreed", "occurred_at": "2026-01-06T00:00:00Z",
                               "actor": {"org": "acme"}, "data": {"goal_id": "g1", "by_org": "acme"}}}),
    );
    let events = effective_events(&read(vec![
        proposal(),
        goal(),
        v1.clone(),
        corrected.clone(),
    ]));
    assert_eq!(consents(&events), [(event_id(3), "acme".into())]);
    assert_eq!(
        events.len(),
        3,
        "the proposal, the goal and the one consent"
    );
    let replaced = &events[2];
    assert_eq!(
        (replaced.occurred_at, &replaced.actor.person, &replaced.note),
        (datetime!(2026-01-06 00:00 UTC), &None, &None),
        "the replacement's own business time, actor and note"
    );
    assert_eq!(
        replaced.recorded_at, v1.recorded_at,
        "the original's place in the log"
    );

    // A later correction of parts wins over the earlier one, and reads as its parts.
    let again = stored(
        5,
        1,
        "acme",
        StoredPayload::Corrected {
            target_event_id: event_id(3),
            replacement: Box::new(StoredReplacement {
                occurred_at: datetime!(2026-01-05 00:00 UTC),
                actor: v1.actor.clone(),
                note: None,
                payload: StoredPayload::V1GoalAgreed {
                    goal_id: item("g1"),
                    agreed_by_orgs: vec![org("stmary"), org("acme")],
                },
            }),
            reason: "both after all".into(),
        },
    );
    let events = effective_events(&read(vec![proposal(), goal(), v1, corrected, again]));
    assert_eq!(
        consents(&events),
        [(event_id(3), "stmary".into()), (event_id(3), "acme".into())]
    );
}

/// A version 1 consent of both orgs reads, in every model, as each org's own consent recorded
/// under its id would.
#[test]
fn a_version_1_consent_reads_in_every_model_as_per_org_consents() {
    let split = read(vec![
        proposal(),
        goal(),
        goal_v1(3, "acme", &["acme", "stmary"]),
    ]);
    let by_org = |org: &str| {
        current(
            3,
            org,
            "goal_agreed",
            json!({"goal_id": "g1", "by_org": org}),
        )
    };
    let one_by_one = read(vec![proposal(), goal(), by_org("acme"), by_org("stmary")]);
    let axes = Axes::at(datetime!(2026-06-01 00:00 UTC));
    let settings = ModelSettings::default();
    for model in Model::ALL {
        let a = serde_json::to_value(evaluate(model, &split, axes, &settings)).expect("json");
        let b = serde_json::to_value(evaluate(model, &one_by_one, axes, &settings)).expect("json");
        assert_eq!(a, b, "{}", model.as_str());
    }
    let goals = crate::models::goals::goals(&split, axes);
    assert_eq!(
        goals.goals[0].status,
        crate::models::goals::GoalStatus::Behind,
        "agreed by both, then judged on its figures"
    );
}
