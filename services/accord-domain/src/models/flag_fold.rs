//! The red flags folded once over the events in business-time order: each rule keeps its own
//! state as events are applied, so evaluating every rule at an instant costs what changed, not
//! the whole history. [`FlagSource::at`] `t` gives exactly what evaluating every rule over
//! the events occurred by `t` would (the test oracle, `flags_oracle`, does that).

mod deliverables;
mod initiative;
mod window;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use imbl::Vector;

use time::{Duration, OffsetDateTime};

use super::asymmetry::{Asymmetry, PairAsymmetry};
use super::flag_rules::{self as rules, *};
use super::flags::{Flag, FlagSource, Rule};
use super::trust_fold::TrustFold;
use super::{Axes, ModelSettings};
use crate::event::{CommunicationClass, Event, GoalKind, Payload, RoleAssigned, RoleKind, Status};
use crate::ids::{EventId, ItemId, OrgId};
use deliverables::Deliverables;
use initiative::Initiative;
use window::{Latest, Window};

/// A communication tag (R13): when, whether it says us and them, its event.
type Tag = (OffsetDateTime, (bool, EventId));

/// A party's liaison seat and exec sponsors (R8).
#[derive(Clone, Default)]
struct Seat {
    seated: BTreeSet<String>,
    /// A liaison was assigned since the seat last emptied: it is not vacant.
    seated_once: bool,
    /// When, and by which event, the seat last emptied; with neither this nor an assignment,
    /// it has been vacant since the first activation.
    emptied: Option<(OffsetDateTime, EventId)>,
    sponsors: BTreeMap<String, (RoleAssigned, EventId)>,
}

/// Every rule's state over the events in effect pushed so far, in business-time order (see the
/// module). Owned, so that a partnership's state can be kept and copied.
#[derive(Clone)]
pub(crate) struct FlagFold {
    settings: ModelSettings,
    /// The last instant evaluated.
    at: Option<OffsetDateTime>,
    /// The first proposal's parties (the rules about one org or an ordered pair).
    parties: Vec<OrgId>,
    /// Every proposal's parties (goal consent and the asymmetry pairs).
    all_parties: BTreeSet<OrgId>,
    proposal: Option<(OffsetDateTime, EventId, bool)>,
    activation: Option<(OffsetDateTime, EventId)>,
    last_status: Option<Status>,
    // R1
    initiative: Initiative,
    // R2
    /// Each org's latest revenue report.
    revenue: BTreeMap<OrgId, Arc<Event>>,
    // R3
    goals: BTreeMap<ItemId, (GoalKind, BTreeSet<OrgId>, bool)>,
    // R4
    deal: Option<EventId>,
    incentives: BTreeMap<OrgId, Vec<(OffsetDateTime, f64, EventId)>>,
    // R5, R6
    deliverables: Deliverables,
    // R7, R9, R12
    last_in_person: Option<OffsetDateTime>,
    last_indicator: Option<OffsetDateTime>,
    exit_defined: bool,
    // R8
    seats: BTreeMap<OrgId, Seat>,
    // R10
    window: Window,
    governance: Option<Arc<Event>>,
    // R11, R14
    first_governance: Option<(OffsetDateTime, EventId)>,
    plans: Vec<Arc<Event>>,
    plan_agreed: Option<(OffsetDateTime, EventId)>,
    // R13
    tags: BTreeMap<OrgId, (Vector<Tag>, usize)>,
    // R15
    won_joint: Vec<(OffsetDateTime, ItemId, EventId)>,
    won_joint_due: usize,
    highlights: Vec<OffsetDateTime>,
    unsung: Vec<Flag>,
    // R16: trust at the instant, and 90 days before it.
    trust_now: TrustFold,
    trust_then: TrustFold,
    /// The events pushed that `trust_then` has not reached yet (those of the last 90 days).
    then_pending: Vector<Arc<Event>>,
}

