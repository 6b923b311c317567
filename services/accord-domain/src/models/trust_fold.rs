//! The trust model's evidence, kept as events are applied: the trust timeline folds it once, and
//! the red flags keep one at the head of the business time they evaluate (and one 90 days behind)
//! so that each instant costs only what changed.
//!
//! Evidence about an org is ordered as the timeline lists it: by time, then evidence from events
//! (in the order they were applied), items open past due (by item), vacancies that ended (in the
//! order they ended), vacancies still open (by org). Each item keeps the decayed r and s just
//! after it; a change in the middle (an overdue item completed, a due date moved) recomputes
//! from there on.

use std::collections::{BTreeMap, BTreeSet};

use imbl::{OrdMap, OrdSet};

use time::{Date, Duration, OffsetDateTime, Time};

use super::flag_rules::Standing;
use super::trust::{Rule, TrustSettings};
use crate::event::{Event, Payload, RoleKind, Status};
use crate::ids::{EventId, ItemId, OrgId};

/// What comes first among items of the same time.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Tie {
    /// From the `n`th event applied, its `k`th item about this org.
    Event(u64, u32),
    PastDue(ItemId),
    VacancyEnded(u64),
    VacancyOpen,
}

pub(crate) type Key = (OffsetDateTime, Tie);

/// One piece of evidence, and the decayed r and s just after it.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub rule: Rule,
    pub positive: f64,
    pub negative: f64,
    pub event_id: EventId,
    pub r: f64,
    pub s: f64,
}

/// One org's evidence in timeline order (a persistent map: a copy shares it).
#[derive(Debug, Clone, Default)]
pub(crate) struct Timeline {
    items: OrdMap<Key, Item>,
    /// Items from here on have stale r and s.
    stale_from: Option<Key>,
}

impl Timeline {
    fn insert(&mut self, key: Key, item: Item) {
        self.stale(&key);
        self.items.insert(key, item);
    }

    fn remove(&mut self, key: &Key) {
        if self.items.remove(key).is_some() {
            self.stale(key);
        }
    }

    fn stale(&mut self, key: &Key) {
        if self.stale_from.as_ref().is_none_or(|s| key < s) {
            self.stale_from = Some(key.clone());
        }
    }

    /// Recomputes the decayed r and s of the stale items, each from the one before it.
    fn settle(&mut self, settings: &TrustSettings) {
        let Some(from) = self.stale_from.take() else {
            return;
        };
        let (mut r, mut s, mut last) = self
            .items
            .range(..from.clone())
            .next_back()
            .map_or((0.0, 0.0, None), |((at, _), i)| (i.r, i.s, Some(*at)));
        let stale: Vec<Key> = self.items.range(from..).map(|(k, _)| k.clone()).collect();
        for key in stale {
            let at = key.0;
            let Some(item) = self.items.get_mut(&key) else {
                continue;
            };
            let decay = last.map_or(1.0, |t| decay(t, at, settings));
            (r, s) = (r * decay, s * decay);
            (r, s) = (r + item.positive, s + item.negative);
            (item.r, item.s) = (r, s);
            last = Some(at);
        }
    }

