//! The partnership aggregate: `decide` turns a command into events or refuses it, `evolve` folds
//! an event into the state. Pure and synchronous: no IO, no clock, no randomness.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use time::{Date, OffsetDateTime};

use crate::check::Check;
use crate::error::{DomainError, FieldError};
use crate::event::{Event, EventInput, EventType, Payload, RoleKind, Status};
use crate::history::effective_events;
use crate::ids::{EventId, ItemId, OrgId, PartnershipId};
use crate::rules::{Context, check_envelope, check_links, check_payload};
use crate::settings::Settings;
use crate::signing::{Presented, PublicKey};

/// A command to the partnership aggregate.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Record events as one commit. The edge assigns one id per event and the recording time
    /// (the ledger's clock), so that `decide` stays a pure function.
    Record {
        partnership_id: PartnershipId,
        recorded_at: OffsetDateTime,
        events: Vec<(EventId, EventInput)>,
        /// The acting org's signature, with the message it must sign (built by the edge from
        /// the events in stored form: see [`crate::signing::message`]).
        signed: Option<Presented>,
    },
    /// Record that personal values were erased (`personal_data_erased` events only): what
    /// `accord forget` records once it has found the values; a client's `Record` cannot.
    Erase {
        partnership_id: PartnershipId,
        recorded_at: OffsetDateTime,
        events: Vec<(EventId, EventInput)>,
    },
}

/// What the write side knows of one partnership: every event recorded so far and the facts
/// that the rules of `decide` need, folded from the events still in effect.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Partnership {
    events: Vec<Event>,
    /// Where each event id sits in `events`.
    index: HashMap<EventId, usize>,
    facts: Facts,
}

/// The facts `decide` checks commands against.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    pub id: Option<PartnershipId>,
    pub parties: BTreeSet<OrgId>,
    pub status: Option<Status>,
    pub plans: BTreeMap<ItemId, PlanState>,
    pub roles: BTreeSet<(OrgId, String, RoleKind)>,
    pub meetings: BTreeMap<ItemId, MeetingState>,
    pub goals: BTreeMap<ItemId, GoalState>,
    /// Per goal, the orgs that recorded their consent.
    pub consents: BTreeMap<ItemId, BTreeSet<OrgId>>,
    pub deliverables: BTreeMap<ItemId, DeliverableState>,
    pub deals: BTreeMap<ItemId, DealState>,
    /// Each org's current key: it signs every commit it records from then on.
    pub keys: BTreeMap<OrgId, PublicKey>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingState {
    Requested,
    Scheduled,
    Held,
    Cancelled,
}

