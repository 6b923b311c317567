//! Arbitrary commits and histories for property tests (feature `arbitrary`): events of every
//! type whose fields are drawn from small pools that hold the extremes (the largest and smallest
//! amounts, the earliest and latest dates, text with control and bidi characters, numbers past
//! every documented range), so that the ledger's rules and the read models meet them all.
//!
//! [`record`] runs the steps through `decide` one commit at a time, as the ledger would, and
//! keeps what was accepted: an accepted history, which every read model must fold without a
//! panic. [`event_json`] gives the JSON a client could send for one step, and [`mutated`] breaks
//! one of its values, for the parsers.

use proptest::prelude::*;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use crate::event::EventType;
use crate::{Command, Event, EventId, EventInput, Partnership, PartnershipId, Settings};
use crate::{decide, evolve};

/// The types (by index in the catalogue) that make the items other events name: meetings,
/// goals, deliverables, deals.
const CREATORS: [usize; 4] = [7, 14, 19, 25];
const ORGS: [&str; 3] = ["acme", "stmary", "globex"];
const ITEMS: [&str; 3] = ["a", "b", "c"];
const AMOUNTS: [&str; 9] = [
    "1",
    "79228162514264337593543950335",
    "0.0000000000000000000000000001",
    "0.000001",
    "1000000000000000",
    "999999999999999.999999",
    "12.5",
    "0",
    "-1",
];
const TIMES: [&str; 8] = [
    "2025-02-28T12:00:00Z",
    "2025-03-01T00:00:00Z",
    "2026-01-01T00:00:00Z",
    "1990-01-01T00:00:00Z",
    "2199-12-31T23:59:59Z",
    "1989-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
];
const DATES: [&str; 7] = [
    "2025-03-01",
    "2025-12-31",
    "2026-01-02",
    "1990-01-01",
    "2199-12-31",
    "0001-01-01",
    "9999-12-31",
];
const TEXTS: [&str; 8] = [
    "r",
    "Dr Zoë Ångström",
    "李",
    "two\nlines\tand a tab",
    "\u{202E}reversed",
    "bell\u{7}",
    " ",
    "",
];
const NUMBERS: [u64; 8] = [1, 2, 5, 0, 48, 100, 87_601, 4_294_967_295];
const FRACTIONS: [f64; 6] = [0.5, 1.0, 0.04, 0.0, 100.0, 1e300];

/// One event to try: its type and the pool picks its fields are made of. Each pool lists the
/// values the rules accept first (but for amounts, whose extremes come early), and picks favour
/// them, so that most steps are recorded and
/// histories grow long enough to matter; the rest tries every rule's other side.
#[derive(Debug, Clone)]
pub struct Step {
    kind: usize,
    org: usize,
    at: usize,
    picks: [usize; 8],
}

impl Step {
    fn pick<'a, T>(&self, slot: usize, pool: &'a [T]) -> &'a T {
        &pool[self.picks[slot] % pool.len()]
    }
}

prop_compose! {
    /// One step of any event type but the proposal.
    pub fn step()(
        kind in prop_oneof![
            1 => proptest::sample::select(&CREATORS[..]),
            3 => 1..EventType::ALL.len(),
        ],
        org in prop_oneof![9 => 0..2usize, 1 => 0..ORGS.len()],
        at in prop_oneof![4 => 0..5usize, 1 => 0..TIMES.len()],
        picks in proptest::array::uniform8(prop_oneof![3 => 0..3usize, 1 => 0..64usize]),
    ) -> Step {
        Step { kind, org, at, picks }
    }
}

fn event_id(n: usize) -> EventId {
    EventId::from_uuid(Uuid::from_u128(n as u128 + 1))
}

fn period(s: &Step, slot: usize) -> Value {
    json!({"start": s.pick(slot, &DATES), "end": s.pick(slot + 1, &DATES)})
}