    /// How many items there are.
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The last `n` items in order, with their time (read from the end: the cost is `n`'s).
    pub(crate) fn last_items(&self, n: usize) -> Vec<(OffsetDateTime, &Item)> {
        let mut last: Vec<_> = self
            .items
            .iter()
            .rev()
            .take(n)
            .map(|((at, _), i)| (*at, i))
            .collect();
        last.reverse();
        last
    }

    /// The items at or after `from`.
    pub(crate) fn since(&self, from: OffsetDateTime) -> impl Iterator<Item = &Item> {
        self.items.range((from, Tie::Event(0, 0))..).map(|(_, i)| i)
    }

    /// Decayed r and s at `t` (at or after every item), and the score.
    pub(crate) fn standing(&self, t: OffsetDateTime, settings: &TrustSettings) -> Standing {
        let (r, s) = self.items.get_max().map_or((0.0, 0.0), |((at, _), i)| {
            let decay = decay(*at, t, settings);
            (i.r * decay, i.s * decay)
        });
        Standing {
            r,
            s,
            score: score(r, s),
        }
    }
}

pub(crate) fn score(r: f64, s: f64) -> f64 {
    (r + 1.0) / (r + s + 2.0)
}

/// The weight at `at` of evidence from `from`: 2^(−age/H), and 1 for evidence not yet aged.
pub(crate) fn decay(from: OffsetDateTime, at: OffsetDateTime, settings: &TrustSettings) -> f64 {
    let age_days = ((at - from).as_seconds_f64() / 86_400.0).max(0.0);
    (-age_days / settings.half_life_days).exp2()
}

/// The evidence an event gives by itself, whatever came before it (T5 to T11): the org each
/// piece is about, its rule, and its positive and negative weight, in order.
pub(crate) fn evidence_of<'e>(
    e: &'e Event,
    settings: &TrustSettings,
) -> Vec<(&'e OrgId, Rule, (f64, f64))> {
    match &e.payload {
        Payload::MeetingCancelled(p) => {
            let (rule, weight) = if p.notice_hours < settings.cancel_notice_hours {
                (Rule::T5, 1.0)
            } else {
                (Rule::T6, 0.5)
            };
            vec![(&p.by_org, rule, (0.0, weight))]
        }
        Payload::MeetingRescheduled(p) => vec![(&p.by_org, Rule::T6, (0.0, 0.5))],
        Payload::MeetingHeld(p) => {
            let weight = if p.in_person { 1.0 } else { 0.5 };
            let attending: BTreeSet<&OrgId> = p.attendees.iter().map(|a| &a.org).collect();
            attending
                .into_iter()
                .map(|org| (org, Rule::T7, (weight, 0.0)))
                .collect()
        }
        Payload::FollowUpProposed(p) => vec![(&p.by_org, Rule::T8, (0.25, 0.0))],
        Payload::IntroductionMade(p) => vec![(&p.by_org, Rule::T9, (1.0, 0.0))],
        Payload::JointCustomerHighlighted(p) => p
            .orgs
            .iter()
            .map(|org| (org, Rule::T10, (0.5, 0.0)))
            .collect(),
        Payload::GoalAgreed(p) => vec![(&p.by_org, Rule::T11, (0.5, 0.0))],
        _ => Vec::new(),
    }
}

/// The start of a calendar day, for due dates.
fn midnight(d: Date) -> OffsetDateTime {
    d.with_time(Time::MIDNIGHT).assume_utc()
}

/// When an item open past `due` counts as overdue: the day after.
fn overdue(due: Date) -> OffsetDateTime {
    midnight(due) + Duration::days(1)
}

#[derive(Clone)]
struct Deliverable {
    owner: OrgId,
    original_due: Date,
    due: Date,
    committed_by: EventId,
    open: bool,
}

/// The evidence of every party, kept as events are applied.
#[derive(Clone)]
pub(crate) struct TrustFold {
    settings: TrustSettings,
    parties: BTreeSet<OrgId>,
    applied: u64,
    orgs: BTreeMap<OrgId, Timeline>,
    deliverables: OrdMap<ItemId, Deliverable>,
    /// Open deliverables by the instant they become overdue, not yet counted.
    coming_due: OrdSet<(OffsetDateTime, ItemId)>,
    /// Overdue deliverables counted, and their item's owner.
    counted_due: OrdMap<ItemId, (OrgId, OffsetDateTime)>,
    /// Per party: the liaisons seated, and since when (and since which event) the seat has been
    /// empty while active; whether that vacancy is counted yet.
    liaisons: BTreeMap<OrgId, BTreeSet<String>>,
    vacant_since: BTreeMap<OrgId, (OffsetDateTime, EventId, bool)>,
    vacancies_ended: u64,
    active: bool,
}

impl TrustFold {
    pub(crate) fn new(settings: &TrustSettings) -> Self {
        Self {
            settings: settings.clone(),
            parties: BTreeSet::new(),
            applied: 0,
            orgs: BTreeMap::new(),
            deliverables: OrdMap::new(),
            coming_due: OrdSet::new(),
            counted_due: OrdMap::new(),
            liaisons: BTreeMap::new(),
            vacant_since: BTreeMap::new(),
            vacancies_ended: 0,
            active: false,
        }
    }

