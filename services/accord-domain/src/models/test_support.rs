//! What the read-model tests share: events written as JSON, each recorded when it occurred.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Event, EventId, EventInput, PartnershipId};

pub(super) fn id(n: u128) -> EventId {
    EventId::from_uuid(Uuid::from_u128(n))
}

/// Partnership `acme-stmary`: acme proposes it to stmary on 2026-01-01 with `tags`, then come
/// `items` as (occurred_at, actor org, type, data). Ids are 1 (the proposal), 2, 3, ...
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
        .map(|(i, (at, org, kind, data))| {
            let input: EventInput = serde_json::from_value(
                json!({"type": kind, "occurred_at": at, "actor": {"org": org}, "data": data}),
            )
            .unwrap_or_else(|e| panic!("event {i}: {e}"));
            let recorded = input.occurred_at;
            input.into_event(id(i as u128 + 1), p.clone(), recorded)
        })
        .collect()
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
