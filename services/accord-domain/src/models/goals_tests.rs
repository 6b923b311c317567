//! Given goals and figures, when attainment is computed at `as_of`, then each status, figure
//! and the coverage are as computed by hand.

use crate::models::Axes;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use super::goals::{GoalAttainment, GoalStatus, goals};
use super::test_support::{history_by_acme as history, id};
use crate::Event;

fn goal(g: &str, kind: &str, metric: &str, target: &str) -> (&'static str, &'static str, Value) {
    (
        "2026-01-02T00:00:00Z",
        "goal_proposed",
        json!({"goal_id": g, "kind": kind, "metric": metric, "target": target,
               "period": {"start": "2026-01-01", "end": "2026-12-31"}, "by_org": "acme"}),
    )
}

fn agreed(g: &str, orgs: &[&str]) -> (&'static str, &'static str, Value) {
    (
        "2026-01-03T00:00:00Z",
        "goal_agreed",
        json!({"goal_id": g, "agreed_by_orgs": orgs}),
    )
}

fn leads(value: &str, start: &str, end: &str) -> (&'static str, &'static str, Value) {
    (
        "2026-01-04T00:00:00Z",
        "indicator_recorded",
        json!({"metric": "leads", "value": value, "period": {"start": start, "end": end}, "org": "stmary"}),
    )
}

#[track_caller]
fn only(events: &[Event], as_of: OffsetDateTime) -> GoalAttainment {
    let g = goals(events, Axes::at(as_of));
    assert_eq!(g.goals.len(), 1);
    g.goals[0].clone()
}

#[test]
fn attainment_sums_indicators_of_the_metric_within_the_period() {
    let events = history(&[
        goal("g", "marketing", "leads", "100"),
        agreed("g", &["acme", "stmary"]),
        leads("30", "2026-01-01", "2026-03-31"),
        leads("25", "2026-04-01", "2026-06-30"),
        leads("999", "2025-10-01", "2026-01-31"), // starts before the goal's period
        (
            "2026-01-04T00:00:00Z",
            "indicator_recorded",
            json!({"metric": "impressions", "value": "500", "org": "stmary",
                   "period": {"start": "2026-01-01", "end": "2026-03-31"}}),
        ),
    ]);
    let g = only(&events, datetime!(2026-07-01 00:00 UTC));
    assert_eq!(g.actual.to_string(), "55");
    assert!((g.attainment - 0.55).abs() < 1e-12);
    assert_eq!(g.evidence, [id(2), id(3), id(4), id(5)]);
    // 181 of 365 days have passed: on track needs 0.9 × 181/365 = 0.446.
    assert!((g.elapsed - 181.0 / 365.0).abs() < 1e-12);
    assert_eq!(g.status, GoalStatus::OnTrack);
}

#[test]
fn each_status() {
    let base = [
        goal("g", "marketing", "leads", "100"),
        agreed("g", &["acme", "stmary"]),
    ];
    let with = |extra: &[(&'static str, &'static str, Value)]| {
        let mut items = base.to_vec();
        items.extend_from_slice(extra);
        history(&items)
    };
    // Not agreed by every party.
    let events = history(&[
        goal("g", "marketing", "leads", "100"),
        agreed("g", &["acme"]),
    ]);
    assert_eq!(
        only(&events, datetime!(2026-02-01 00:00 UTC)).status,
        GoalStatus::NotAgreed
    );
    // Achieved.
    let events = with(&[leads("100", "2026-01-01", "2026-01-31")]);
    assert_eq!(
        only(&events, datetime!(2026-02-01 00:00 UTC)).status,
        GoalStatus::Achieved
    );
    // Behind: 20 at mid-year needs 0.9 × 0.5 = 0.45.
    let events = with(&[leads("20", "2026-01-01", "2026-01-31")]);
    assert_eq!(
        only(&events, datetime!(2026-07-02 12:00 UTC)).status,
        GoalStatus::Behind
    );
    // Missed: the period is over at the end of its last day.
    assert_eq!(
        only(&events, datetime!(2026-12-31 23:59 UTC)).status,
        GoalStatus::Behind
    );
    assert_eq!(
        only(&events, datetime!(2027-01-01 00:00 UTC)).status,
        GoalStatus::Missed
    );
    // Dropped.
    let events = with(&[(
        "2026-03-01T00:00:00Z",
        "goal_dropped",
        json!({"goal_id": "g", "by_org": "stmary", "reason": "budget"}),
    )]);
    assert_eq!(
        only(&events, datetime!(2026-04-01 00:00 UTC)).status,
        GoalStatus::Dropped
    );
}

#[test]
fn a_revision_changes_target_and_period() {
    let events = history(&[
        goal("g", "marketing", "leads", "100"),
        agreed("g", &["acme", "stmary"]),
        leads("40", "2026-01-01", "2026-01-31"),
        (
            "2026-02-01T00:00:00Z",
            "goal_revised",
            json!({"goal_id": "g", "new_target": "40", "by_org": "stmary",
                   "new_period": {"start": "2026-01-01", "end": "2026-06-30"}}),
        ),
    ]);
    let g = only(&events, datetime!(2026-02-02 00:00 UTC));
    assert_eq!(g.target.to_string(), "40");
    assert_eq!(g.status, GoalStatus::Achieved);
    let before = only(&events, datetime!(2026-01-31 00:00 UTC));
    assert_eq!(
        before.target.to_string(),
        "100",
        "as of before the revision"
    );
}

