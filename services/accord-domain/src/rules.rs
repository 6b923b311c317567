//! The rules each event must meet, against the partnership's state as the events before it left
//! it: the envelope (times, actor, note), then each event type's fields (parties, items that
//! must exist and be open, own-org acts, consents, retractions and corrections). `decide`
//! collects every broken rule of a commit.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::aggregate::{
    DealState, DeliverableEnd, DeliverableState, Facts, GoalState, MeetingState, Partnership,
};
use crate::check::{
    Check, MAX_DAYS, MAX_INTRODUCTIONS, MAX_LINK_ID_BYTES, MAX_NOTICE_HOURS, MAX_TEXT_BYTES,
    MAX_VISION_BYTES,
};
use crate::event::{Actor, Event, EventInput, Payload, Status};
use crate::ids::{EventId, ItemId};
use crate::settings::Settings;
use crate::signing::KeyId;

/// What every event of a commit is checked against besides the partnership's state.
#[derive(Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) recorded_at: OffsetDateTime,
    pub(crate) settings: &'a Settings,
    /// The command is an erasure (`Command::Erase`): it records `personal_data_erased` only.
    pub(crate) erasure: bool,
}

/// The envelope fields an event and a correction's replacement share.
pub(crate) fn check_envelope(
    check: &mut Check<'_>,
    context: Context<'_>,
    occurred_at: OffsetDateTime,
    actor: &Actor,
    note: Option<&str>,
) {
    let settings = context.settings;
    check.instant("occurred_at", occurred_at);
    if occurred_at > context.recorded_at + settings.future_skew() {
        check.fail(
            "occurred_at",
            format!(
                "must not be more than {} seconds in the future",
                settings.future_skew_seconds
            ),
        );
    }
    check.opt_text("actor.person", actor.person.as_deref(), MAX_TEXT_BYTES);
    check.opt_text("actor.role", actor.role.as_deref(), MAX_TEXT_BYTES);
    check.opt_free_text("note", note, settings.max_note_bytes);
}

/// The link ids only a client's event carries.
pub(crate) fn check_links(check: &mut Check<'_>, input: &EventInput) {
    check.opt_text(
        "causation_id",
        input.causation_id.as_deref(),
        MAX_LINK_ID_BYTES,
    );
    check.opt_text(
        "correlation_id",
        input.correlation_id.as_deref(),
        MAX_LINK_ID_BYTES,
    );
}

