//! Given events, when the red flags are computed at `as_of`, then the open flags and the history
//! of raises and clears are as worked out by hand.

use crate::models::Axes;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use super::flags::{Rule, Severity, flags};
use super::test_support::{history_tagged as history, id, worked_example};
use crate::{Event, EventId};

/// The open flags at `as_of`: rule, subject, severity, evidence.
fn open(
    events: &[Event],
    as_of: OffsetDateTime,
) -> Vec<(Rule, Option<String>, Severity, Vec<EventId>)> {
    flags(events, Axes::at(as_of), &Default::default())
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
    // Recorded as it happened: as_of before the retraction (step 5) sees steps 1 to 4.
    let events = worked_example();
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
    assert_eq!(
        r1(&events, datetime!(2026-02-10 12:00 UTC)),
        Some((Severity::Warn, vec![id(2), id(6)]))
    );
    // The history tells the same story in order: raised as warn, critical, then warn again.
    let f = flags(
        &events,
        Axes::at(datetime!(2026-02-10 12:00 UTC)),
        &Default::default(),
    );
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

/// The open flags of the rules about days active (the others are tested on their own).
fn rules(events: &[Event], as_of: OffsetDateTime) -> Vec<Rule> {
    open(events, as_of)
        .into_iter()
        .map(|f| f.0)
        .filter(|r| matches!(r, Rule::R3 | Rule::R7 | Rule::R9 | Rule::R12 | Rule::R14))
        .collect()
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
    let f = flags(
        &events,
        Axes::at(datetime!(2026-04-20 00:00 UTC)),
        &Default::default(),
    );
    let raised: Vec<(Rule, OffsetDateTime)> = f
        .history
        .iter()
        .filter(|c| matches!(c.rule_id, Rule::R3 | Rule::R9 | Rule::R12))
        .map(|c| (c.rule_id, c.at))
        .collect();
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
    let cleared = flags(
        &events,
        Axes::at(datetime!(2026-04-20 00:00 UTC)),
        &Default::default(),
    );
    let r3: Vec<(OffsetDateTime, bool)> = cleared
        .history
        .iter()
        .filter(|c| c.rule_id == Rule::R3)
        .map(|c| (c.at, c.now.is_some()))
        .collect();
    assert_eq!(
        r3,
        [
            (datetime!(2026-02-19 00:00 UTC), true),
            (datetime!(2026-03-01 00:00 UTC), false)
        ],
        "raised when due, cleared when paused"
    );
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
                json!({"plan_id": "p", "version": 1, "by_org": "acme"}),
            ),
            (
                "2026-01-04T00:00:00Z",
                "stmary",
                "business_plan_agreed",
                json!({"plan_id": "p", "version": 1, "by_org": "stmary"}),
            ),
        ],
    );
    // The plan is agreed when its last party signs for itself.
    let open_at = |t| {
        open(&events, t)
            .iter()
            .map(|f| (f.0, f.3.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        open_at(datetime!(2026-01-03 12:00 UTC)),
        [(Rule::R11, vec![id(2)]), (Rule::R14, vec![id(1)])]
    );
    assert_eq!(
        open_at(datetime!(2026-01-05 00:00 UTC)),
        [(Rule::R11, vec![id(2), id(4)]), (Rule::R14, vec![id(1)])]
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

/// The open flags of one rule: subject, severity, evidence.
fn of_rule(
    events: &[Event],
    as_of: OffsetDateTime,
    rule: Rule,
) -> Vec<(Option<String>, Severity, Vec<EventId>)> {
    open(events, as_of)
        .into_iter()
        .filter(|f| f.0 == rule)
        .map(|f| (f.1, f.2, f.3))
        .collect()
}

fn liaison(
    org: &str,
    person: &str,
    pct: f64,
    basis: &str,
) -> (&'static str, &'static str, &'static str, Value) {
    (
        "2026-01-19T00:00:00Z",
        "acme",
        "role_assigned",
        json!({"org": org, "person": person, "role": "liaison", "allocation_pct": pct, "selection_basis": basis}),
    )
}

#[test]
fn r8_liaison_gaps_and_token_sponsors() {
    let at = datetime!(2026-03-01 00:00 UTC);
    // stmary never seats a liaison: vacant from activation (2026-01-20), flagged after 14 days.
    let events = history(&[], &[liaison("acme", "Ana", 50.0, "fit"), activated()]);
    assert_eq!(
        of_rule(&events, datetime!(2026-02-03 00:00 UTC), Rule::R8),
        []
    );
    assert_eq!(
        of_rule(&events, at, Rule::R8)
            .iter()
            .map(|f| f.0.clone())
            .collect::<Vec<_>>(),
        [Some("stmary".to_owned())]
    );
    // A sponsor picked for availability.
    let events = history(
        &[],
        &[
            liaison("acme", "Ana", 50.0, "fit"),
            liaison("stmary", "Sam", 50.0, "fit"),
            (
                "2026-01-19T00:00:00Z",
                "stmary",
                "role_assigned",
                json!({"org": "stmary", "person": "Dr Lee", "role": "exec_sponsor", "allocation_pct": 10.0, "selection_basis": "availability"}),
            ),
            activated(),
        ],
    );
    assert_eq!(
        of_rule(&events, at, Rule::R8),
        [(Some("stmary".to_owned()), Severity::Warn, vec![id(4)])]
    );
}

#[test]
fn r2_over_reliance_and_r10_imbalance_from_revenue() {
    let report = |org: &'static str, total: &str, partners: Value| {
        (
            "2026-02-01T00:00:00Z",
            org,
            "revenue_reported",
            json!({"org": org, "total": total, "by_partner": partners, "period": {"start": "2025-01-01", "end": "2025-12-31"}}),
        )
    };
    let events = history(
        &[],
        &[
            report(
                "acme",
                "1000",
                json!([{"partner_org": "stmary", "amount": "500"}, {"partner_org": "x1", "amount": "100"}]),
            ),
            report(
                "stmary",
                "100000",
                json!([{"partner_org": "acme", "amount": "100"}, {"partner_org": "x2", "amount": "100"},
            {"partner_org": "x3", "amount": "100"}, {"partner_org": "x4", "amount": "100"}, {"partner_org": "x5", "amount": "100"}]),
            ),
        ],
    );
    let at = datetime!(2026-02-02 00:00 UTC);
    // acme: HHI (5/6)² + (1/6)² = 0.72; stmary: five equal partners, HHI 0.2, top 20%.
    assert_eq!(
        of_rule(&events, at, Rule::R2),
        [(Some("acme".to_owned()), Severity::Warn, vec![id(2)])]
    );
    // D_acme = 0.5, D_stmary = 0.001: DA/JD = 0.998, one flag for the pair, naming acme as
    // the side that bears more.
    let r10 = of_rule(&events, at, Rule::R10);
    assert_eq!(
        r10.iter().map(|f| f.0.clone()).collect::<Vec<_>>(),
        [Some("acme>stmary".to_owned())]
    );
}

/// The R2 flags (subject and reason) of a history in which acme reports `total` with
/// `by_partner`.
fn r2_of(total: &str, by_partner: Value) -> Vec<(Option<String>, String)> {
    let events = history(
        &[],
        &[(
            "2026-02-01T00:00:00Z",
            "acme",
            "revenue_reported",
            json!({"org": "acme", "total": total, "by_partner": by_partner,
                   "period": {"start": "2025-01-01", "end": "2025-12-31"}}),
        )],
    );
    flags(
        &events,
        Axes::at(datetime!(2026-02-02 00:00 UTC)),
        &Default::default(),
    )
    .open
    .into_iter()
    .filter(|f| f.rule_id == Rule::R2)
    .map(|f| (f.subject, f.reason))
    .collect()
}

#[test]
fn r2_needs_materiality_before_concentration() {
    let acme = |reason: &str| vec![(Some("acme".to_owned()), reason.to_owned())];
    // The partnership brings half of acme's revenue: reliant, however concentrated.
    assert_eq!(
        r2_of("1000", json!([{"partner_org": "stmary", "amount": "500"}])),
        acme("acme earns 50% of its revenue through stmary")
    );
    assert_eq!(
        r2_of("1000", json!([{"partner_org": "stmary", "amount": "499"}])),
        [],
        "just under half, and its partner revenue is under half too"
    );
    // Partner revenue is half of the total and concentrated (HHI 0.6² + 0.4² = 0.52).
    assert_eq!(
        r2_of(
            "1000",
            json!([{"partner_org": "x1", "amount": "300"}, {"partner_org": "x2", "amount": "200"}])
        ),
        acme("acme earns 50% of its revenue through partners, concentrated: HHI 0.52")
    );
    assert_eq!(
        r2_of(
            "1000",
            json!([{"partner_org": "x1", "amount": "300"}, {"partner_org": "x2", "amount": "199"}])
        ),
        [],
        "partner revenue just under half"
    );
    // At the concentration boundary: four equal partners make HHI 0.25, five make 0.20.
    let equal = |n: usize, each: &str| {
        Value::Array(
            (0..n)
                .map(|i| json!({"partner_org": format!("x{i}"), "amount": each}))
                .collect(),
        )
    };
    assert_eq!(
        r2_of("1000", equal(4, "125")),
        acme("acme earns 50% of its revenue through partners, concentrated: HHI 0.25")
    );
    assert_eq!(r2_of("1000", equal(5, "100")), [], "not concentrated");
    // One small partner is all partner revenue (HHI 1.00) and still no reliance: the
    // jointworks-riverside sample, 3.1M of 42M.
    assert_eq!(
        r2_of(
            "42000000",
            json!([{"partner_org": "stmary", "amount": "3100000"}])
        ),
        []
    );
    assert_eq!(r2_of("1000", json!([])), [], "no partner revenue reported");
    assert_eq!(
        r2_of("0", json!([{"partner_org": "stmary", "amount": "0"}])),
        [],
        "a total of zero says nothing"
    );
}

#[test]
fn r4_incentives() {
    let incentive = |at: &'static str, pct: f64| {
        (
            at,
            "acme",
            "sales_incentive_changed",
            json!({"org": "acme", "partner_deal_credit_pct": pct, "effective_from": "2026-01-01"}),
        )
    };
    let deal = (
        "2026-01-10T00:00:00Z",
        "acme",
        "deal_registered",
        json!({"deal_id": "d", "account": "a", "sourced_by_org": "acme", "value": "1", "currency": "USD"}),
    );
    let at = datetime!(2026-03-01 00:00 UTC);
    // A deal and no incentive from either org: both flagged.
    let events = history(&[], std::slice::from_ref(&deal));
    assert_eq!(of_rule(&events, at, Rule::R4).len(), 2);
    // acme pays full credit, stmary never said: only stmary.
    let events = history(&[], &[incentive("2026-01-05T00:00:00Z", 1.0), deal.clone()]);
    assert_eq!(
        of_rule(&events, at, Rule::R4)
            .iter()
            .map(|f| f.0.clone())
            .collect::<Vec<_>>(),
        [Some("stmary".to_owned())]
    );
    // acme cuts the credit after activation: critical.
    let events = history(
        &[],
        &[
            incentive("2026-01-05T00:00:00Z", 1.0),
            activated(),
            incentive("2026-02-01T00:00:00Z", 0.5),
        ],
    );
    assert_eq!(
        of_rule(&events, at, Rule::R4),
        [(
            Some("acme".to_owned()),
            Severity::Critical,
            vec![id(2), id(4)]
        )]
    );
}

#[test]
fn r5_focus_and_r6_slippage() {
    let commit = |d: &str, top: bool, owner_person: Option<&str>| {
        let mut data = json!({"deliverable_id": d, "title": "t", "owner_org": "acme", "due_date": "2026-03-01", "top_priority": top});
        if let Some(p) = owner_person {
            data["owner_person"] = json!(p);
        }
        (
            "2026-01-05T00:00:00Z",
            "acme",
            "deliverable_committed",
            data,
        )
    };
    let at = datetime!(2026-01-10 00:00 UTC);
    let events = history(
        &[],
        &[commit("a", true, Some("A")), commit("b", true, Some("B"))],
    );
    assert_eq!(of_rule(&events, at, Rule::R5), []);
    let events = history(
        &[],
        &[
            commit("a", true, Some("A")),
            commit("b", true, Some("B")),
            commit("c", true, Some("C")),
        ],
    );
    assert_eq!(
        of_rule(&events, at, Rule::R5).len(),
        1,
        "three open top-priority items"
    );
    let events = history(&[], &[commit("a", false, None)]);
    assert_eq!(
        of_rule(&events, at, Rule::R5),
        [(None, Severity::Warn, vec![id(2)])],
        "an item without an owner"
    );

    let change = |day: &'static str, due: &str| {
        (
            day,
            "acme",
            "deliverable_due_date_changed",
            json!({"deliverable_id": "a", "new_due": due, "by_org": "acme", "reason": "r"}),
        )
    };
    let events = history(
        &[],
        &[
            commit("a", false, Some("A")),
            change("2026-01-06T00:00:00Z", "2026-04-15"),
        ],
    );
    assert_eq!(
        of_rule(&events, at, Rule::R6),
        [(None, Severity::Warn, vec![id(2)])],
        "45 slip days"
    );
    // Last quarter's PPC: a due 2026-03-01 and not done, seen from Q2.
    let events = history(&[], &[commit("a", false, Some("A"))]);
    let r6 = of_rule(&events, datetime!(2026-04-02 00:00 UTC), Rule::R6);
    assert_eq!(r6.len(), 1, "2026-Q1 PPC 0");
}

