//! Domain payloads into their protobuf form: one arm per event type of the catalogue.

use accord_domain::event::{self as d, Payload};
use accord_domain::values::iso_date;

use super::{actor_pb, enum_pb, period_pb, strs, timestamp};
use crate::pb::{self, payload::Body};

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