pub(crate) fn check_payload(
    check: &mut Check<'_>,
    context: Context<'_>,
    state: &Partnership,
    actor: &Actor,
    payload: &Payload,
) {
    let facts = &state.facts();
    if let Payload::PartnershipProposed(p) = payload {
        if state.exists() {
            check.fail("type", "the partnership was already proposed");
        }
        check.list_len("data.parties", p.parties.len(), 2);
        let mut orgs = BTreeSet::new();
        for (i, party) in p.parties.iter().enumerate() {
            check.text(
                &format!("data.parties[{i}].name"),
                &party.name,
                MAX_TEXT_BYTES,
            );
            if !orgs.insert(&party.org) {
                check.fail(
                    &format!("data.parties[{i}].org"),
                    format!("{} is listed twice", party.org),
                );
            }
        }
        if !orgs.contains(&actor.org) {
            check.fail(
                "actor.org",
                format!(
                    "{} must be a party of the partnership it proposes",
                    actor.org
                ),
            );
        }
        check.free_text("data.vision", &p.vision, MAX_VISION_BYTES);
        check.list_len("data.rationale_tags", p.rationale_tags.len(), 0);
        for (i, tag) in p.rationale_tags.iter().enumerate() {
            if crate::ids::ItemId::parse(&tag.replace('_', "-")).is_err() {
                check.fail(
                    &format!("data.rationale_tags[{i}]"),
                    "must be a snake_case tag like competitor_did_it",
                );
            }
        }
        return;
    }
    check.party(facts, "actor.org", &actor.org);
    let erasure = matches!(payload, Payload::PersonalDataErased(_));
    if erasure != context.erasure {
        check.fail(
            "type",
            if erasure {
                "personal_data_erased is recorded by `accord forget` (POST /v1/forget), which erases the values it names"
            } else {
                "an erasure records personal_data_erased events only"
            },
        );
    }
    // Erasure is owed for as long as the data is kept, so it outlives the partnership.
    if facts.status == Some(Status::Terminated) && !erasure {
        check.fail(
            "type",
            "the partnership is terminated; it records nothing further",
        );
    }
    match payload {
        Payload::PartnershipProposed(_) => {}
        Payload::PersonalDataErased(p) => {
            check.party(facts, "data.requested_by_org", &p.requested_by_org);
            check.list_len("data.digests", p.digests.len(), 1);
        }
        Payload::OrgKeyRegistered(p) => {
            check.own(facts, actor, "data.org", &p.org);
            if !crate::signing::is_key(&p.public_key) {
                check.fail("data.public_key", "is not an ed25519 public key");
            }
            let id = KeyId::of(&p.public_key.0);
            if p.key_id != id {
                check.fail(
                    "data.key_id",
                    format!("is not the id of data.public_key, which is {id}"),
                );
            }
        }
        Payload::PartnershipStatusChanged(p) => {
            check.free_text("data.reason", &p.reason, MAX_TEXT_BYTES);
            if facts.status == Some(p.status) {
                check.fail(
                    "data.status",
                    format!("the partnership is already {}", p.status.as_str()),
                );
            }
        }
        Payload::BusinessPlanAgreed(p) => {
            if p.version == 0 {
                check.fail("data.version", "must be at least 1");
            }
            let plan = facts.plans.get(&p.plan_id);
            if let Some(v) = plan.and_then(|plan| plan.agreed)
                && p.version <= v
            {
                check.fail(
                    "data.version",
                    format!(
                        "must be greater than the agreed version {v} of plan {}",
                        p.plan_id
                    ),
                );
            } else if plan
                .and_then(|plan| plan.signatures.get(&p.version))
                .is_some_and(|signed| signed.contains(&actor.org))
            {
                check.fail(
                    "data.version",
                    format!(
                        "{} already signed version {} of plan {}",
                        actor.org, p.version, p.plan_id
                    ),
                );
            }
            check.list_len("data.goal_ids", p.goal_ids.len(), 0);
            for (i, goal) in p.goal_ids.iter().enumerate() {
                if !facts.goals.contains_key(goal) {
                    check.fail(
                        &format!("data.goal_ids[{i}]"),
                        format!("unknown goal {goal}"),
                    );
                }
            }
            check.own(facts, actor, "data.by_org", &p.by_org);
        }
        Payload::GovernanceDefined(p) => {
            check.list_len("data.forums", p.forums.len(), 0);
            for (i, forum) in p.forums.iter().enumerate() {
                check.text(
                    &format!("data.forums[{i}].name"),
                    &forum.name,
                    MAX_TEXT_BYTES,
                );
                check.count_in(
                    &format!("data.forums[{i}].cadence_days"),
                    forum.cadence_days,
                    1,
                    MAX_DAYS,
                );
            }
            check.list_len("data.decision_rights", p.decision_rights.len(), 0);
            for (i, right) in p.decision_rights.iter().enumerate() {
                check.text(
                    &format!("data.decision_rights[{i}].topic"),
                    &right.topic,
                    MAX_TEXT_BYTES,
                );
                check.party(facts, &format!("data.decision_rights[{i}].org"), &right.org);
            }
            if p.forums.is_empty() && p.decision_rights.is_empty() {
                check.fail("data", "must define at least one forum or decision right");
            }
        }
        Payload::ExitProcedureDefined(p) => {
            check.list_len("data.triggers", p.triggers.len(), 1);
            for (i, t) in p.triggers.iter().enumerate() {
                check.text(&format!("data.triggers[{i}]"), t, MAX_TEXT_BYTES);
            }
            check.free_text(
                "data.data_return_terms",
                &p.data_return_terms,
                MAX_TEXT_BYTES,
            );
            check.count_in("data.notice_days", p.notice_days, 0, MAX_DAYS);
        }
        Payload::RoleAssigned(p) => {
            check.own(facts, actor, "data.org", &p.org);
            check.text("data.person", &p.person, MAX_TEXT_BYTES);
            check.unit_range("data.allocation_pct", p.allocation_pct, 100.0);
            if facts
                .roles
                .contains(&(p.org.clone(), p.person.clone(), p.role))
            {
                check.fail(
                    "data.person",
                    format!(
                        "{} already holds {} for {}",
                        p.person,
                        p.role.as_str(),
                        p.org
                    ),
                );
            }
        }
        Payload::RoleUnassigned(p) => {
            check.own(facts, actor, "data.org", &p.org);
            check.free_text("data.reason", &p.reason, MAX_TEXT_BYTES);
            if !facts
                .roles
                .contains(&(p.org.clone(), p.person.clone(), p.role))
            {
                check.fail(
                    "data.person",
                    format!(
                        "{} does not hold {} for {}",
                        p.person,
                        p.role.as_str(),
                        p.org
                    ),
                );
            }
        }
        Payload::MeetingRequested(p) => {
            if facts.meetings.contains_key(&p.meeting_id) {
                check.fail(
                    "data.meeting_id",
                    format!("meeting {} already exists", p.meeting_id),
                );
            }
            check.own(facts, actor, "data.requested_by_org", &p.requested_by_org);
            check.free_text("data.purpose", &p.purpose, MAX_TEXT_BYTES);
            check.opt_party(
                facts,
                "data.proposed_location_org",
                p.proposed_location_org.as_ref(),
            );
        }
        Payload::MeetingScheduled(p) => {
            match facts.meetings.get(&p.meeting_id) {
                None | Some(MeetingState::Requested) => {}
                Some(s) => check.fail(
                    "data.meeting_id",
                    format!("meeting {} is already {}", p.meeting_id, meeting_word(*s)),
                ),
            }
            check.instant("data.starts_at", p.starts_at);
            check.party(facts, "data.host_org", &p.host_org);
            check.opt_party(facts, "data.location_org", p.location_org.as_ref());
        }
        Payload::MeetingRescheduled(p) => {
            open_meeting(check, facts, &p.meeting_id, true);
            check.own(facts, actor, "data.by_org", &p.by_org);
            check.instant("data.new_starts_at", p.new_starts_at);
            check.count_in("data.notice_hours", p.notice_hours, 0, MAX_NOTICE_HOURS);
        }
        Payload::MeetingCancelled(p) => {
            open_meeting(check, facts, &p.meeting_id, false);
            check.own(facts, actor, "data.by_org", &p.by_org);
            check.count_in("data.notice_hours", p.notice_hours, 0, MAX_NOTICE_HOURS);
            check.free_text("data.reason", &p.reason, MAX_TEXT_BYTES);
        }
        Payload::MeetingHeld(p) => {
            open_meeting(check, facts, &p.meeting_id, false);
            check.list_len("data.attendees", p.attendees.len(), 1);
            for (i, a) in p.attendees.iter().enumerate() {
                check.party(facts, &format!("data.attendees[{i}].org"), &a.org);
                check.text(
                    &format!("data.attendees[{i}].person"),
                    &a.person,
                    MAX_TEXT_BYTES,
                );
            }
            check.opt_party(facts, "data.location_org", p.location_org.as_ref());
            check.count_in(
                "data.introductions_made",
                p.introductions_made,
                0,
                MAX_INTRODUCTIONS,
            );
            if p.in_person && p.location_org.is_none() {
                check.fail(
                    "data.location_org",
                    "is required when the meeting was held in person",
                );
            }
            if !p.in_person && p.location_org.is_some() {
                check.fail(
                    "data.location_org",
                    "must be absent when the meeting was virtual",
                );
            }
        }
        Payload::FollowUpProposed(p) => {
            if let Some(m) = &p.after_meeting_id
                && !facts.meetings.contains_key(m)
            {
                check.fail("data.after_meeting_id", format!("unknown meeting {m}"));
            }
            check.own(facts, actor, "data.by_org", &p.by_org);
        }
        Payload::IntroductionMade(p) => {
            check.own(facts, actor, "data.by_org", &p.by_org);
            check.party(facts, "data.to_org", &p.to_org);
            check.text("data.introduced_party", &p.introduced_party, MAX_TEXT_BYTES);
        }
        Payload::GoalProposed(p) => {
            if facts.goals.contains_key(&p.goal_id) {
                check.fail("data.goal_id", format!("goal {} already exists", p.goal_id));
            }
            check.positive_amount("data.target", &p.target);
            check.period("data.period", &p.period);
            check.own(facts, actor, "data.by_org", &p.by_org);
        }
        Payload::GoalAgreed(p) => {
            open_goal(check, facts, &p.goal_id);
            check.own(facts, actor, "data.by_org", &p.by_org);
            if facts
                .consents
                .get(&p.goal_id)
                .is_some_and(|agreed| agreed.contains(&actor.org))
            {
                check.fail(
                    "data.goal_id",
                    format!("{} already agreed to goal {}", actor.org, p.goal_id),
                );
            }
        }
        Payload::GoalRevised(p) => {
            open_goal(check, facts, &p.goal_id);
            if p.new_target.is_none() && p.new_period.is_none() {
                check.fail("data", "must revise new_target, new_period or both");
            }
            if let Some(t) = &p.new_target {
                check.positive_amount("data.new_target", t);
            }
            if let Some(period) = &p.new_period {
                check.period("data.new_period", period);
            }
            check.own(facts, actor, "data.by_org", &p.by_org);
        }
        Payload::GoalDropped(p) => {
            open_goal(check, facts, &p.goal_id);
            check.own(facts, actor, "data.by_org", &p.by_org);
            check.free_text("data.reason", &p.reason, MAX_TEXT_BYTES);
        }
        Payload::IndicatorRecorded(p) => {
            check.amount("data.value", &p.value);
            check.period("data.period", &p.period);
            check.own(facts, actor, "data.org", &p.org);
        }
        Payload::DeliverableCommitted(p) => {
            if facts.deliverables.contains_key(&p.deliverable_id) {
                check.fail(
                    "data.deliverable_id",
                    format!("deliverable {} already exists", p.deliverable_id),
                );
            }
            check.text("data.title", &p.title, MAX_TEXT_BYTES);
            check.own(facts, actor, "data.owner_org", &p.owner_org);
            check.date("data.due_date", p.due_date);
            check.opt_text(
                "data.owner_person",
                p.owner_person.as_deref(),
                MAX_TEXT_BYTES,
            );
            if let Some(goal) = &p.goal_id
                && !facts.goals.contains_key(goal)
            {
                check.fail("data.goal_id", format!("unknown goal {goal}"));
            }
        }
        Payload::DeliverableStarted(p) => {
            if let Some(d) = open_deliverable(check, facts, &p.deliverable_id)
                && d.started
            {
                check.fail(
                    "data.deliverable_id",
                    format!("deliverable {} was already started", p.deliverable_id),
                );
            }
        }
        Payload::DeliverableDueDateChanged(p) => {
            if let Some(d) = open_deliverable(check, facts, &p.deliverable_id)
                && d.due == p.new_due
            {
                check.fail("data.new_due", "must differ from the current due date");
            }
            check.date("data.new_due", p.new_due);
            check.own(facts, actor, "data.by_org", &p.by_org);
            check.free_text("data.reason", &p.reason, MAX_TEXT_BYTES);
        }
        Payload::DeliverableBlocked(p) => {
            if let Some(d) = open_deliverable(check, facts, &p.deliverable_id)
                && d.blocked
            {
                check.fail(
                    "data.deliverable_id",
                    format!("deliverable {} is already blocked", p.deliverable_id),
                );
            }
            check.opt_party(facts, "data.blocking_org", p.blocking_org.as_ref());
        }
        Payload::DeliverableUnblocked(p) => {
            if let Some(d) = open_deliverable(check, facts, &p.deliverable_id)
                && !d.blocked
            {
                check.fail(
                    "data.deliverable_id",
                    format!("deliverable {} is not blocked", p.deliverable_id),
                );
            }
            check.opt_party(facts, "data.blocking_org", p.blocking_org.as_ref());
        }
        Payload::DeliverableCompleted(p) => {
            open_deliverable(check, facts, &p.deliverable_id);
            if let Some(org) = &p.accepted_by_org {
                check.own(facts, actor, "data.accepted_by_org", org);
            }
        }
        Payload::DeliverableCancelled(p) => {
            open_deliverable(check, facts, &p.deliverable_id);
            check.own(facts, actor, "data.by_org", &p.by_org);
            check.free_text("data.reason", &p.reason, MAX_TEXT_BYTES);
        }
        Payload::DealRegistered(p) => {
            if facts.deals.contains_key(&p.deal_id) {
                check.fail("data.deal_id", format!("deal {} already exists", p.deal_id));
            }
            check.text("data.account", &p.account, MAX_TEXT_BYTES);
            check.own(facts, actor, "data.sourced_by_org", &p.sourced_by_org);
            check.amount("data.value", &p.value);
        }
        Payload::DealClosed(p) => {
            match facts.deals.get(&p.deal_id) {
                None => check.fail("data.deal_id", format!("unknown deal {}", p.deal_id)),
                Some(DealState::Closed) => check.fail(
                    "data.deal_id",
                    format!("deal {} is already closed", p.deal_id),
                ),
                Some(DealState::Open) => {}
            }
            check.amount("data.amount", &p.amount);
        }
        Payload::JointCustomerHighlighted(p) => {
            check.text("data.customer", &p.customer, MAX_TEXT_BYTES);
            check.text("data.channel", &p.channel, MAX_TEXT_BYTES);
            check.parties(facts, "data.orgs", &p.orgs);
        }
        Payload::SalesIncentiveChanged(p) => {
            check.own(facts, actor, "data.org", &p.org);
            check.unit_range(
                "data.partner_deal_credit_pct",
                p.partner_deal_credit_pct,
                1.0,
            );
            check.date("data.effective_from", p.effective_from);
        }
        Payload::RevenueReported(p) => {
            check.own(facts, actor, "data.org", &p.org);
            check.period("data.period", &p.period);
            check.amount("data.total", &p.total);
            check.list_len("data.by_partner", p.by_partner.len(), 0);
            let mut sum = crate::values::Amount::ZERO.0;
            // Partners may be outside this partnership: the report shows the concentration of
            // the org's partner revenue (R2).
            let mut partners = BTreeSet::new();
            for (i, r) in p.by_partner.iter().enumerate() {
                if !partners.insert(&r.partner_org) {
                    check.fail(
                        &format!("data.by_partner[{i}].partner_org"),
                        format!("{} is listed twice", r.partner_org),
                    );
                }
                if r.partner_org == p.org {
                    check.fail(
                        &format!("data.by_partner[{i}].partner_org"),
                        "must be another org than the reporting org",
                    );
                }
                check.amount(&format!("data.by_partner[{i}].amount"), &r.amount);
                sum = sum.saturating_add(r.amount.0);
            }
            if sum > p.total.0 {
                check.fail(
                    "data.by_partner",
                    format!("amounts add up to {sum}, more than the total {}", p.total),
                );
            }
        }
        Payload::CommunicationTagged(p) => {
            check.party(facts, "data.org", &p.org);
            check.text("data.doc_ref", &p.doc_ref, MAX_TEXT_BYTES);
        }
        Payload::HealthCheckResponded(p) => {
            check.own(facts, actor, "data.respondent_org", &p.respondent_org);
            if !(1..=5).contains(&p.score) {
                check.fail("data.score", format!("must be 1 to 5, got {}", p.score));
            }
        }
        Payload::EventRetracted(p) => {
            check.free_text("data.reason", &p.reason, MAX_TEXT_BYTES);
            if let Some(target) = check_target(check, state, actor, &p.target_event_id) {
                if matches!(target.payload, Payload::EventRetracted(_)) {
                    check.fail(
                        "data.target_event_id",
                        "a retraction cannot be retracted; record the event again instead",
                    );
                }
            }
        }
        Payload::EventCorrected(p) => {
            check.free_text("data.reason", &p.reason, MAX_TEXT_BYTES);
            if let Some(target) = check_target(check, state, actor, &p.target_event_id) {
                let replacement = &p.replacement;
                if replacement.actor.org != actor.org {
                    check.fail(
                        "data.replacement.actor.org",
                        format!(
                            "must be {}, the acting org: a correction keeps the act its org's",
                            actor.org
                        ),
                    );
                }
                if matches!(
                    target.payload,
                    Payload::EventRetracted(_) | Payload::EventCorrected(_)
                ) {
                    check.fail(
                        "data.target_event_id",
                        "must name the original event, not a retraction or correction",
                    );
                } else if replacement.payload.event_type() != target.event_type() {
                    check.fail(
                        "data.replacement.type",
                        format!(
                            "must be {} like the corrected event, got {}",
                            target.event_type(),
                            replacement.payload.event_type()
                        ),
                    );
                } else {
                    // The replacement must satisfy the rules of its type against the state
                    // without the original.
                    let reduced = Partnership::from_events(
                        state
                            .events()
                            .iter()
                            .filter(|e| e.event_id != target.event_id),
                    );
                    let mut inner =
                        Check::new(format!("{}.data.replacement", check.prefix), check.errors);
                    check_envelope(
                        &mut inner,
                        context,
                        replacement.occurred_at,
                        &replacement.actor,
                        replacement.note.as_deref(),
                    );
                    check_payload(
                        &mut inner,
                        context,
                        &reduced,
                        &replacement.actor,
                        &replacement.payload,
                    );
                }
            }
        }
    }
}

