//! Given events, when the trust timeline is computed at `as_of`, then each org's evidence,
//! score, band and points are as computed by hand (rules T1 to T12).

use crate::models::Axes;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use super::test_support::{history, id};
use super::trust::{Band, OrgTrust, Rule, TrustSettings, trust};
use crate::{Event, EventId};

const EPS: f64 = 1e-9;

fn org<'a>(t: &'a [OrgTrust], name: &str) -> &'a OrgTrust {
    t.iter()
        .find(|o| o.org.as_str() == name)
        .unwrap_or_else(|| panic!("{name} in the timeline"))
}

/// Checks an org's decayed evidence and its points' rules.
#[track_caller]
fn check(
    events: &[Event],
    as_of: OffsetDateTime,
    who: &str,
    r: f64,
    s: f64,
    rules: &[(Rule, u128)],
) -> OrgTrust {
    let timeline = trust(events, Axes::at(as_of), &TrustSettings::default());
    let o = org(&timeline.orgs, who).clone();
    assert!((o.r - r).abs() < EPS, "{who}: r = {}, expected {r}", o.r);
    assert!((o.s - s).abs() < EPS, "{who}: s = {}, expected {s}", o.s);
    assert!(
        (o.score - (r + 1.0) / (r + s + 2.0)).abs() < EPS,
        "score = (r + 1) / (r + s + 2)"
    );
    let got: Vec<(Rule, EventId)> = o.points.iter().map(|p| (p.rule_id, p.event_id)).collect();
    let want: Vec<(Rule, EventId)> = rules.iter().map(|(r, n)| (*r, id(*n))).collect();
    assert_eq!(got, want, "{who}: points");
    o
}

fn meeting(
    m: &str,
    at: &str,
    in_person: bool,
    orgs: &[&str],
) -> Vec<(String, &'static str, &'static str, Value)> {
    let attendees: Vec<Value> = orgs
        .iter()
        .map(|o| json!({"org": o, "person": "P", "seniority": "manager"}))
        .collect();
    let mut held = json!({"meeting_id": m, "in_person": in_person, "attendees": attendees});
    if in_person {
        held["location_org"] = json!("stmary");
    }
    vec![
        (
            at.to_owned(),
            "acme",
            "meeting_requested",
            json!({"meeting_id": m, "requested_by_org": "acme", "purpose": "p"}),
        ),
        (
            at.to_owned(),
            "acme",
            "meeting_scheduled",
            json!({"meeting_id": m, "starts_at": at, "host_org": "acme"}),
        ),
        (at.to_owned(), "acme", "meeting_held", held),
    ]
}

fn build(items: &[(String, &'static str, &'static str, Value)]) -> Vec<Event> {
    let borrowed: Vec<(&str, &str, &str, Value)> = items
        .iter()
        .map(|(a, o, k, d)| (a.as_str(), *o, *k, d.clone()))
        .collect();
    history(&borrowed)
}

#[test]
fn t7_a_meeting_held_counts_for_each_attending_org() {
    let at = datetime!(2026-02-01 10:00 UTC);
    let mut items = meeting("m1", "2026-02-01T10:00:00Z", false, &["acme", "stmary"]);
    items.extend(meeting("m2", "2026-02-01T10:00:00Z", true, &["acme"]));
    let events = build(&items);
    // Events: 1 proposal, 2-4 m1, 5-7 m2.
    let acme = check(
        &events,
        at,
        "acme",
        1.5,
        0.0,
        &[(Rule::T7, 4), (Rule::T7, 7)],
    );
    assert!((acme.points[0].score_before - 0.5).abs() < EPS);
    assert!((acme.points[0].score_after - 1.5 / 2.5).abs() < EPS);
    assert!((acme.points[0].delta - 0.1).abs() < EPS);
    assert_eq!(acme.band, Band::InsufficientEvidence, "r + s < 3");
    check(&events, at, "stmary", 0.5, 0.0, &[(Rule::T7, 4)]);
}

