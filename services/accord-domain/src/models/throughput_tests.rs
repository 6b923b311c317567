//! Given deliverables of acme, when throughput is computed at `as_of`, then every figure is as
//! computed by hand.

use crate::models::Axes;
use serde_json::{Value, json};
use time::macros::datetime;

use super::test_support::history_by_acme as history;
use super::throughput::{ThroughputSettings, throughput};
use crate::Event;

fn committed(
    d: &str,
    at: &'static str,
    due: &str,
    top: bool,
) -> (&'static str, &'static str, Value) {
    (
        at,
        "deliverable_committed",
        json!({"deliverable_id": d, "title": "t", "owner_org": "acme", "due_date": due, "top_priority": top}),
    )
}

fn step(kind: &'static str, d: &str, at: &'static str) -> (&'static str, &'static str, Value) {
    (at, kind, json!({"deliverable_id": d}))
}

fn events() -> Vec<Event> {
    history(&[
        // a: started 2026-01-05, done 2026-01-15 (10 days), due 2026-01-31: on time.
        committed("a", "2026-01-05T09:00:00Z", "2026-01-31", true),
        step("deliverable_started", "a", "2026-01-05T09:00:00Z"),
        step("deliverable_completed", "a", "2026-01-15T09:00:00Z"),
        // b: never started, done the same day it was committed (at least 1 day), late.
        committed("b", "2026-02-20T09:00:00Z", "2026-02-10", false),
        step("deliverable_completed", "b", "2026-02-20T12:00:00Z"),
        // c: due 2026-03-15, moved to 2026-04-20, done 2026-04-10: late against the original,
        // on time against the latest; 36 slip days.
        committed("c", "2026-02-01T09:00:00Z", "2026-03-15", true),
        step("deliverable_started", "c", "2026-02-02T09:00:00Z"),
        (
            "2026-03-01T00:00:00Z",
            "deliverable_due_date_changed",
            json!({"deliverable_id": "c", "new_due": "2026-04-20", "by_org": "acme", "reason": "r"}),
        ),
        step("deliverable_completed", "c", "2026-04-10T09:00:00Z"),
        // d: open, top priority, due in Q2.
        committed("d", "2026-03-20T09:00:00Z", "2026-05-01", true),
        // e: cancelled.
        committed("e", "2026-01-10T09:00:00Z", "2026-03-01", false),
        (
            "2026-02-01T09:00:00Z",
            "deliverable_cancelled",
            json!({"deliverable_id": "e", "by_org": "acme", "reason": "r"}),
        ),
    ])
}

#[test]
fn figures_per_owner() {
    let t = throughput(
        &events(),
        Axes::at(datetime!(2026-04-15 09:00 UTC)),
        &ThroughputSettings::default(),
    );
    assert_eq!(t.owners.len(), 1);
    let o = &t.owners[0];
    assert_eq!(o.owner_org.as_str(), "acme");
    // Cycle times in the trailing 90 days (from 2026-01-15 09:00 exclusive): b 1 day, c 67
    // days; a finished exactly 90 days before and falls out.
    assert_eq!((o.cycle_time_p50, o.cycle_time_p85), (Some(1), Some(67)));
    // On time: a (original), c only against the latest due date; b late on both.
    assert_eq!(o.on_time_original, Some(1.0 / 3.0));
    assert_eq!(o.on_time_latest, Some(2.0 / 3.0));
    assert_eq!((o.slips, o.slip_days), (1, 36));
    assert_eq!(o.open_items.len(), 1);
    assert_eq!(o.open_items[0].deliverable_id.as_str(), "d");
    assert_eq!(
        (o.open_items[0].age_days, o.open_items[0].started),
        (26, false)
    );
}

#[test]
fn quarters_count_throughput_wip_ppc_and_focus() {
    let t = throughput(
        &events(),
        Axes::at(datetime!(2026-04-15 09:00 UTC)),
        &ThroughputSettings::default(),
    );
    /// Period, throughput, WIP, due, PPC, focus.
    type Row = (String, u32, u32, Option<u32>, Option<f64>, Option<u32>);
    let q: Vec<Row> = t.owners[0]
        .quarters
        .iter()
        .map(|f| (f.period.clone(), f.throughput, f.wip, f.due, f.ppc, f.focus))
        .collect();
    assert_eq!(
        q,
        [
            // Q1: a and b done; c and d open at the quarter's end (c and d top priority);
            // due in Q1: a (done on time) and b (late); c moved out of Q1; e cancelled.
            ("2026-Q1".to_owned(), 2, 2, Some(2), Some(0.5), Some(2)),
            // Q2 so far: c done; d open; due in Q2: c (on time) and d (not done).
            ("2026-Q2".to_owned(), 1, 1, Some(2), Some(0.5), Some(1)),
        ]
    );
}

#[test]
fn weeks_are_iso_weeks_from_the_first_commitment() {
    let t = throughput(
        &events(),
        Axes::at(datetime!(2026-04-15 09:00 UTC)),
        &ThroughputSettings::default(),
    );
    let weeks = &t.owners[0].weeks;
    assert_eq!(weeks.first().map(|w| w.period.as_str()), Some("2026-W02"));
    assert_eq!(weeks.last().map(|w| w.period.as_str()), Some("2026-W16"));
    let w03 = weeks.iter().find(|w| w.period == "2026-W03").expect("W03");
    assert_eq!(
        (w03.throughput, w03.wip),
        (1, 1),
        "a done on 2026-01-15; e still open"
    );
}