#[test]
fn r13_us_and_them_r15_unsung_customers_and_r16_falling_trust() {
    let tag = |class: &str| {
        (
            "2026-02-01T00:00:00Z",
            "stmary",
            "communication_tagged",
            json!({"org": "stmary", "class": class, "doc_ref": "d"}),
        )
    };
    let events = history(
        &[],
        &[
            tag("us_them"),
            tag("us_them"),
            tag("us_them"),
            tag("us_them"),
            tag("inclusive"),
        ],
    );
    let r13 = of_rule(&events, datetime!(2026-02-02 00:00 UTC), Rule::R13);
    assert_eq!(
        r13,
        [(
            Some("stmary".to_owned()),
            Severity::Warn,
            vec![id(2), id(3), id(4), id(5)]
        )]
    );
    assert_eq!(
        of_rule(&events, datetime!(2026-05-02 00:00 UTC), Rule::R13),
        [],
        "the tags aged out"
    );

    let events = history(
        &[],
        &[
            (
                "2026-01-05T00:00:00Z",
                "acme",
                "deal_registered",
                json!({"deal_id": "d", "account": "a", "sourced_by_org": "acme", "value": "1", "currency": "USD"}),
            ),
            (
                "2026-01-10T00:00:00Z",
                "acme",
                "deal_closed",
                json!({"deal_id": "d", "won": true, "amount": "1", "currency": "USD", "joint_customer": true}),
            ),
        ],
    );
    assert_eq!(
        of_rule(&events, datetime!(2026-07-08 00:00 UTC), Rule::R15),
        []
    );
    assert_eq!(
        of_rule(&events, datetime!(2026-07-10 00:00 UTC), Rule::R15).len(),
        1,
        "180 days without a highlight"
    );

    // stmary cancels three meetings at short notice: T = 1/5 with r + s = 3.
    let mut items = Vec::new();
    for m in ["a", "b", "c"] {
        items.push((
            "2026-02-01T00:00:00Z",
            "acme",
            "meeting_requested",
            json!({"meeting_id": m, "requested_by_org": "acme", "purpose": "p"}),
        ));
        items.push((
            "2026-02-01T00:00:00Z",
            "stmary",
            "meeting_cancelled",
            json!({"meeting_id": m, "by_org": "stmary", "notice_hours": 1, "reason": "r"}),
        ));
    }
    let events = history(&[], &items);
    let r16 = of_rule(&events, datetime!(2026-02-01 00:00 UTC), Rule::R16);
    assert_eq!(
        r16,
        [(
            Some("stmary".to_owned()),
            Severity::Warn,
            vec![id(3), id(5), id(7)]
        )]
    );
}

