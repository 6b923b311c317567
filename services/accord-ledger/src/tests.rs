//! The ledger's cache over the embedded log: bounded, and never holding unknown partnerships.

use std::sync::Arc;

use accord_domain::{EventInput, PartnershipId, Settings};
use accord_log::embedded::EmbeddedLog;
use serde_json::json;

use crate::{Ledger, RecordRequest};

fn input(v: serde_json::Value) -> EventInput {
    serde_json::from_value(v).expect("a test event")
}

fn proposal() -> EventInput {
    input(
        json!({"type": "partnership_proposed", "occurred_at": "2026-01-05T09:00:00Z",
        "actor": {"org": "acme"},
        "data": {"parties": [{"org": "acme", "name": "Acme", "kind": "vendor"},
                             {"org": "stmary", "name": "St Mary", "kind": "health_system"}],
                 "vision": "v", "rationale_tags": []}}),
    )
}

fn follow_up() -> EventInput {
    input(
        json!({"type": "follow_up_proposed", "occurred_at": "2026-02-01T09:00:00Z",
        "actor": {"org": "acme"}, "data": {"by_org": "acme"}}),
    )
}

fn request(p: &PartnershipId, events: Vec<EventInput>) -> RecordRequest {
    RecordRequest {
        partnership_id: p.clone(),
        events,
        if_match: None,
        idempotency_key: None,
        signed: None,
    }
}

fn cached(ledger: &Ledger) -> usize {
    ledger.cache().len()
}

fn ledger(dir: &tempfile::TempDir, limit: usize) -> Ledger {
    let log = EmbeddedLog::open(dir.path()).expect("a store");
    Ledger::with_cache_limit(Arc::new(log), Settings::default(), limit)
}

#[tokio::test]
async fn unknown_partnerships_are_never_cached() {
    let dir = tempfile::tempdir().expect("dir");
    let ledger = ledger(&dir, 100);
    for i in 0..50 {
        let p = PartnershipId::parse(&format!("nobody-{i}")).expect("a slug");
        assert_eq!(ledger.parties(&p).await.expect("parties"), None);
        assert_eq!(ledger.overview(&p).await.expect("overview"), None);
        assert!(ledger.record(request(&p, vec![follow_up()])).await.is_err());
    }
    assert_eq!(cached(&ledger), 0);
}

#[tokio::test]
async fn the_cache_stays_within_its_limit_and_forgets_nothing_recorded() {
    let dir = tempfile::tempdir().expect("dir");
    let ledger = ledger(&dir, 4);
    let ids: Vec<PartnershipId> = (0..10)
        .map(|i| PartnershipId::parse(&format!("p{i}")).expect("a slug"))
        .collect();
    for p in &ids {
        ledger
            .record(request(p, vec![proposal()]))
            .await
            .expect("proposed");
        assert!(cached(&ledger) <= 4, "{} cached", cached(&ledger));
    }
    // Every partnership, dropped from the cache or not, continues from its own history.
    for p in &ids {
        let before = ledger.overview(p).await.expect("overview").expect("known");
        ledger
            .record(request(p, vec![follow_up()]))
            .await
            .expect("recorded");
        let after = ledger.overview(p).await.expect("overview").expect("known");
        assert_eq!(after.event_count, before.event_count + 1);
        assert!(cached(&ledger) <= 4, "{} cached", cached(&ledger));
    }
}
