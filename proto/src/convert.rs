//! Explicit conversions between the domain types and the protobuf types (the wire edge).
//! Encoding cannot fail; decoding checks every field again, so a stored commit that is no longer
//! valid domain data is reported rather than half-read.

use accord_domain::event::{self as d, Payload};
use accord_domain::ids::{EventId, ItemId, OrgId, PartnershipId};
use accord_domain::personal::{Digest, Unjoined};
use accord_domain::signing::{Base64, CommitSignature, Signed};
use accord_domain::upcast::{StoredEvent, StoredPayload, StoredReplacement, UpcastError, upcast};
use accord_domain::values::{Amount, Currency, Period, iso_date};
use prost_types::Timestamp;
use time::{Date, OffsetDateTime};

use crate::pb::{self, payload::Body};

/// A protobuf message that does not hold valid domain data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DecodeError {
    pub field: String,
    pub message: String,
}

fn err(field: &str, message: impl std::fmt::Display) -> DecodeError {
    DecodeError {
        field: field.to_owned(),
        message: message.to_string(),
    }
}

type Result<T> = std::result::Result<T, DecodeError>;

pub fn timestamp(t: OffsetDateTime) -> Timestamp {
    let nanos = t.unix_timestamp_nanos();
    Timestamp {
        seconds: nanos.div_euclid(1_000_000_000) as i64,
        nanos: nanos.rem_euclid(1_000_000_000) as i32,
    }
}

pub fn from_timestamp(field: &str, t: Option<Timestamp>) -> Result<OffsetDateTime> {
    let t = t.ok_or_else(|| err(field, "is required"))?;
    let nanos = i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|e| err(field, e))
}

fn slug<T: std::str::FromStr>(field: &str, s: String) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| err(field, e))
}

fn org(field: &str, s: String) -> Result<OrgId> {
    slug(field, s)
}

fn item(field: &str, s: String) -> Result<ItemId> {
    slug(field, s)
}

fn opt_org(field: &str, s: Option<String>) -> Result<Option<OrgId>> {
    s.map(|s| org(field, s)).transpose()
}

fn orgs(field: &str, v: Vec<String>) -> Result<Vec<OrgId>> {
    v.into_iter().map(|s| org(field, s)).collect()
}