    pub(crate) fn parties(&self) -> &BTreeSet<OrgId> {
        &self.parties
    }

    pub(crate) fn timeline(&self, org: &OrgId) -> Option<&Timeline> {
        self.orgs.get(org)
    }

    /// [`TrustFold::timeline`] of the org named `org`.
    pub(crate) fn timeline_of(&self, org: &str) -> Option<&Timeline> {
        self.orgs
            .iter()
            .find(|(o, _)| o.as_str() == org)
            .map(|(_, t)| t)
    }

    fn vacancy(&self) -> Duration {
        Duration::days(self.settings.liaison_vacancy_days)
    }

    fn push(
        &mut self,
        key: Key,
        org: &OrgId,
        rule: Rule,
        (positive, negative): (f64, f64),
        event_id: EventId,
    ) {
        let item = Item {
            rule,
            positive,
            negative,
            event_id,
            r: 0.0,
            s: 0.0,
        };
        self.orgs.entry(org.clone()).or_default().insert(key, item);
    }

    /// A vacancy that ended at `at`: counted if it lasted too long.
    fn end_vacancy(&mut self, org: &OrgId, at: OffsetDateTime) {
        let Some((since, id, counted)) = self.vacant_since.remove(org) else {
            return;
        };
        let due = since + self.vacancy();
        if counted && let Some(t) = self.orgs.get_mut(org) {
            t.remove(&(due, Tie::VacancyOpen));
        }
        if at - since > self.vacancy() {
            self.vacancies_ended += 1;
            let key = (due, Tie::VacancyEnded(self.vacancies_ended));
            self.push(key, org, Rule::T12, (0.0, 1.0), id);
        }
    }

    /// An open deliverable is no longer overdue where it was (completed, cancelled or moved).
    fn uncount_due(&mut self, id: &ItemId) {
        if let Some((owner, at)) = self.counted_due.remove(id)
            && let Some(t) = self.orgs.get_mut(&owner)
        {
            t.remove(&(at, Tie::PastDue(id.clone())));
        }
        if let Some(d) = self.deliverables.get(id) {
            self.coming_due.remove(&(overdue(d.due), id.clone()));
        }
    }

    /// A deliverable about to change (if it was committed): no longer counted overdue where it
    /// was.
    fn changing(&mut self, id: &ItemId) -> Option<&mut Deliverable> {
        self.uncount_due(id);
        self.deliverables.get_mut(id)
    }