/// A history recorded late (back-filled, as an import does) raises its flags at the business
/// time they held, for the rules that read other models (R16 reads the trust timeline) as for
/// the others: the flag history is in occurred time, the cut-off in recorded time.
#[test]
fn a_backfilled_history_raises_flags_when_they_held() {
    let mut items = Vec::new();
    for (m, at) in [
        ("a", "2026-02-02T00:00:00Z"),
        ("b", "2026-02-03T00:00:00Z"),
        ("c", "2026-02-04T00:00:00Z"),
        ("d", "2026-02-05T00:00:00Z"),
    ] {
        items.push((
            at,
            "acme",
            "meeting_requested",
            json!({"meeting_id": m, "requested_by_org": "acme", "purpose": "p"}),
        ));
        items.push((
            at,
            "stmary",
            "meeting_cancelled",
            json!({"meeting_id": m, "by_org": "stmary", "notice_hours": 1, "reason": "r"}),
        ));
    }
    let mut events = history(&[], &items);
    for e in &mut events {
        e.recorded_at = datetime!(2026-06-01 00:00 UTC);
    }
    let f = flags(
        &events,
        Axes::at(datetime!(2026-06-02 00:00 UTC)),
        &Default::default(),
    );
    let raised: Vec<OffsetDateTime> = f
        .history
        .iter()
        .filter(|c| c.rule_id == Rule::R16 && c.now.is_some())
        .map(|c| c.at)
        .collect();
    // The fourth cancellation brings stmary's evidence past 3 (decayed over three days, three
    // make a little less), with T = 0.2.
    assert_eq!(
        raised.first(),
        Some(&datetime!(2026-02-05 00:00 UTC)),
        "raised at the fourth cancellation, not when recorded: {raised:?}"
    );
    // Before anything was recorded, the ledger knew of no flag.
    let f = flags(
        &events,
        Axes::at(datetime!(2026-05-31 00:00 UTC)),
        &Default::default(),
    );
    assert!(f.history.is_empty() && f.open.is_empty());
}

