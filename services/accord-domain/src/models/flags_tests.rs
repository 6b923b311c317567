//! Given events, when the red flags are computed at `as_of`, then the open flags and the history
//! of raises and clears are as worked out by hand.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use super::flags::{Rule, Severity, flags};
use crate::{Event, EventId, EventInput, PartnershipId};

fn id(n: u128) -> EventId {
    EventId::from_uuid(Uuid::from_u128(n))
}

/// acme and stmary (proposed on 2026-01-01, with `tags`), then (occurred_at, actor, type, data);
/// ids 1 (the proposal), 2, ...
fn history(tags: &[&str], items: &[(&str, &str, &str, Value)]) -> Vec<Event> {
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

/// The open flags at `as_of`: rule, subject, severity, evidence.
fn open(
    events: &[Event],
    as_of: OffsetDateTime,
) -> Vec<(Rule, Option<String>, Severity, Vec<EventId>)> {
    flags(events, as_of)
        .open
        .into_iter()
        .map(|f| (f.rule_id, f.subject, f.severity, f.evidence))
        .collect()
}

fn r1(events: &[Event], as_of: OffsetDateTime) -> Option<(Severity, Vec<EventId>)> {
    open(events, as_of)
        .into_iter()
        .find(|f| f.0 == Rule::R1)
        .map(|f| {
            assert_eq!(f.1.as_deref(), Some("acme>stmary"));
            (f.2, f.3)
        })
}

/// The worked example of docs/domain.md, for the red flags.
#[test]
fn the_worked_example() {
    let at = |d: u8| format!("2026-02-{d:02}T10:00:00Z");
    let mut items: Vec<(String, &str, &str, Value)> = vec![
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
    ];
    let build = |items: &[(String, &str, &str, Value)]| {
        let borrowed: Vec<(&str, &str, &str, Value)> = items
            .iter()
            .map(|(a, o, k, d)| (a.as_str(), *o, *k, d.clone()))
            .collect();
        history(&[], &borrowed)
    };
    let events = build(&items);
    assert_eq!(
        r1(&events, datetime!(2026-02-02 12:00 UTC)),
        None,
        "one initiation"
    );
    assert_eq!(
        r1(&events, datetime!(2026-02-03 12:00 UTC)),
        Some((Severity::Warn, vec![id(2), id(5)])),
        "step 2: the last two initiations are acme's"
    );
    assert_eq!(
        r1(&events, datetime!(2026-02-04 12:00 UTC)),
        Some((Severity::Critical, vec![id(2), id(5), id(6)])),
        "step 3: three of three"
    );
    // Step 5: the follow-up is retracted; two initiations remain, both acme's.
    items.push((
        at(10),
        "acme",
        "event_retracted",
        json!({"target_event_id": id(5).to_string(), "reason": "r"}),
    ));
    let events = build(&items);
    assert_eq!(
        r1(&events, datetime!(2026-02-10 12:00 UTC)),
        Some((Severity::Warn, vec![id(2), id(6)]))
    );
    // The history tells the same story in order: raised as warn, critical, then warn again.
    let f = flags(&events, datetime!(2026-02-10 12:00 UTC));
    let story: Vec<(OffsetDateTime, Option<Severity>)> = f
        .history
        .iter()
        .filter(|c| c.rule_id == Rule::R1)
        .map(|c| (c.at, c.now.as_ref().map(|n| n.severity)))
        .collect();
    // With the retraction applied, the follow-up never counted: warn at m2's request.
    assert_eq!(
        story,
        [(datetime!(2026-02-04 10:00 UTC), Some(Severity::Warn))]
    );
}

#[test]
fn r1_the_other_side_cancels_or_reschedules() {
    let mut items = Vec::new();
    for (i, m) in ["a", "b", "c"].iter().enumerate() {
        let who = if i % 2 == 0 { "acme" } else { "stmary" };
        items.push((
            "2026-02-01T10:00:00Z",
            who,
            "meeting_requested",
            json!({"meeting_id": m, "requested_by_org": who, "purpose": "p"}),
        ));
        items.push((
            "2026-02-01T10:00:00Z",
            who,
            "meeting_scheduled",
            json!({"meeting_id": m, "starts_at": "2026-02-10T10:00:00Z", "host_org": who}),
        ));
    }
    items.push((
        "2026-02-05T10:00:00Z",
        "stmary",
        "meeting_cancelled",
        json!({"meeting_id": "a", "by_org": "stmary", "notice_hours": 5, "reason": "r"}),
    ));
    items.push(("2026-02-05T10:00:00Z", "stmary", "meeting_rescheduled", json!({"meeting_id": "b", "by_org": "stmary", "new_starts_at": "2026-02-20T10:00:00Z", "notice_hours": 100})));
    let events = history(&[], &items);
    assert_eq!(
        r1(&events, datetime!(2026-02-06 00:00 UTC)),
        Some((Severity::Warn, vec![id(8), id(9)]))
    );
    items.push((
        "2026-02-06T10:00:00Z",
        "stmary",
        "meeting_cancelled",
        json!({"meeting_id": "c", "by_org": "stmary", "notice_hours": 5, "reason": "r"}),
    ));
    let events = history(&[], &items);
    assert_eq!(
        r1(&events, datetime!(2026-02-07 00:00 UTC)).map(|f| f.0),
        Some(Severity::Critical)
    );
}

fn activated() -> (&'static str, &'static str, &'static str, Value) {
    (
        "2026-01-20T00:00:00Z",
        "stmary",
        "partnership_status_changed",
        json!({"status": "active", "reason": "r"}),
    )
}

fn rules(events: &[Event], as_of: OffsetDateTime) -> Vec<Rule> {
    open(events, as_of).into_iter().map(|f| f.0).collect()
}

#[test]
fn rules_that_come_due_after_days_active() {
    let events = history(&[], &[activated()]);
    // Activated on 2026-01-20, 19 days after the proposal: no FOMO.
    assert_eq!(
        rules(&events, datetime!(2026-02-18 00:00 UTC)),
        Vec::<Rule>::new()
    );
    assert_eq!(
        rules(&events, datetime!(2026-02-19 00:00 UTC)),
        [Rule::R3],
        "30 days active"
    );
    assert_eq!(
        rules(&events, datetime!(2026-04-20 00:00 UTC)),
        [Rule::R3, Rule::R9, Rule::R12]
    );
    assert_eq!(
        rules(&events, datetime!(2027-01-20 00:00 UTC)),
        [Rule::R3, Rule::R7, Rule::R9, Rule::R12]
    );
    let f = flags(&events, datetime!(2026-04-20 00:00 UTC));
    let raised: Vec<(Rule, OffsetDateTime)> = f.history.iter().map(|c| (c.rule_id, c.at)).collect();
    assert_eq!(
        raised,
        [
            (Rule::R3, datetime!(2026-02-19 00:00 UTC)),
            (Rule::R9, datetime!(2026-04-20 00:00 UTC)),
            (Rule::R12, datetime!(2026-04-20 00:00 UTC)),
        ],
        "each raised on the day it came due"
    );
    // Pausing clears them.
    let events = history(
        &[],
        &[
            activated(),
            (
                "2026-03-01T00:00:00Z",
                "stmary",
                "partnership_status_changed",
                json!({"status": "paused", "reason": "r"}),
            ),
        ],
    );
    assert_eq!(
        rules(&events, datetime!(2026-04-20 00:00 UTC)),
        Vec::<Rule>::new()
    );
    let cleared = flags(&events, datetime!(2026-04-20 00:00 UTC));
    assert_eq!(
        cleared.history.len(),
        2,
        "R3 raised on 2026-02-19, cleared on 2026-03-01"
    );
    assert_eq!(cleared.history[1].now, None);
}

#[test]
fn r11_governance_before_the_plan_and_r14_fomo() {
    let events = history(
        &["competitor_did_it"],
        &[
            (
                "2026-01-02T00:00:00Z",
                "acme",
                "governance_defined",
                json!({"forums": [{"name": "f", "cadence_days": 30}]}),
            ),
            (
                "2026-01-03T00:00:00Z",
                "acme",
                "business_plan_agreed",
                json!({"plan_id": "p", "version": 1, "signed_by_orgs": ["acme"]}),
            ),
        ],
    );
    let open = open(&events, datetime!(2026-01-04 00:00 UTC));
    assert_eq!(
        open.iter().map(|f| (f.0, f.3.clone())).collect::<Vec<_>>(),
        [(Rule::R11, vec![id(2), id(3)]), (Rule::R14, vec![id(1)])]
    );
    // Activated 5 days after the proposal without a plan: FOMO even without the tag.
    let events = history(
        &[],
        &[(
            "2026-01-06T00:00:00Z",
            "stmary",
            "partnership_status_changed",
            json!({"status": "active", "reason": "r"}),
        )],
    );
    assert_eq!(rules(&events, datetime!(2026-01-07 00:00 UTC)), [Rule::R14]);
}