/// The `data` of an event of type `kind` from the step's picks. `recorded` is what came before
/// (for the targets of retractions and corrections).
fn data(kind: EventType, s: &Step, recorded: &[Event]) -> Value {
    let org = |slot| json!(s.pick(slot, &ORGS));
    let item = |slot| json!(s.pick(slot, &ITEMS));
    let amount = |slot| json!(s.pick(slot, &AMOUNTS));
    let text = |slot| json!(s.pick(slot, &TEXTS));
    let number = |slot| json!(s.pick(slot, &NUMBERS));
    let time = |slot| json!(s.pick(slot, &TIMES));
    let date = |slot| json!(s.pick(slot, &DATES));
    let flag = |slot| json!(s.picks[slot] % 2 == 0);
    match kind {
        EventType::PartnershipProposed => json!({
            "parties": [{"org": "acme", "name": "Acme", "kind": "vendor"},
                        {"org": "stmary", "name": text(0), "kind": "health_system"}],
            "vision": text(1), "rationale_tags": ["competitor_did_it"]}),
        EventType::PartnershipStatusChanged => json!({
            "status": s.pick(0, &["active", "paused", "renewed", "terminated"]),
            "reason": text(1)}),
        EventType::BusinessPlanAgreed => json!({
            "plan_id": item(0), "version": number(1), "goal_ids": [item(2)],
            "by_org": org(3)}),
        EventType::GovernanceDefined => json!({
            "forums": [{"name": text(0), "cadence_days": number(1)}],
            "decision_rights": [{"topic": text(2), "org": org(3)}]}),
        EventType::ExitProcedureDefined => json!({
            "triggers": [text(0)], "notice_days": number(1), "data_return_terms": text(2)}),
        EventType::RoleAssigned => json!({
            "org": org(0), "person": text(1),
            "role": s.pick(2, &["liaison", "deal_owner", "exec_sponsor"]),
            "allocation_pct": s.pick(3, &FRACTIONS),
            "selection_basis": s.pick(4, &["fit", "availability", "volunteered"])}),
        EventType::RoleUnassigned => json!({
            "org": org(0), "person": text(1),
            "role": s.pick(2, &["liaison", "deal_owner", "exec_sponsor"]), "reason": text(3)}),
        EventType::MeetingRequested => json!({
            "meeting_id": item(0), "requested_by_org": org(1), "purpose": text(2)}),
        EventType::MeetingScheduled => json!({
            "meeting_id": item(0), "starts_at": time(1), "host_org": org(2),
            "location_org": if s.picks[3] % 2 == 0 { org(4) } else { Value::Null }}),
        EventType::MeetingRescheduled => json!({
            "meeting_id": item(0), "by_org": org(1), "new_starts_at": time(2),
            "notice_hours": number(3)}),
        EventType::MeetingCancelled => json!({
            "meeting_id": item(0), "by_org": org(1), "notice_hours": number(2), "reason": text(3)}),
        EventType::MeetingHeld => {
            let in_person = s.picks[1] % 2 == 0;
            json!({"meeting_id": item(0), "in_person": in_person,
                   "location_org": if in_person { org(2) } else { Value::Null },
                   "introductions_made": number(3),
                   "attendees": [{"org": org(4), "person": text(5), "seniority": "exec"},
                                 {"org": org(6), "person": "Sam", "seniority": "staff"}]})
        }
        EventType::FollowUpProposed => json!({"after_meeting_id": item(0), "by_org": org(1)}),
        EventType::IntroductionMade => json!({
            "by_org": org(0), "introduced_party": text(1), "to_org": org(2)}),
        EventType::GoalProposed => json!({
            "goal_id": item(0),
            "kind": s.pick(1, &["qualitative", "marketing", "sales"]),
            "metric": s.pick(2, &["leads", "revenue", "closed_deals", "custom"]),
            "target": amount(3), "period": period(s, 4), "by_org": org(6)}),
        EventType::GoalAgreed => json!({"goal_id": item(0), "by_org": org(1)}),
        EventType::GoalRevised => json!({
            "goal_id": item(0), "new_target": amount(1), "new_period": period(s, 2),
            "by_org": org(4)}),
        EventType::GoalDropped => json!({"goal_id": item(0), "by_org": org(1), "reason": text(2)}),
        EventType::IndicatorRecorded => json!({
            "metric": s.pick(0, &["leads", "revenue", "closed_deals", "custom"]),
            "value": amount(1), "period": period(s, 2), "org": org(4)}),
        EventType::DeliverableCommitted => json!({
            "deliverable_id": item(0), "title": text(1), "owner_org": org(2),
            "owner_person": text(3), "due_date": date(4), "top_priority": flag(5)}),
        EventType::DeliverableStarted => json!({"deliverable_id": item(0)}),
        EventType::DeliverableDueDateChanged => json!({
            "deliverable_id": item(0), "new_due": date(1), "by_org": org(2), "reason": text(3)}),
        EventType::DeliverableBlocked | EventType::DeliverableUnblocked => {
            json!({"deliverable_id": item(0), "blocking_org": org(1)})
        }
        EventType::DeliverableCompleted => {
            json!({"deliverable_id": item(0), "accepted_by_org": org(1)})
        }
        EventType::DeliverableCancelled => json!({
            "deliverable_id": item(0), "by_org": org(1), "reason": text(2)}),
        EventType::DealRegistered => json!({
            "deal_id": item(0), "account": text(1), "sourced_by_org": org(2),
            "value": amount(3), "currency": "USD"}),
        EventType::DealClosed => json!({
            "deal_id": item(0), "won": flag(1), "amount": amount(2), "currency": "USD",
            "joint_customer": flag(3)}),
        EventType::JointCustomerHighlighted => json!({
            "customer": text(0), "channel": text(1), "orgs": [org(2), org(3)]}),
        EventType::SalesIncentiveChanged => json!({
            "org": org(0), "partner_deal_credit_pct": s.pick(1, &FRACTIONS),
            "effective_from": date(2)}),
        EventType::RevenueReported => json!({
            "org": org(0), "period": period(s, 1), "total": amount(3),
            "by_partner": [{"partner_org": org(4), "amount": amount(5)},
                           {"partner_org": "other", "amount": amount(6)}]}),
        EventType::CommunicationTagged => json!({
            "org": org(0), "class": s.pick(1, &["inclusive", "us_them"]), "doc_ref": text(2)}),
        EventType::HealthCheckResponded => json!({
            "wave_id": item(0), "respondent_org": org(1),
            "dimension": s.pick(2, &["strategy", "operations"]), "score": number(3)}),
        EventType::EventRetracted => json!({
            "target_event_id": event_id(s.picks[0] % recorded.len().max(1)).to_string(),
            "reason": text(1)}),
        EventType::EventCorrected => {
            let target = &recorded[s.picks[0] % recorded.len().max(1)];
            let replacement = Step {
                picks: [s.picks[1], s.picks[2], s.picks[3], s.picks[4], 0, 1, 2, 3],
                ..s.clone()
            };
            json!({"target_event_id": target.event_id.to_string(), "reason": text(5),
                   "replacement": {"type": target.event_type().as_str(),
                                   "occurred_at": TIMES[s.at],
                                   "actor": {"org": ORGS[s.org]},
                                   "data": data(target.event_type(), &replacement, recorded)}})
        }
        // A client's commit cannot record it (only `accord forget` does): the rules refuse it.
        EventType::PersonalDataErased => json!({
            "requested_by_org": org(0), "basis": "data_subject_request",
            "digests": ["47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"]}),
        // Unsigned, the rules refuse it: a key is registered in a commit it signs.
        EventType::OrgKeyRegistered => {
            let seed = u8::try_from(s.picks[0] % 256).unwrap_or(0);
            let public = ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
                .verifying_key()
                .to_bytes();
            json!({"org": org(0), "key_id": crate::signing::KeyId::of(&public).to_string(),
                   "public_key": crate::signing::Base64(public).to_string()})
        }
    }
}

