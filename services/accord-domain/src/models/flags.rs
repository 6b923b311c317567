//! Read model E: red flags, raised with their evidence and cleared when their condition stops
//! holding; the history of raises and clears is itself a timeline.
//!
//! The conditions are evaluated at every instant something can change: each event's business
//! time, the days when an "active for N days" rule comes due, and `as_of`. A flag is raised at
//! the first instant its condition holds and cleared at the first instant it does not.
//!
//! Rules so far: R1 unwilling_partner (both conditions), R3 no_success_metrics, R7 no_in_person, R9
//! silent_indicators, R11 governance_before_plan, R12 no_exit_procedure, R14 fomo.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::event::{Event, Payload, Status};
use crate::history::effective_events;
use crate::ids::{EventId, OrgId};
use crate::models::goals::goals;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Rule {
    R1,
    R3,
    R7,
    R9,
    R11,
    R12,
    R14,
}

impl Rule {
    pub const fn name(self) -> &'static str {
        match self {
            Rule::R1 => "unwilling_partner",
            Rule::R3 => "no_success_metrics",
            Rule::R7 => "no_in_person",
            Rule::R9 => "silent_indicators",
            Rule::R11 => "governance_before_plan",
            Rule::R12 => "no_exit_procedure",
            Rule::R14 => "fomo",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
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
    pub open: Vec<Flag>,
    pub history: Vec<FlagChange>,
}

/// Day counts of the rules *(settings)*: R3, R9/R12, R7.
const R3_DAYS: i64 = 30;
const R9_R12_DAYS: i64 = 90;
const R7_DAYS: i64 = 365;
const R14_DAYS: i64 = 14;

/// Red flags as the ledger knew them at `as_of`.
pub fn flags(events: &[Event], as_of: OffsetDateTime) -> Flags {
    let known: Vec<Event> = events
        .iter()
        .filter(|e| e.recorded_at <= as_of)
        .cloned()
        .collect();
    let effective = effective_events(&known);
    let mut instants: BTreeSet<OffsetDateTime> = effective
        .iter()
        .map(|e| e.occurred_at)
        .filter(|t| *t <= as_of)
        .collect();
    if let Some(first) = first_activation(&effective) {
        for days in [R3_DAYS, R9_R12_DAYS, R7_DAYS] {
            instants.insert(first + Duration::days(days));
        }
    }
    instants.insert(as_of);
    let mut open: BTreeMap<(Rule, Option<String>), Flag> = BTreeMap::new();
    let mut history = Vec::new();
    for t in instants.into_iter().filter(|t| *t <= as_of) {
        let upto: Vec<Event> = effective
            .iter()
            .filter(|e| e.occurred_at <= t)
            .cloned()
            .collect();
        let now: BTreeMap<(Rule, Option<String>), Flag> = evaluate(&upto, t)
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
        open = now;
    }
    Flags {
        as_of,
        open: open.into_values().collect(),
        history,
    }
}

fn first_activation(events: &[Event]) -> Option<OffsetDateTime> {
    events.iter().find_map(|e| match &e.payload {
        Payload::PartnershipStatusChanged(s)
            if matches!(s.status, Status::Active | Status::Renewed) =>
        {
            Some(e.occurred_at)
        }
        _ => None,
    })
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

/// The flags that hold after `events` (those occurred by `t`), at `t`.
fn evaluate(events: &[Event], t: OffsetDateTime) -> Vec<Flag> {
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
        && !goals(events, t).coverage.complete
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
        let plan = first_of(|p| matches!(p, Payload::BusinessPlanAgreed(_)));
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
    fomo(events, &mut out);
    out
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

/// R14: activated within 14 days of the proposal without a business plan, or proposed because
/// a competitor did it.
fn fomo(events: &[Event], out: &mut Vec<Flag>) {
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
    let activation = events.iter().find(|e| {
        matches!(&e.payload, Payload::PartnershipStatusChanged(s) if matches!(s.status, Status::Active | Status::Renewed))
    });
    if let Some(active) = activation
        && active.occurred_at - proposal.occurred_at < Duration::days(R14_DAYS)
        && !events.iter().any(|e| {
            matches!(e.payload, Payload::BusinessPlanAgreed(_))
                && e.occurred_at <= active.occurred_at
        })
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
