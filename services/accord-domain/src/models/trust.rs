//! Read model A: the trust timeline, per org (how trustworthy X has shown itself to the others).
//!
//! A beta-reputation score from positive (r) and negative (s) evidence about X, each piece
//! decaying with a half-life: weight × 2^(−(as_of − t)/H). `T = (r + 1) / (r + s + 2)`. Every
//! trust-relevant event is a point of the timeline, with the rule that applied and the score
//! before and after it. A pure function of (events, as_of, settings).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, Time};

use super::{Axes, known};
use crate::event::{Event, Payload, RoleKind, Status};
use crate::ids::{EventId, ItemId, OrgId};

/// The thresholds of the trust model *(settings)*.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrustSettings {
    pub half_life_days: f64,
    pub healthy_at: f64,
    pub watch_at: f64,
    /// Below this much evidence (r + s) the band is `insufficient_evidence`.
    pub min_evidence: f64,
    /// A due-date change with at least this many days of notice is T3, else T4.
    pub due_change_notice_days: i64,
    /// A cancellation with less than this many hours of notice is T5, else T6.
    pub cancel_notice_hours: u32,
    /// A liaison seat vacant longer than this is T12.
    pub liaison_vacancy_days: i64,
}

impl Default for TrustSettings {
    fn default() -> Self {
        Self {
            half_life_days: 180.0,
            healthy_at: 0.70,
            watch_at: 0.50,
            min_evidence: 3.0,
            due_change_notice_days: 14,
            cancel_notice_hours: 48,
            liaison_vacancy_days: 14,
        }
    }
}

/// The rules of the trust model.
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
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
pub enum Rule {
    T1,
    T2,
    T3,
    T4,
    T5,
    T6,
    T7,
    T8,
    T9,
    T10,
    T11,
    T12,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Band {
    Healthy,
    Watch,
    AtRisk,
    InsufficientEvidence,
}

/// One piece of evidence about an org.
#[derive(Debug, Clone, PartialEq)]
struct Evidence {
    at: OffsetDateTime,
    org: OrgId,
    rule: Rule,
    /// Positive weight (added to r) or negative (added to s).
    positive: f64,
    negative: f64,
    event_id: EventId,
}

/// A point of the timeline: one trust-relevant event and how it moved the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrustPoint {
    #[serde(with = "crate::values::rfc3339")]
    pub at: OffsetDateTime,
    pub event_id: EventId,
    pub rule_id: Rule,
    pub score_before: f64,
    pub score_after: f64,
    pub delta: f64,
}

/// An org's trust at `valid_at` and the points that made it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrgTrust {
    pub org: OrgId,
    /// Decayed positive and negative evidence at `valid_at`.
    pub r: f64,
    pub s: f64,
    pub score: f64,
    pub band: Band,
    pub points: Vec<TrustPoint>,
}

/// The trust timeline of a partnership, one entry per party.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrustTimeline {
    #[serde(with = "crate::values::rfc3339")]
    pub as_of: OffsetDateTime,
    #[serde(with = "crate::values::rfc3339")]
    pub valid_at: OffsetDateTime,
    pub orgs: Vec<OrgTrust>,
}

/// The timeline at `axes` (see [`known`]).
pub fn trust(events: &[Event], axes: Axes, settings: &TrustSettings) -> TrustTimeline {
    trust_of(&known(events, axes), axes, settings)
}

/// The timeline of events already in effect (see [`known`]), evaluated at `axes.valid_at`.
pub(crate) fn trust_of(effective: &[Event], axes: Axes, settings: &TrustSettings) -> TrustTimeline {
    let at = axes.valid_at;
    let (parties, mut evidence) = collect(effective, at, settings);
    evidence.sort_by_key(|e| e.at);
    let orgs = parties
        .into_iter()
        .map(|org| {
            let mine: Vec<&Evidence> = evidence.iter().filter(|e| e.org == org).collect();
            let mut points = Vec::with_capacity(mine.len());
            // The decayed r and s just after the previous point, carried forward: decaying a
            // sum is decaying each term, so the timeline takes one pass.
            let (mut r, mut s, mut last) = (0.0, 0.0, None);
            for e in &mine {
                let decay = last.map_or(1.0, |t| decay(t, e.at, settings));
                (r, s) = (r * decay, s * decay);
                let before = (r + 1.0) / (r + s + 2.0);
                (r, s) = (r + e.positive, s + e.negative);
                let after = (r + 1.0) / (r + s + 2.0);
                last = Some(e.at);
                points.push(TrustPoint {
                    at: e.at,
                    event_id: e.event_id,
                    rule_id: e.rule,
                    score_before: before,
                    score_after: after,
                    delta: after - before,
                });
            }
            let (r, s, score) = score(&mine, at, settings);
            OrgTrust {
                band: band(r, s, score, settings),
                org,
                r,
                s,
                score,
                points,
            }
        })
        .collect();
    TrustTimeline {
        as_of: axes.as_of,
        valid_at: at,
        orgs,
    }
}

