//! The event catalogue of docs/domain.md: the envelope every event carries and the 37 payload types.

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::ids::{EventId, ItemId, OrgId, PartnershipId};
use crate::personal::Digest;
use crate::signing::{KeyId, PublicKey};
use crate::values::{Amount, Currency, Period, iso_date};

/// Schema version written by this code; older versions are upcast on read (`upcast`).
pub const SCHEMA_VERSION: u32 = 3;

/// Who acted: the organization (always) and, when known, the person and their role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub org: OrgId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// An event as a client proposes it: everything but the ids and times the ledger assigns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventInput {
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub occurred_at: OffsetDateTime,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(flatten)]
    pub payload: Payload,
}

impl From<Event> for EventInput {
    /// The event as its client wrote it: without the ids and times the ledger assigned.
    fn from(e: Event) -> Self {
        Self {
            occurred_at: e.occurred_at,
            actor: e.actor,
            note: e.note,
            causation_id: e.causation_id,
            correlation_id: e.correlation_id,
            payload: e.payload,
        }
    }
}

impl EventInput {
    /// The event this input records, with the ids and time the ledger assigns. Only `decide`
    /// records events; this builds one without checking any rule.
    pub fn into_event(
        self,
        event_id: EventId,
        partnership_id: PartnershipId,
        recorded_at: OffsetDateTime,
    ) -> Event {
        Event {
            event_id,
            partnership_id,
            schema_version: SCHEMA_VERSION,
            occurred_at: self.occurred_at,
            recorded_at,
            actor: self.actor,
            note: self.note,
            causation_id: self.causation_id,
            correlation_id: self.correlation_id,
            payload: self.payload,
        }
    }
}

/// A recorded event: the envelope of docs/domain.md and its payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub event_id: EventId,
    pub partnership_id: PartnershipId,
    pub schema_version: u32,
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub occurred_at: OffsetDateTime,
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub recorded_at: OffsetDateTime,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    #[serde(flatten)]
    pub payload: Payload,
}

impl Event {
    pub fn event_type(&self) -> EventType {
        self.payload.event_type()
    }
}

macro_rules! catalogue {
    ($($variant:ident($data:ident) = $name:literal,)*) => {
        /// The payload of an event, tagged in JSON as `{"type": "...", "data": {...}}`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(tag = "type", content = "data", rename_all = "snake_case", deny_unknown_fields)]
        pub enum Payload {
            $($variant($data),)*
        }

        /// The type of an event, as named in the catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum EventType {
            $($variant,)*
        }

        impl EventType {
            /// Every event type, in catalogue order.
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($name => Some(EventType::$variant),)*
                    _ => None,
                }
            }
        }

        impl Payload {
            pub const fn event_type(&self) -> EventType {
                match self {
                    $(Payload::$variant(_) => EventType::$variant,)*
                }
            }

            /// Reads the `data` of an event whose type is already known, so that a caller can
            /// track the path of a bad field (serde's tagged enums buffer it away).
            pub fn deserialize_data<'de, D: serde::Deserializer<'de>>(
                event_type: EventType,
                data: D,
            ) -> Result<Self, D::Error> {
                match event_type {
                    $(EventType::$variant => $data::deserialize(data).map(Payload::$variant),)*
                }
            }
        }
    };
}