#[test]
fn t1_t2_deliverables_on_time_late_and_open_past_due() {
    let commit = |d: &str, due: &str| {
        (
            "2026-01-05T09:00:00Z".to_owned(),
            "acme",
            "deliverable_committed",
            json!({"deliverable_id": d, "title": "t", "owner_org": "acme", "due_date": due}),
        )
    };
    let done = |d: &str, at: &str| {
        (
            at.to_owned(),
            "acme",
            "deliverable_completed",
            json!({"deliverable_id": d}),
        )
    };
    let events = build(&[
        commit("early", "2026-03-01"),
        commit("late", "2026-03-01"),
        commit("open", "2026-03-10"),
        done("early", "2026-03-01T18:00:00Z"),
        done("late", "2026-03-02T09:00:00Z"),
    ]);
    // Before the open one is due: one T1, one T2. As of 2026-03-02 09:00 there is no decay of
    // the T2 and 15 hours of decay of the T1.
    let as_of = datetime!(2026-03-02 09:00 UTC);
    let t1_weight = (-(15.0 / 24.0) / 180.0_f64).exp2();
    check(
        &events,
        as_of,
        "acme",
        t1_weight,
        1.0,
        &[(Rule::T1, 5), (Rule::T2, 6)],
    );
    // Once the open one's due date has passed, it counts once, from the day after it was due.
    let as_of = datetime!(2026-03-11 00:00 UTC);
    let o = trust(&events, Axes::at(as_of), &TrustSettings::default());
    let acme = org(&o.orgs, "acme");
    let rules: Vec<Rule> = acme.points.iter().map(|p| p.rule_id).collect();
    assert_eq!(rules, [Rule::T1, Rule::T2, Rule::T2]);
    assert_eq!(acme.points[2].at, datetime!(2026-03-11 00:00 UTC));
    assert_eq!(
        acme.points[2].event_id,
        id(4),
        "the evidence is the commitment"
    );
    let later = trust(
        &events,
        Axes::at(datetime!(2026-06-01 00:00 UTC)),
        &TrustSettings::default(),
    );
    assert_eq!(org(&later.orgs, "acme").points.len(), 3, "counted once");
}

#[test]
fn t3_t4_due_date_changes_by_notice() {
    let events = build(&[
        (
            "2026-01-05T09:00:00Z".to_owned(),
            "acme",
            "deliverable_committed",
            json!({"deliverable_id": "d", "title": "t", "owner_org": "acme", "due_date": "2026-03-01"}),
        ),
        // 14 days' notice exactly: T3.
        (
            "2026-02-15T00:00:00Z".to_owned(),
            "stmary",
            "deliverable_due_date_changed",
            json!({"deliverable_id": "d", "new_due": "2026-04-01", "by_org": "stmary", "reason": "r"}),
        ),
        // 5 days before the new due date: T4.
        (
            "2026-03-27T00:00:00Z".to_owned(),
            "stmary",
            "deliverable_due_date_changed",
            json!({"deliverable_id": "d", "new_due": "2026-05-01", "by_org": "stmary", "reason": "r"}),
        ),
    ]);
    let as_of = datetime!(2026-03-27 00:00 UTC);
    let t3 = 0.25 * (-(40.0) / 180.0_f64).exp2();
    check(
        &events,
        as_of,
        "stmary",
        0.0,
        t3 + 0.75,
        &[(Rule::T3, 3), (Rule::T4, 4)],
    );
    check(&events, as_of, "acme", 0.0, 0.0, &[]);
}

#[test]
fn t5_t6_cancellations_by_notice_and_reschedules() {
    let at = "2026-02-01T10:00:00Z";
    let events = build(&[
        (
            at.to_owned(),
            "acme",
            "meeting_requested",
            json!({"meeting_id": "a", "requested_by_org": "acme", "purpose": "p"}),
        ),
        (
            at.to_owned(),
            "acme",
            "meeting_requested",
            json!({"meeting_id": "b", "requested_by_org": "acme", "purpose": "p"}),
        ),
        (
            at.to_owned(),
            "acme",
            "meeting_scheduled",
            json!({"meeting_id": "b", "starts_at": at, "host_org": "acme"}),
        ),
        (
            at.to_owned(),
            "stmary",
            "meeting_cancelled",
            json!({"meeting_id": "a", "by_org": "stmary", "notice_hours": 47, "reason": "r"}),
        ),
        (
            at.to_owned(),
            "stmary",
            "meeting_rescheduled",
            json!({"meeting_id": "b", "by_org": "stmary", "new_starts_at": at, "notice_hours": 100}),
        ),
        (
            at.to_owned(),
            "stmary",
            "meeting_cancelled",
            json!({"meeting_id": "b", "by_org": "stmary", "notice_hours": 48, "reason": "r"}),
        ),
    ]);
    let as_of = datetime!(2026-02-01 10:00 UTC);
    check(
        &events,
        as_of,
        "stmary",
        0.0,
        2.0,
        &[(Rule::T5, 5), (Rule::T6, 6), (Rule::T6, 7)],
    );
}

