//! Given / when / then tests of `decide`: events already recorded, a commit proposed, and what
//! is recorded or which fields are refused.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use crate::{
    Command, DomainError, Event, EventId, EventInput, Partnership, PartnershipId, Settings, decide,
    evolve,
};

/// The ledger's clock in these tests.
const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

fn id(n: u128) -> EventId {
    EventId::from_uuid(Uuid::from_u128(n))
}

fn input(v: Value) -> EventInput {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("bad test event {v}: {e}"))
}

fn ev(kind: &str, org: &str, data: Value) -> Value {
    json!({"type": kind, "occurred_at": "2026-05-01T09:00:00Z", "actor": {"org": org}, "data": data})
}

fn proposal() -> Value {
    ev(
        "partnership_proposed",
        "acme",
        json!({"parties": [
            {"org": "acme", "name": "Acme Health", "kind": "vendor"},
            {"org": "stmary", "name": "St Mary's", "kind": "health_system"}],
          "vision": "fewer readmissions", "rationale_tags": []}),
    )
}

/// Records `given` one commit per event (ids 1, 2, ...), then decides `when` (ids from 1000).
fn run(given: &[Value], when: &[Value]) -> Result<Vec<Event>, DomainError> {
    let settings = Settings::default();
    let pid = PartnershipId::parse("acme-stmary").expect("slug");
    let mut state = Partnership::default();
    for (i, g) in given.iter().enumerate() {
        let cmd = Command::Record {
            partnership_id: pid.clone(),
            recorded_at: NOW,
            events: vec![(id(i as u128 + 1), input(g.clone()))],
            signed: None,
        };
        let events = decide(&state, cmd, &settings)
            .unwrap_or_else(|e| panic!("given event {i} refused: {e}"));
        state = events.iter().fold(state, evolve);
    }
    let cmd = Command::Record {
        partnership_id: pid,
        recorded_at: NOW,
        events: when
            .iter()
            .enumerate()
            .map(|(i, w)| (id(1000 + i as u128), input(w.clone())))
            .collect(),
        signed: None,
    };
    decide(&state, cmd, &settings)
}

#[track_caller]
fn accepted(given: &[Value], when: &[Value]) -> Vec<Event> {
    run(given, when).unwrap_or_else(|e| panic!("expected acceptance, got {e}"))
}