impl FlagFold {
    pub(crate) fn new(settings: &ModelSettings) -> Self {
        Self {
            settings: settings.clone(),
            at: None,
            parties: Vec::new(),
            all_parties: BTreeSet::new(),
            proposal: None,
            activation: None,
            last_status: None,
            initiative: Initiative::default(),
            revenue: BTreeMap::new(),
            goals: BTreeMap::new(),
            deal: None,
            incentives: BTreeMap::new(),
            deliverables: Deliverables::default(),
            last_in_person: None,
            last_indicator: None,
            exit_defined: false,
            seats: BTreeMap::new(),
            window: Window::default(),
            governance: None,
            first_governance: None,
            plans: Vec::new(),
            plan_agreed: None,
            tags: BTreeMap::new(),
            won_joint: Vec::new(),
            won_joint_due: 0,
            highlights: Vec::new(),
            unsung: Vec::new(),
            trust_now: TrustFold::new(&settings.trust),
            trust_then: TrustFold::new(&settings.trust),
            then_pending: Vector::new(),
        }
    }

    /// Applies the next event in effect, in business-time order: it occurred no earlier than
    /// the events pushed before, and after the last instant evaluated.
    pub(crate) fn push(&mut self, e: Arc<Event>) {
        self.apply(&e);
        self.then_pending.push_back(e);
    }

    /// The trust evidence at the last event pushed (settled at the last instant evaluated).
    pub(crate) fn trust(&self) -> &TrustFold {
        &self.trust_now
    }

    /// The pairs of parties at the last instant evaluated, without the events behind their
    /// shares: their lean and balance index.
    pub(crate) fn balance(&self) -> Vec<PairAsymmetry> {
        self.window
            .counted_pairs(self.latest(), &self.settings.asymmetry)
    }

    /// The asymmetry model at `axes.valid_at` (at or after every event pushed): the window
    /// holds every event that may still be in it then.
    pub(crate) fn asymmetry(&self, axes: Axes) -> Asymmetry {
        Asymmetry {
            as_of: axes.as_of,
            valid_at: axes.valid_at,
            pairs: self
                .window
                .pairs(self.latest(), axes.valid_at, &self.settings.asymmetry),
        }
    }

    /// Lets the windows and the trust folds move on to `t` (no earlier than the last instant
    /// evaluated, and at or after every event pushed).
    fn advance(&mut self, t: OffsetDateTime) {
        self.at = Some(t);
        let earlier = t - Duration::days(R16_DAYS);
        while let Some(e) = self.then_pending.front() {
            if e.occurred_at > earlier {
                break;
            }
            self.trust_then.apply(e);
            self.then_pending.pop_front();
        }
        self.trust_now.settle(t);
        self.trust_then.settle(earlier);
        self.slide_windows(t);
    }
}

