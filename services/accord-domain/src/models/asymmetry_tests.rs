//! Given events between acme (A) and stmary (B), when the asymmetry is computed at `as_of`,
//! then every share, the lean, the balance index and the economic dependence are as computed by
//! hand.

use crate::models::Axes;
use serde_json::{Value, json};
use time::macros::datetime;

use super::asymmetry::{AsymmetrySettings, Indicator, PairAsymmetry, asymmetry};
use super::test_support::{history, id};
use crate::Event;

const EPS: f64 = 1e-12;

const AT: &str = "2026-03-01T00:00:00Z";

fn requested(m: &str, by: &'static str) -> (&'static str, &'static str, &'static str, Value) {
    (
        AT,
        by,
        "meeting_requested",
        json!({"meeting_id": m, "requested_by_org": by, "purpose": "p"}),
    )
}

fn acme_vs_stmary(events: &[Event]) -> PairAsymmetry {
    let a = asymmetry(
        events,
        Axes::at(datetime!(2026-03-02 00:00 UTC)),
        &AsymmetrySettings::default(),
    );
    assert_eq!(a.pairs.len(), 2, "one entry per ordered pair");
    a.pairs
        .into_iter()
        .find(|p| p.a.as_str() == "acme")
        .expect("acme first")
}

#[track_caller]
fn share(p: &PairAsymmetry, i: Indicator) -> (u32, u32, Option<f64>, bool) {
    let s = p
        .shares
        .iter()
        .find(|s| s.indicator == i)
        .expect("indicator");
    (s.count, s.of, s.share, s.sufficient)
}

#[test]
fn each_share_counts_what_weighs_on_a() {
    let events = history(&[
        requested("m1", "acme"),
        requested("m2", "acme"),
        requested("m3", "stmary"),
        (AT, "acme", "follow_up_proposed", json!({"by_org": "acme"})),
        (
            AT,
            "stmary",
            "meeting_cancelled",
            json!({"meeting_id": "m3", "by_org": "stmary", "notice_hours": 2, "reason": "r"}),
        ),
        (
            AT,
            "acme",
            "meeting_scheduled",
            json!({"meeting_id": "m1", "starts_at": AT, "host_org": "stmary"}),
        ),
        (
            AT,
            "acme",
            "meeting_held",
            json!({"meeting_id": "m1", "in_person": true, "location_org": "stmary",
            "attendees": [{"org": "acme", "person": "P", "seniority": "staff"}]}),
        ),
        (
            AT,
            "acme",
            "deliverable_committed",
            json!({"deliverable_id": "d1", "title": "t", "owner_org": "acme", "due_date": "2026-06-01"}),
        ),
        (
            AT,
            "acme",
            "deliverable_committed",
            json!({"deliverable_id": "d2", "title": "t", "owner_org": "stmary", "due_date": "2026-06-01"}),
        ),
        (
            AT,
            "stmary",
            "governance_defined",
            json!({"decision_rights": [
            {"topic": "roadmap", "org": "stmary"}, {"topic": "pricing", "org": "stmary"},
            {"topic": "clinical", "org": "stmary"}, {"topic": "marketing", "org": "acme"}]}),
        ),
        (
            AT,
            "acme",
            "communication_tagged",
            json!({"org": "acme", "class": "us_them", "doc_ref": "x"}),
        ),
        (
            AT,
            "acme",
            "communication_tagged",
            json!({"org": "acme", "class": "inclusive", "doc_ref": "y"}),
        ),
        (
            AT,
            "stmary",
            "communication_tagged",
            json!({"org": "stmary", "class": "us_them", "doc_ref": "z"}),
        ),
    ]);
    let p = acme_vs_stmary(&events);
    assert_eq!(
        share(&p, Indicator::Initiation),
        (2, 3, Some(2.0 / 3.0), true)
    );
    assert_eq!(share(&p, Indicator::Chasing), (1, 1, Some(1.0), false));
    assert_eq!(share(&p, Indicator::CancelledOn), (1, 1, Some(1.0), false));
    assert_eq!(share(&p, Indicator::Travel), (1, 1, Some(1.0), false));
    assert_eq!(share(&p, Indicator::Burden), (1, 2, Some(0.5), false));
    assert_eq!(
        share(&p, Indicator::DecisionRights),
        (3, 4, Some(0.75), true)
    );
    assert_eq!(share(&p, Indicator::Vocabulary), (1, 2, Some(0.5), false));
    // Only initiation (2/3) and decision rights (3/4) are sufficient.
    let lean = ((2.0 / 3.0 - 0.5) + 0.25) / 2.0;
    let bi = 1.0 - (2.0 * (2.0 / 3.0 - 0.5) + 2.0 * 0.25) / 2.0;
    assert!((p.lean.expect("lean") - lean).abs() < EPS);
    assert!((p.balance_index.expect("bi") - bi).abs() < EPS);
    let init = p
        .shares
        .iter()
        .find(|s| s.indicator == Indicator::Initiation)
        .expect("init");
    assert_eq!(init.evidence, [id(2), id(3), id(4)]);
}