catalogue! {
    PartnershipProposed(PartnershipProposed) = "partnership_proposed",
    PartnershipStatusChanged(PartnershipStatusChanged) = "partnership_status_changed",
    BusinessPlanAgreed(BusinessPlanAgreed) = "business_plan_agreed",
    GovernanceDefined(GovernanceDefined) = "governance_defined",
    ExitProcedureDefined(ExitProcedureDefined) = "exit_procedure_defined",
    RoleAssigned(RoleAssigned) = "role_assigned",
    RoleUnassigned(RoleUnassigned) = "role_unassigned",
    MeetingRequested(MeetingRequested) = "meeting_requested",
    MeetingScheduled(MeetingScheduled) = "meeting_scheduled",
    MeetingRescheduled(MeetingRescheduled) = "meeting_rescheduled",
    MeetingCancelled(MeetingCancelled) = "meeting_cancelled",
    MeetingHeld(MeetingHeld) = "meeting_held",
    FollowUpProposed(FollowUpProposed) = "follow_up_proposed",
    IntroductionMade(IntroductionMade) = "introduction_made",
    GoalProposed(GoalProposed) = "goal_proposed",
    GoalAgreed(GoalAgreed) = "goal_agreed",
    GoalRevised(GoalRevised) = "goal_revised",
    GoalDropped(GoalDropped) = "goal_dropped",
    IndicatorRecorded(IndicatorRecorded) = "indicator_recorded",
    DeliverableCommitted(DeliverableCommitted) = "deliverable_committed",
    DeliverableStarted(DeliverableStarted) = "deliverable_started",
    DeliverableDueDateChanged(DeliverableDueDateChanged) = "deliverable_due_date_changed",
    DeliverableBlocked(DeliverableBlocked) = "deliverable_blocked",
    DeliverableUnblocked(DeliverableUnblocked) = "deliverable_unblocked",
    DeliverableCompleted(DeliverableCompleted) = "deliverable_completed",
    DeliverableCancelled(DeliverableCancelled) = "deliverable_cancelled",
    DealRegistered(DealRegistered) = "deal_registered",
    DealClosed(DealClosed) = "deal_closed",
    JointCustomerHighlighted(JointCustomerHighlighted) = "joint_customer_highlighted",
    SalesIncentiveChanged(SalesIncentiveChanged) = "sales_incentive_changed",
    RevenueReported(RevenueReported) = "revenue_reported",
    CommunicationTagged(CommunicationTagged) = "communication_tagged",
    HealthCheckResponded(HealthCheckResponded) = "health_check_responded",
    EventRetracted(EventRetracted) = "event_retracted",
    EventCorrected(EventCorrected) = "event_corrected",
    PersonalDataErased(PersonalDataErased) = "personal_data_erased",
    OrgKeyRegistered(OrgKeyRegistered) = "org_key_registered",
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

macro_rules! closed_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $s:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s,)* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)* _ => None }
            }
        }
    };
}