/// The JSON a client could send for this step, given what was recorded before it.
pub fn event_json(step: &Step, recorded: &[Event]) -> Value {
    let kind = EventType::ALL[step.kind % EventType::ALL.len()];
    let kind = match kind {
        EventType::EventRetracted | EventType::EventCorrected if recorded.is_empty() => {
            EventType::PartnershipProposed
        }
        kind => kind,
    };
    json!({"type": kind.as_str(), "occurred_at": TIMES[step.at],
           "actor": {"org": ORGS[step.org], "person": step.pick(7, &TEXTS)},
           "data": data(kind, step, recorded)})
}

/// `value` with the leaf (or the whole) at `path` replaced by `with`; the path's numbers pick a
/// key or an index at each level.
pub fn mutated(mut value: Value, path: &[usize], with: Value) -> Value {
    fn replace(at: &mut Value, path: &[usize], with: Value) {
        let Some((&n, rest)) = path.split_first() else {
            *at = with;
            return;
        };
        match at {
            Value::Object(map) if !map.is_empty() => {
                let len = map.len();
                if let Some(next) = map.values_mut().nth(n % len) {
                    replace(next, rest, with);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let len = items.len();
                replace(&mut items[n % len], rest, with);
            }
            _ => *at = with,
        }
    }
    replace(&mut value, path, with);
    value
}

/// Any JSON value, small: what a client could put anywhere.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        proptest::sample::select(&AMOUNTS[..]).prop_map(Value::from),
        proptest::sample::select(&TIMES[..]).prop_map(Value::from),
        proptest::sample::select(&DATES[..]).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The ledger's clock for step `i`: never before the step's business time, so that even the
/// latest dates are accepted, and never going back.
fn clock(previous: OffsetDateTime, occurred_at: &str) -> OffsetDateTime {
    let occurred = crate::values::rfc3339::parse(occurred_at).unwrap_or(previous);
    previous.max(occurred.min(latest())) + time::Duration::seconds(1)
}

/// Records the proposal of `acme-stmary`, its activation, then each step as one commit through
/// `decide`, as the ledger would; gives the accepted events in log order.
pub fn record(steps: &[Step]) -> Vec<Event> {
    let settings = Settings::default();
    let p = PartnershipId::parse("acme-stmary").expect("a slug");
    let mut state = Partnership::default();
    let mut recorded: Vec<Event> = Vec::new();
    let mut now = datetime!(1990-01-01 00:00 UTC);
    let opening = [
        Step {
            kind: 0,
            org: 0,
            at: 0,
            picks: [0; 8],
        },
        Step {
            kind: 1,
            org: 1,
            at: 0,
            picks: [0; 8],
        },
    ];
    for step in opening.iter().chain(steps) {
        let value = event_json(step, &recorded);
        let Ok(input) = serde_json::from_value::<EventInput>(value) else {
            continue;
        };
        now = clock(now, TIMES[step.at]);
        let command = Command::Record {
            partnership_id: p.clone(),
            recorded_at: now,
            events: vec![(event_id(recorded.len()), input)],
            signed: None,
        };
        if let Ok(events) = decide(&state, command, &settings) {
            state = events.iter().fold(state, evolve);
            recorded.extend(events);
        }
    }
    recorded
}

/// The last second of the latest date the ledger accepts.
fn latest() -> OffsetDateTime {
    crate::check::LATEST_DATE
        .with_hms(23, 59, 59)
        .expect("a time of day")
        .assume_utc()
}

/// Instants to evaluate a history at: its first and last recording, and the ends of the
/// accepted range.
pub fn instants(events: &[Event]) -> Vec<OffsetDateTime> {
    let mut at = vec![crate::check::EARLIEST, latest()];
    at.extend(events.first().map(|e| e.recorded_at));
    at.extend(events.last().map(|e| e.recorded_at));
    at
}