pub(crate) fn strs<T: ToString>(v: &[T]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

fn amount(field: &str, s: String) -> Result<Amount> {
    s.parse().map_err(|e: String| err(field, e))
}

fn currency(field: &str, s: String) -> Result<Currency> {
    Currency::parse(&s).map_err(|e| err(field, e))
}

fn date(field: &str, s: String) -> Result<Date> {
    iso_date::parse(&s).map_err(|e| err(field, e))
}

pub(crate) fn period_pb(p: &Period) -> pb::Period {
    pb::Period {
        start: iso_date::format(&p.start),
        end: iso_date::format(&p.end),
    }
}

fn period(field: &str, p: Option<pb::Period>) -> Result<Period> {
    let p = p.ok_or_else(|| err(field, "is required"))?;
    Ok(Period {
        start: date(field, p.start)?,
        end: date(field, p.end)?,
    })
}

/// Domain enums and protobuf enums list their values in the same order; protobuf's 0 is
/// "unspecified" and never valid.
fn enum_pb<T: PartialEq + Copy>(all: &[T], v: T) -> i32 {
    all.iter().position(|x| *x == v).map_or(0, |i| i as i32 + 1)
}

fn enum_domain<T: Copy>(field: &str, all: &[T], v: i32) -> Result<T> {
    usize::try_from(v - 1)
        .ok()
        .and_then(|i| all.get(i).copied())
        .ok_or_else(|| err(field, format!("unknown enum value {v}")))
}

fn actor_pb(a: &d::Actor) -> pb::Actor {
    pb::Actor {
        org: a.org.to_string(),
        person: a.person.clone(),
        role: a.role.clone(),
    }
}

fn actor(a: Option<pb::Actor>) -> Result<d::Actor> {
    let a = a.ok_or_else(|| err("actor", "is required"))?;
    Ok(d::Actor {
        org: org("actor.org", a.org)?,
        person: a.person,
        role: a.role,
    })
}

impl From<&d::Event> for pb::Envelope {
    fn from(e: &d::Event) -> Self {
        pb::Envelope {
            event_id: e.event_id.to_string(),
            partnership_id: e.partnership_id.to_string(),
            schema_version: e.schema_version,
            occurred_at: Some(timestamp(e.occurred_at)),
            recorded_at: Some(timestamp(e.recorded_at)),
            actor: Some(actor_pb(&e.actor)),
            causation_id: e.causation_id.clone(),
            correlation_id: e.correlation_id.clone(),
            note: e.note.clone(),
            payload: Some(payload_pb(&e.payload)),
        }
    }
}

/// The events a stored envelope reads as: the event it stores, in the version it was recorded
/// in, through the domain's upcaster chain (one event, or the parts of an older version's
/// event; see `accord_domain::upcast`), before the values of its personal fields are joined in.
pub fn events_of(e: pb::Envelope) -> Result<Vec<Unjoined>> {
    let version = e.schema_version;
    let stored = StoredEvent {
        event_id: e
            .event_id
            .parse::<EventId>()
            .map_err(|x| err("event_id", x))?,
        partnership_id: slug::<PartnershipId>("partnership_id", e.partnership_id)?,
        schema_version: version,
        occurred_at: from_timestamp("occurred_at", e.occurred_at)?,
        recorded_at: from_timestamp("recorded_at", e.recorded_at)?,
        actor: actor(e.actor)?,
        causation_id: e.causation_id,
        correlation_id: e.correlation_id,
        note: e.note,
        payload: stored_payload(version, e.payload)?,
    };
    let events = upcast(stored).map_err(|e| match e {
        UpcastError::Newer(_) | UpcastError::Zero => err("schema_version", e),
        UpcastError::Misplaced { .. } | UpcastError::NoOrg(_) => err("payload", e),
    })?;
    Ok(events
        .into_iter()
        .map(|e| Unjoined::new(e, version))
        .collect())
}

pub fn payload_pb(p: &Payload) -> pb::Payload {
    use Payload as P;
    let body = match p {
        P::PartnershipProposed(x) => Body::PartnershipProposed(pb::PartnershipProposed {
            parties: x
                .parties
                .iter()
                .map(|p| pb::Party {
                    org: p.org.to_string(),
                    name: p.name.clone(),
                    kind: enum_pb(d::PartyKind::ALL, p.kind),
                })
                .collect(),
            vision: x.vision.clone(),
            rationale_tags: x.rationale_tags.clone(),
        }),
        P::PartnershipStatusChanged(x) => {
            Body::PartnershipStatusChanged(pb::PartnershipStatusChanged {
                status: enum_pb(d::Status::ALL, x.status),
                reason: x.reason.clone(),
            })
        }
        P::BusinessPlanAgreed(x) => Body::BusinessPlanAgreed(pb::BusinessPlanAgreed {
            plan_id: x.plan_id.to_string(),
            version: x.version,
            goal_ids: strs(&x.goal_ids),
            signed_by_orgs: Vec::new(),
            by_org: x.by_org.to_string(),
        }),
        P::GovernanceDefined(x) => Body::GovernanceDefined(pb::GovernanceDefined {
            forums: x
                .forums
                .iter()
                .map(|f| pb::Forum {
                    name: f.name.clone(),
                    cadence_days: f.cadence_days,
                })
                .collect(),
            decision_rights: x
                .decision_rights
                .iter()
                .map(|r| pb::DecisionRight {
                    topic: r.topic.clone(),
                    org: r.org.to_string(),
                })
                .collect(),
        }),
        P::ExitProcedureDefined(x) => Body::ExitProcedureDefined(pb::ExitProcedureDefined {
            triggers: x.triggers.clone(),
            notice_days: x.notice_days,
            data_return_terms: x.data_return_terms.clone(),
        }),
        P::RoleAssigned(x) => Body::RoleAssigned(pb::RoleAssigned {
            org: x.org.to_string(),
            person: x.person.clone(),
            role: enum_pb(d::RoleKind::ALL, x.role),
            allocation_pct: x.allocation_pct,
            selection_basis: enum_pb(d::SelectionBasis::ALL, x.selection_basis),
        }),
        P::RoleUnassigned(x) => Body::RoleUnassigned(pb::RoleUnassigned {
            org: x.org.to_string(),
            person: x.person.clone(),
            role: enum_pb(d::RoleKind::ALL, x.role),
            reason: x.reason.clone(),
        }),
        P::MeetingRequested(x) => Body::MeetingRequested(pb::MeetingRequested {
            meeting_id: x.meeting_id.to_string(),
            requested_by_org: x.requested_by_org.to_string(),
            purpose: x.purpose.clone(),
            proposed_location_org: x.proposed_location_org.as_ref().map(ToString::to_string),
        }),
        P::MeetingScheduled(x) => Body::MeetingScheduled(pb::MeetingScheduled {
            meeting_id: x.meeting_id.to_string(),
            starts_at: Some(timestamp(x.starts_at)),
            host_org: x.host_org.to_string(),
            location_org: x.location_org.as_ref().map(ToString::to_string),
        }),
        P::MeetingRescheduled(x) => Body::MeetingRescheduled(pb::MeetingRescheduled {
            meeting_id: x.meeting_id.to_string(),
            by_org: x.by_org.to_string(),
            new_starts_at: Some(timestamp(x.new_starts_at)),
            notice_hours: x.notice_hours,
        }),
        P::MeetingCancelled(x) => Body::MeetingCancelled(pb::MeetingCancelled {
            meeting_id: x.meeting_id.to_string(),
            by_org: x.by_org.to_string(),
            notice_hours: x.notice_hours,
            reason: x.reason.clone(),
        }),
        P::MeetingHeld(x) => Body::MeetingHeld(pb::MeetingHeld {
            meeting_id: x.meeting_id.to_string(),
            attendees: x
                .attendees
                .iter()
                .map(|a| pb::Attendee {
                    org: a.org.to_string(),
                    person: a.person.clone(),
                    seniority: enum_pb(d::Seniority::ALL, a.seniority),
                })
                .collect(),
            in_person: x.in_person,
            location_org: x.location_org.as_ref().map(ToString::to_string),
            introductions_made: x.introductions_made,
        }),
        P::FollowUpProposed(x) => Body::FollowUpProposed(pb::FollowUpProposed {
            after_meeting_id: x.after_meeting_id.as_ref().map(ToString::to_string),
            by_org: x.by_org.to_string(),
        }),
        P::IntroductionMade(x) => Body::IntroductionMade(pb::IntroductionMade {
            by_org: x.by_org.to_string(),
            introduced_party: x.introduced_party.clone(),
            to_org: x.to_org.to_string(),
        }),
        P::GoalProposed(x) => Body::GoalProposed(pb::GoalProposed {
            goal_id: x.goal_id.to_string(),
            kind: enum_pb(d::GoalKind::ALL, x.kind),
            metric: enum_pb(d::Metric::ALL, x.metric),
            target: x.target.to_string(),
            period: Some(period_pb(&x.period)),
            by_org: x.by_org.to_string(),
        }),
        P::GoalAgreed(x) => Body::GoalAgreed(pb::GoalAgreed {
            goal_id: x.goal_id.to_string(),
            agreed_by_orgs: Vec::new(),
            by_org: x.by_org.to_string(),
        }),
        P::GoalRevised(x) => Body::GoalRevised(pb::GoalRevised {
            goal_id: x.goal_id.to_string(),
            new_target: x.new_target.as_ref().map(ToString::to_string),
            new_period: x.new_period.as_ref().map(period_pb),
            by_org: x.by_org.to_string(),
        }),
        P::GoalDropped(x) => Body::GoalDropped(pb::GoalDropped {
            goal_id: x.goal_id.to_string(),
            by_org: x.by_org.to_string(),
            reason: x.reason.clone(),
        }),
        P::IndicatorRecorded(x) => Body::IndicatorRecorded(pb::IndicatorRecorded {
            metric: enum_pb(d::Metric::ALL, x.metric),
            value: x.value.to_string(),
            period: Some(period_pb(&x.period)),
            org: x.org.to_string(),
        }),
        P::DeliverableCommitted(x) => Body::DeliverableCommitted(pb::DeliverableCommitted {
            deliverable_id: x.deliverable_id.to_string(),
            title: x.title.clone(),
            owner_org: x.owner_org.to_string(),
            owner_person: x.owner_person.clone(),
            due_date: iso_date::format(&x.due_date),
            top_priority: x.top_priority,
            goal_id: x.goal_id.as_ref().map(ToString::to_string),
        }),
        P::DeliverableStarted(x) => Body::DeliverableStarted(pb::DeliverableStarted {
            deliverable_id: x.deliverable_id.to_string(),
        }),
        P::DeliverableDueDateChanged(x) => {
            Body::DeliverableDueDateChanged(pb::DeliverableDueDateChanged {
                deliverable_id: x.deliverable_id.to_string(),
                new_due: iso_date::format(&x.new_due),
                by_org: x.by_org.to_string(),
                reason: x.reason.clone(),
            })
        }
        P::DeliverableBlocked(x) => Body::DeliverableBlocked(pb::DeliverableBlocked {
            deliverable_id: x.deliverable_id.to_string(),
            blocking_org: x.blocking_org.as_ref().map(ToString::to_string),
        }),
        P::DeliverableUnblocked(x) => Body::DeliverableUnblocked(pb::DeliverableUnblocked {
            deliverable_id: x.deliverable_id.to_string(),
            blocking_org: x.blocking_org.as_ref().map(ToString::to_string),
        }),
        P::DeliverableCompleted(x) => Body::DeliverableCompleted(pb::DeliverableCompleted {
            deliverable_id: x.deliverable_id.to_string(),
            accepted_by_org: x.accepted_by_org.as_ref().map(ToString::to_string),
        }),
        P::DeliverableCancelled(x) => Body::DeliverableCancelled(pb::DeliverableCancelled {
            deliverable_id: x.deliverable_id.to_string(),
            by_org: x.by_org.to_string(),
            reason: x.reason.clone(),
        }),
        P::DealRegistered(x) => Body::DealRegistered(pb::DealRegistered {
            deal_id: x.deal_id.to_string(),
            account: x.account.clone(),
            sourced_by_org: x.sourced_by_org.to_string(),
            value: x.value.to_string(),
            currency: x.currency.to_string(),
        }),
        P::DealClosed(x) => Body::DealClosed(pb::DealClosed {
            deal_id: x.deal_id.to_string(),
            won: x.won,
            amount: x.amount.to_string(),
            currency: x.currency.to_string(),
            joint_customer: x.joint_customer,
        }),
        P::JointCustomerHighlighted(x) => {
            Body::JointCustomerHighlighted(pb::JointCustomerHighlighted {
                customer: x.customer.clone(),
                channel: x.channel.clone(),
                orgs: strs(&x.orgs),
            })
        }
        P::SalesIncentiveChanged(x) => Body::SalesIncentiveChanged(pb::SalesIncentiveChanged {
            org: x.org.to_string(),
            partner_deal_credit_pct: x.partner_deal_credit_pct,
            effective_from: iso_date::format(&x.effective_from),
        }),
        P::RevenueReported(x) => Body::RevenueReported(pb::RevenueReported {
            org: x.org.to_string(),
            period: Some(period_pb(&x.period)),
            total: x.total.to_string(),
            by_partner: x
                .by_partner
                .iter()
                .map(|r| pb::PartnerRevenue {
                    partner_org: r.partner_org.to_string(),
                    amount: r.amount.to_string(),
                })
                .collect(),
        }),
        P::CommunicationTagged(x) => Body::CommunicationTagged(pb::CommunicationTagged {
            org: x.org.to_string(),
            class: enum_pb(d::CommunicationClass::ALL, x.class),
            doc_ref: x.doc_ref.clone(),
        }),
        P::HealthCheckResponded(x) => Body::HealthCheckResponded(pb::HealthCheckResponded {
            wave_id: x.wave_id.to_string(),
            respondent_org: x.respondent_org.to_string(),
            dimension: enum_pb(d::Dimension::ALL, x.dimension),
            score: u32::from(x.score),
        }),
        P::EventRetracted(x) => Body::EventRetracted(pb::EventRetracted {
            target_event_id: x.target_event_id.to_string(),
            reason: x.reason.clone(),
        }),
        P::EventCorrected(x) => Body::EventCorrected(Box::new(pb::EventCorrected {
            target_event_id: x.target_event_id.to_string(),
            replacement: Some(Box::new(pb::Replacement {
                occurred_at: Some(timestamp(x.replacement.occurred_at)),
                actor: Some(actor_pb(&x.replacement.actor)),
                note: x.replacement.note.clone(),
                payload: Some(Box::new(payload_pb(&x.replacement.payload))),
            })),
            reason: x.reason.clone(),
        })),
        P::OrgKeyRegistered(x) => Body::OrgKeyRegistered(pb::OrgKeyRegistered {
            org: x.org.to_string(),
            key_id: x.key_id.to_string(),
            public_key: x.public_key.0.to_vec(),
        }),
        P::PersonalDataErased(x) => Body::PersonalDataErased(pb::PersonalDataErased {
            requested_by_org: x.requested_by_org.to_string(),
            basis: enum_pb(d::ErasureBasis::ALL, x.basis),
            request_ref: x.request_ref.as_ref().map(ToString::to_string),
            digests: x.digests.iter().map(|d| d.0.to_vec()).collect(),
        }),
    };
    pb::Payload { body: Some(body) }
}

/// A stored payload in the form of its schema `version`.
fn stored_payload(version: u32, p: Option<pb::Payload>) -> Result<StoredPayload> {
    use Payload as P;
    let body = p
        .and_then(|p| p.body)
        .ok_or_else(|| err("payload", "is required"))?;
    let goal_ids = |ids: Vec<String>| {
        ids.into_iter()
            .map(|g| item("goal_ids", g))
            .collect::<Result<Vec<_>>>()
    };
    Ok(StoredPayload::Current(match body {
        Body::PartnershipProposed(x) => P::PartnershipProposed(d::PartnershipProposed {
            parties: x
                .parties
                .into_iter()
                .map(|p| {
                    Ok(d::Party {
                        org: org("parties.org", p.org)?,
                        name: p.name,
                        kind: enum_domain("parties.kind", d::PartyKind::ALL, p.kind)?,
                    })
                })
                .collect::<Result<_>>()?,
            vision: x.vision,
            rationale_tags: x.rationale_tags,
        }),
        Body::PartnershipStatusChanged(x) => {
            P::PartnershipStatusChanged(d::PartnershipStatusChanged {
                status: enum_domain("status", d::Status::ALL, x.status)?,
                reason: x.reason,
            })
        }
        Body::BusinessPlanAgreed(x) if version == 1 => {
            return Ok(StoredPayload::V1BusinessPlanAgreed {
                plan_id: item("plan_id", x.plan_id)?,
                version: x.version,
                goal_ids: goal_ids(x.goal_ids)?,
                signed_by_orgs: orgs("signed_by_orgs", x.signed_by_orgs)?,
            });
        }
        Body::BusinessPlanAgreed(x) => P::BusinessPlanAgreed(d::BusinessPlanAgreed {
            plan_id: item("plan_id", x.plan_id)?,
            version: x.version,
            goal_ids: goal_ids(x.goal_ids)?,
            by_org: org("by_org", x.by_org)?,
        }),
        Body::GovernanceDefined(x) => P::GovernanceDefined(d::GovernanceDefined {
            forums: x
                .forums
                .into_iter()
                .map(|f| d::Forum {
                    name: f.name,
                    cadence_days: f.cadence_days,
                })
                .collect(),
            decision_rights: x
                .decision_rights
                .into_iter()
                .map(|r| {
                    Ok(d::DecisionRight {
                        topic: r.topic,
                        org: org("decision_rights.org", r.org)?,
                    })
                })
                .collect::<Result<_>>()?,
        }),
        Body::ExitProcedureDefined(x) => P::ExitProcedureDefined(d::ExitProcedureDefined {
            triggers: x.triggers,
            notice_days: x.notice_days,
            data_return_terms: x.data_return_terms,
        }),
        Body::RoleAssigned(x) => P::RoleAssigned(d::RoleAssigned {
            org: org("org", x.org)?,
            person: x.person,
            role: enum_domain("role", d::RoleKind::ALL, x.role)?,
            allocation_pct: x.allocation_pct,
            selection_basis: enum_domain(
                "selection_basis",
                d::SelectionBasis::ALL,
                x.selection_basis,
            )?,
        }),
        Body::RoleUnassigned(x) => P::RoleUnassigned(d::RoleUnassigned {
            org: org("org", x.org)?,
            person: x.person,
            role: enum_domain("role", d::RoleKind::ALL, x.role)?,
            reason: x.reason,
        }),
        Body::MeetingRequested(x) => P::MeetingRequested(d::MeetingRequested {
            meeting_id: item("meeting_id", x.meeting_id)?,
            requested_by_org: org("requested_by_org", x.requested_by_org)?,
            purpose: x.purpose,
            proposed_location_org: opt_org("proposed_location_org", x.proposed_location_org)?,
        }),
        Body::MeetingScheduled(x) => P::MeetingScheduled(d::MeetingScheduled {
            meeting_id: item("meeting_id", x.meeting_id)?,
            starts_at: from_timestamp("starts_at", x.starts_at)?,
            host_org: org("host_org", x.host_org)?,
            location_org: opt_org("location_org", x.location_org)?,
        }),
        Body::MeetingRescheduled(x) => P::MeetingRescheduled(d::MeetingRescheduled {
            meeting_id: item("meeting_id", x.meeting_id)?,
            by_org: org("by_org", x.by_org)?,
            new_starts_at: from_timestamp("new_starts_at", x.new_starts_at)?,
            notice_hours: x.notice_hours,
        }),
        Body::MeetingCancelled(x) => P::MeetingCancelled(d::MeetingCancelled {
            meeting_id: item("meeting_id", x.meeting_id)?,
            by_org: org("by_org", x.by_org)?,
            notice_hours: x.notice_hours,
            reason: x.reason,
        }),
        Body::MeetingHeld(x) => P::MeetingHeld(d::MeetingHeld {
            meeting_id: item("meeting_id", x.meeting_id)?,
            attendees: x
                .attendees
                .into_iter()
                .map(|a| {
                    Ok(d::Attendee {
                        org: org("attendees.org", a.org)?,
                        person: a.person,
                        seniority: enum_domain(
                            "attendees.seniority",
                            d::Seniority::ALL,
                            a.seniority,
                        )?,
                    })
                })
                .collect::<Result<_>>()?,
            in_person: x.in_person,
            location_org: opt_org("location_org", x.location_org)?,
            introductions_made: x.introductions_made,
        }),
        Body::FollowUpProposed(x) => P::FollowUpProposed(d::FollowUpProposed {
            after_meeting_id: x
                .after_meeting_id
                .map(|m| item("after_meeting_id", m))
                .transpose()?,
            by_org: org("by_org", x.by_org)?,
        }),
        Body::IntroductionMade(x) => P::IntroductionMade(d::IntroductionMade {
            by_org: org("by_org", x.by_org)?,
            introduced_party: x.introduced_party,
            to_org: org("to_org", x.to_org)?,
        }),
        Body::GoalProposed(x) => P::GoalProposed(d::GoalProposed {
            goal_id: item("goal_id", x.goal_id)?,
            kind: enum_domain("kind", d::GoalKind::ALL, x.kind)?,
            metric: enum_domain("metric", d::Metric::ALL, x.metric)?,
            target: amount("target", x.target)?,
            period: period("period", x.period)?,
            by_org: org("by_org", x.by_org)?,
        }),
        Body::GoalAgreed(x) if version == 1 => {
            return Ok(StoredPayload::V1GoalAgreed {
                goal_id: item("goal_id", x.goal_id)?,
                agreed_by_orgs: orgs("agreed_by_orgs", x.agreed_by_orgs)?,
            });
        }
        Body::GoalAgreed(x) => P::GoalAgreed(d::GoalAgreed {
            goal_id: item("goal_id", x.goal_id)?,
            by_org: org("by_org", x.by_org)?,
        }),
        Body::GoalRevised(x) => P::GoalRevised(d::GoalRevised {
            goal_id: item("goal_id", x.goal_id)?,
            new_target: x.new_target.map(|t| amount("new_target", t)).transpose()?,
            new_period: x
                .new_period
                .map(|p| period("new_period", Some(p)))
                .transpose()?,
            by_org: org("by_org", x.by_org)?,
        }),
        Body::GoalDropped(x) => P::GoalDropped(d::GoalDropped {
            goal_id: item("goal_id", x.goal_id)?,
            by_org: org("by_org", x.by_org)?,
            reason: x.reason,
        }),
        Body::IndicatorRecorded(x) => P::IndicatorRecorded(d::IndicatorRecorded {
            metric: enum_domain("metric", d::Metric::ALL, x.metric)?,
            value: amount("value", x.value)?,
            period: period("period", x.period)?,
            org: org("org", x.org)?,
        }),
        Body::DeliverableCommitted(x) => P::DeliverableCommitted(d::DeliverableCommitted {
            deliverable_id: item("deliverable_id", x.deliverable_id)?,
            title: x.title,
            owner_org: org("owner_org", x.owner_org)?,
            owner_person: x.owner_person,
            due_date: date("due_date", x.due_date)?,
            top_priority: x.top_priority,
            goal_id: x.goal_id.map(|g| item("goal_id", g)).transpose()?,
        }),
        Body::DeliverableStarted(x) => P::DeliverableStarted(d::DeliverableStarted {
            deliverable_id: item("deliverable_id", x.deliverable_id)?,
        }),
        Body::DeliverableDueDateChanged(x) => {
            P::DeliverableDueDateChanged(d::DeliverableDueDateChanged {
                deliverable_id: item("deliverable_id", x.deliverable_id)?,
                new_due: date("new_due", x.new_due)?,
                by_org: org("by_org", x.by_org)?,
                reason: x.reason,
            })
        }
        Body::DeliverableBlocked(x) => P::DeliverableBlocked(d::DeliverableBlocked {
            deliverable_id: item("deliverable_id", x.deliverable_id)?,
            blocking_org: opt_org("blocking_org", x.blocking_org)?,
        }),
        Body::DeliverableUnblocked(x) => P::DeliverableUnblocked(d::DeliverableUnblocked {
            deliverable_id: item("deliverable_id", x.deliverable_id)?,
            blocking_org: opt_org("blocking_org", x.blocking_org)?,
        }),
        Body::DeliverableCompleted(x) => P::DeliverableCompleted(d::DeliverableCompleted {
            deliverable_id: item("deliverable_id", x.deliverable_id)?,
            accepted_by_org: opt_org("accepted_by_org", x.accepted_by_org)?,
        }),
        Body::DeliverableCancelled(x) => P::DeliverableCancelled(d::DeliverableCancelled {
            deliverable_id: item("deliverable_id", x.deliverable_id)?,
            by_org: org("by_org", x.by_org)?,
            reason: x.reason,
        }),
        Body::DealRegistered(x) => P::DealRegistered(d::DealRegistered {
            deal_id: item("deal_id", x.deal_id)?,
            account: x.account,
            sourced_by_org: org("sourced_by_org", x.sourced_by_org)?,
            value: amount("value", x.value)?,
            currency: currency("currency", x.currency)?,
        }),
        Body::DealClosed(x) => P::DealClosed(d::DealClosed {
            deal_id: item("deal_id", x.deal_id)?,
            won: x.won,
            amount: amount("amount", x.amount)?,
            currency: currency("currency", x.currency)?,
            joint_customer: x.joint_customer,
        }),
        Body::JointCustomerHighlighted(x) => {
            P::JointCustomerHighlighted(d::JointCustomerHighlighted {
                customer: x.customer,
                channel: x.channel,
                orgs: orgs("orgs", x.orgs)?,
            })
        }
        Body::SalesIncentiveChanged(x) => P::SalesIncentiveChanged(d::SalesIncentiveChanged {
            org: org("org", x.org)?,
            partner_deal_credit_pct: x.partner_deal_credit_pct,
            effective_from: date("effective_from", x.effective_from)?,
        }),
        Body::RevenueReported(x) => P::RevenueReported(d::RevenueReported {
            org: org("org", x.org)?,
            period: period("period", x.period)?,
            total: amount("total", x.total)?,
            by_partner: x
                .by_partner
                .into_iter()
                .map(|r| {
                    Ok(d::PartnerRevenue {
                        partner_org: org("by_partner.partner_org", r.partner_org)?,
                        amount: amount("by_partner.amount", r.amount)?,
                    })
                })
                .collect::<Result<_>>()?,
        }),
        Body::CommunicationTagged(x) => P::CommunicationTagged(d::CommunicationTagged {
            org: org("org", x.org)?,
            class: enum_domain("class", d::CommunicationClass::ALL, x.class)?,
            doc_ref: x.doc_ref,
        }),
        Body::HealthCheckResponded(x) => P::HealthCheckResponded(d::HealthCheckResponded {
            wave_id: item("wave_id", x.wave_id)?,
            respondent_org: org("respondent_org", x.respondent_org)?,
            dimension: enum_domain("dimension", d::Dimension::ALL, x.dimension)?,
            score: u8::try_from(x.score).map_err(|e| err("score", e))?,
        }),
        Body::EventRetracted(x) => P::EventRetracted(d::EventRetracted {
            target_event_id: x
                .target_event_id
                .parse()
                .map_err(|e| err("target_event_id", e))?,
            reason: x.reason,
        }),
        Body::EventCorrected(x) => {
            let x = *x;
            let r = *x
                .replacement
                .ok_or_else(|| err("replacement", "is required"))?;
            let target_event_id = x
                .target_event_id
                .parse()
                .map_err(|e| err("target_event_id", e))?;
            let occurred_at = from_timestamp("replacement.occurred_at", r.occurred_at)?;
            let actor = actor(r.actor)?;
            match stored_payload(version, r.payload.map(|p| *p))? {
                StoredPayload::Current(payload) => P::EventCorrected(d::EventCorrected {
                    target_event_id,
                    replacement: Box::new(d::Replacement {
                        occurred_at,
                        actor,
                        note: r.note,
                        payload,
                    }),
                    reason: x.reason,
                }),
                older => {
                    return Ok(StoredPayload::Corrected {
                        target_event_id,
                        replacement: Box::new(StoredReplacement {
                            occurred_at,
                            actor,
                            note: r.note,
                            payload: older,
                        }),
                        reason: x.reason,
                    });
                }
            }
        }
        Body::OrgKeyRegistered(x) => P::OrgKeyRegistered(d::OrgKeyRegistered {
            org: org("org", x.org)?,
            key_id: x.key_id.parse().map_err(|e| err("key_id", e))?,
            public_key: Base64(fixed("public_key", &x.public_key)?),
        }),
        Body::PersonalDataErased(x) => P::PersonalDataErased(d::PersonalDataErased {
            requested_by_org: org("requested_by_org", x.requested_by_org)?,
            basis: enum_domain("basis", d::ErasureBasis::ALL, x.basis)?,
            request_ref: x.request_ref.map(|r| item("request_ref", r)).transpose()?,
            digests: x
                .digests
                .iter()
                .map(|d| fixed("digests", d).map(Digest))
                .collect::<Result<_>>()?,
        }),
    }))
}

/// A commit's signature as its body stores it.
pub(crate) fn signature_pb(s: &Signed) -> pb::CommitSignature {
    pb::CommitSignature {
        org: s.signature.org.to_string(),
        key_id: s.signature.key_id.to_string(),
        sig: s.signature.sig.0.to_vec(),
        idempotency_key: s.idempotency_key.clone(),
    }
}

pub(crate) fn signature_of(s: pb::CommitSignature) -> Result<Signed> {
    let at = |f: &str| format!("commit.signature.{f}");
    Ok(Signed {
        signature: CommitSignature {
            org: org(&at("org"), s.org)?,
            key_id: s.key_id.parse().map_err(|e| err(&at("key_id"), e))?,
            sig: Base64(fixed(&at("sig"), &s.sig)?),
        },
        idempotency_key: s.idempotency_key,
    })
}

/// Bytes of a fixed length (a digest, a key, a signature).
fn fixed<const N: usize>(field: &str, bytes: &[u8]) -> Result<[u8; N]> {
    <[u8; N]>::try_from(bytes)
        .map_err(|_| err(field, format!("must be {N} bytes, got {}", bytes.len())))
}