#[test]
fn t8_to_t11_follow_ups_introductions_joint_customers_agreed_goals() {
    let at = "2026-02-01T10:00:00Z";
    let events = build(&[
        (
            at.to_owned(),
            "acme",
            "follow_up_proposed",
            json!({"by_org": "acme"}),
        ),
        (
            at.to_owned(),
            "stmary",
            "introduction_made",
            json!({"by_org": "stmary", "introduced_party": "Mercy", "to_org": "acme"}),
        ),
        (
            at.to_owned(),
            "acme",
            "joint_customer_highlighted",
            json!({"customer": "Mercy", "channel": "press", "orgs": ["acme", "stmary"]}),
        ),
        (
            at.to_owned(),
            "acme",
            "goal_proposed",
            json!({"goal_id": "g", "kind": "sales", "metric": "leads", "target": "5",
            "period": {"start": "2026-01-01", "end": "2026-12-31"}, "by_org": "acme"}),
        ),
        (
            at.to_owned(),
            "stmary",
            "goal_agreed",
            json!({"goal_id": "g", "by_org": "stmary"}),
        ),
    ]);
    let as_of = datetime!(2026-02-01 10:00 UTC);
    check(
        &events,
        as_of,
        "acme",
        0.75,
        0.0,
        &[(Rule::T8, 2), (Rule::T10, 4)],
    );
    check(
        &events,
        as_of,
        "stmary",
        2.0,
        0.0,
        &[(Rule::T9, 3), (Rule::T10, 4), (Rule::T11, 6)],
    );
}

#[test]
fn t12_a_liaison_seat_vacant_more_than_14_days() {
    let events = build(&[
        (
            "2026-01-10T00:00:00Z".to_owned(),
            "acme",
            "role_assigned",
            json!({"org": "acme", "person": "Ana", "role": "liaison", "allocation_pct": 50.0, "selection_basis": "fit"}),
        ),
        (
            "2026-02-01T00:00:00Z".to_owned(),
            "stmary",
            "partnership_status_changed",
            json!({"status": "active", "reason": "r"}),
        ),
        // acme's seat empties on 2026-03-01 and is filled 10 days later: no T12.
        (
            "2026-03-01T00:00:00Z".to_owned(),
            "acme",
            "role_unassigned",
            json!({"org": "acme", "person": "Ana", "role": "liaison", "reason": "r"}),
        ),
        (
            "2026-03-11T00:00:00Z".to_owned(),
            "acme",
            "role_assigned",
            json!({"org": "acme", "person": "Bo", "role": "liaison", "allocation_pct": 50.0, "selection_basis": "fit"}),
        ),
    ]);
    // stmary never had a liaison: vacant from activation, T12 once 14 days have passed.
    let as_of = datetime!(2026-02-15 00:00 UTC);
    check(&events, as_of, "stmary", 0.0, 0.0, &[]);
    let as_of = datetime!(2026-02-16 00:00 UTC);
    let decay = (-(1.0) / 180.0_f64).exp2();
    let o = check(&events, as_of, "stmary", 0.0, decay, &[(Rule::T12, 3)]);
    assert_eq!(o.points[0].at, datetime!(2026-02-15 00:00 UTC));
    check(
        &events,
        datetime!(2026-04-01 00:00 UTC),
        "acme",
        0.0,
        0.0,
        &[],
    );
}