/// Decayed r and s at `at`, and the score.
fn score(evidence: &[&Evidence], at: OffsetDateTime, settings: &TrustSettings) -> (f64, f64, f64) {
    let (mut r, mut s) = (0.0, 0.0);
    for e in evidence {
        let weight = decay(e.at, at, settings);
        r += e.positive * weight;
        s += e.negative * weight;
    }
    (r, s, (r + 1.0) / (r + s + 2.0))
}

/// The weight at `at` of evidence from `from`: 2^(−age/H), and 1 for evidence not yet aged.
fn decay(from: OffsetDateTime, at: OffsetDateTime, settings: &TrustSettings) -> f64 {
    let age_days = ((at - from).as_seconds_f64() / 86_400.0).max(0.0);
    (-age_days / settings.half_life_days).exp2()
}

fn band(r: f64, s: f64, score: f64, settings: &TrustSettings) -> Band {
    if r + s < settings.min_evidence {
        Band::InsufficientEvidence
    } else if score >= settings.healthy_at {
        Band::Healthy
    } else if score >= settings.watch_at {
        Band::Watch
    } else {
        Band::AtRisk
    }
}

/// The start of a calendar day, for due dates.
fn midnight(d: Date) -> OffsetDateTime {
    d.with_time(Time::MIDNIGHT).assume_utc()
}

struct Deliverable {
    owner: OrgId,
    original_due: Date,
    due: Date,
    committed_by: EventId,
    open: bool,
}