/// A business plan: the signatures of each version, and the latest version every party signed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanState {
    pub signatures: BTreeMap<u32, BTreeSet<OrgId>>,
    pub agreed: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoalState {
    Open,
    Dropped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverableState {
    pub due: Date,
    pub started: bool,
    pub blocked: bool,
    pub done: Option<DeliverableEnd>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliverableEnd {
    Completed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealState {
    Open,
    Closed,
}

/// A partnership at a glance, as the list of partnerships shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Overview {
    pub partnership_id: PartnershipId,
    pub parties: Vec<OrgId>,
    /// The latest status in effect; `None` while the partnership is only proposed.
    pub status: Option<Status>,
    /// The position of its last commit.
    pub revision: u64,
    /// Every event recorded, retractions and corrections included.
    pub event_count: usize,
}

impl Partnership {
    /// The partnership at a glance at `revision` (`None` before its proposal).
    pub fn overview(&self, revision: u64) -> Option<Overview> {
        Some(Overview {
            partnership_id: self.facts.id.clone()?,
            parties: self.facts.parties.iter().cloned().collect(),
            status: self.facts.status,
            revision,
            event_count: self.events.len(),
        })
    }

    /// Folds recorded events (in log order) into the state.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Self {
        events.into_iter().fold(Self::default(), evolve)
    }

    pub fn exists(&self) -> bool {
        self.facts.id.is_some()
    }

    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    pub(crate) fn find(&self, id: &EventId) -> Option<&Event> {
        self.index.get(id).map(|&i| &self.events[i])
    }
}

/// Applies one recorded event. Retractions and corrections refold the events still in effect,
/// so that their effects are undone or replaced exactly as if the original had never been.
pub fn evolve(mut state: Partnership, event: &Event) -> Partnership {
    state.index.insert(event.event_id, state.events.len());
    state.events.push(event.clone());
    match event.payload {
        Payload::EventRetracted(_) | Payload::EventCorrected(_) => {
            let mut facts = Facts::default();
            for e in effective_events(&state.events) {
                facts.apply(&e);
            }
            state.facts = facts;
        }
        _ => state.facts.apply(event),
    }
    state
}

impl Facts {
    fn apply(&mut self, event: &Event) {
        match &event.payload {
            Payload::PartnershipProposed(p) => {
                self.id = Some(event.partnership_id.clone());
                self.parties = p.parties.iter().map(|p| p.org.clone()).collect();
            }
            Payload::PartnershipStatusChanged(p) => self.status = Some(p.status),
            // Erasure changes what reads show, never a fact a rule checks.
            Payload::PersonalDataErased(_) => {}
            Payload::OrgKeyRegistered(p) => {
                self.keys.insert(p.org.clone(), p.public_key);
            }
            Payload::BusinessPlanAgreed(p) => {
                let plan = self.plans.entry(p.plan_id.clone()).or_default();
                let signed = plan.signatures.entry(p.version).or_default();
                signed.insert(p.by_org.clone());
                if signed.is_superset(&self.parties) {
                    plan.agreed = plan.agreed.max(Some(p.version));
                }
            }
            Payload::RoleAssigned(p) => {
                self.roles.insert((p.org.clone(), p.person.clone(), p.role));
            }
            Payload::RoleUnassigned(p) => {
                self.roles
                    .remove(&(p.org.clone(), p.person.clone(), p.role));
            }
            Payload::MeetingRequested(p) => {
                self.meetings
                    .insert(p.meeting_id.clone(), MeetingState::Requested);
            }
            Payload::MeetingScheduled(p) => {
                self.meetings
                    .insert(p.meeting_id.clone(), MeetingState::Scheduled);
            }
            Payload::MeetingCancelled(p) => {
                self.meetings
                    .insert(p.meeting_id.clone(), MeetingState::Cancelled);
            }
            Payload::MeetingHeld(p) => {
                self.meetings
                    .insert(p.meeting_id.clone(), MeetingState::Held);
            }
            Payload::GoalProposed(p) => {
                self.goals.insert(p.goal_id.clone(), GoalState::Open);
            }
            Payload::GoalDropped(p) => {
                self.goals.insert(p.goal_id.clone(), GoalState::Dropped);
            }
            Payload::GoalAgreed(p) => {
                self.consents
                    .entry(p.goal_id.clone())
                    .or_default()
                    .insert(p.by_org.clone());
            }
            Payload::DeliverableCommitted(p) => {
                self.deliverables.insert(
                    p.deliverable_id.clone(),
                    DeliverableState {
                        due: p.due_date,
                        started: false,
                        blocked: false,
                        done: None,
                    },
                );
            }
            Payload::DeliverableStarted(p) => {
                self.update_deliverable(&p.deliverable_id, |d| d.started = true);
            }
            Payload::DeliverableDueDateChanged(p) => {
                self.update_deliverable(&p.deliverable_id, |d| d.due = p.new_due);
            }
            Payload::DeliverableBlocked(p) => {
                self.update_deliverable(&p.deliverable_id, |d| d.blocked = true);
            }
            Payload::DeliverableUnblocked(p) => {
                self.update_deliverable(&p.deliverable_id, |d| d.blocked = false);
            }
            Payload::DeliverableCompleted(p) => self.update_deliverable(&p.deliverable_id, |d| {
                d.done = Some(DeliverableEnd::Completed);
            }),
            Payload::DeliverableCancelled(p) => self.update_deliverable(&p.deliverable_id, |d| {
                d.done = Some(DeliverableEnd::Cancelled);
            }),
            Payload::DealRegistered(p) => {
                self.deals.insert(p.deal_id.clone(), DealState::Open);
            }
            Payload::DealClosed(p) => {
                self.deals.insert(p.deal_id.clone(), DealState::Closed);
            }
            Payload::GovernanceDefined(_)
            | Payload::ExitProcedureDefined(_)
            | Payload::MeetingRescheduled(_)
            | Payload::FollowUpProposed(_)
            | Payload::IntroductionMade(_)
            | Payload::GoalRevised(_)
            | Payload::IndicatorRecorded(_)
            | Payload::JointCustomerHighlighted(_)
            | Payload::SalesIncentiveChanged(_)
            | Payload::RevenueReported(_)
            | Payload::CommunicationTagged(_)
            | Payload::HealthCheckResponded(_)
            | Payload::EventRetracted(_)
            | Payload::EventCorrected(_) => {}
        }
    }

    fn update_deliverable(&mut self, id: &ItemId, f: impl FnOnce(&mut DeliverableState)) {
        if let Some(d) = self.deliverables.get_mut(id) {
            f(d);
        }
    }
}

/// Decides what a command records, or why it cannot. On success the events are returned in
/// order and nothing else changes; on error nothing is recorded.
pub fn decide(
    state: &Partnership,
    command: Command,
    settings: &Settings,
) -> Result<Vec<Event>, DomainError> {
    let (partnership_id, recorded_at, events, signed, erasure) = match command {
        Command::Record {
            partnership_id,
            recorded_at,
            events,
            signed,
        } => (partnership_id, recorded_at, events, signed, false),
        Command::Erase {
            partnership_id,
            recorded_at,
            events,
        } => (partnership_id, recorded_at, events, None, true),
    };
    let starts = matches!(
        events.first().map(|(_, e)| e.payload.event_type()),
        Some(EventType::PartnershipProposed)
    );
    if !state.exists() && !starts {
        return Err(DomainError::UnknownPartnership(partnership_id));
    }
    let mut errors = Vec::new();
    if events.is_empty() {
        errors.push(FieldError::new(
            "events",
            "a commit holds at least one event",
        ));
    }
    if events.len() > settings.max_events_per_commit {
        errors.push(FieldError::new(
            "events",
            format!(
                "a commit holds at most {} events, got {}",
                settings.max_events_per_commit,
                events.len()
            ),
        ));
    }
    let context = Context {
        recorded_at,
        settings,
        erasure,
    };
    let mut seen_ids = BTreeSet::new();
    // Later events of the commit are checked against the state the earlier ones make; the state
    // is copied only when there is a later event.
    let mut scratch = std::borrow::Cow::Borrowed(state);
    let count = events.len();
    let mut decided = Vec::with_capacity(count);
    for (index, (event_id, input)) in events.into_iter().enumerate() {
        let mut check = Check::new(format!("events[{index}]"), &mut errors);
        if !seen_ids.insert(event_id) || scratch.find(&event_id).is_some() {
            check.fail("event_id", format!("{event_id} is already used"));
        }
        let before = check.count();
        check_envelope(
            &mut check,
            context,
            input.occurred_at,
            &input.actor,
            input.note.as_deref(),
        );
        check_links(&mut check, &input);
        check_payload(&mut check, context, &scratch, &input.actor, &input.payload);
        if check.count() > before {
            continue;
        }
        let event = input.into_event(event_id, partnership_id.clone(), recorded_at);
        if index + 1 < count {
            scratch = std::borrow::Cow::Owned(evolve(scratch.into_owned(), &event));
        }
        decided.push(event);
    }
    // An erasure is the ledger's own record of a request a writer of the org made.
    if errors.is_empty() && !erasure {
        crate::signing_rules::check(&state.facts().keys, &decided, signed.as_ref(), &mut errors);
    }
    if errors.is_empty() {
        Ok(decided)
    } else {
        Err(DomainError::Validation(errors))
    }
}