fn meeting_word(s: MeetingState) -> &'static str {
    match s {
        MeetingState::Requested => "requested",
        MeetingState::Scheduled => "scheduled",
        MeetingState::Held => "held",
        MeetingState::Cancelled => "cancelled",
    }
}

/// A meeting that is known and neither held nor cancelled (and scheduled, when asked).
fn open_meeting(check: &mut Check<'_>, facts: &Facts, id: &ItemId, must_be_scheduled: bool) {
    match facts.meetings.get(id) {
        None => check.fail("data.meeting_id", format!("unknown meeting {id}")),
        Some(s @ (MeetingState::Held | MeetingState::Cancelled)) => check.fail(
            "data.meeting_id",
            format!("meeting {id} is already {}", meeting_word(*s)),
        ),
        Some(MeetingState::Requested) if must_be_scheduled => check.fail(
            "data.meeting_id",
            format!("meeting {id} is not scheduled yet"),
        ),
        Some(_) => {}
    }
}

fn open_goal(check: &mut Check<'_>, facts: &Facts, id: &ItemId) {
    match facts.goals.get(id) {
        None => check.fail("data.goal_id", format!("unknown goal {id}")),
        Some(GoalState::Dropped) => {
            check.fail("data.goal_id", format!("goal {id} was dropped"));
        }
        Some(GoalState::Open) => {}
    }
}

