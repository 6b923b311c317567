//! Stored protobuf payloads back into domain payloads, in the form of the schema version they
//! were recorded in (`StoredPayload`), every field checked again; the upcaster takes them on.

use accord_domain::event::{self as d, Payload};
use accord_domain::personal::Digest;
use accord_domain::signing::Base64;
use accord_domain::upcast::{StoredPayload, StoredReplacement};

use super::{
    Result, actor, amount, currency, date, enum_domain, err, fixed, from_timestamp, item, opt_org,
    org, orgs, period,
};
use crate::pb::{self, payload::Body};

/// A stored payload in the form of its schema `version`.
pub(super) fn stored_payload(version: u32, p: Option<pb::Payload>) -> Result<StoredPayload> {
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
