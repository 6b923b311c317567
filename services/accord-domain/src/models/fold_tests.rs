//! The linear folds against the simple evaluations, on random histories made to trip every rule:
//! events of the types the rules read, over two years with ties in time, recorded in one order
//! and occurred in another (backfills), with retractions and corrections, asked at several axes.
//! The red flags (`flag_fold`) against `flags_oracle`, history included; the trust timeline
//! (`trust_fold`) against `trust_oracle`.

use proptest::prelude::*;
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::flags::flags;
use super::trust::trust_of;
use super::{Axes, ModelSettings, known};
use super::{flags_oracle, trust_oracle};
use crate::{Event, EventId, EventInput, PartnershipId};

const START: OffsetDateTime = datetime!(2025-01-01 09:00 UTC);

/// One event to make: a kind, its org, the day it occurred (of about two years, on a coarse
/// grid so that instants tie), and the picks its fields are made of.
#[derive(Debug, Clone)]
pub(super) struct Make {
    kind: u8,
    org: u8,
    day: i64,
    picks: [u8; 4],
}

pub(super) fn make() -> impl Strategy<Value = Make> {
    (
        0..28u8,
        0..10u8,
        0..80i64,
        proptest::array::uniform4(0..8u8),
    )
        .prop_map(|(kind, org, day, picks)| Make {
            kind,
            org,
            day: day * 9,
            picks,
        })
}

fn id(n: usize) -> EventId {
    EventId::from_uuid(Uuid::from_u128(n as u128 + 1))
}

/// The type and data of one made event; `made` so far, for retractions and corrections.
fn payload(m: &Make, made: &[Event]) -> (&'static str, Value) {
    let org = if m.org < 5 {
        "acme"
    } else if m.org < 9 {
        "stmary"
    } else {
        "globex"
    };
    let other = if org == "acme" { "stmary" } else { "acme" };
    let [a, b, c, d] = m.picks.map(usize::from);
    let item = |p: usize, prefix: &str| format!("{prefix}{}", p % 4);
    let flag = |p: usize| p % 2 == 0;
    let date = |p: usize| {
        (START + Duration::days(m.day + 20 * p as i64 - 40))
            .date()
            .to_string()
    };
    let at = |p: usize| {
        (START + Duration::days(m.day + p as i64))
            .format(&time::format_description::well_known::Rfc3339)
            .expect("a time")
    };
    match m.kind {
        0 => (
            "partnership_status_changed",
            json!({"status": (["active", "active", "paused", "renewed", "terminated"][a % 5]), "reason": "r"}),
        ),
        1 | 2 => (
            "meeting_requested",
            json!({"meeting_id": item(a, "m"), "requested_by_org": org, "purpose": "p"}),
        ),
        3 => (
            "meeting_scheduled",
            json!({"meeting_id": item(a, "m"), "starts_at": at(b), "host_org": org}),
        ),
        4 => (
            "meeting_cancelled",
            json!({"meeting_id": item(a, "m"), "by_org": org, "notice_hours": ([1, 24, 72, 200][b % 4]), "reason": "r"}),
        ),
        5 => (
            "meeting_rescheduled",
            json!({"meeting_id": item(a, "m"), "by_org": org, "new_starts_at": at(b), "notice_hours": 5}),
        ),
        6 | 7 => {
            let in_person = flag(b);
            let mut data = json!({"meeting_id": item(a, "m"), "in_person": in_person, "attendees": [
                {"org": org, "person": "P", "seniority": "exec"}, {"org": other, "person": "Q", "seniority": "staff"}]});
            if in_person {
                data["location_org"] = json!(if flag(c) { org } else { other });
            }
            ("meeting_held", data)
        }
        8 => ("follow_up_proposed", json!({"by_org": org})),
        9 => (
            "deliverable_committed",
            json!({"deliverable_id": item(a, "d"), "title": "t", "owner_org": org,
            "owner_person": if flag(c) { json!("O") } else { Value::Null }, "due_date": date(b), "top_priority": flag(d)}),
        ),
        10 => (
            "deliverable_due_date_changed",
            json!({"deliverable_id": item(a, "d"), "new_due": date(b), "by_org": org, "reason": "r"}),
        ),
        11 => (
            "deliverable_completed",
            json!({"deliverable_id": item(a, "d"), "accepted_by_org": other}),
        ),
        12 => (
            "deliverable_cancelled",
            json!({"deliverable_id": item(a, "d"), "by_org": org, "reason": "r"}),
        ),
        13 => (
            "goal_proposed",
            json!({"goal_id": item(a, "g"), "kind": (["qualitative", "marketing", "sales"][b % 3]),
            "metric": "leads", "target": "10", "period": {"start": date(0), "end": date(6)}, "by_org": org}),
        ),
        14 => (
            "goal_agreed",
            json!({"goal_id": item(a, "g"), "by_org": org}),
        ),
        15 => (
            "goal_dropped",
            json!({"goal_id": item(a, "g"), "by_org": org, "reason": "r"}),
        ),
        16 => (
            "indicator_recorded",
            json!({"metric": "leads", "value": "3", "period": {"start": date(0), "end": date(2)}, "org": org}),
        ),
        17 => (
            "role_assigned",
            json!({"org": org, "person": item(a, "p"), "role": (["liaison", "exec_sponsor", "liaison"][b % 3]),
            "allocation_pct": ([2.0, 50.0][c % 2]), "selection_basis": (["fit", "availability"][d % 2])}),
        ),
        18 => (
            "role_unassigned",
            json!({"org": org, "person": item(a, "p"), "role": (["liaison", "exec_sponsor"][b % 2]), "reason": "r"}),
        ),
        19 => (
            "communication_tagged",
            json!({"org": org, "class": (["us_them", "us_them", "inclusive"][a % 3]), "doc_ref": "d"}),
        ),
        20 => (
            "deal_closed",
            json!({"deal_id": item(a, "x"), "won": flag(b), "amount": "5", "currency": "USD", "joint_customer": flag(c)}),
        ),
        21 => (
            "joint_customer_highlighted",
            json!({"customer": "c", "channel": "c", "orgs": [org, other]}),
        ),
        22 => (
            "sales_incentive_changed",
            json!({"org": org, "partner_deal_credit_pct": ([0.5, 1.0, 0.8][a % 3]), "effective_from": date(0)}),
        ),
        23 => (
            "deal_registered",
            json!({"deal_id": item(a, "x"), "account": "a", "sourced_by_org": org, "value": "1", "currency": "USD"}),
        ),
        24 => (
            "revenue_reported",
            json!({"org": org, "total": (["100", "1000"][a % 2]), "period": {"start": date(0), "end": date(1)},
            "by_partner": [{"partner_org": other, "amount": (["60", "10"][b % 2])}, {"partner_org": "globex", "amount": "20"}]}),
        ),
        25 => (
            "governance_defined",
            json!({"forums": [{"name": "f", "cadence_days": 30}],
            "decision_rights": [{"topic": "t", "org": org}, {"topic": "u", "org": other}]}),
        ),
        26 => (
            "business_plan_agreed",
            json!({"plan_id": "plan", "version": 1 + (a % 2) as u32, "by_org": org}),
        ),
        _ if !made.is_empty() && flag(a) => (
            "event_retracted",
            json!({"target_event_id": made[b * 7 % made.len()].event_id.to_string(), "reason": "r"}),
        ),
        _ if !made.is_empty() => {
            let target = &made[b * 5 % made.len()];
            let mut replacement = serde_json::to_value(target).expect("json");
            let moved = target.occurred_at + Duration::days(c as i64 * 30 - 90);
            (
                "event_corrected",
                json!({"target_event_id": target.event_id.to_string(), "reason": "r",
                "replacement": {"type": replacement["type"].take(), "occurred_at": moved.format(&time::format_description::well_known::Rfc3339).expect("a time"),
                                "actor": replacement["actor"].take(), "data": replacement["data"].take()}}),
            )
        }
        _ => (
            "exit_procedure_defined",
            json!({"triggers": ["t"], "notice_days": 30, "data_return_terms": "d"}),
        ),
    }
}

