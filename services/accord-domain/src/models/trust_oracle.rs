//! The trust timeline evaluated the simple way, for the tests: every piece of evidence collected
//! from scratch in one pass over the events, sorted, and each org's score summed term by term.
//! The trust fold (`trust_fold`, which the timeline and R16 read) must give the same points, and
//! the same decayed r and s up to rounding (it carries them forward instead of summing). What an
//! event gives by itself (T5 to T11, `trust_fold::evidence_of`) is shared, as the flags' oracle
//! shares what each rule decides; what depends on the events before (deliverables, vacancies)
//! and the decay are its own.

use std::collections::{BTreeMap, BTreeSet};

use time::{Date, Duration, OffsetDateTime, Time};

use super::trust::{OrgTrust, Rule, TrustPoint, TrustSettings};
use super::trust_fold::{decay, evidence_of, score};
use crate::event::{Event, Payload, RoleKind, Status};
use crate::ids::{EventId, ItemId, OrgId};

/// One piece of evidence about an org.
struct Evidence {
    at: OffsetDateTime,
    org: OrgId,
    rule: Rule,
    positive: f64,
    negative: f64,
    event_id: EventId,
}

/// Each party's timeline, of events in effect, at `at`.
pub(super) fn orgs(
    events: &[Event],
    at: OffsetDateTime,
    settings: &TrustSettings,
) -> Vec<OrgTrust> {
    let (parties, mut evidence) = collect(events, at, settings);
    evidence.sort_by_key(|e| e.at);
    parties
        .into_iter()
        .map(|org| {
            let mine: Vec<&Evidence> = evidence.iter().filter(|e| e.org == org).collect();
            let mut points = Vec::new();
            let (mut r, mut s, mut last) = (0.0, 0.0, None);
            for e in &mine {
                let decay = last.map_or(1.0, |t| decay(t, e.at, settings));
                (r, s) = (r * decay, s * decay);
                let before = score(r, s);
                (r, s) = (r + e.positive, s + e.negative);
                let after = score(r, s);
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
            let (mut r, mut s) = (0.0, 0.0);
            for e in &mine {
                let weight = decay(e.at, at, settings);
                r += e.positive * weight;
                s += e.negative * weight;
            }
            OrgTrust {
                org,
                r,
                s,
                score: score(r, s),
                // The band is the model's; the test compares the rest.
                band: super::trust::Band::InsufficientEvidence,
                points_total: points.len(),
                points,
            }
        })
        .collect()
}

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
            _ => {
                for (org, rule, (positive, negative)) in evidence_of(e, settings) {
                    push(at, org, rule, positive, negative, e.event_id);
                }
            }
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