impl FlagSource for FlagFold {
    /// Every rule at `t`; the evidence of R10, R13 and R16 (which may be long, and change at
    /// every instant) is left for [`FlagSource::complete`].
    fn at(&mut self, t: OffsetDateTime) -> Vec<Flag> {
        self.advance(t);
        let mut out = Vec::new();
        self.initiative.flags(&self.parties, &mut out);
        let active = self.active_since();
        let active_for = |days: i64| active.filter(|since| t - *since >= Duration::days(days));
        if let Some(since) = active_for(R3_DAYS)
            && !self.goal_coverage()
        {
            out.push(rules::no_success_metrics(since));
        }
        if active_for(R7_DAYS).is_some()
            && self
                .last_in_person
                .is_none_or(|at| t - at >= Duration::days(R7_DAYS))
        {
            out.push(rules::no_in_person());
        }
        if active_for(R9_R12_DAYS).is_some() {
            if self
                .last_indicator
                .is_none_or(|at| t - at >= Duration::days(R9_R12_DAYS))
            {
                out.push(rules::silent_indicators());
            }
            if !self.exit_defined {
                out.push(rules::no_exit_procedure());
            }
        }
        if let Some(governance) = self.first_governance {
            rules::governance_before_plan(governance, self.plan_agreed, &mut out);
        }
        if let Some(proposal) = self.proposal {
            rules::fomo(
                proposal,
                self.activation,
                self.plan_agreed.map(|p| p.0),
                &mut out,
            );
        }
        for (org, e) in &self.revenue {
            if let Payload::RevenueReported(r) = &e.payload {
                rules::over_reliance(
                    org,
                    &rules::others(&self.parties, org),
                    r,
                    e.event_id,
                    &mut out,
                );
            }
        }
        for org in &self.parties {
            let changes = self.incentives.get(org).map_or(&[][..], Vec::as_slice);
            rules::incentives(org, changes, self.deal, active, &mut out);
        }
        self.deliverables.flags(t, &mut out);
        if active.is_some() {
            self.liaison_gap(t, &mut out);
        }
        rules::imbalance(
            &self
                .window
                .counted_pairs(self.latest(), &self.settings.asymmetry),
            &mut out,
        );
        for org in &self.parties {
            if let Some((tags, us_them)) = self.tags.get(org) {
                rules::us_and_them(org, (*us_them, tags.len()), Vec::new, &mut out);
            }
        }
        self.joint_customer_unsung(t);
        out.extend(self.unsung.iter().cloned());
        self.trust_falling(t, &mut out);
        out.sort_by(|a, b| (a.rule_id, &a.subject).cmp(&(b.rule_id, &b.subject)));
        out
    }

    fn complete(&mut self, flag: &mut Flag) {
        let Some(t) = self.at else {
            return;
        };
        let subject = flag.subject.as_deref().unwrap_or_default();
        match flag.rule_id {
            Rule::R10 => {
                let mut whole = Vec::new();
                let pairs = self
                    .window
                    .pairs(self.latest(), t, &self.settings.asymmetry);
                rules::imbalance(&pairs, &mut whole);
                if let Some(f) = whole.into_iter().find(|f| f.subject == flag.subject) {
                    flag.evidence = f.evidence;
                }
            }
            Rule::R5 | Rule::R6 => flag.evidence = self.deliverables.evidence(flag.rule_id),
            Rule::R13 => {
                if let Some((tags, _)) = self
                    .tags
                    .iter()
                    .find(|(o, _)| o.as_str() == subject)
                    .map(|(_, t)| t)
                {
                    flag.evidence = tags
                        .iter()
                        .filter(|(_, (u, _))| *u)
                        .map(|(_, (_, id))| *id)
                        .collect();
                }
            }
            Rule::R16 => {
                let earlier = t - Duration::days(R16_DAYS);
                if let Some(timeline) = self.trust_now.timeline_of(subject) {
                    flag.evidence = timeline
                        .since(earlier)
                        .filter(|i| i.negative > 0.0)
                        .map(|i| i.event_id)
                        .collect();
                }
            }
            _ => {}
        }
    }
}