fn open_deliverable<'f>(
    check: &mut Check<'_>,
    facts: &'f Facts,
    id: &ItemId,
) -> Option<&'f DeliverableState> {
    match facts.deliverables.get(id) {
        None => {
            check.fail("data.deliverable_id", format!("unknown deliverable {id}"));
            None
        }
        Some(DeliverableState {
            done: Some(end), ..
        }) => {
            let word = match end {
                DeliverableEnd::Completed => "completed",
                DeliverableEnd::Cancelled => "cancelled",
            };
            check.fail(
                "data.deliverable_id",
                format!("deliverable {id} is already {word}"),
            );
            None
        }
        Some(d) => Some(d),
    }
}

/// The event a retraction or correction names: recorded in this partnership, not the proposal,
/// and not already retracted.
fn check_target<'s>(
    check: &mut Check<'_>,
    state: &'s Partnership,
    actor: &Actor,
    id: &EventId,
) -> Option<&'s Event> {
    let field = "data.target_event_id";
    let Some(target) = state.find(id) else {
        check.fail(field, format!("no event {id} in this partnership"));
        return None;
    };
    if matches!(target.payload, Payload::PartnershipProposed(_)) {
        check.fail(
            field,
            "the proposal cannot be retracted or corrected; terminate the partnership instead",
        );
        return None;
    }
    let retracted = state
        .events()
        .iter()
        .any(|e| matches!(&e.payload, Payload::EventRetracted(r) if r.target_event_id == *id));
    if retracted {
        check.fail(field, format!("event {id} was already retracted"));
        return None;
    }
    if target.actor.org != actor.org {
        check.fail(
            field,
            format!(
                "event {id} was recorded by {}: an org retracts or corrects only its own events",
                target.actor.org
            ),
        );
        return None;
    }
    Some(target)
}
