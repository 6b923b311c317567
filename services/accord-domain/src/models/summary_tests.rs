//! Given events, the summary reads each part from its own model at the same `as_of`.

use crate::models::Axes;
use serde_json::json;
use time::macros::datetime;

use super::ModelSettings;
use super::asymmetry::asymmetry;
use super::flags::flags;
use super::goals::goals;
use super::summary::{GoalCounts, summary};
use super::test_support::history;
use super::trust::{Band, trust};
use crate::event::Status;

#[test]
fn the_summary_agrees_with_each_model() {
    let events = history(&[
        (
            "2026-01-10T00:00:00Z",
            "acme",
            "partnership_status_changed",
            json!({"status": "active", "reason": "signed"}),
        ),
        (
            "2026-01-12T00:00:00Z",
            "acme",
            "goal_proposed",
            json!({"goal_id": "g1", "kind": "sales", "metric": "closed_deals", "target": "2",
                   "period": {"start": "2026-01-01", "end": "2026-12-31"}, "by_org": "acme"}),
        ),
        (
            "2026-01-13T00:00:00Z",
            "stmary",
            "goal_agreed",
            json!({"goal_id": "g1", "agreed_by_orgs": ["acme", "stmary"]}),
        ),
        (
            "2026-01-14T00:00:00Z",
            "acme",
            "goal_proposed",
            json!({"goal_id": "g2", "kind": "marketing", "metric": "leads", "target": "1",
                   "period": {"start": "2026-01-01", "end": "2026-12-31"}, "by_org": "acme"}),
        ),
    ]);
    let settings = ModelSettings::default();
    let as_of = datetime!(2026-03-01 00:00 UTC);
    let s = summary(&events, Axes::at(as_of), &settings);

    assert_eq!(s.status, Some(Status::Active));
    let t = trust(&events, Axes::at(as_of), &settings.trust);
    assert_eq!(s.trust.len(), 2);
    for (band, org) in s.trust.iter().zip(&t.orgs) {
        assert_eq!(
            (&band.org, band.score, band.band),
            (&org.org, org.score, org.band)
        );
    }
    // Only the goal agreement counts as evidence (T11, r = 0.5 each): not enough for a band.
    assert!(s.trust.iter().all(|b| b.band == Band::InsufficientEvidence));
    let a = asymmetry(&events, Axes::at(as_of), &settings.asymmetry);
    assert_eq!(s.balance.len(), 1, "one pair, listed once");
    assert_eq!(
        (s.balance[0].a.as_str(), s.balance[0].b.as_str()),
        ("acme", "stmary")
    );
    assert_eq!(s.balance[0].balance_index, a.pairs[0].balance_index);
    assert_eq!(
        s.open_flags,
        flags(&events, Axes::at(as_of), &settings).open
    );
    assert!(
        s.open_flags.iter().any(|f| f.flag == "no_success_metrics"),
        "active 50 days without qualitative and marketing goals agreed"
    );
    let g = goals(&events, Axes::at(as_of));
    assert_eq!(s.goal_coverage, g.coverage);
    assert!(s.goal_coverage.sales && !s.goal_coverage.marketing);
    assert_eq!(
        s.goals,
        GoalCounts {
            not_agreed: 1,
            behind: 1,
            ..GoalCounts::default()
        }
    );
}

#[test]
fn before_any_status_change_the_partnership_has_no_status() {
    let events = history(&[(
        "2026-01-10T00:00:00Z",
        "acme",
        "partnership_status_changed",
        json!({"status": "active", "reason": "signed"}),
    )]);
    let s = summary(
        &events,
        Axes::at(datetime!(2026-01-05 00:00 UTC)),
        &ModelSettings::default(),
    );
    assert_eq!(s.status, None);
    assert!(s.open_flags.is_empty());
}