impl FlagFold {
    fn apply(&mut self, e: &Arc<Event>) {
        self.trust_now.apply(e);
        self.initiative.apply(e);
        let at = e.occurred_at;
        self.window.push(e);
        match &e.payload {
            Payload::PartnershipProposed(p) => {
                if self.proposal.is_none() {
                    self.parties = p.parties.iter().map(|p| p.org.clone()).collect();
                    let competitor = p.rationale_tags.iter().any(|t| t == "competitor_did_it");
                    self.proposal = Some((at, e.event_id, competitor));
                    self.plan_agreed = self.first_plan_agreed();
                }
                self.all_parties
                    .extend(p.parties.iter().map(|p| p.org.clone()));
                self.window.recount(&self.all_parties);
            }
            Payload::PartnershipStatusChanged(s) => {
                if self.activation.is_none() && matches!(s.status, Status::Active | Status::Renewed)
                {
                    self.activation = Some((at, e.event_id));
                }
                self.last_status = Some(s.status);
            }
            Payload::MeetingHeld(m) if m.in_person => self.last_in_person = Some(at),
            Payload::IndicatorRecorded(_) => self.last_indicator = Some(at),
            Payload::ExitProcedureDefined(_) => self.exit_defined = true,
            Payload::RevenueReported(r) => {
                self.revenue.insert(r.org.clone(), e.clone());
            }
            Payload::GovernanceDefined(_) => {
                self.first_governance.get_or_insert((at, e.event_id));
                self.governance = Some(e.clone());
            }
            Payload::BusinessPlanAgreed(_) => {
                self.plans.push(e.clone());
                if self.plan_agreed.is_none() {
                    self.plan_agreed = self.first_plan_agreed();
                }
            }
            Payload::GoalProposed(g) => {
                self.goals
                    .insert(g.goal_id.clone(), (g.kind, BTreeSet::new(), false));
            }
            Payload::GoalAgreed(g) => {
                if let Some(goal) = self.goals.get_mut(&g.goal_id) {
                    goal.1.insert(g.by_org.clone());
                }
            }
            Payload::GoalDropped(g) => {
                if let Some(goal) = self.goals.get_mut(&g.goal_id) {
                    goal.2 = true;
                }
            }
            Payload::DealRegistered(_) => {
                self.deal.get_or_insert(e.event_id);
            }
            Payload::SalesIncentiveChanged(s) => {
                self.incentives.entry(s.org.clone()).or_default().push((
                    at,
                    s.partner_deal_credit_pct,
                    e.event_id,
                ));
            }
            Payload::DealClosed(d) if d.won && d.joint_customer => {
                self.won_joint.push((at, d.deal_id.clone(), e.event_id));
            }
            Payload::JointCustomerHighlighted(_) => self.highlights.push(at),
            Payload::CommunicationTagged(c) => {
                let us_them = c.class == CommunicationClass::UsThem;
                let (tags, said) = self.tags.entry(c.org.clone()).or_default();
                tags.push_back((at, (us_them, e.event_id)));
                *said += usize::from(us_them);
            }
            Payload::RoleAssigned(r) => {
                let seat = self.seats.entry(r.org.clone()).or_default();
                match r.role {
                    RoleKind::Liaison => {
                        seat.seated.insert(r.person.clone());
                        seat.seated_once = true;
                        seat.emptied = None;
                    }
                    RoleKind::ExecSponsor => {
                        seat.sponsors
                            .insert(r.person.clone(), (r.clone(), e.event_id));
                    }
                    RoleKind::DealOwner => {}
                }
            }
            Payload::RoleUnassigned(r) => {
                let seat = self.seats.entry(r.org.clone()).or_default();
                match r.role {
                    RoleKind::Liaison => {
                        seat.seated.remove(r.person.as_str());
                        if seat.seated.is_empty() {
                            seat.seated_once = false;
                            seat.emptied = Some((at, e.event_id));
                        }
                    }
                    RoleKind::ExecSponsor => {
                        seat.sponsors.remove(r.person.as_str());
                    }
                    RoleKind::DealOwner => {}
                }
            }
            Payload::DeliverableCommitted(d) => self.deliverables.commit(d, e.event_id),
            Payload::DeliverableDueDateChanged(d) => {
                self.deliverables.change(&d.deliverable_id, |item| {
                    item.due = d.new_due;
                    item.changes += 1;
                });
            }
            Payload::DeliverableCompleted(d) => {
                self.deliverables.change(&d.deliverable_id, |item| {
                    item.completed = Some(at);
                    item.closed = true;
                });
            }
            Payload::DeliverableCancelled(d) => {
                self.deliverables.change(&d.deliverable_id, |item| {
                    item.cancelled = true;
                    item.closed = true;
                });
            }
            _ => {}
        }
    }

    /// Since the first activation, while the latest status change keeps the partnership active.
    fn active_since(&self) -> Option<OffsetDateTime> {
        let active = matches!(self.last_status, Some(Status::Active | Status::Renewed));
        self.activation.map(|a| a.0).filter(|_| active)
    }