/// Expects a refusal that names exactly these fields, each with a message containing the text.
#[track_caller]
fn refused(given: &[Value], when: &[Value], expected: &[(&str, &str)]) {
    match run(given, when) {
        Err(DomainError::Validation(errors)) => {
            let got: Vec<(String, String)> = errors
                .iter()
                .map(|e| (e.field.clone(), e.message.clone()))
                .collect();
            assert_eq!(got.len(), expected.len(), "errors: {got:?}");
            for ((field, message), (want_field, want_text)) in got.iter().zip(expected) {
                assert_eq!(field, want_field, "errors: {got:?}");
                assert!(
                    message.contains(want_text),
                    "{field}: {message:?} should mention {want_text:?}"
                );
            }
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn meeting_requested(m: &str, by: &str) -> Value {
    ev(
        "meeting_requested",
        by,
        json!({"meeting_id": m, "requested_by_org": by, "purpose": "kick-off"}),
    )
}

fn meeting_scheduled(m: &str) -> Value {
    ev(
        "meeting_scheduled",
        "acme",
        json!({"meeting_id": m, "starts_at": "2026-05-10T15:00:00Z", "host_org": "acme"}),
    )
}

fn meeting_held(m: &str) -> Value {
    ev(
        "meeting_held",
        "acme",
        json!({"meeting_id": m, "in_person": false, "introductions_made": 0,
               "attendees": [{"org": "acme", "person": "Ana", "seniority": "manager"},
                             {"org": "stmary", "person": "Sam", "seniority": "exec"}]}),
    )
}

fn committed(d: &str) -> Value {
    ev(
        "deliverable_committed",
        "acme",
        json!({"deliverable_id": d, "title": "EHR integration", "owner_org": "acme",
               "owner_person": "Ana", "due_date": "2026-07-01", "top_priority": true}),
    )
}

fn completed(d: &str) -> Value {
    ev(
        "deliverable_completed",
        "acme",
        json!({"deliverable_id": d, "accepted_by_org": "acme"}),
    )
}

fn retract(target: u128) -> Value {
    ev(
        "event_retracted",
        "acme",
        json!({"target_event_id": id(target).to_string(), "reason": "entered by mistake"}),
    )
}

#[test]
fn a_proposal_starts_a_partnership_and_nothing_else_can() {
    let events = accepted(&[], &[proposal()]);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_id, id(1000));
    assert_eq!(
        events[0].recorded_at, NOW,
        "the ledger's clock, not the client's"
    );
    assert_eq!(events[0].schema_version, crate::SCHEMA_VERSION);

    let err = run(&[], &[meeting_requested("m1", "acme")]).expect_err("unknown partnership");
    assert!(matches!(err, DomainError::UnknownPartnership(_)), "{err}");

    refused(
        &[proposal()],
        &[proposal()],
        &[("events[0].type", "already proposed")],
    );
}

#[test]
fn a_proposal_names_two_distinct_parties_and_a_vision() {
    let mut p = proposal();
    p["data"]["parties"][1]["org"] = json!("acme");
    p["data"]["vision"] = json!("  ");
    refused(
        &[],
        &[p],
        &[
            ("events[0].data.parties[1].org", "listed twice"),
            ("events[0].data.vision", "must not be empty"),
        ],
    );
    let mut alone = proposal();
    alone["data"]["parties"] = json!([{"org": "acme", "name": "Acme", "kind": "vendor"}]);
    refused(&[], &[alone], &[("events[0].data.parties", "at least 2")]);
}

#[test]
fn a_proposal_and_its_first_events_can_be_one_commit() {
    let events = accepted(
        &[],
        &[
            proposal(),
            ev(
                "partnership_status_changed",
                "stmary",
                json!({"status": "active", "reason": "signed"}),
            ),
        ],
    );
    assert_eq!(events.len(), 2);
}

#[test]
fn actors_and_named_orgs_must_be_parties() {
    refused(
        &[proposal()],
        &[ev(
            "meeting_requested",
            "globex",
            json!({"meeting_id": "m1", "requested_by_org": "initech", "purpose": "x"}),
        )],
        &[
            ("events[0].actor.org", "globex is not a party"),
            ("events[0].data.requested_by_org", "initech is not a party"),
        ],
    );
}

#[test]
fn meeting_held_needs_a_known_open_meeting() {
    refused(
        &[proposal()],
        &[meeting_held("m9")],
        &[("events[0].data.meeting_id", "unknown meeting m9")],
    );
    accepted(
        &[
            proposal(),
            meeting_requested("m1", "acme"),
            meeting_scheduled("m1"),
        ],
        &[meeting_held("m1")],
    );
    refused(
        &[
            proposal(),
            meeting_requested("m1", "acme"),
            meeting_scheduled("m1"),
            meeting_held("m1"),
        ],
        &[meeting_held("m1")],
        &[("events[0].data.meeting_id", "already held")],
    );
    let cancelled = ev(
        "meeting_cancelled",
        "stmary",
        json!({"meeting_id": "m1", "by_org": "stmary", "notice_hours": 24, "reason": "clash"}),
    );
    refused(
        &[proposal(), meeting_requested("m1", "acme"), cancelled],
        &[meeting_held("m1")],
        &[("events[0].data.meeting_id", "already cancelled")],
    );
}

#[test]
fn a_meeting_held_in_person_names_where() {
    let mut held = meeting_held("m1");
    held["data"]["in_person"] = json!(true);
    refused(
        &[proposal(), meeting_requested("m1", "acme")],
        &[held],
        &[("events[0].data.location_org", "required")],
    );
}

#[test]
fn a_deliverable_cannot_complete_twice() {
    accepted(&[proposal(), committed("d1")], &[completed("d1")]);
    refused(
        &[proposal(), committed("d1"), completed("d1")],
        &[completed("d1")],
        &[("events[0].data.deliverable_id", "already completed")],
    );
    refused(
        &[proposal()],
        &[completed("d1")],
        &[("events[0].data.deliverable_id", "unknown deliverable d1")],
    );
    // Twice in one commit: the second sees the first.
    refused(
        &[proposal(), committed("d1")],
        &[completed("d1"), completed("d1")],
        &[("events[1].data.deliverable_id", "already completed")],
    );
}

#[test]
fn retracting_needs_an_existing_event_and_undoes_its_effect() {
    refused(
        &[proposal()],
        &[retract(77)],
        &[("events[0].data.target_event_id", "no event")],
    );
    refused(
        &[proposal()],
        &[retract(1)],
        &[(
            "events[0].data.target_event_id",
            "proposal cannot be retracted",
        )],
    );
    // Event 3 is the completion; once retracted, the deliverable is open again.
    let given = [proposal(), committed("d1"), completed("d1"), retract(3)];
    accepted(&given, &[completed("d1")]);
    refused(
        &given,
        &[retract(3)],
        &[("events[0].data.target_event_id", "already retracted")],
    );
    refused(
        &given,
        &[retract(4)],
        &[("events[0].data.target_event_id", "cannot be retracted")],
    );
}

#[test]
fn a_correction_replaces_with_an_event_of_the_same_type() {
    let given = [proposal(), committed("d1")];
    let mut replacement = committed("d1");
    replacement["data"]["due_date"] = json!("2026-08-01");
    let correct = |r: Value| {
        ev(
            "event_corrected",
            "acme",
            json!({"target_event_id": id(2).to_string(), "replacement": r, "reason": "typo"}),
        )
    };
    accepted(&given, &[correct(replacement)]);
    refused(
        &given,
        &[correct(meeting_requested("m1", "acme"))],
        &[(
            "events[0].data.replacement.type",
            "must be deliverable_committed",
        )],
    );
    let mut bad = committed("d1");
    bad["data"]["owner_org"] = json!("globex");
    refused(
        &given,
        &[correct(bad)],
        &[("events[0].data.replacement.data.owner_org", "not a party")],
    );
}

#[test]
fn occurred_at_may_be_past_but_not_beyond_the_skew_in_the_future() {
    let mut old = meeting_requested("m1", "acme");
    old["occurred_at"] = json!("2019-01-01T00:00:00Z");
    accepted(&[proposal()], &[old]);
    let mut soon = meeting_requested("m1", "acme");
    soon["occurred_at"] = json!("2026-06-01T12:04:59Z");
    accepted(&[proposal()], &[soon]);
    let mut future = meeting_requested("m1", "acme");
    future["occurred_at"] = json!("2026-06-01T12:05:01Z");
    refused(
        &[proposal()],
        &[future],
        &[("events[0].occurred_at", "300 seconds in the future")],
    );
    let mut ancient = meeting_requested("m1", "acme");
    ancient["occurred_at"] = json!("1989-12-31T23:59:59Z");
    refused(
        &[proposal()],
        &[ancient],
        &[(
            "events[0].occurred_at",
            "not be before 1990-01-01T00:00:00Z",
        )],
    );
    let mut earliest = meeting_requested("m1", "acme");
    earliest["occurred_at"] = json!("1990-01-01T00:00:00Z");
    accepted(&[proposal()], &[earliest]);
}

fn goal_proposed(target: &str) -> Value {
    ev(
        "goal_proposed",
        "acme",
        json!({"goal_id": "g1", "kind": "sales", "metric": "leads", "target": target,
               "period": {"start": "2026-01-01", "end": "2026-12-31"}, "by_org": "acme"}),
    )
}

fn indicator(value: &str) -> Value {
    ev(
        "indicator_recorded",
        "stmary",
        json!({"metric": "leads", "value": value, "org": "stmary",
               "period": {"start": "2026-01-01", "end": "2026-03-31"}}),
    )
}

/// Amounts are 0 to a quadrillion with at most 6 decimal places; on each side of each bound.
#[test]
fn amounts_have_a_range_and_a_precision() {
    accepted(&[proposal()], &[goal_proposed("0.000001")]);
    accepted(&[proposal()], &[goal_proposed("1000000000000000")]);
    accepted(&[proposal()], &[indicator("0")]);
    accepted(&[proposal()], &[indicator("999999999999999.999999")]);
    accepted(&[proposal()], &[indicator("12.500000000")]);
    refused(
        &[proposal()],
        &[goal_proposed("0.0000000000000000000000000001")],
        &[("events[0].data.target", "at most 6 decimal places")],
    );
    refused(
        &[proposal()],
        &[goal_proposed("0")],
        &[("events[0].data.target", "greater than 0")],
    );
    refused(
        &[proposal()],
        &[indicator("79228162514264337593543950335")],
        &[("events[0].data.value", "at most 1000000000000000")],
    );
    refused(
        &[proposal()],
        &[indicator("1000000000000000.000001")],
        &[("events[0].data.value", "at most 1000000000000000")],
    );
    refused(
        &[proposal()],
        &[indicator("0.0000001")],
        &[("events[0].data.value", "at most 6 decimal places")],
    );
}

/// Dates are within 1990-01-01 and 2199-12-31, on each side of each bound.
#[test]
fn dates_have_a_range() {
    let due = |d: &str| {
        let mut e = committed("d1");
        e["data"]["due_date"] = json!(d);
        e
    };
    accepted(&[proposal()], &[due("1990-01-01")]);
    accepted(&[proposal()], &[due("2199-12-31")]);
    refused(
        &[proposal()],
        &[due("1989-12-31")],
        &[(
            "events[0].data.due_date",
            "between 1990-01-01 and 2199-12-31",
        )],
    );
    refused(
        &[proposal()],
        &[due("2200-01-01")],
        &[(
            "events[0].data.due_date",
            "between 1990-01-01 and 2199-12-31",
        )],
    );
}

/// Text refuses control characters and bidi overrides; free text allows newlines and tabs.
#[test]
fn text_refuses_control_and_bidi_characters() {
    let mut note = meeting_requested("m1", "acme");
    note["note"] = json!("line one\nline two\tindented");
    accepted(&[proposal()], &[note]);
    let mut person = meeting_requested("m1", "acme");
    person["actor"]["person"] = json!("Sam\nLee");
    refused(
        &[proposal()],
        &[person],
        &[("events[0].actor.person", "control character: U+000A")],
    );
    let mut purpose = meeting_requested("m1", "acme");
    purpose["data"]["purpose"] = json!("invoice \u{202E}fdp.exe");
    refused(
        &[proposal()],
        &[purpose],
        &[("events[0].data.purpose", "bidirectional override: U+202E")],
    );
    let mut escape = meeting_requested("m1", "acme");
    escape["note"] = json!("\u{1b}[2J");
    refused(
        &[proposal()],
        &[escape],
        &[("events[0].note", "control character: U+001B")],
    );
}

#[test]
fn sizes_are_bounded() {
    let mut long = meeting_requested("m1", "acme");
    long["note"] = json!("x".repeat(4097));
    refused(
        &[proposal()],
        &[long],
        &[("events[0].note", "at most 4096 bytes")],
    );
    let many: Vec<Value> = (0..101)
        .map(|i| meeting_requested(&format!("m{i}"), "acme"))
        .collect();
    refused(&[proposal()], &many, &[("events", "at most 100 events")]);
    refused(&[proposal()], &[], &[("events", "at least one event")]);
}

#[test]
fn ranges_are_enforced() {
    let score = |s: u8| {
        ev(
            "health_check_responded",
            "stmary",
            json!({"wave_id": "w1", "respondent_org": "stmary", "dimension": "strategy", "score": s}),
        )
    };
    accepted(&[proposal()], &[score(1), score(5)]);
    refused(
        &[proposal()],
        &[score(0), score(6)],
        &[
            ("events[0].data.score", "1 to 5"),
            ("events[1].data.score", "1 to 5"),
        ],
    );
    refused(
        &[proposal()],
        &[ev(
            "sales_incentive_changed",
            "acme",
            json!({"org": "acme", "partner_deal_credit_pct": 1.5, "effective_from": "2026-01-01"}),
        )],
        &[("events[0].data.partner_deal_credit_pct", "between 0 and 1")],
    );
    refused(
        &[proposal()],
        &[ev(
            "role_assigned",
            "acme",
            json!({"org": "acme", "person": "Ana", "role": "liaison", "allocation_pct": 150.0,
                   "selection_basis": "fit"}),
        )],
        &[("events[0].data.allocation_pct", "between 0 and 100")],
    );
    refused(
        &[proposal()],
        &[ev(
            "deal_registered",
            "acme",
            json!({"deal_id": "x1", "account": "Mercy", "sourced_by_org": "acme",
                   "value": "-5", "currency": "USD"}),
        )],
        &[("events[0].data.value", "must not be negative")],
    );
}

#[test]
fn revenue_by_partner_cannot_exceed_the_total() {
    refused(
        &[proposal()],
        &[ev(
            "revenue_reported",
            "acme",
            json!({"org": "acme", "period": {"start": "2026-01-01", "end": "2026-03-31"},
                   "total": "100", "by_partner": [{"partner_org": "stmary", "amount": "150.5"}]}),
        )],
        &[("events[0].data.by_partner", "more than the total")],
    );
}

#[test]
fn json_input_rejects_unknown_types_fields_floats_and_bad_ids() {
    let parse = |v: Value| {
        serde_json::from_value::<EventInput>(v)
            .expect_err("rejected")
            .to_string()
    };
    let mut unknown_type = meeting_requested("m1", "acme");
    unknown_type["type"] = json!("meeting_teleported");
    assert!(parse(unknown_type).contains("unknown variant `meeting_teleported`"));
    let mut extra = meeting_requested("m1", "acme");
    extra["data"]["colour"] = json!("blue");
    assert!(parse(extra).contains("unknown field `colour`"));
    let float_money = ev(
        "deal_registered",
        "acme",
        json!({"deal_id": "x1", "account": "Mercy", "sourced_by_org": "acme",
               "value": 10.5, "currency": "USD"}),
    );
    assert!(parse(float_money).contains("never a float"));
    let bad_id = meeting_requested("M 1", "acme");
    assert!(parse(bad_id).contains("[a-z0-9][a-z0-9-]{0,62}"));
    let mut bad_date = committed("d1");
    bad_date["data"]["due_date"] = json!("01/07/2026");
    assert!(parse(bad_date).contains("YYYY-MM-DD"));
}

#[test]
fn the_catalogue_has_37_event_types() {
    assert_eq!(crate::EventType::ALL.len(), 37);
    for t in crate::EventType::ALL {
        assert_eq!(crate::EventType::parse(t.as_str()), Some(*t));
    }
}

#[test]
fn revenue_partners_may_be_outside_the_partnership_but_not_listed_twice() {
    let report = |partners: Value| {
        ev(
            "revenue_reported",
            "acme",
            json!({"org": "acme", "period": {"start": "2026-01-01", "end": "2026-03-31"},
                   "total": "100", "by_partner": partners}),
        )
    };
    accepted(
        &[proposal()],
        &[report(json!([{"partner_org": "stmary", "amount": "30"},
                        {"partner_org": "mercy-health", "amount": "50"}]))],
    );
    refused(
        &[proposal()],
        &[report(json!([{"partner_org": "stmary", "amount": "30"},
                        {"partner_org": "stmary", "amount": "5"}]))],
        &[("events[0].data.by_partner[1].partner_org", "listed twice")],
    );
}

/// Every act is its own org's: each org field the rule names must be the acting org (acme here),
/// and naming stmary is refused with that field. Fields that may name another party are not in
/// the table (hosts, attendees, locations, decision rights, introductions' `to_org`, blocking
/// orgs, joint customers' orgs, tagged communications).
#[test]
fn every_act_is_its_own_orgs() {
    let given = [
        proposal(),
        meeting_requested("m1", "acme"),
        meeting_scheduled("m1"),
        committed("d1"),
        goal_proposed("10"),
    ];
    let period = json!({"start": "2026-01-01", "end": "2026-03-31"});
    for (kind, data, field) in [
        (
            "role_assigned",
            json!({"org": "stmary", "person": "Sam", "role": "liaison",
            "allocation_pct": 20.0, "selection_basis": "fit"}),
            "data.org",
        ),
        (
            "meeting_requested",
            json!({"meeting_id": "m2", "requested_by_org": "stmary",
            "purpose": "p"}),
            "data.requested_by_org",
        ),
        (
            "meeting_rescheduled",
            json!({"meeting_id": "m1", "by_org": "stmary",
            "new_starts_at": "2026-05-20T10:00:00Z", "notice_hours": 50}),
            "data.by_org",
        ),
        (
            "meeting_cancelled",
            json!({"meeting_id": "m1", "by_org": "stmary", "notice_hours": 5,
            "reason": "r"}),
            "data.by_org",
        ),
        (
            "follow_up_proposed",
            json!({"by_org": "stmary"}),
            "data.by_org",
        ),
        (
            "introduction_made",
            json!({"by_org": "stmary", "introduced_party": "x",
            "to_org": "acme"}),
            "data.by_org",
        ),
        (
            "goal_proposed",
            json!({"goal_id": "g2", "kind": "sales", "metric": "leads",
            "target": "1", "period": period, "by_org": "stmary"}),
            "data.by_org",
        ),
        (
            "goal_agreed",
            json!({"goal_id": "g1", "by_org": "stmary"}),
            "data.by_org",
        ),
        (
            "goal_revised",
            json!({"goal_id": "g1", "new_target": "5", "by_org": "stmary"}),
            "data.by_org",
        ),
        (
            "goal_dropped",
            json!({"goal_id": "g1", "by_org": "stmary", "reason": "r"}),
            "data.by_org",
        ),
        (
            "indicator_recorded",
            json!({"metric": "leads", "value": "1", "period": period,
            "org": "stmary"}),
            "data.org",
        ),
        (
            "deliverable_committed",
            json!({"deliverable_id": "d2", "title": "t",
            "owner_org": "stmary", "due_date": "2026-07-01", "top_priority": false}),
            "data.owner_org",
        ),
        (
            "deliverable_due_date_changed",
            json!({"deliverable_id": "d1",
            "new_due": "2026-08-01", "by_org": "stmary", "reason": "r"}),
            "data.by_org",
        ),
        (
            "deliverable_completed",
            json!({"deliverable_id": "d1", "accepted_by_org": "stmary"}),
            "data.accepted_by_org",
        ),
        (
            "deliverable_cancelled",
            json!({"deliverable_id": "d1", "by_org": "stmary",
            "reason": "r"}),
            "data.by_org",
        ),
        (
            "deal_registered",
            json!({"deal_id": "x", "account": "a", "sourced_by_org": "stmary",
            "value": "1", "currency": "USD"}),
            "data.sourced_by_org",
        ),
        (
            "sales_incentive_changed",
            json!({"org": "stmary", "partner_deal_credit_pct": 1.0,
            "effective_from": "2026-01-01"}),
            "data.org",
        ),
        (
            "revenue_reported",
            json!({"org": "stmary", "period": period, "total": "10",
            "by_partner": []}),
            "data.org",
        ),
        (
            "health_check_responded",
            json!({"wave_id": "w1", "respondent_org": "stmary",
            "dimension": "strategy", "score": 4}),
            "data.respondent_org",
        ),
        (
            "business_plan_agreed",
            json!({"plan_id": "p1", "version": 1, "goal_ids": [],
            "by_org": "stmary"}),
            "data.by_org",
        ),
    ] {
        refused(
            &given,
            &[ev(kind, "acme", data)],
            &[(
                &format!("events[0].{field}"),
                "must be acme, the acting org",
            )],
        );
    }
}

/// Consent is per org: a goal is agreed when each party recorded its own `goal_agreed`, and
/// an org consents once.
#[test]
fn consent_is_given_by_each_org_once() {
    let given = [proposal(), goal_proposed("10")];
    let agree = |org: &str| ev("goal_agreed", org, json!({"goal_id": "g1", "by_org": org}));
    accepted(&given, &[agree("acme"), agree("stmary")]);
    refused(
        &[proposal(), goal_proposed("10"), agree("acme")],
        &[agree("acme")],
        &[("events[0].data.goal_id", "acme already agreed to goal g1")],
    );
    let sign = |org: &str, version: u32| {
        ev(
            "business_plan_agreed",
            org,
            json!({"plan_id": "p1", "version": version,
            "goal_ids": [], "by_org": org}),
        )
    };
    refused(
        &[proposal(), sign("acme", 1)],
        &[sign("acme", 1)],
        &[(
            "events[0].data.version",
            "acme already signed version 1 of plan p1",
        )],
    );
    // Once both signed version 1, it is agreed: the next signature is of a later version.
    refused(
        &[proposal(), sign("acme", 1), sign("stmary", 1)],
        &[sign("acme", 1)],
        &[(
            "events[0].data.version",
            "greater than the agreed version 1",
        )],
    );
    accepted(
        &[proposal(), sign("acme", 1), sign("stmary", 1)],
        &[sign("stmary", 2)],
    );
}

/// An org retracts or corrects only its own events, and a correction keeps the act its org's.
#[test]
fn an_org_retracts_and_corrects_only_its_own_events() {
    let given = [proposal(), meeting_requested("m1", "acme")];
    let target = id(2).to_string();
    refused(
        &given,
        &[ev(
            "event_retracted",
            "stmary",
            json!({"target_event_id": target, "reason": "no"}),
        )],
        &[(
            "events[0].data.target_event_id",
            "recorded by acme: an org retracts or corrects only its own events",
        )],
    );
    let mut replacement = meeting_requested("m1", "stmary");
    replacement
        .as_object_mut()
        .expect("an object")
        .remove("note");
    refused(
        &given,
        &[ev(
            "event_corrected",
            "acme",
            json!({"target_event_id": target, "reason": "typo",
            "replacement": replacement}),
        )],
        &[(
            "events[0].data.replacement.actor.org",
            "must be acme, the acting org",
        )],
    );
}