    /// Applies one event in effect.
    pub(crate) fn apply(&mut self, e: &Event) {
        self.applied += 1;
        let n = self.applied;
        let at = e.occurred_at;
        let key = |k: u32| (at, Tie::Event(n, k));
        let settings = self.settings.clone();
        match &e.payload {
            Payload::PartnershipProposed(p) => {
                self.parties.extend(p.parties.iter().map(|p| p.org.clone()));
            }
            Payload::PartnershipStatusChanged(p) => match p.status {
                Status::Active | Status::Renewed if !self.active => {
                    self.active = true;
                    for org in &self.parties {
                        if self.liaisons.get(org).is_none_or(BTreeSet::is_empty) {
                            self.vacant_since
                                .entry(org.clone())
                                .or_insert((at, e.event_id, false));
                        }
                    }
                }
                Status::Paused | Status::Terminated if self.active => {
                    self.active = false;
                    let open: Vec<OrgId> = self.vacant_since.keys().cloned().collect();
                    for org in open {
                        self.end_vacancy(&org, at);
                    }
                }
                _ => {}
            },
            Payload::RoleAssigned(p) if p.role == RoleKind::Liaison => {
                self.liaisons
                    .entry(p.org.clone())
                    .or_default()
                    .insert(p.person.clone());
                self.end_vacancy(&p.org, at);
            }
            Payload::RoleUnassigned(p) if p.role == RoleKind::Liaison => {
                let seated = self.liaisons.entry(p.org.clone()).or_default();
                seated.remove(&p.person);
                if seated.is_empty() && self.active {
                    // A new vacancy replaces one still open (which is not counted twice).
                    let vacancy = self.vacancy();
                    if let Some((since, _, true)) = self.vacant_since.get(&p.org).cloned()
                        && let Some(t) = self.orgs.get_mut(&p.org)
                    {
                        t.remove(&(since + vacancy, Tie::VacancyOpen));
                    }
                    self.vacant_since
                        .insert(p.org.clone(), (at, e.event_id, false));
                }
            }
            Payload::DeliverableCommitted(p) => {
                self.uncount_due(&p.deliverable_id);
                self.deliverables.insert(
                    p.deliverable_id.clone(),
                    Deliverable {
                        owner: p.owner_org.clone(),
                        original_due: p.due_date,
                        due: p.due_date,
                        committed_by: e.event_id,
                        open: true,
                    },
                );
                self.coming_due
                    .insert((overdue(p.due_date), p.deliverable_id.clone()));
            }
            Payload::DeliverableDueDateChanged(p) => {
                if let Some(d) = self.changing(&p.deliverable_id) {
                    let notice = midnight(d.due) - at;
                    d.due = p.new_due;
                    let open = d.open;
                    let (rule, weight) =
                        if notice >= Duration::days(settings.due_change_notice_days) {
                            (Rule::T3, 0.25)
                        } else {
                            (Rule::T4, 0.75)
                        };
                    if open {
                        self.coming_due
                            .insert((overdue(p.new_due), p.deliverable_id.clone()));
                    }
                    self.push(key(0), &p.by_org, rule, (0.0, weight), e.event_id);
                }
            }
            Payload::DeliverableCompleted(p) => {
                if let Some(d) = self.changing(&p.deliverable_id) {
                    d.open = false;
                    let (owner, on_time) = (d.owner.clone(), at.date() <= d.original_due);
                    if on_time {
                        self.push(key(0), &owner, Rule::T1, (1.0, 0.0), e.event_id);
                    } else {
                        self.push(key(0), &owner, Rule::T2, (0.0, 1.0), e.event_id);
                    }
                }
            }
            Payload::DeliverableCancelled(p) => {
                if let Some(d) = self.changing(&p.deliverable_id) {
                    d.open = false;
                }
            }
            _ => {
                for (k, (org, rule, weights)) in (0..).zip(evidence_of(e, &settings)) {
                    self.push(key(k), org, rule, weights, e.event_id);
                }
            }
        }
    }

    /// Counts what has come due by `t` (items open past due, seats vacant too long) and brings
    /// every org's r and s up to date: the fold then stands at `t`.
    pub(crate) fn settle(&mut self, t: OffsetDateTime) {
        while let Some((at, id)) = self.coming_due.get_min().cloned()
            && at <= t
        {
            self.coming_due.remove_min();
            let Some(d) = self.deliverables.get(&id).filter(|d| d.open) else {
                continue;
            };
            let (owner, committed_by) = (d.owner.clone(), d.committed_by);
            self.counted_due.insert(id.clone(), (owner.clone(), at));
            self.push(
                (at, Tie::PastDue(id)),
                &owner,
                Rule::T2,
                (0.0, 1.0),
                committed_by,
            );
        }
        let vacancy = self.vacancy();
        let due: Vec<(OrgId, OffsetDateTime, EventId)> = self
            .vacant_since
            .iter_mut()
            .filter(|(_, (since, _, counted))| !*counted && t - *since > vacancy)
            .map(|(org, (since, id, counted))| {
                *counted = true;
                (org.clone(), *since, *id)
            })
            .collect();
        for (org, since, id) in due {
            self.push(
                (since + vacancy, Tie::VacancyOpen),
                &org,
                Rule::T12,
                (0.0, 1.0),
                id,
            );
        }
        for timeline in self.orgs.values_mut() {
            timeline.settle(&self.settings);
        }
    }

    /// An org's standing at `t`, once settled there.
    pub(crate) fn standing(&self, org: &OrgId, t: OffsetDateTime) -> Standing {
        self.orgs.get(org).map_or(
            Standing {
                r: 0.0,
                s: 0.0,
                score: score(0.0, 0.0),
            },
            |timeline| timeline.standing(t, &self.settings),
        )
    }
}