    /// The event at which a business plan became agreed: the signature that completed some
    /// version's signatories (of the first proposal's parties).
    fn first_plan_agreed(&self) -> Option<(OffsetDateTime, EventId)> {
        if self.parties.is_empty() {
            return None;
        }
        let mut signed: BTreeMap<(&ItemId, u32), BTreeSet<&OrgId>> = BTreeMap::new();
        self.plans.iter().find_map(|e| match &e.payload {
            Payload::BusinessPlanAgreed(p) => {
                let orgs = signed.entry((&p.plan_id, p.version)).or_default();
                orgs.insert(&p.by_org);
                self.parties
                    .iter()
                    .all(|o| orgs.contains(o))
                    .then_some((e.occurred_at, e.event_id))
            }
            _ => None,
        })
    }

    /// Whether agreed goals (every party agreed, not dropped) cover every kind.
    fn goal_coverage(&self) -> bool {
        let agreed = |kind: GoalKind| {
            self.goals.values().any(|(k, by, dropped)| {
                *k == kind && !dropped && self.all_parties.iter().all(|p| by.contains(p))
            })
        };
        [GoalKind::Qualitative, GoalKind::Marketing, GoalKind::Sales]
            .into_iter()
            .all(agreed)
    }

    /// Lets out of the windows (R10, R13) what is too old at `t`.
    fn slide_windows(&mut self, t: OffsetDateTime) {
        self.window
            .slide(t - Duration::days(self.settings.asymmetry.window_days));
        let since = t - Duration::days(R13_DAYS);
        for (tags, said) in self.tags.values_mut() {
            while let Some((_, (us_them, _))) = tags.front().copied().filter(|(at, _)| *at <= since)
            {
                tags.pop_front();
                *said -= usize::from(us_them);
            }
        }
    }

    fn liaison_gap(&self, t: OffsetDateTime, out: &mut Vec<Flag>) {
        let since = self.activation.map(|a| a.0);
        let empty = Seat::default();
        for org in &self.parties {
            let seat = self.seats.get(org).unwrap_or(&empty);
            let vacant = if !seat.seated.is_empty() || seat.seated_once {
                None
            } else {
                match seat.emptied {
                    Some((at, id)) => Some((at.max(since.unwrap_or(at)), Some(id))),
                    None => since.map(|s| (s, None)),
                }
            };
            let sponsors = seat.sponsors.values().map(|(r, id)| (r, *id));
            rules::liaison_gap(org, vacant, sponsors, t, out);
        }
    }

    /// The latest governance definition and revenue report of each org: what the asymmetry
    /// model reads beside the window.
    fn latest(&self) -> Latest<'_> {
        Latest {
            governance: self.governance.as_deref(),
            revenue: &self.revenue,
        }
    }

    /// R15: each won joint deal whose 180 days have passed by `t` is judged once.
    fn joint_customer_unsung(&mut self, t: OffsetDateTime) {
        while let Some((at, deal_id, id)) = self.won_joint.get(self.won_joint_due).cloned()
            && t - at > Duration::days(R15_DAYS)
        {
            self.won_joint_due += 1;
            let first = self.highlights.partition_point(|h| *h < at);
            let sung = self
                .highlights
                .get(first)
                .is_some_and(|h| *h - at <= Duration::days(R15_DAYS));
            if !sung {
                self.unsung.push(rules::joint_customer_unsung(&deal_id, id));
            }
        }
    }

    fn trust_falling(&self, t: OffsetDateTime, out: &mut Vec<Flag>) {
        let earlier = t - Duration::days(R16_DAYS);
        for org in self.trust_now.parties() {
            let now = self.trust_now.standing(org, t);
            let then = self
                .trust_then
                .parties()
                .contains(org)
                .then(|| self.trust_then.standing(org, earlier));
            rules::trust_falling(org, now, then, Vec::new, out);
        }
    }
}
