//! Events in words: one line each for the story, the trust points and the flags' evidence.

use accord_domain::event::{Event, Payload};

/// Whether an event belongs in the story's main line. The others (requests, scheduling,
/// figures, tags) are counted per quarter instead: they are the texture, not the plot.
pub(crate) fn is_key(e: &Event) -> bool {
    !matches!(
        e.payload,
        Payload::MeetingRequested(_)
            | Payload::MeetingScheduled(_)
            | Payload::MeetingRescheduled(_)
            | Payload::FollowUpProposed(_)
            | Payload::GoalProposed(_)
            | Payload::IndicatorRecorded(_)
            | Payload::DeliverableStarted(_)
            | Payload::DeliverableBlocked(_)
            | Payload::DeliverableUnblocked(_)
            | Payload::DealRegistered(_)
            | Payload::RevenueReported(_)
            | Payload::CommunicationTagged(_)
            | Payload::HealthCheckResponded(_)
    )
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the event says, in a sentence without its actor.
pub(crate) fn describe(e: &Event) -> String {
    match &e.payload {
        Payload::PartnershipProposed(p) => format!(
            "proposed the partnership of {}: \u{201c}{}\u{201d}",
            p.parties
                .iter()
                .map(|p| format!("{} ({})", p.name, p.kind.as_str().replace('_', " ")))
                .collect::<Vec<_>>()
                .join(" and "),
            p.vision
        ),
        Payload::PartnershipStatusChanged(p) => {
            format!("set the status to {} ({})", p.status.as_str(), p.reason)
        }
        Payload::BusinessPlanAgreed(p) => format!(
            "agreed business plan {} v{}, signed by {}",
            p.plan_id, p.version, p.by_org
        ),
        Payload::GovernanceDefined(p) => format!(
            "defined governance: {} forum(s), decisions on {}",
            p.forums.len(),
            p.decision_rights
                .iter()
                .map(|d| format!("{} by {}", d.topic, d.org))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Payload::ExitProcedureDefined(p) => {
            format!(
                "defined the exit procedure ({} days' notice)",
                p.notice_days
            )
        }
        Payload::RoleAssigned(p) => format!(
            "assigned {} as {}'s {} ({}% of their time, chosen for {})",
            p.person,
            p.org,
            p.role.as_str().replace('_', " "),
            p.allocation_pct,
            p.selection_basis.as_str()
        ),
        Payload::RoleUnassigned(p) => format!(
            "{} is no longer {}'s {} ({})",
            p.person,
            p.org,
            p.role.as_str().replace('_', " "),
            p.reason
        ),
        Payload::MeetingRequested(p) => {
            format!(
                "{} requested meeting {}: {}",
                p.requested_by_org, p.meeting_id, p.purpose
            )
        }
        Payload::MeetingScheduled(p) => format!(
            "scheduled meeting {}, hosted by {}",
            p.meeting_id, p.host_org
        ),
        Payload::MeetingRescheduled(p) => format!(
            "{} rescheduled meeting {} with {} h notice",
            p.by_org, p.meeting_id, p.notice_hours
        ),
        Payload::MeetingCancelled(p) => format!(
            "{} cancelled meeting {} with {} h notice ({})",
            p.by_org, p.meeting_id, p.notice_hours, p.reason
        ),
        Payload::MeetingHeld(p) => {
            let mut orgs: Vec<&str> = p.attendees.iter().map(|a| a.org.as_str()).collect();
            orgs.dedup();
            format!(
                "held meeting {} {}, {} attending",
                p.meeting_id,
                if p.in_person {
                    match &p.location_org {
                        Some(o) => format!("in person at {o}"),
                        None => "in person".to_owned(),
                    }
                } else {
                    "virtually".to_owned()
                },
                orgs.join(" and ")
            )
        }
        Payload::FollowUpProposed(p) => format!("{} proposed a follow-up", p.by_org),
        Payload::IntroductionMade(p) => format!(
            "{} introduced {} to {}",
            p.by_org, p.introduced_party, p.to_org
        ),
        Payload::GoalProposed(p) => format!(
            "{} proposed goal {}: {} {} by {}",
            p.by_org,
            p.goal_id,
            p.target,
            p.metric.as_str().replace('_', " "),
            p.period.end
        ),
        Payload::GoalAgreed(p) => {
            format!("goal {} agreed by {}", p.goal_id, p.by_org)
        }
        Payload::GoalRevised(p) => format!("{} revised goal {}", p.by_org, p.goal_id),
        Payload::GoalDropped(p) => {
            format!("{} dropped goal {} ({})", p.by_org, p.goal_id, p.reason)
        }
        Payload::IndicatorRecorded(p) => format!(
            "{} recorded {} {}",
            p.org,
            p.value,
            p.metric.as_str().replace('_', " ")
        ),
        Payload::DeliverableCommitted(p) => format!(
            "{} committed to \u{201c}{}\u{201d} ({}) by {}{}",
            p.owner_org,
            p.title,
            p.deliverable_id,
            p.due_date,
            if p.top_priority { ", top priority" } else { "" }
        ),
        Payload::DeliverableStarted(p) => format!("started {}", p.deliverable_id),
        Payload::DeliverableDueDateChanged(p) => format!(
            "{} moved {} to {} ({})",
            p.by_org, p.deliverable_id, p.new_due, p.reason
        ),
        Payload::DeliverableBlocked(p) => format!("{} is blocked", p.deliverable_id),
        Payload::DeliverableUnblocked(p) => format!("{} is unblocked", p.deliverable_id),
        Payload::DeliverableCompleted(p) => format!("completed {}", p.deliverable_id),
        Payload::DeliverableCancelled(p) => {
            format!("{} cancelled {} ({})", p.by_org, p.deliverable_id, p.reason)
        }
        Payload::DealRegistered(p) => format!(
            "{} registered deal {} with {} ({} {})",
            p.sourced_by_org,
            p.deal_id,
            p.account,
            p.value,
            p.currency.as_str()
        ),
        Payload::DealClosed(p) => format!(
            "deal {} {} ({} {}){}",
            p.deal_id,
            if p.won { "won" } else { "lost" },
            p.amount,
            p.currency.as_str(),
            if p.joint_customer {
                ", a joint customer"
            } else {
                ""
            }
        ),
        Payload::JointCustomerHighlighted(p) => format!(
            "highlighted joint customer {} on {} ({})",
            p.customer,
            p.channel,
            list(&p.orgs)
        ),
        Payload::SalesIncentiveChanged(p) => format!(
            "{} set partner deal credit to {}% from {}",
            p.org,
            p.partner_deal_credit_pct * 100.0,
            p.effective_from
        ),
        Payload::RevenueReported(p) => format!(
            "{} reported revenue of {} for {} to {}",
            p.org, p.total, p.period.start, p.period.end
        ),
        Payload::CommunicationTagged(p) => format!(
            "{}'s {} tagged {}",
            p.org,
            p.doc_ref,
            p.class.as_str().replace('_', "/")
        ),
        Payload::HealthCheckResponded(p) => format!(
            "{} scored {} {}/5",
            p.respondent_org,
            p.dimension.as_str(),
            p.score
        ),
        Payload::EventRetracted(p) => {
            format!(
                "retracted event {} ({})",
                short(&p.target_event_id.to_string()),
                p.reason
            )
        }
        Payload::EventCorrected(p) => {
            format!(
                "corrected event {} ({})",
                short(&p.target_event_id.to_string()),
                p.reason
            )
        }
        Payload::PersonalDataErased(p) => format!(
            "erased {} personal value{} at {}'s request ({})",
            p.digests.len(),
            if p.digests.len() == 1 { "" } else { "s" },
            p.requested_by_org,
            p.basis.as_str().replace('_', " ")
        ),
        Payload::OrgKeyRegistered(p) => format!(
            "{} registered signing key {}: it signs its acts from here on",
            p.org, p.key_id
        ),
    }
}

/// The last part of an id, enough to tell events apart on a page.
pub(crate) fn short(id: &str) -> &str {
    id.get(id.len().saturating_sub(8)..).unwrap_or(id)
}
