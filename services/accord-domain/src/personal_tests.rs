use std::collections::HashMap;

use serde_json::{Value, json};

use super::*;
use crate::event::EventType;

fn event(kind: &str, actor_person: Option<&str>, note: Option<&str>, data: Value) -> Event {
    let mut actor = json!({"org": "acme"});
    if let Some(p) = actor_person {
        actor["person"] = json!(p);
    }
    let mut e = json!({
        "event_id": "0190f5b2-7c3e-7cc0-8000-000000000001",
        "partnership_id": "p1",
        "schema_version": 3,
        "occurred_at": "2026-03-01T09:00:00Z",
        "recorded_at": "2026-03-01T09:00:01Z",
        "actor": actor,
        "type": kind,
        "data": data,
    });
    if let Some(n) = note {
        e["note"] = json!(n);
    }
    serde_json::from_value(e).expect("a valid event")
}

/// One event of each type that has personal fields, and the paths of every personal field it
/// holds, written out here independently of `each_field`.
fn catalogue() -> Vec<(Event, Vec<&'static str>)> {
    let replacement = json!({"occurred_at": "2026-03-01T09:00:00Z",
        "actor": {"org": "acme", "person": "Ana"}, "note": "fixed",
        "type": "meeting_held", "data": {"meeting_id": "m1", "in_person": true,
            "introductions_made": 0,
            "attendees": [{"org": "acme", "person": "Ana", "seniority": "exec"}]}});
    vec![
        (
            event(
                "partnership_proposed",
                Some("Ana"),
                Some("kick-off"),
                json!({"parties": [{"org": "acme", "name": "Acme", "kind": "vendor"}],
                       "vision": "v", "rationale_tags": ["t"]}),
            ),
            vec!["actor.person", "note", "data.vision"],
        ),
        (
            event(
                "partnership_status_changed",
                None,
                None,
                json!({"status": "active", "reason": "signed"}),
            ),
            vec!["data.reason"],
        ),
        (
            event(
                "exit_procedure_defined",
                None,
                None,
                json!({"triggers": ["t"], "notice_days": 30, "data_return_terms": "d"}),
            ),
            vec!["data.data_return_terms"],
        ),
        (
            event(
                "role_assigned",
                None,
                None,
                json!({"org": "acme", "person": "Bo", "role": "liaison", "allocation_pct": 50,
                       "selection_basis": "fit"}),
            ),
            vec!["data.person"],
        ),
        (
            event(
                "role_unassigned",
                None,
                None,
                json!({"org": "acme", "person": "Bo", "role": "liaison", "reason": "left"}),
            ),
            vec!["data.person", "data.reason"],
        ),
        (
            event(
                "meeting_requested",
                None,
                None,
                json!({"meeting_id": "m1", "requested_by_org": "acme", "purpose": "p"}),
            ),
            vec!["data.purpose"],
        ),
        (
            event(
                "meeting_cancelled",
                None,
                None,
                json!({"meeting_id": "m1", "by_org": "acme", "notice_hours": 2, "reason": "r"}),
            ),
            vec!["data.reason"],
        ),
        (
            event(
                "meeting_held",
                None,
                None,
                json!({"meeting_id": "m1", "in_person": false, "introductions_made": 0,
                       "attendees": [{"org": "acme", "person": "Ana", "seniority": "exec"},
                                     {"org": "stmary", "person": "Cy", "seniority": "staff"}]}),
            ),
            vec!["data.attendees[0].person", "data.attendees[1].person"],
        ),
        (
            event(
                "introduction_made",
                None,
                None,
                json!({"by_org": "acme", "introduced_party": "Dee", "to_org": "stmary"}),
            ),
            vec!["data.introduced_party"],
        ),
        (
            event(
                "goal_dropped",
                None,
                None,
                json!({"goal_id": "g1", "by_org": "acme", "reason": "r"}),
            ),
            vec!["data.reason"],
        ),
        (
            event(
                "deliverable_committed",
                None,
                None,
                json!({"deliverable_id": "d1", "title": "t", "owner_org": "acme",
                       "owner_person": "Ana", "due_date": "2026-04-01", "top_priority": false}),
            ),
            vec!["data.title", "data.owner_person"],
        ),
        (
            event(
                "deliverable_due_date_changed",
                None,
                None,
                json!({"deliverable_id": "d1", "new_due": "2026-05-01", "by_org": "acme",
                       "reason": "r"}),
            ),
            vec!["data.reason"],
        ),
        (
            event(
                "deliverable_cancelled",
                None,
                None,
                json!({"deliverable_id": "d1", "by_org": "acme", "reason": "r"}),
            ),
            vec!["data.reason"],
        ),
        (
            event(
                "deal_registered",
                None,
                None,
                json!({"deal_id": "x1", "account": "a", "sourced_by_org": "acme",
                       "value": "10", "currency": "USD"}),
            ),
            vec!["data.account"],
        ),
        (
            event(
                "joint_customer_highlighted",
                None,
                None,
                json!({"customer": "c", "channel": "web", "orgs": ["acme"]}),
            ),
            vec!["data.customer"],
        ),
        (
            event(
                "event_retracted",
                None,
                None,
                json!({"target_event_id": "0190f5b2-7c3e-7cc0-8000-000000000009",
                       "reason": "r"}),
            ),
            vec!["data.reason"],
        ),
        (
            event(
                "event_corrected",
                None,
                None,
                json!({"target_event_id": "0190f5b2-7c3e-7cc0-8000-000000000009",
                       "replacement": replacement, "reason": "r"}),
            ),
            vec![
                "data.reason",
                "data.replacement.actor.person",
                "data.replacement.note",
                "data.replacement.data.attendees[0].person",
            ],
        ),
    ]
}