closed_enum!(PartyKind { Vendor = "vendor", HealthSystem = "health_system", Payer = "payer", Community = "community", Other = "other" });
closed_enum!(Status { Active = "active", Paused = "paused", Renewed = "renewed", Terminated = "terminated" });
closed_enum!(RoleKind { Liaison = "liaison", DealOwner = "deal_owner", ExecSponsor = "exec_sponsor" });
closed_enum!(SelectionBasis { Fit = "fit", Availability = "availability", Volunteered = "volunteered" });
closed_enum!(Seniority { Exec = "exec", Manager = "manager", Staff = "staff" });
closed_enum!(GoalKind { Qualitative = "qualitative", Marketing = "marketing", Sales = "sales" });
closed_enum!(Metric {
    Attendees = "attendees", Leads = "leads", Impressions = "impressions", Meetings = "meetings",
    Pocs = "pocs", ClosedDeals = "closed_deals", Revenue = "revenue", Custom = "custom",
});
closed_enum!(CommunicationClass { Inclusive = "inclusive", UsThem = "us_them" });
closed_enum!(ErasureBasis { DataSubjectRequest = "data_subject_request", ConsentWithdrawn = "consent_withdrawn", RetentionEnded = "retention_ended" });
closed_enum!(Dimension { Strategy = "strategy", Operations = "operations", Relationship = "relationship", Governance = "governance" });

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Party {
    pub org: OrgId,
    pub name: String,
    pub kind: PartyKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PartnershipProposed {
    pub parties: Vec<Party>,
    pub vision: String,
    #[serde(default)]
    pub rationale_tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PartnershipStatusChanged {
    pub status: Status,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BusinessPlanAgreed {
    pub plan_id: ItemId,
    pub version: u32,
    #[serde(default)]
    pub goal_ids: Vec<ItemId>,
    /// The org signing this version, for itself (version 1 listed several in `signed_by_orgs`).
    pub by_org: OrgId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Forum {
    pub name: String,
    pub cadence_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecisionRight {
    pub topic: String,
    pub org: OrgId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GovernanceDefined {
    #[serde(default)]
    pub forums: Vec<Forum>,
    #[serde(default)]
    pub decision_rights: Vec<DecisionRight>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ExitProcedureDefined {
    pub triggers: Vec<String>,
    pub notice_days: u32,
    pub data_return_terms: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoleAssigned {
    pub org: OrgId,
    pub person: String,
    pub role: RoleKind,
    pub allocation_pct: f64,
    pub selection_basis: SelectionBasis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RoleUnassigned {
    pub org: OrgId,
    pub person: String,
    pub role: RoleKind,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MeetingRequested {
    pub meeting_id: ItemId,
    pub requested_by_org: OrgId,
    pub purpose: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_location_org: Option<OrgId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MeetingScheduled {
    pub meeting_id: ItemId,
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub starts_at: OffsetDateTime,
    pub host_org: OrgId,
    /// Absent means virtual.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_org: Option<OrgId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MeetingRescheduled {
    pub meeting_id: ItemId,
    pub by_org: OrgId,
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub new_starts_at: OffsetDateTime,
    pub notice_hours: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MeetingCancelled {
    pub meeting_id: ItemId,
    pub by_org: OrgId,
    pub notice_hours: u32,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Attendee {
    pub org: OrgId,
    pub person: String,
    pub seniority: Seniority,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MeetingHeld {
    pub meeting_id: ItemId,
    pub attendees: Vec<Attendee>,
    pub in_person: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_org: Option<OrgId>,
    #[serde(default)]
    pub introductions_made: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FollowUpProposed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_meeting_id: Option<ItemId>,
    pub by_org: OrgId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IntroductionMade {
    pub by_org: OrgId,
    pub introduced_party: String,
    pub to_org: OrgId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GoalProposed {
    pub goal_id: ItemId,
    pub kind: GoalKind,
    pub metric: Metric,
    pub target: Amount,
    pub period: Period,
    pub by_org: OrgId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GoalAgreed {
    pub goal_id: ItemId,
    /// The org consenting, for itself (version 1 listed several in `agreed_by_orgs`).
    pub by_org: OrgId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GoalRevised {
    pub goal_id: ItemId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_target: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_period: Option<Period>,
    pub by_org: OrgId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GoalDropped {
    pub goal_id: ItemId,
    pub by_org: OrgId,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IndicatorRecorded {
    pub metric: Metric,
    pub value: Amount,
    pub period: Period,
    pub org: OrgId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeliverableCommitted {
    pub deliverable_id: ItemId,
    pub title: String,
    pub owner_org: OrgId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_person: Option<String>,
    #[serde(with = "iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub due_date: Date,
    #[serde(default)]
    pub top_priority: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal_id: Option<ItemId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeliverableStarted {
    pub deliverable_id: ItemId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeliverableDueDateChanged {
    pub deliverable_id: ItemId,
    #[serde(with = "iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub new_due: Date,
    pub by_org: OrgId,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeliverableBlocked {
    pub deliverable_id: ItemId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocking_org: Option<OrgId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeliverableUnblocked {
    pub deliverable_id: ItemId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocking_org: Option<OrgId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeliverableCompleted {
    pub deliverable_id: ItemId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_by_org: Option<OrgId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DeliverableCancelled {
    pub deliverable_id: ItemId,
    pub by_org: OrgId,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DealRegistered {
    pub deal_id: ItemId,
    pub account: String,
    pub sourced_by_org: OrgId,
    pub value: Amount,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DealClosed {
    pub deal_id: ItemId,
    pub won: bool,
    pub amount: Amount,
    pub currency: Currency,
    pub joint_customer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JointCustomerHighlighted {
    pub customer: String,
    pub channel: String,
    pub orgs: Vec<OrgId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SalesIncentiveChanged {
    pub org: OrgId,
    /// 0.0 to 1.0; 1.0 means a rep earns the same on a partner deal.
    pub partner_deal_credit_pct: f64,
    #[serde(with = "iso_date")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub effective_from: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PartnerRevenue {
    pub partner_org: OrgId,
    pub amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RevenueReported {
    pub org: OrgId,
    pub period: Period,
    pub total: Amount,
    #[serde(default)]
    pub by_partner: Vec<PartnerRevenue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CommunicationTagged {
    pub org: OrgId,
    pub class: CommunicationClass,
    pub doc_ref: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HealthCheckResponded {
    pub wave_id: ItemId,
    pub respondent_org: OrgId,
    pub dimension: Dimension,
    pub score: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventRetracted {
    pub target_event_id: EventId,
    pub reason: String,
}

/// The full replacement of a corrected event: same type, its own business time and actor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Replacement {
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub occurred_at: OffsetDateTime,
    pub actor: Actor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(flatten)]
    pub payload: Payload,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventCorrected {
    pub target_event_id: EventId,
    // A replacement holds a payload, which may be a correction: the schema refers to it.
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub replacement: Box<Replacement>,
    pub reason: String,
}

/// Personal values erased from the disclosure store (`accord forget`): who asked is the actor,
/// when is `occurred_at`, why is `basis` and the org's own reference of the request. It names
/// the erased values by digest only, so it carries no personal data; a reader never asks the
/// store for those digests again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PersonalDataErased {
    /// The party on whose behalf the erasure was asked.
    pub requested_by_org: OrgId,
    pub basis: ErasureBasis,
    /// The request's id in the asking org's records (a ticket), never a name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub request_ref: Option<ItemId>,
    /// The digests of the personal values erased.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub digests: Vec<Digest>,
}

/// An org's ed25519 key, with which it signs every commit it records in the partnership from
/// this one on (docs/domain.md, "Signed acts").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OrgKeyRegistered {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub org: OrgId,
    /// The first 8 bytes of the SHA-256 of the public key, hex.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub key_id: KeyId,
    /// The ed25519 public key, 32 bytes in standard base64.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub public_key: PublicKey,
}