/// Walks the events in effect and lists the evidence about each party.
fn collect(
    events: &[Event],
    as_of: OffsetDateTime,
    settings: &TrustSettings,
) -> (BTreeSet<OrgId>, Vec<Evidence>) {
    let mut parties = BTreeSet::new();
    let mut evidence = Vec::new();
    let mut deliverables: BTreeMap<ItemId, Deliverable> = BTreeMap::new();
    // Per party: the liaisons seated, and since when the seat has been empty (while active).
    let mut liaisons: BTreeMap<OrgId, BTreeSet<String>> = BTreeMap::new();
    let mut vacant_since: BTreeMap<OrgId, (OffsetDateTime, EventId)> = BTreeMap::new();
    let vacancy = Duration::days(settings.liaison_vacancy_days);
    let mut push = |at, org: &OrgId, rule, positive, negative, event_id| {
        evidence.push(Evidence {
            at,
            org: org.clone(),
            rule,
            positive,
            negative,
            event_id,
        });
    };
    // A seat that was empty too long, and is now filled or is still empty at `until`.
    let mut vacancies: Vec<(OrgId, OffsetDateTime, EventId)> = Vec::new();
    let mut active = false;
    for e in events {
        let at = e.occurred_at;
        match &e.payload {
            Payload::PartnershipProposed(p) => {
                parties.extend(p.parties.iter().map(|p| p.org.clone()));
            }
            Payload::PartnershipStatusChanged(p) => match p.status {
                Status::Active | Status::Renewed if !active => {
                    active = true;
                    for org in &parties {
                        if liaisons.get(org).is_none_or(BTreeSet::is_empty) {
                            vacant_since.entry(org.clone()).or_insert((at, e.event_id));
                        }
                    }
                }
                Status::Paused | Status::Terminated if active => {
                    active = false;
                    for (org, (since, id)) in std::mem::take(&mut vacant_since) {
                        if at - since > vacancy {
                            vacancies.push((org, since, id));
                        }
                    }
                }
                _ => {}
            },
            Payload::RoleAssigned(p) if p.role == RoleKind::Liaison => {
                liaisons
                    .entry(p.org.clone())
                    .or_default()
                    .insert(p.person.clone());
                if let Some((since, id)) = vacant_since.remove(&p.org)
                    && at - since > vacancy
                {
                    vacancies.push((p.org.clone(), since, id));
                }
            }
            Payload::RoleUnassigned(p) if p.role == RoleKind::Liaison => {
                let seated = liaisons.entry(p.org.clone()).or_default();
                seated.remove(&p.person);
                if seated.is_empty() && active {
                    vacant_since.insert(p.org.clone(), (at, e.event_id));
                }
            }
            Payload::DeliverableCommitted(p) => {
                deliverables.insert(
                    p.deliverable_id.clone(),
                    Deliverable {
                        owner: p.owner_org.clone(),
                        original_due: p.due_date,
                        due: p.due_date,
                        committed_by: e.event_id,
                        open: true,
                    },
                );
            }
            Payload::DeliverableDueDateChanged(p) => {
                if let Some(d) = deliverables.get_mut(&p.deliverable_id) {
                    let notice = midnight(d.due) - at;
                    let rule = if notice >= Duration::days(settings.due_change_notice_days) {
                        (Rule::T3, 0.25)
                    } else {
                        (Rule::T4, 0.75)
                    };
                    push(at, &p.by_org, rule.0, 0.0, rule.1, e.event_id);
                    d.due = p.new_due;
                }
            }
            Payload::DeliverableCompleted(p) => {
                if let Some(d) = deliverables.get_mut(&p.deliverable_id) {
                    d.open = false;
                    if at.date() <= d.original_due {
                        push(at, &d.owner, Rule::T1, 1.0, 0.0, e.event_id);
                    } else {
                        push(at, &d.owner, Rule::T2, 0.0, 1.0, e.event_id);
                    }
                }
            }
            Payload::DeliverableCancelled(p) => {
                if let Some(d) = deliverables.get_mut(&p.deliverable_id) {
                    d.open = false;
                }
            }
            Payload::MeetingCancelled(p) => {
                let (rule, weight) = if p.notice_hours < settings.cancel_notice_hours {
                    (Rule::T5, 1.0)
                } else {
                    (Rule::T6, 0.5)
                };
                push(at, &p.by_org, rule, 0.0, weight, e.event_id);
            }
            Payload::MeetingRescheduled(p) => push(at, &p.by_org, Rule::T6, 0.0, 0.5, e.event_id),
            Payload::MeetingHeld(p) => {
                let weight = if p.in_person { 1.0 } else { 0.5 };
                let attending: BTreeSet<&OrgId> = p.attendees.iter().map(|a| &a.org).collect();
                for org in attending {
                    push(at, org, Rule::T7, weight, 0.0, e.event_id);
                }
            }
            Payload::FollowUpProposed(p) => push(at, &p.by_org, Rule::T8, 0.25, 0.0, e.event_id),
            Payload::IntroductionMade(p) => push(at, &p.by_org, Rule::T9, 1.0, 0.0, e.event_id),
            Payload::JointCustomerHighlighted(p) => {
                for org in &p.orgs {
                    push(at, org, Rule::T10, 0.5, 0.0, e.event_id);
                }
            }
            Payload::GoalAgreed(p) => {
                for org in &p.agreed_by_orgs {
                    push(at, org, Rule::T11, 0.5, 0.0, e.event_id);
                }
            }
            _ => {}
        }
    }
    // Still open past due at `as_of`: counted once, when the due date passed.
    for d in deliverables.values().filter(|d| d.open) {
        let passed = midnight(d.due) + Duration::days(1);
        if passed <= as_of {
            push(passed, &d.owner, Rule::T2, 0.0, 1.0, d.committed_by);
        }
    }
    // Still vacant at `as_of`.
    for (org, (since, id)) in vacant_since {
        if as_of - since > vacancy {
            vacancies.push((org, since, id));
        }
    }
    for (org, since, id) in vacancies {
        push(since + vacancy, &org, Rule::T12, 0.0, 1.0, id);
    }
    (parties, evidence)
}