/// A proposal (at a random time, with a random rationale), then the made events, recorded in
/// the order made, an hour apart.
pub(super) fn history(proposal: &Make, makes: &[Make]) -> Vec<Event> {
    let p = PartnershipId::parse("acme-stmary").expect("a slug");
    let tags = if proposal.picks[0] == 0 {
        json!(["competitor_did_it"])
    } else {
        json!([])
    };
    let mut made: Vec<Event> = Vec::new();
    let proposed = (
        "partnership_proposed",
        json!({"parties": [{"org": "acme", "name": "A", "kind": "vendor"},
        {"org": "stmary", "name": "S", "kind": "health_system"}], "vision": "v", "rationale_tags": tags}),
    );
    for (i, m) in std::iter::once(proposal).chain(makes).enumerate() {
        let (kind, data) = if i == 0 {
            proposed.clone()
        } else {
            payload(m, &made)
        };
        let occurred = START + Duration::days(m.day);
        let input = json!({"type": kind, "occurred_at": occurred.format(&time::format_description::well_known::Rfc3339).expect("a time"),
            "actor": {"org": "acme"}, "data": data});
        let input: EventInput =
            serde_json::from_value(input).unwrap_or_else(|e| panic!("{kind}: {e}"));
        let recorded = START + Duration::days(800) + Duration::hours(i as i64);
        made.push(input.into_event(id(i), p.clone(), recorded));
    }
    made
}

/// The axes to ask at: live at the end, at each event's business time, and before everything
/// was recorded.
fn axes(events: &[Event], pick: usize) -> Vec<Axes> {
    let end = START + Duration::days(1000);
    let mut axes = vec![
        Axes::at(end),
        Axes::at(START + Duration::days(800) + Duration::hours(pick as i64)),
    ];
    axes.extend(
        events
            .iter()
            .skip(pick % 5)
            .step_by(5)
            .map(|e| Axes::new(end, Some(e.occurred_at))),
    );
    axes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn the_fold_gives_what_every_instant_from_scratch_gives(
        proposal in make(),
        makes in proptest::collection::vec(make(), 0..60),
        pick in 0..60usize,
    ) {
        let events = history(&proposal, &makes);
        let settings = ModelSettings::default();
        for axes in axes(&events, pick) {
            let folded = flags(&events, axes, &settings);
            let oracle = flags_oracle::flags(&events, axes, &settings);
            prop_assert_eq!(folded, oracle, "at {:?}", axes);
            let effective = known(&events, axes);
            let folded = trust_of(&effective, axes, &settings.trust).orgs;
            let oracle = trust_oracle::orgs(&effective, axes.valid_at, &settings.trust);
            prop_assert_eq!(folded.len(), oracle.len());
            for (f, o) in folded.iter().zip(&oracle) {
                prop_assert_eq!(&f.org, &o.org);
                prop_assert_eq!(&f.points, &o.points, "points of {} at {:?}", f.org, axes);
                // Carried forward, the decayed sums may differ from summed terms by rounding.
                for (a, b) in [(f.r, o.r), (f.s, o.s), (f.score, o.score)] {
                    prop_assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{} at {:?}: {} vs {}", f.org, axes, a, b);
                }
            }
        }
    }
}