/// R16's drop counts only with enough evidence (r + s ≥ 3) at both ends of the 90 days: not the
/// first piece of negative evidence, nor a fall from a score that rested on too little.
#[test]
fn r16_a_drop_needs_evidence_at_both_ends() {
    // stmary attends `held` in-person meetings on 2026-01-10 (r = 1 each), then cancels one at
    // short notice on 2026-04-05 (s = 1).
    let history_of = |held: usize| {
        let mut items: Vec<(&str, &str, &str, Value)> = (0..held)
            .map(|m| {
                (
                    "2026-01-10T00:00:00Z",
                    "acme",
                    "meeting_held",
                    json!({"meeting_id": format!("m{m}"), "in_person": true, "attendees": [
                        {"org": "acme", "person": "A", "seniority": "staff"},
                        {"org": "stmary", "person": "S", "seniority": "exec"}]}),
                )
            })
            .collect();
        items.push((
            "2026-04-05T00:00:00Z",
            "stmary",
            "meeting_cancelled",
            json!({"meeting_id": "x", "by_org": "stmary", "notice_hours": 1, "reason": "r"}),
        ));
        history(&[], &items)
    };
    let at = datetime!(2026-04-10 00:00 UTC);
    // Three meetings: T was 0.80 on exactly 3 pieces of evidence 90 days before, and is 0.61 on
    // 3.1 now.
    let events = history_of(3);
    let f = flags(&events, Axes::at(at), &Default::default());
    let r16: Vec<_> = f.open.iter().filter(|f| f.rule_id == Rule::R16).collect();
    assert_eq!(r16.len(), 1, "{r16:?}");
    assert_eq!(r16[0].subject.as_deref(), Some("stmary"));
    assert_eq!(
        r16[0].reason,
        "stmary's trust fell by 0.19 to 0.61 within 90 days"
    );
    assert_eq!(r16[0].evidence, [id(5)], "the cancellation");
    // Two meetings: T fell from 0.75 to 0.55, but 0.75 rested on 2 pieces of evidence.
    assert_eq!(of_rule(&history_of(2), at, Rule::R16), []);
    // The cancellation alone moves T from 0.5 to 0.33 on one piece of evidence.
    assert_eq!(of_rule(&history_of(0), at, Rule::R16), []);
}

/// R10 is one flag per pair of parties, naming first the side that bears the effort.
#[test]
fn r10_once_per_pair_naming_the_side_that_bears_more() {
    let requests = |by: &'static str| -> Vec<(&'static str, &'static str, &'static str, Value)> {
        ["a", "b", "c"]
            .into_iter()
            .map(|m| {
                (
                    "2026-02-01T00:00:00Z",
                    by,
                    "meeting_requested",
                    json!({"meeting_id": m, "requested_by_org": by, "purpose": "p"}),
                )
            })
            .collect()
    };
    let at = datetime!(2026-02-02 00:00 UTC);
    for (by, subject) in [("acme", "acme>stmary"), ("stmary", "stmary>acme")] {
        let r10 = of_rule(&history(&[], &requests(by)), at, Rule::R10);
        assert_eq!(
            r10,
            [(
                Some(subject.to_owned()),
                Severity::Warn,
                vec![id(2), id(3), id(4)]
            )]
        );
    }
}