#[test]
fn evidence_halves_every_180_days_and_bands_follow_the_score() {
    let mut items = Vec::new();
    for m in ["a", "b", "c"] {
        items.extend(meeting(m, "2026-02-01T10:00:00Z", true, &["acme"]));
    }
    let events = build(&items);
    let fresh = check(
        &events,
        datetime!(2026-02-01 10:00 UTC),
        "acme",
        3.0,
        0.0,
        &[(Rule::T7, 4), (Rule::T7, 7), (Rule::T7, 10)],
    );
    assert!((fresh.score - 0.8).abs() < EPS);
    assert_eq!(fresh.band, Band::Healthy);
    let aged = check(
        &events,
        datetime!(2026-07-31 10:00 UTC),
        "acme",
        1.5,
        0.0,
        &[(Rule::T7, 4), (Rule::T7, 7), (Rule::T7, 10)],
    );
    assert_eq!(aged.band, Band::InsufficientEvidence, "r + s fell below 3");

    let mut items = Vec::new();
    for m in ["a", "b", "c", "d"] {
        items.push((
            "2026-02-01T10:00:00Z".to_owned(),
            "acme",
            "meeting_requested",
            json!({"meeting_id": m, "requested_by_org": "acme", "purpose": "p"}),
        ));
        items.push((
            "2026-02-01T10:00:00Z".to_owned(),
            "stmary",
            "meeting_cancelled",
            json!({"meeting_id": m, "by_org": "stmary", "notice_hours": 1, "reason": "r"}),
        ));
    }
    let events = build(&items);
    let t = trust(
        &events,
        Axes::at(datetime!(2026-02-01 10:00 UTC)),
        &TrustSettings::default(),
    );
    let stmary = org(&t.orgs, "stmary");
    assert!((stmary.score - 1.0 / 6.0).abs() < EPS);
    assert_eq!(stmary.band, Band::AtRisk);
}

#[test]
fn as_of_leaves_out_what_was_recorded_later() {
    let mut events = build(&meeting("m1", "2026-02-01T10:00:00Z", false, &["acme"]));
    // The meeting was recorded a month after it was held.
    events[3].recorded_at = datetime!(2026-03-01 00:00 UTC);
    check(
        &events,
        datetime!(2026-02-15 00:00 UTC),
        "acme",
        0.0,
        0.0,
        &[],
    );
    // 2026-02-01 10:00 to 2026-03-01 00:00 is 27 days and 14 hours.
    let decay = (-(27.0 + 14.0 / 24.0) / 180.0_f64).exp2();
    check(
        &events,
        datetime!(2026-03-01 00:00 UTC),
        "acme",
        0.5 * decay,
        0.0,
        &[(Rule::T7, 4)],
    );
}

/// The worked example of docs/domain.md, for the trust model.
#[test]
fn the_worked_example() {
    let at = |d: &str| format!("2026-02-{d}T10:00:00Z");
    let mut items = meeting("m1", &at("01"), false, &["acme", "stmary"]);
    items.push((
        at("02"),
        "acme",
        "follow_up_proposed",
        json!({"by_org": "acme"}),
    ));
    items.push((
        at("03"),
        "acme",
        "meeting_requested",
        json!({"meeting_id": "m2", "requested_by_org": "acme", "purpose": "p"}),
    ));
    items.push((
        at("03"),
        "acme",
        "meeting_scheduled",
        json!({"meeting_id": "m2", "starts_at": at("05"), "host_org": "acme"}),
    ));
    items.push((
        at("04"),
        "stmary",
        "meeting_cancelled",
        json!({"meeting_id": "m2", "by_org": "stmary", "notice_hours": 24, "reason": "r"}),
    ));
    let events = build(&items);
    // 1 proposal, 2-4 m1 (4 held), 5 follow-up, 6-7 m2, 8 cancellation.
    let as_of = datetime!(2026-02-04 10:00 UTC);
    let t = trust(&events, Axes::at(as_of), &TrustSettings::default());
    let rules = |o: &OrgTrust| {
        o.points
            .iter()
            .map(|p| (p.rule_id, p.event_id))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rules(org(&t.orgs, "acme")),
        [(Rule::T7, id(4)), (Rule::T8, id(5))]
    );
    assert_eq!(
        rules(org(&t.orgs, "stmary")),
        [(Rule::T7, id(4)), (Rule::T5, id(8))]
    );

    // Step 5: the follow-up is retracted; acme's T8 point disappears.
    items.push((
        at("04"),
        "acme",
        "event_retracted",
        json!({"target_event_id": id(5).to_string(), "reason": "logged by mistake"}),
    ));
    let events = build(&items);
    let t = trust(&events, Axes::at(as_of), &TrustSettings::default());
    assert_eq!(rules(org(&t.orgs, "acme")), [(Rule::T7, id(4))]);
    assert_eq!(
        rules(org(&t.orgs, "stmary")),
        [(Rule::T7, id(4)), (Rule::T5, id(8))]
    );
}
