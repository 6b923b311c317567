//! Read model E: red flags, raised with their evidence and cleared when their condition stops
//! holding; the history of raises and clears is itself a timeline.
//!
//! The conditions are evaluated at every instant something can change: each event's business
//! time, the days when an "active for N days" rule comes due, and `valid_at`. A flag is raised at
//! the first instant its condition holds and cleared at the first instant it does not.
//!
//! Every rule of docs/domain.md, R1 to R16. Rules about one org name it as the subject; rules
//! comparing two name the ordered pair `a>b`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::{Axes, ModelSettings, known};
use crate::event::{Event, Payload, Status};
use crate::ids::{EventId, OrgId};
use crate::models::goals::goals_of;
use crate::values::Amount;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
pub enum Rule {
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
    R16,
}

impl Rule {
    pub const fn name(self) -> &'static str {
        match self {
            Rule::R1 => "unwilling_partner",
            Rule::R2 => "over_reliance",
            Rule::R3 => "no_success_metrics",
            Rule::R4 => "incentives_misaligned",
            Rule::R5 => "no_focus",
            Rule::R6 => "slippage",
            Rule::R7 => "no_in_person",
            Rule::R8 => "liaison_gap",
            Rule::R9 => "silent_indicators",
            Rule::R10 => "imbalance",
            Rule::R11 => "governance_before_plan",
            Rule::R12 => "no_exit_procedure",
            Rule::R13 => "us_and_them",
            Rule::R14 => "fomo",
            Rule::R15 => "joint_customer_unsung",
            Rule::R16 => "trust_falling",
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Severity {
    Warn,
    Critical,
}

/// A flag that holds: which rule, about whom (an org, or `a>b` for a pair), how bad, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flag {
    pub rule_id: Rule,
    pub flag: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub severity: Severity,
    pub reason: String,
    pub evidence: Vec<EventId>,
}

/// A raise, a change of severity or evidence, or a clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlagChange {
    #[serde(with = "crate::values::rfc3339")]
    pub at: OffsetDateTime,
    pub rule_id: Rule,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The flag as it now stands, or `None` when it cleared.
    pub now: Option<Flag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flags {
    #[serde(with = "crate::values::rfc3339")]
    pub as_of: OffsetDateTime,
    #[serde(with = "crate::values::rfc3339")]
    pub valid_at: OffsetDateTime,
    pub open: Vec<Flag>,
    pub history: Vec<FlagChange>,
}

/// Day counts of the rules *(settings)*: R3, R9/R12, R7.
const R3_DAYS: i64 = 30;
const R9_R12_DAYS: i64 = 90;
const R7_DAYS: i64 = 365;
const R14_DAYS: i64 = 14;
/// R8: a liaison seat vacant longer than this.
const R8_VACANT_DAYS: i64 = 14;
/// R13: `us_them` share over the tags of this window.
const R13_DAYS: i64 = 90;
/// R15: a joint customer should be highlighted within this many days of the won deal.
const R15_DAYS: i64 = 180;
/// R16: the window of a trust drop, how far trust must fall within it, and the evidence (r + s)
/// both of its ends need for the fall to count (as for a low score).
const R16_DAYS: i64 = 90;
const R16_DROP: f64 = 0.15;
const R16_MIN_EVIDENCE: f64 = 3.0;

/// Red flags at `axes` (see [`known`]).
pub fn flags(events: &[Event], axes: Axes, settings: &ModelSettings) -> Flags {
    flags_resumed(events, axes, settings, None).0
}

type Open = BTreeMap<(Rule, Option<String>), Flag>;

/// The flags evaluated up to the last event's instant, which no later axes change while the
/// events stay the same and every one of them is known: a query can start from here.
#[derive(Debug, Clone, PartialEq)]
pub struct FlagsSoFar {
    /// The last instant evaluated.
    through: OffsetDateTime,
    /// The latest `recorded_at` of the events it was made from.
    recorded: OffsetDateTime,
    events: usize,
    open: Open,
    history: Vec<FlagChange>,
}

/// [`flags`], resuming from `so_far` when it was made from these same events (the caller keys it
/// by the partnership's revision) and the axes are past every event; gives what a later query
/// can resume from. The answer is the same with or without `so_far`.
pub fn flags_resumed(
    events: &[Event],
    axes: Axes,
    settings: &ModelSettings,
    so_far: Option<&FlagsSoFar>,
) -> (Flags, Option<FlagsSoFar>) {
    let valid_at = axes.valid_at;
    let recorded = events.iter().map(|e| e.recorded_at).max();
    let mut effective = known(events, axes);
    // In business-time order (stable, so log order breaks ties): the events occurred by an
    // instant are then a prefix.
    effective.sort_by_key(|e| e.occurred_at);
    let mut instants: BTreeSet<OffsetDateTime> = effective.iter().map(|e| e.occurred_at).collect();
    if let Some(first) = first_activation(&effective) {
        for days in [R3_DAYS, R9_R12_DAYS, R7_DAYS] {
            instants.insert(first + Duration::days(days));
        }
        instants.insert(first + Duration::days(R8_VACANT_DAYS) + Duration::SECOND);
    }
    for e in &effective {
        match &e.payload {
            Payload::RoleUnassigned(_) => {
                instants.insert(e.occurred_at + Duration::days(R8_VACANT_DAYS) + Duration::SECOND);
            }
            Payload::DealClosed(d) if d.won && d.joint_customer => {
                instants.insert(e.occurred_at + Duration::days(R15_DAYS) + Duration::SECOND);
            }
            _ => {}
        }
    }
    // Everything is known and has occurred: the instants up to the last event evaluate the same
    // for any such axes.
    let complete = !events.is_empty()
        && events.iter().all(|e| {
            e.recorded_at <= axes.as_of
                && e.occurred_at <= valid_at
                && !matches!(&e.payload, Payload::EventCorrected(c) if c.replacement.occurred_at > valid_at)
        });
    let last_event = effective.last().map(|e| e.occurred_at).filter(|_| complete);
    let resumable =
        |s: &&FlagsSoFar| complete && recorded == Some(s.recorded) && s.events == events.len();
    let (mut open, mut history, after) = match so_far.filter(resumable) {
        Some(s) => (s.open.clone(), s.history.clone(), Some(s.through)),
        None => (Open::new(), Vec::new(), None),
    };
    let pending = instants
        .iter()
        .copied()
        .filter(|t| *t <= valid_at && after.is_none_or(|a| *t > a));
    let mut made = None;
    for t in pending.chain((!instants.contains(&valid_at)).then_some(valid_at)) {
        step(&effective, t, settings, &mut open, &mut history);
        if last_event == Some(t) {
            made = Some(FlagsSoFar {
                through: t,
                recorded: recorded.unwrap_or(axes.as_of),
                events: events.len(),
                open: open.clone(),
                history: history.clone(),
            });
        }
    }
    let flags = Flags {
        as_of: axes.as_of,
        valid_at,
        open: open.into_values().collect(),
        history,
    };
    (flags, made)
}

/// The flags that hold at `t` over events in effect that occurred by then, without their history:
/// what [`flags`] lists as open, in one evaluation.
pub(crate) fn open_at(
    effective: &[Event],
    t: OffsetDateTime,
    settings: &ModelSettings,
) -> Vec<Flag> {
    let mut by_time = effective.to_vec();
    by_time.sort_by_key(|e| e.occurred_at);
    evaluate(&by_time, t, settings)
}

/// Evaluates the flags at instant `t` over the events occurred by then, and records each raise,
/// change and clear.
fn step(
    effective: &[Event],
    t: OffsetDateTime,
    settings: &ModelSettings,
    open: &mut Open,
    history: &mut Vec<FlagChange>,
) {
    let upto = &effective[..effective.partition_point(|e| e.occurred_at <= t)];
    let now: Open = evaluate(upto, t, settings)
        .into_iter()
        .map(|f| ((f.rule_id, f.subject.clone()), f))
        .collect();
    for (key, flag) in &now {
        if open.get(key) != Some(flag) {
            history.push(FlagChange {
                at: t,
                rule_id: key.0,
                subject: key.1.clone(),
                now: Some(flag.clone()),
            });
        }
    }
    for key in open.keys().filter(|k| !now.contains_key(*k)) {
        history.push(FlagChange {
            at: t,
            rule_id: key.0,
            subject: key.1.clone(),
            now: None,
        });
    }
    *open = now;
}

/// The event that first made the partnership active.
fn activation(events: &[Event]) -> Option<&Event> {
    events.iter().find(|e| {
        matches!(&e.payload, Payload::PartnershipStatusChanged(s)
            if matches!(s.status, Status::Active | Status::Renewed))
    })
}

fn first_activation(events: &[Event]) -> Option<OffsetDateTime> {
    activation(events).map(|e| e.occurred_at)
}

/// Whether the partnership is active at the end of `events`, and since its first activation.
fn active_since(events: &[Event]) -> Option<OffsetDateTime> {
    let first = first_activation(events)?;
    let last_status = events.iter().rev().find_map(|e| match &e.payload {
        Payload::PartnershipStatusChanged(s) => Some(s.status),
        _ => None,
    });
    matches!(last_status, Some(Status::Active | Status::Renewed)).then_some(first)
}

fn flag(
    rule: Rule,
    subject: Option<String>,
    severity: Severity,
    reason: String,
    evidence: Vec<EventId>,
) -> Flag {
    Flag {
        rule_id: rule,
        flag: rule.name(),
        subject,
        severity,
        reason,
        evidence,
    }
}

/// The flags that hold after `events` (those in effect that occurred by `t`, in business-time
/// order), at `t`.
fn evaluate(events: &[Event], t: OffsetDateTime, settings: &ModelSettings) -> Vec<Flag> {
    let mut out = Vec::new();
    let parties: Vec<OrgId> = events
        .iter()
        .find_map(|e| match &e.payload {
            Payload::PartnershipProposed(p) => {
                Some(p.parties.iter().map(|p| p.org.clone()).collect())
            }
            _ => None,
        })
        .unwrap_or_default();
    unwilling_partner(events, &parties, &mut out);
    let active = active_since(events);
    let active_for = |days: i64| active.filter(|since| t - *since >= Duration::days(days));
    if let Some(since) = active_for(R3_DAYS)
        && !goals_of(events, Axes::at(t)).coverage.complete
    {
        out.push(flag(
            Rule::R3,
            None,
            Severity::Warn,
            format!(
                "active since {} without agreed goals covering qualitative, marketing and sales",
                since.date()
            ),
            Vec::new(),
        ));
    }
    if active_for(R7_DAYS).is_some() {
        let recent = events.iter().any(|e| {
            matches!(&e.payload, Payload::MeetingHeld(m) if m.in_person)
                && t - e.occurred_at < Duration::days(R7_DAYS)
        });
        if !recent {
            out.push(flag(
                Rule::R7,
                None,
                Severity::Warn,
                "no meeting held in person in the last 365 days".into(),
                Vec::new(),
            ));
        }
    }
    if active_for(R9_R12_DAYS).is_some() {
        let recent = events.iter().any(|e| {
            matches!(e.payload, Payload::IndicatorRecorded(_))
                && t - e.occurred_at < Duration::days(R9_R12_DAYS)
        });
        if !recent {
            out.push(flag(
                Rule::R9,
                None,
                Severity::Warn,
                "no indicator recorded in the last 90 days".into(),
                Vec::new(),
            ));
        }
        if !events
            .iter()
            .any(|e| matches!(e.payload, Payload::ExitProcedureDefined(_)))
        {
            out.push(flag(
                Rule::R12,
                None,
                Severity::Warn,
                "active for 90 days or more without an exit procedure".into(),
                Vec::new(),
            ));
        }
    }
    let first_of = |pick: fn(&Payload) -> bool| events.iter().find(|e| pick(&e.payload));
    if let Some(governance) = first_of(|p| matches!(p, Payload::GovernanceDefined(_))) {
        let plan = plan_agreed(events, &parties);
        if plan.is_none_or(|plan| governance.occurred_at < plan.occurred_at) {
            out.push(flag(
                Rule::R11,
                None,
                Severity::Warn,
                "governance was defined before a business plan was agreed".into(),
                std::iter::once(governance.event_id)
                    .chain(plan.map(|p| p.event_id))
                    .collect(),
            ));
        }
    }
    fomo(events, &parties, &mut out);
    over_reliance(events, &mut out);
    incentives(events, &parties, active, &mut out);
    focus_and_slippage(events, t, &mut out);
    if active.is_some() {
        liaison_gap(events, &parties, t, &mut out);
    }
    imbalance(events, t, &settings.asymmetry, &mut out);
    us_and_them(events, &parties, t, &mut out);
    joint_customer_unsung(events, t, &mut out);
    trust_falling(events, t, &settings.trust, &mut out);
    out.sort_by(|a, b| (a.rule_id, &a.subject).cmp(&(b.rule_id, &b.subject)));
    out
}

/// R2: an org's latest revenue report shows its partner revenue concentrated.
fn over_reliance(events: &[Event], out: &mut Vec<Flag>) {
    let mut latest: BTreeMap<&OrgId, (&crate::event::RevenueReported, EventId)> = BTreeMap::new();
    for e in events {
        if let Payload::RevenueReported(r) = &e.payload {
            latest.insert(&r.org, (r, e.event_id));
        }
    }
    for (org, (r, id)) in latest {
        let total = Amount::total(r.by_partner.iter().map(|p| p.amount.0));
        if total.is_zero() {
            continue;
        }
        let shares: Vec<f64> = r
            .by_partner
            .iter()
            .filter_map(|p| Amount::ratio(p.amount.0, total))
            .collect();
        let hhi: f64 = shares.iter().map(|s| s * s).sum();
        let top = shares.iter().copied().fold(0.0, f64::max);
        if hhi >= 0.25 || top >= 0.5 {
            out.push(flag(
                Rule::R2,
                Some(org.to_string()),
                Severity::Warn,
                format!(
                    "{org}'s partner revenue is concentrated: HHI {hhi:.2}, largest partner {:.0}%",
                    top * 100.0
                ),
                vec![id],
            ));
        }
    }
}

/// R4: an org's reps earn less on partner deals, or deals are registered and the org never said.
fn incentives(
    events: &[Event],
    parties: &[OrgId],
    active: Option<OffsetDateTime>,
    out: &mut Vec<Flag>,
) {
    let deal = events
        .iter()
        .find(|e| matches!(e.payload, Payload::DealRegistered(_)));
    for org in parties {
        let changes: Vec<(&Event, f64)> = events
            .iter()
            .filter_map(|e| match &e.payload {
                Payload::SalesIncentiveChanged(s) if &s.org == org => {
                    Some((e, s.partner_deal_credit_pct))
                }
                _ => None,
            })
            .collect();
        let cut_after_activation = changes
            .windows(2)
            .find(|w| w[1].1 < w[0].1 && active.is_some_and(|since| w[1].0.occurred_at >= since));
        match changes.last() {
            Some((e, pct)) if *pct < 1.0 => out.push(flag(
                Rule::R4,
                Some(org.to_string()),
                if cut_after_activation.is_some() {
                    Severity::Critical
                } else {
                    Severity::Warn
                },
                format!("{org}'s reps earn {:.0}% on a partner deal", pct * 100.0),
                changes.iter().map(|(e, _)| e.event_id).collect(),
            )),
            None if deal.is_some() => out.push(flag(
                Rule::R4,
                Some(org.to_string()),
                Severity::Warn,
                format!("deals are registered and {org} never recorded its sales incentive"),
                deal.map(|d| d.event_id).into_iter().collect(),
            )),
            _ => {}
        }
    }
}

/// R5 (focus) and R6 (slippage), from the deliverables.
fn focus_and_slippage(events: &[Event], t: OffsetDateTime, out: &mut Vec<Flag>) {
    let mut open_top = Vec::new();
    let mut unowned = Vec::new();
    let mut slipped = Vec::new();
    let mut changes: BTreeMap<&crate::ids::ItemId, (u32, Option<time::Date>, time::Date, EventId)> =
        BTreeMap::new();
    let mut open: BTreeMap<&crate::ids::ItemId, (bool, bool, EventId)> = BTreeMap::new();
    for e in events {
        match &e.payload {
            Payload::DeliverableCommitted(d) => {
                open.insert(
                    &d.deliverable_id,
                    (d.top_priority, d.owner_person.is_some(), e.event_id),
                );
                changes.insert(&d.deliverable_id, (0, None, d.due_date, e.event_id));
            }
            Payload::DeliverableDueDateChanged(d) => {
                if let Some(c) = changes.get_mut(&d.deliverable_id) {
                    c.0 += 1;
                    c.1 = Some(d.new_due);
                }
            }
            Payload::DeliverableCompleted(d) => {
                open.remove(&d.deliverable_id);
            }
            Payload::DeliverableCancelled(d) => {
                open.remove(&d.deliverable_id);
            }
            _ => {}
        }
    }
    for (top, owned, id) in open.values() {
        if *top {
            open_top.push(*id);
        }
        if !owned {
            unowned.push(*id);
        }
    }
    if open_top.len() > 2 || !unowned.is_empty() {
        let mut why = Vec::new();
        if open_top.len() > 2 {
            why.push(format!("{} top-priority items are open", open_top.len()));
        }
        if !unowned.is_empty() {
            why.push(format!("{} open items have no owner", unowned.len()));
        }
        out.push(flag(
            Rule::R5,
            None,
            Severity::Warn,
            why.join("; "),
            // An item both top-priority and unowned is one piece of evidence.
            open_top
                .iter()
                .chain(unowned.iter().filter(|id| !open_top.contains(id)))
                .copied()
                .collect(),
        ));
    }
    for (count, latest, original, id) in changes.values() {
        let days = latest.map_or(0, |l| (l - *original).whole_days());
        if *count >= 2 || days > 30 {
            slipped.push(*id);
        }
    }
    let (year, q) = (t.year(), (u8::from(t.month()) - 1) / 3 + 1);
    let (year, q) = if q == 1 { (year - 1, 4) } else { (year, q - 1) };
    let last_quarter = format!("{year}-Q{q}");
    let low_ppc: Vec<String> = crate::models::throughput::quarter_ppc(events, year, q)
        .into_iter()
        .filter(|(_, ppc)| ppc.is_some_and(|p| p < 0.80))
        .map(|(owner, _)| owner.to_string())
        .collect();
    if !slipped.is_empty() || !low_ppc.is_empty() {
        let mut why = Vec::new();
        if !slipped.is_empty() {
            why.push(format!(
                "{} items slipped twice or by more than 30 days",
                slipped.len()
            ));
        }
        if !low_ppc.is_empty() {
            why.push(format!(
                "{last_quarter} PPC under 0.80 for {}",
                low_ppc.join(", ")
            ));
        }
        out.push(flag(
            Rule::R6,
            None,
            Severity::Warn,
            why.join("; "),
            slipped,
        ));
    }
}

/// R8: a party's liaison seat vacant more than 14 days while active, or a token exec sponsor.
fn liaison_gap(events: &[Event], parties: &[OrgId], t: OffsetDateTime, out: &mut Vec<Flag>) {
    let since = first_activation(events);
    for org in parties {
        let mut seated: BTreeSet<&str> = BTreeSet::new();
        let mut vacant_since = since;
        let mut vacant_because = None;
        let mut sponsors: BTreeMap<&str, (&crate::event::RoleAssigned, EventId)> = BTreeMap::new();
        for e in events {
            match &e.payload {
                Payload::RoleAssigned(r) if &r.org == org => match r.role {
                    crate::event::RoleKind::Liaison => {
                        seated.insert(&r.person);
                        vacant_since = None;
                    }
                    crate::event::RoleKind::ExecSponsor => {
                        sponsors.insert(&r.person, (r, e.event_id));
                    }
                    crate::event::RoleKind::DealOwner => {}
                },
                Payload::RoleUnassigned(r) if &r.org == org => match r.role {
                    crate::event::RoleKind::Liaison => {
                        seated.remove(r.person.as_str());
                        if seated.is_empty() {
                            vacant_since = Some(e.occurred_at.max(since.unwrap_or(e.occurred_at)));
                            vacant_because = Some(e.event_id);
                        }
                    }
                    crate::event::RoleKind::ExecSponsor => {
                        sponsors.remove(r.person.as_str());
                    }
                    crate::event::RoleKind::DealOwner => {}
                },
                _ => {}
            }
        }
        if seated.is_empty()
            && let Some(from) = vacant_since
            && t - from > Duration::days(R8_VACANT_DAYS)
        {
            out.push(flag(
                Rule::R8,
                Some(org.to_string()),
                Severity::Warn,
                format!("{org} has had no liaison since {}", from.date()),
                vacant_because.into_iter().collect(),
            ));
            continue;
        }
        let token: Vec<EventId> = sponsors
            .values()
            .filter(|(r, _)| {
                r.allocation_pct < 5.0
                    || r.selection_basis == crate::event::SelectionBasis::Availability
            })
            .map(|(_, id)| *id)
            .collect();
        if !token.is_empty() {
            out.push(flag(
                Rule::R8,
                Some(org.to_string()),
                Severity::Warn,
                format!("{org}'s exec sponsor gives under 5% or was picked for availability"),
                token,
            ));
        }
    }
}

/// R10: the balance index, economic dependence or travel are lopsided; once per pair, named
/// `a>b` for the side that bears more.
fn imbalance(
    events: &[Event],
    t: OffsetDateTime,
    settings: &crate::models::asymmetry::AsymmetrySettings,
    out: &mut Vec<Flag>,
) {
    use crate::models::asymmetry::{Indicator, PairAsymmetry};
    let model = crate::models::asymmetry::asymmetry_of(events, Axes::at(t), settings);
    // In-person meetings at the other's site: `(count, of)` when the travel share is lopsided.
    let travel = |p: &PairAsymmetry| {
        p.shares
            .iter()
            .find(|s| s.indicator == Indicator::Travel)
            .filter(|s| s.of >= 5 && s.share.is_some_and(|x| x >= 0.8))
            .map(|s| (s.count, s.of))
    };
    for ab in model.pairs.iter().filter(|p| p.a < p.b) {
        let Some(ba) = model.pairs.iter().find(|p| p.a == ab.b && p.b == ab.a) else {
            continue;
        };
        // Who bears more: the lean says, else the dependence, else who travels.
        let sign = |x: Option<f64>| x.filter(|x| *x != 0.0).map(f64::is_sign_positive);
        let a_bears = sign(ab.lean)
            .or(sign(ab.economic.da_over_jd))
            .or(travel(ab).map(|_| true))
            .or(travel(ba).map(|_| false))
            .unwrap_or(true);
        let p = if a_bears { ab } else { ba };
        let mut why = Vec::new();
        if let Some(bi) = p.balance_index.filter(|bi| *bi < 0.6) {
            why.push(format!("balance index {bi:.2}"));
        }
        if let Some(r) = p.economic.da_over_jd.filter(|r| r.abs() >= 0.5) {
            why.push(format!("dependence asymmetry DA/JD {r:.2}"));
        }
        for (q, (count, of)) in [ab, ba].into_iter().filter_map(|q| Some((q, travel(q)?))) {
            why.push(format!(
                "{count} of {of} in-person meetings at {}'s site",
                q.b
            ));
        }
        if !why.is_empty() {
            let evidence = p
                .shares
                .iter()
                .filter(|s| s.sufficient)
                .flat_map(|s| s.evidence.iter().copied())
                .chain(p.economic.evidence.iter().copied())
                .collect();
            out.push(flag(
                Rule::R10,
                Some(format!("{}>{}", p.a, p.b)),
                Severity::Warn,
                why.join("; "),
                evidence,
            ));
        }
    }
}

/// R13: an org speaks of "us and them" in most of its recent communications.
fn us_and_them(events: &[Event], parties: &[OrgId], t: OffsetDateTime, out: &mut Vec<Flag>) {
    for org in parties {
        let tags: Vec<(bool, EventId)> = events
            .iter()
            .filter(|e| t - e.occurred_at < Duration::days(R13_DAYS))
            .filter_map(|e| match &e.payload {
                Payload::CommunicationTagged(c) if &c.org == org => Some((
                    c.class == crate::event::CommunicationClass::UsThem,
                    e.event_id,
                )),
                _ => None,
            })
            .collect();
        let us_them = tags.iter().filter(|(u, _)| *u).count();
        if tags.len() >= 5 && us_them as f64 / tags.len() as f64 >= 0.7 {
            out.push(flag(
                Rule::R13,
                Some(org.to_string()),
                Severity::Warn,
                format!(
                    "{us_them} of {org}'s last {} tagged communications say us and them",
                    tags.len()
                ),
                tags.iter().filter(|(u, _)| *u).map(|(_, id)| *id).collect(),
            ));
        }
    }
}

/// R15: a won joint deal nobody celebrated within 180 days.
fn joint_customer_unsung(events: &[Event], t: OffsetDateTime, out: &mut Vec<Flag>) {
    for e in events {
        if let Payload::DealClosed(d) = &e.payload
            && d.won
            && d.joint_customer
            && t - e.occurred_at > Duration::days(R15_DAYS)
        {
            let sung = events.iter().any(|h| {
                matches!(h.payload, Payload::JointCustomerHighlighted(_))
                    && h.occurred_at >= e.occurred_at
                    && h.occurred_at - e.occurred_at <= Duration::days(R15_DAYS)
            });
            if !sung {
                out.push(flag(
                    Rule::R15,
                    Some(d.deal_id.to_string()),
                    Severity::Warn,
                    format!("joint customer of deal {} never highlighted", d.deal_id),
                    vec![e.event_id],
                ));
            }
        }
    }
}

/// R16: an org's trust is 0.15 below where it stood 90 days earlier, with enough evidence at
/// both ends to mean it, or below 0.5 on enough evidence.
fn trust_falling(
    events: &[Event],
    t: OffsetDateTime,
    settings: &crate::models::trust::TrustSettings,
    out: &mut Vec<Flag>,
) {
    let now = crate::models::trust::trust_of(events, Axes::at(t), settings);
    let earlier = t - Duration::days(R16_DAYS);
    // `events` are in business-time order (see `flags`).
    let then = &events[..events.partition_point(|e| e.occurred_at <= earlier)];
    let then = crate::models::trust::trust_of(then, Axes::at(earlier), settings);
    let enough = |o: &crate::models::trust::OrgTrust| o.r + o.s >= R16_MIN_EVIDENCE;
    for org in now.orgs {
        let drop = then
            .orgs
            .iter()
            .find(|o| o.org == org.org && enough(o) && enough(&org))
            .map(|o| o.score - org.score)
            .filter(|drop| *drop >= R16_DROP);
        let low = org.score < 0.5 && enough(&org);
        if drop.is_none() && !low {
            continue;
        }
        let reason = match drop {
            Some(drop) => format!(
                "{}'s trust fell by {drop:.2} to {:.2} within 90 days",
                org.org, org.score
            ),
            None => format!(
                "{}'s trust is {:.2} on {:.1} pieces of evidence",
                org.org,
                org.score,
                org.r + org.s
            ),
        };
        out.push(flag(
            Rule::R16,
            Some(org.org.to_string()),
            Severity::Warn,
            reason,
            org.points
                .iter()
                .filter(|p| p.delta < 0.0 && t - p.at <= Duration::days(R16_DAYS))
                .map(|p| p.event_id)
                .collect(),
        ));
    }
}

/// R1: one side does all the initiating, or the other keeps cancelling or rescheduling.
fn unwilling_partner(events: &[Event], parties: &[OrgId], out: &mut Vec<Flag>) {
    for a in parties {
        for b in parties.iter().filter(|b| *b != a) {
            let initiations: Vec<(&OrgId, EventId)> = events
                .iter()
                .filter_map(|e| match &e.payload {
                    Payload::MeetingRequested(m) => Some((&m.requested_by_org, e.event_id)),
                    Payload::FollowUpProposed(f) => Some((&f.by_org, e.event_id)),
                    _ => None,
                })
                .filter(|(org, _)| *org == a || *org == b)
                .collect();
            let by_a = |n: usize| {
                initiations.len() >= n
                    && initiations[initiations.len() - n..]
                        .iter()
                        .all(|(o, _)| *o == a)
            };
            let last = |n: usize| {
                initiations[initiations.len() - n..]
                    .iter()
                    .map(|(_, id)| *id)
                    .collect()
            };
            let mut found: Vec<(Severity, String, Vec<EventId>)> = Vec::new();
            if by_a(3) {
                found.push((
                    Severity::Critical,
                    format!("{a} made the last three requests and follow-ups; {b} made none"),
                    last(3),
                ));
            } else if by_a(2) {
                found.push((
                    Severity::Warn,
                    format!("{a} made the last two requests and follow-ups"),
                    last(2),
                ));
            }
            // The last three meetings scheduled, and what b did to them.
            let scheduled: Vec<&crate::ids::ItemId> = events
                .iter()
                .filter_map(|e| match &e.payload {
                    Payload::MeetingScheduled(m) => Some(&m.meeting_id),
                    _ => None,
                })
                .collect();
            let recent = &scheduled[scheduled.len().saturating_sub(3)..];
            let moved: Vec<EventId> = recent
                .iter()
                .filter_map(|m| {
                    events.iter().rev().find_map(|e| match &e.payload {
                        Payload::MeetingCancelled(c) if &c.meeting_id == *m && &c.by_org == b => {
                            Some(e.event_id)
                        }
                        Payload::MeetingRescheduled(r) if &r.meeting_id == *m && &r.by_org == b => {
                            Some(e.event_id)
                        }
                        _ => None,
                    })
                })
                .collect();
            if recent.len() == 3 && moved.len() == 3 {
                found.push((
                    Severity::Critical,
                    format!("{b} cancelled or rescheduled each of the last three meetings"),
                    moved,
                ));
            } else if moved.len() >= 2 {
                found.push((
                    Severity::Warn,
                    format!(
                        "{b} cancelled or rescheduled {} of the last three meetings",
                        moved.len()
                    ),
                    moved,
                ));
            }
            if let Some(severity) = found.iter().map(|f| f.0).max() {
                out.push(flag(
                    Rule::R1,
                    Some(format!("{a}>{b}")),
                    severity,
                    found
                        .iter()
                        .map(|f| f.1.as_str())
                        .collect::<Vec<_>>()
                        .join("; "),
                    found.into_iter().flat_map(|f| f.2).collect(),
                ));
            }
        }
    }
}

/// The event at which a business plan became agreed: the signature that completed some
/// version's signatories, every party signing for itself. An event recorded before per-org
/// consent may carry several signatures at once, and counts for each.
fn plan_agreed<'e>(events: &'e [Event], parties: &[OrgId]) -> Option<&'e Event> {
    let mut signed: BTreeMap<(&crate::ids::ItemId, u32), BTreeSet<&OrgId>> = BTreeMap::new();
    events.iter().find(|e| match &e.payload {
        Payload::BusinessPlanAgreed(p) => {
            let orgs = signed.entry((&p.plan_id, p.version)).or_default();
            orgs.extend(&p.signed_by_orgs);
            !parties.is_empty() && parties.iter().all(|o| orgs.contains(o))
        }
        _ => false,
    })
}

/// R14: activated within 14 days of the proposal without a business plan, or proposed because
/// a competitor did it.
fn fomo(events: &[Event], parties: &[OrgId], out: &mut Vec<Flag>) {
    let Some(proposal) = events
        .iter()
        .find(|e| matches!(e.payload, Payload::PartnershipProposed(_)))
    else {
        return;
    };
    if let Payload::PartnershipProposed(p) = &proposal.payload
        && p.rationale_tags.iter().any(|t| t == "competitor_did_it")
    {
        out.push(flag(
            Rule::R14,
            None,
            Severity::Warn,
            "proposed because a competitor did it".into(),
            vec![proposal.event_id],
        ));
        return;
    }
    if let Some(active) = activation(events)
        && active.occurred_at - proposal.occurred_at < Duration::days(R14_DAYS)
        && plan_agreed(events, parties).is_none_or(|plan| plan.occurred_at > active.occurred_at)
    {
        out.push(flag(
            Rule::R14,
            None,
            Severity::Warn,
            "active within 14 days of the proposal, with no business plan".into(),
            vec![proposal.event_id, active.event_id],
        ));
    }
}