fn paths(event: &mut Event) -> Vec<String> {
    let mut out = Vec::new();
    each_field(event, &mut |path, _, _| out.push(path.to_string()));
    out
}

fn counter_salts() -> impl FnMut() -> [u8; 16] {
    let mut n = 0u8;
    move || {
        n += 1;
        [n; 16]
    }
}

#[test]
fn every_personal_field_is_listed_with_its_path() {
    let catalogue = catalogue();
    for (mut e, expected) in catalogue.clone() {
        assert_eq!(paths(&mut e), expected, "{}", e.event_type());
    }
    // Every other type holds no personal field (the catalogue above may not miss a type that
    // has one: a type with a person or prose field must be listed there).
    let listed: Vec<EventType> = catalogue.iter().map(|(e, _)| e.event_type()).collect();
    for t in EventType::ALL {
        if !listed.contains(t) {
            assert!(
                [
                    "business_plan_agreed",
                    "governance_defined",
                    "meeting_scheduled",
                    "meeting_rescheduled",
                    "follow_up_proposed",
                    "goal_proposed",
                    "goal_agreed",
                    "goal_revised",
                    "indicator_recorded",
                    "deliverable_started",
                    "deliverable_blocked",
                    "deliverable_unblocked",
                    "deliverable_completed",
                    "deal_closed",
                    "sales_incentive_changed",
                    "revenue_reported",
                    "communication_tagged",
                    "health_check_responded",
                    "personal_data_erased",
                    "org_key_registered",
                ]
                .contains(&t.as_str()),
                "{t} is in neither list"
            );
        }
    }
}

#[test]
fn sealing_keeps_digests_in_the_log_and_joining_gives_every_value_back() {
    for (original, expected) in catalogue() {
        let sealed = seal(vec![original.clone()], &mut counter_salts());
        assert_eq!(sealed.disclosures.len(), expected.len());
        let mut stored = sealed.events[0].clone();
        let stored_json = serde_json::to_string(&stored).expect("json");
        for d in &sealed.disclosures {
            assert!(expected.contains(&d.path()), "{}", d.path());
            assert!(stored_json.contains(&d.digest().to_string()));
            // The stored form holds no value longer than a salt could hide.
            if d.value().len() > 2 {
                assert!(!stored_json.contains(&format!("\"{}\"", d.value())));
            }
            assert_eq!(Disclosure::parse(d.as_json()).as_ref(), Ok(d));
        }
        let mut unjoined = Unjoined::new(stored.clone(), 3);
        let digests = unjoined.digests().expect("digests");
        assert_eq!(
            digests,
            sealed
                .disclosures
                .iter()
                .map(Disclosure::digest)
                .collect::<Vec<_>>()
        );
        let all: HashMap<Digest, Disclosure> = sealed
            .disclosures
            .iter()
            .map(|d| (d.digest(), d.clone()))
            .collect();
        assert_eq!(unjoined.join(&all), original);

        join(&mut stored, &HashMap::new());
        let mut erased = Vec::new();
        each_field(&mut stored, &mut |_, _, v| erased.push(v.clone()));
        assert_eq!(erased, vec![ERASED.to_owned(); expected.len()]);
    }
}