#[test]
fn the_window_is_180_days_but_governance_is_the_latest_definition() {
    let events = history(&[
        (
            "2025-08-01T00:00:00Z",
            "acme",
            "meeting_requested",
            json!({"meeting_id": "old", "requested_by_org": "acme", "purpose": "p"}),
        ),
        (
            "2025-01-01T00:00:00Z",
            "stmary",
            "governance_defined",
            json!({"decision_rights": [{"topic": "a", "org": "acme"}]}),
        ),
        (
            "2025-02-01T00:00:00Z",
            "stmary",
            "governance_defined",
            json!({"decision_rights": [{"topic": "b", "org": "stmary"}, {"topic": "c", "org": "stmary"}, {"topic": "d", "org": "stmary"}]}),
        ),
        requested("new", "stmary"),
    ]);
    let p = acme_vs_stmary(&events);
    assert_eq!(
        share(&p, Indicator::Initiation),
        (0, 1, Some(0.0), false),
        "the old request fell out"
    );
    assert_eq!(
        share(&p, Indicator::DecisionRights),
        (3, 3, Some(1.0), true)
    );
    assert!((p.lean.expect("lean") - 0.5).abs() < EPS);
    assert!(
        p.balance_index.expect("bi").abs() < EPS,
        "all power with B: BI 0"
    );
    let none = acme_vs_stmary(&history(&[requested("m", "acme")]));
    assert_eq!(
        (none.lean, none.balance_index),
        (None, None),
        "nothing sufficient"
    );
}

#[test]
fn economic_dependence_from_the_latest_revenue_reports() {
    let report = |org: &'static str, total: &str, partners: Value| {
        (
            AT,
            org,
            "revenue_reported",
            json!({"org": org, "total": total, "by_partner": partners,
            "period": {"start": "2025-01-01", "end": "2025-12-31"}}),
        )
    };
    let events = history(&[
        report(
            "acme",
            "1000",
            json!([{"partner_org": "stmary", "amount": "999"}]),
        ),
        report(
            "acme",
            "1000",
            json!([{"partner_org": "stmary", "amount": "600"}]),
        ),
        report(
            "stmary",
            "10000",
            json!([{"partner_org": "acme", "amount": "100"}]),
        ),
    ]);
    let p = acme_vs_stmary(&events);
    let e = &p.economic;
    assert!((e.d_a.expect("d_a") - 0.6).abs() < EPS);
    assert!((e.d_b.expect("d_b") - 0.01).abs() < EPS);
    assert!((e.da.expect("da") - 0.59).abs() < EPS);
    assert!((e.jd.expect("jd") - 0.61).abs() < EPS);
    assert!((e.da_over_jd.expect("ratio") - 0.59 / 0.61).abs() < EPS);
    assert!(
        (e.hhi_a.expect("hhi") - 1.0).abs() < EPS,
        "one partner: HHI 1"
    );
    assert!(
        (e.partner_revenue_share_a.expect("partner share") - 0.6).abs() < EPS,
        "600 of 1000 through partners"
    );
    assert_eq!(e.evidence, [id(3), id(4)]);
}
