//! What the read-model tests share: events written as JSON, each recorded when it occurred.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::upcast::{StoredEvent, StoredPayload, upcast};
use crate::{Actor, Event, EventId, EventInput, PartnershipId};

pub(super) fn id(n: u128) -> EventId {
    EventId::from_uuid(Uuid::from_u128(n))
}

/// Partnership `acme-stmary`: acme proposes it to stmary on 2026-01-01 with `tags`, then come
/// `items` as (occurred_at, actor org, type, data). Ids are 1 (the proposal), 2, 3, ...
///
/// A `goal_agreed` whose data lists `agreed_by_orgs` is version 1's consent of several orgs,
/// read as the log reads it: through the upcaster, one consent per org under the item's id.
pub(super) fn history_tagged(tags: &[&str], items: &[(&str, &str, &str, Value)]) -> Vec<Event> {
    let p = PartnershipId::parse("acme-stmary").expect("slug");
    let proposal = (
        "2026-01-01T00:00:00Z",
        "acme",
        "partnership_proposed",
        json!({"parties": [{"org": "acme", "name": "Acme", "kind": "vendor"},
                           {"org": "stmary", "name": "St Mary", "kind": "health_system"}],
               "vision": "v", "rationale_tags": tags}),
    );
    std::iter::once(&proposal)
        .chain(items)
        .enumerate()
        .flat_map(|(i, (at, org, kind, data))| {
            let id = id(i as u128 + 1);
            if let Some(orgs) = data.get("agreed_by_orgs") {
                return consent_v1(&p, id, at, org, &data["goal_id"], orgs);
            }
            let input: EventInput = serde_json::from_value(
                json!({"type": kind, "occurred_at": at, "actor": {"org": org}, "data": data}),
            )
            .unwrap_or_else(|e| panic!("event {i}: {e}"));
            let recorded = input.occurred_at;
            vec![input.into_event(id, p.clone(), recorded)]
        })
        .collect()
}

/// A version 1 `goal_agreed` of `orgs`, upcast.
fn consent_v1(
    p: &PartnershipId,
    event_id: EventId,
    at: &str,
    org: &str,
    goal_id: &Value,
    orgs: &Value,
) -> Vec<Event> {
    let at = OffsetDateTime::parse(at, &Rfc3339).expect("RFC 3339");
    upcast(StoredEvent {
        event_id,
        partnership_id: p.clone(),
        schema_version: 1,
        occurred_at: at,
        recorded_at: at,
        actor: Actor {
            org: serde_json::from_value(json!(org)).expect("an org"),
            person: None,
            role: None,
        },
        note: None,
        causation_id: None,
        correlation_id: None,
        payload: StoredPayload::V1GoalAgreed {
            goal_id: serde_json::from_value(goal_id.clone()).expect("a goal id"),
            agreed_by_orgs: serde_json::from_value(orgs.clone()).expect("orgs"),
        },
    })
    .expect("a version 1 consent reads")
}

/// [`history_tagged`] without rationale tags.
pub(super) fn history(items: &[(&str, &str, &str, Value)]) -> Vec<Event> {
    history_tagged(&[], items)
}

/// [`history`] with acme acting in every event: items are (occurred_at, type, data).
pub(super) fn history_by_acme(items: &[(&str, &str, Value)]) -> Vec<Event> {
    let items: Vec<(&str, &str, &str, Value)> = items
        .iter()
        .map(|(at, kind, data)| (*at, "acme", *kind, data.clone()))
        .collect();
    history(&items)
}

/// The worked example of docs/domain.md, each event recorded when it occurred: m1 requested,
/// scheduled and held (2 to 4), acme's follow-up (5), m2 requested and scheduled (6, 7), stmary's
/// cancellation (8), and the follow-up's retraction (9).
pub(super) fn worked_example() -> Vec<Event> {
    let at = |d: u8| format!("2026-02-{d:02}T10:00:00Z");
    let items: Vec<(String, &str, &str, Value)> = vec![
        (
            at(1),
            "acme",
            "meeting_requested",
            json!({"meeting_id": "m1", "requested_by_org": "acme", "purpose": "p"}),
        ),
        (
            at(1),
            "stmary",
            "meeting_scheduled",
            json!({"meeting_id": "m1", "starts_at": at(2), "host_org": "stmary"}),
        ),
        (
            at(2),
            "acme",
            "meeting_held",
            json!({"meeting_id": "m1", "in_person": false, "attendees": [
            {"org": "acme", "person": "A", "seniority": "staff"}, {"org": "stmary", "person": "S", "seniority": "exec"}]}),
        ),
        // 5: step 2.
        (
            at(3),
            "acme",
            "follow_up_proposed",
            json!({"by_org": "acme"}),
        ),
        // 6: step 3.
        (
            at(4),
            "acme",
            "meeting_requested",
            json!({"meeting_id": "m2", "requested_by_org": "acme", "purpose": "p"}),
        ),
        (
            at(4),
            "acme",
            "meeting_scheduled",
            json!({"meeting_id": "m2", "starts_at": at(9), "host_org": "acme"}),
        ),
        // 8: step 4.
        (
            at(8),
            "stmary",
            "meeting_cancelled",
            json!({"meeting_id": "m2", "by_org": "stmary", "notice_hours": 24, "reason": "r"}),
        ),
        // 9: step 5.
        (
            at(10),
            "acme",
            "event_retracted",
            json!({"target_event_id": id(5).to_string(), "reason": "r"}),
        ),
    ];
    let borrowed: Vec<(&str, &str, &str, Value)> = items
        .iter()
        .map(|(a, o, k, d)| (a.as_str(), *o, *k, d.clone()))
        .collect();
    history(&borrowed)
}