#[test]
fn an_event_before_version_3_keeps_its_values() {
    let (e, _) = catalogue().remove(0);
    let mut old = Unjoined::new(e.clone(), 2);
    assert!(!old.is_sealed());
    assert_eq!(old.digests(), Ok(vec![]));
    assert_eq!(old.join(&HashMap::new()), e);
}

#[test]
fn a_sealed_field_without_a_digest_is_named() {
    let (e, _) = catalogue().remove(0);
    let mut not_sealed = Unjoined::new(e, 3);
    let (path, err) = not_sealed.digests().expect_err("no digest");
    assert_eq!(path.to_string(), "actor.person");
    assert_eq!(err, InvalidDigest("Ana".into()));
}

#[test]
fn digests_and_disclosures_have_one_text_form() {
    let d = Disclosure::new("c2FsdA", "actor.person", "Zoë \"Z\" Ångström");
    assert_eq!(
        d.as_json(),
        r#"["c2FsdA","actor.person","Zoë \"Z\" Ångström"]"#
    );
    let text = d.digest().to_string();
    assert_eq!(text.len(), 43);
    assert_eq!(text.parse::<Digest>(), Ok(d.digest()));
    for bad in [
        "",
        "abc",
        &format!("{text}="),
        &text.replace(&text[..1], "+"),
    ] {
        assert!(bad.parse::<Digest>().is_err(), "{bad}");
    }
    for bad in ["[]", r#"["a","b"]"#, r#"["a","b",3]"#, "x"] {
        assert!(Disclosure::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn forget_matches_a_person_in_the_org_asked_for_and_any_mention() {
    let acme = OrgId::parse("acme").expect("slug");
    let stmary = OrgId::parse("stmary").expect("slug");
    let f = Forget::new(" Ana Ruiz ", Some(acme.clone())).expect("a name");
    assert!(f.matches(Kind::Person(Some(&acme)), "ana ruiz"));
    assert!(!f.matches(Kind::Person(Some(&stmary)), "Ana Ruiz"));
    assert!(f.matches(Kind::Person(None), "Ana Ruiz"));
    assert!(!f.matches(Kind::Person(Some(&acme)), "Ana Ruiz-Diaz"));
    assert!(f.matches(Kind::Text, "call with ANA RUIZ on Monday"));
    assert!(!f.matches(Kind::Text, "call with Ana on Monday"));
    let any_org = Forget::new("Ana Ruiz", None).expect("a name");
    assert!(any_org.matches(Kind::Person(Some(&stmary)), "Ana Ruiz"));
    assert_eq!(Forget::new("  ", None), None);
}

#[test]
fn matching_reads_values_from_the_lookup() {
    let (e, _) = catalogue().remove(0);
    let sealed = seal(vec![e], &mut counter_salts());
    let all: HashMap<Digest, Disclosure> = sealed
        .disclosures
        .iter()
        .map(|d| (d.digest(), d.clone()))
        .collect();
    let mut u = Unjoined::new(sealed.events[0].clone(), 3);
    let ana = Forget::new("ana", None).expect("a name");
    assert_eq!(u.matching(&ana, &all), vec![sealed.disclosures[0].digest()]);
    assert_eq!(u.matching(&ana, &HashMap::new()), vec![]);
}

#[test]
fn erased_digests_are_read_from_the_erasure_events() {
    let d = Disclosure::new("s", "note", "x").digest();
    let e = event(
        "personal_data_erased",
        None,
        None,
        json!({"requested_by_org": "acme", "basis": "data_subject_request",
               "request_ref": "dsr-42", "digests": [d.to_string()]}),
    );
    let (other, _) = catalogue().remove(1);
    assert_eq!(erased([&other, &e]), BTreeSet::from([d]));
}

mod erasure_rules {
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::{Command, DomainError, EventId, EventInput, Partnership, PartnershipId, Settings};
    use crate::{decide, evolve};

    fn input(kind: &str, data: Value) -> EventInput {
        serde_json::from_value(json!({"type": kind, "occurred_at": "2026-05-01T09:00:00Z",
            "actor": {"org": "acme"}, "data": data}))
        .expect("a valid input")
    }

    fn erasure(by: &str) -> EventInput {
        input(
            "personal_data_erased",
            json!({"requested_by_org": by, "basis": "consent_withdrawn",
                   "digests": [Disclosure::new("s", "note", "x").digest().to_string()]}),
        )
    }

    fn run(record: bool, given: &[EventInput], when: EventInput) -> Result<(), DomainError> {
        let p = PartnershipId::parse("p1").expect("slug");
        let settings = Settings::default();
        let mut state = Partnership::default();
        for (i, g) in given.iter().enumerate() {
            let cmd = Command::Record {
                partnership_id: p.clone(),
                recorded_at: datetime!(2026-06-01 12:00 UTC),
                events: vec![(
                    EventId::from_uuid(Uuid::from_u128(i as u128 + 1)),
                    g.clone(),
                )],
                signed: None,
            };
            let events = decide(&state, cmd, &settings).expect("given");
            state = events.iter().fold(state, evolve);
        }
        let events = vec![(EventId::from_uuid(Uuid::from_u128(99)), when)];
        let (partnership_id, recorded_at) = (p, datetime!(2026-06-01 12:00 UTC));
        let cmd = if record {
            Command::Record {
                partnership_id,
                recorded_at,
                events,
                signed: None,
            }
        } else {
            Command::Erase {
                partnership_id,
                recorded_at,
                events,
            }
        };
        decide(&state, cmd, &settings).map(|_| ())
    }

    fn proposal() -> EventInput {
        input(
            "partnership_proposed",
            json!({"parties": [{"org": "acme", "name": "Acme", "kind": "vendor"},
                               {"org": "stmary", "name": "St Mary's", "kind": "health_system"}],
                   "vision": "v"}),
        )
    }

    fn refused_fields(result: Result<(), DomainError>) -> Vec<(String, String)> {
        match result {
            Err(DomainError::Validation(errors)) => {
                errors.into_iter().map(|e| (e.field, e.message)).collect()
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn only_an_erasure_records_personal_data_erased_even_after_termination() {
        let refused = refused_fields(run(true, &[proposal()], erasure("acme")));
        assert_eq!(refused[0].0, "events[0].type");
        assert!(refused[0].1.contains("accord forget"), "{refused:?}");
        let note = input(
            "partnership_status_changed",
            json!({"status": "active", "reason": "r"}),
        );
        let refused = refused_fields(run(false, &[proposal()], note));
        assert!(
            refused[0].1.contains("personal_data_erased events only"),
            "{refused:?}"
        );

        let terminated = input(
            "partnership_status_changed",
            json!({"status": "terminated", "reason": "over"}),
        );
        assert_eq!(
            run(false, &[proposal(), terminated], erasure("stmary")),
            Ok(())
        );
        let refused = refused_fields(run(false, &[proposal()], erasure("globex")));
        assert_eq!(refused[0].0, "events[0].data.requested_by_org");
    }
}

#[test]
fn events_a_client_sealed_open_with_their_disclosures_and_nothing_else() {
    let (events, _) = catalogue().into_iter().next().expect("an event");
    let input = EventInput::from(events);
    let (sealed, disclosures) = seal_inputs(vec![input.clone()], &mut counter_salts());
    assert!(!disclosures.is_empty());
    assert_eq!(open_sealed(&sealed, &disclosures), Ok(vec![input.clone()]));

    // A value in place of a digest, a disclosure made for another field, one left over.
    let errors = open_sealed(&[input], &disclosures).expect_err("values, not digests");
    assert!(
        errors
            .iter()
            .any(|e| e.field.starts_with("events[0].") && e.message.contains("digest"))
    );
    assert!(
        errors
            .iter()
            .any(|e| e.field == "disclosures[0]" && e.message.contains("no personal field"))
    );
    let elsewhere: Vec<Disclosure> = disclosures
        .iter()
        .map(|d| Disclosure::new(d.salt(), "data.somewhere_else", d.value()))
        .collect();
    let mut moved = sealed.clone();
    let mut digests = elsewhere.iter().map(|d| d.digest().to_string());
    let mut event = unrecorded_for_test(moved.remove(0));
    each_field(&mut event, &mut |_, _, v| {
        *v = digests.next().expect("one per field")
    });
    let errors = open_sealed(&[EventInput::from(event)], &elsewhere).expect_err("other paths");
    assert!(
        errors
            .iter()
            .all(|e| e.message.contains("is made for data.somewhere_else")),
        "{errors:?}"
    );
}

fn unrecorded_for_test(input: EventInput) -> Event {
    input.into_event(
        EventId::from_uuid(uuid::Uuid::nil()),
        PartnershipId::parse("acme-stmary").expect("a slug"),
        time::OffsetDateTime::UNIX_EPOCH,
    )
}