#[test]
fn closed_deals_and_revenue_come_from_won_deals() {
    let deal = |d: &str, at: &'static str, won: bool, amount: &str| {
        [
            (
                "2026-01-05T00:00:00Z",
                "deal_registered",
                json!({"deal_id": d, "account": "a", "sourced_by_org": "acme", "value": amount, "currency": "USD"}),
            ),
            (
                at,
                "deal_closed",
                json!({"deal_id": d, "won": won, "amount": amount, "currency": "USD", "joint_customer": false}),
            ),
        ]
    };
    let mut items = vec![
        goal("n", "sales", "closed_deals", "2"),
        agreed("n", &["acme", "stmary"]),
        goal("r", "sales", "revenue", "1000"),
        agreed("r", &["acme", "stmary"]),
        // A revenue indicator does not count toward a revenue goal: deals do.
        (
            "2026-01-04T00:00:00Z",
            "indicator_recorded",
            json!({"metric": "revenue", "value": "5000", "org": "acme",
                   "period": {"start": "2026-01-01", "end": "2026-03-31"}}),
        ),
    ];
    items.extend(deal("d1", "2026-02-01T00:00:00Z", true, "600.50"));
    items.extend(deal("d2", "2026-02-02T00:00:00Z", false, "9000"));
    items.extend(deal("d3", "2027-02-01T00:00:00Z", true, "800"));
    let events = history(&items);
    let g = goals(&events, Axes::at(datetime!(2027-03-01 00:00 UTC)));
    let n = &g.goals[0];
    let r = &g.goals[1];
    assert_eq!(
        (n.goal_id.as_str(), n.actual.to_string()),
        ("n", "1".to_owned())
    );
    assert_eq!(
        (r.goal_id.as_str(), r.actual.to_string()),
        ("r", "600.50".to_owned())
    );
    assert_eq!(r.status, GoalStatus::Missed);
}

#[test]
fn coverage_needs_an_agreed_goal_of_each_kind() {
    let events = history(&[
        goal("q", "qualitative", "custom", "1"),
        agreed("q", &["acme", "stmary"]),
        goal("m", "marketing", "leads", "10"),
        agreed("m", &["acme", "stmary"]),
        goal("s", "sales", "revenue", "10"),
        agreed("s", &["acme"]),
    ]);
    let g = goals(&events, Axes::at(datetime!(2026-02-01 00:00 UTC)));
    assert!(g.coverage.qualitative && g.coverage.marketing);
    assert!(!g.coverage.sales, "the sales goal is not agreed by stmary");
    assert!(!g.coverage.complete);
    let mut items = vec![
        goal("q", "qualitative", "custom", "1"),
        agreed("q", &["acme", "stmary"]),
        goal("m", "marketing", "leads", "10"),
        agreed("m", &["acme", "stmary"]),
        goal("s", "sales", "revenue", "10"),
    ];
    items.push(agreed("s", &["acme", "stmary"]));
    let g = goals(&history(&items), Axes::at(datetime!(2026-02-01 00:00 UTC)));
    assert!(g.coverage.complete);
}

/// A history stored before amounts had a range: a target of 10^-28 and two indicators at the
/// decimal maximum. The sum saturates and the ratio is taken as floats: no overflow, no panic.
#[test]
fn extreme_amounts_saturate_instead_of_overflowing() {
    let max = "79228162514264337593543950335";
    let events = history(&[
        goal("g", "marketing", "leads", "0.0000000000000000000000000001"),
        agreed("g", &["acme", "stmary"]),
        leads(max, "2026-01-01", "2026-03-31"),
        leads(max, "2026-04-01", "2026-06-30"),
    ]);
    let g = only(&events, datetime!(2026-07-01 00:00 UTC));
    assert_eq!(g.actual.to_string(), max);
    assert!(g.attainment > 1e56, "{}", g.attainment);
    assert_eq!(g.status, GoalStatus::Achieved);
}

/// Consent is per org: a goal is agreed once every party recorded its own `goal_agreed`; one
/// org's consent leaves it `not_agreed`. (A consent recorded for both, before this rule, still
/// counts for both: see `each_status`.)
#[test]
fn a_goal_is_agreed_when_each_party_consented_for_itself() {
    let consent = |at: &'static str, org: &'static str| {
        (
            at,
            org,
            "goal_agreed",
            json!({"goal_id": "g", "by_org": org}),
        )
    };
    let (at, kind, data) = goal("g", "marketing", "leads", "100");
    let events = super::test_support::history(&[
        (at, "acme", kind, data),
        consent("2026-01-03T00:00:00Z", "acme"),
        consent("2026-01-10T00:00:00Z", "stmary"),
    ]);
    let status_at = |t| {
        let known: Vec<Event> = events
            .iter()
            .filter(|e| e.recorded_at <= t)
            .cloned()
            .collect();
        only(&known, t).status
    };
    assert_eq!(
        status_at(datetime!(2026-01-05 00:00 UTC)),
        GoalStatus::NotAgreed
    );
    assert_eq!(
        status_at(datetime!(2026-01-11 00:00 UTC)),
        GoalStatus::Behind
    );
}
