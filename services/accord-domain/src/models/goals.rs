//! Read model D: goal attainment and coverage.
//!
//! `attainment = actual ÷ target`; actual is the sum of `indicator_recorded` values for the
//! goal's metric within its period (for `closed_deals` and `revenue`: the won `deal_closed` in
//! the period, counted or summed). Status: `not_agreed` until every party agreed, `achieved`
//! (≥ 1), `missed` (period over, < 1), `on_track` (≥ 0.9 × the elapsed fraction of the period),
//! `behind`; a dropped goal is `dropped`. Coverage: an agreed goal of each kind.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use imbl::Vector;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, Time};

use super::{Axes, goal_sums, known};
use crate::event::{Event, GoalKind, Metric, Payload};
use crate::ids::{EventId, ItemId, OrgId};
use crate::values::{Amount, Period};

/// Share of the elapsed period a goal must have reached to be `on_track`.
pub const ON_TRACK_FACTOR: f64 = 0.9;

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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum GoalStatus {
    NotAgreed,
    Achieved,
    OnTrack,
    Behind,
    Missed,
    Dropped,
}

/// One goal at `valid_at`, with the events that make its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GoalAttainment {
    pub goal_id: ItemId,
    pub kind: GoalKind,
    pub metric: Metric,
    pub target: Amount,
    pub period: Period,
    pub actual: Amount,
    pub attainment: f64,
    /// The part of the period gone by at `valid_at`, 0 to 1.
    pub elapsed: f64,
    pub status: GoalStatus,
    pub agreed_by: Vec<OrgId>,
    pub evidence: Vec<EventId>,
}

/// Whether agreed goals cover each kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coverage {
    pub qualitative: bool,
    pub marketing: bool,
    pub sales: bool,
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Goals {
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub as_of: OffsetDateTime,
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub valid_at: OffsetDateTime,
    pub goals: Vec<GoalAttainment>,
    pub coverage: Coverage,
}

#[derive(Clone)]
struct Goal {
    kind: GoalKind,
    metric: Metric,
    target: Amount,
    period: Period,
    agreed_by: BTreeSet<OrgId>,
    dropped: bool,
    evidence: Vec<EventId>,
}

/// A figure that counts toward goals: a metric, a value, when, and its event.
#[derive(Clone)]
struct Figure {
    metric: Metric,
    /// From a won deal (counts for `closed_deals` and `revenue` goals) or an indicator.
    from_deal: bool,
    value: Decimal,
    /// The period it covers (a deal covers the day it closed).
    period: Period,
    event_id: EventId,
}

fn contains(outer: &Period, inner: &Period) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Start of `start`'s day to the end of `end`'s day.
fn elapsed(period: &Period, as_of: OffsetDateTime) -> f64 {
    let start = period.start.with_time(Time::MIDNIGHT).assume_utc();
    let end = next_day(period.end);
    let total = (end - start).as_seconds_f64();
    ((as_of - start).as_seconds_f64() / total).clamp(0.0, 1.0)
}

fn next_day(d: Date) -> OffsetDateTime {
    d.with_time(Time::MIDNIGHT).assume_utc() + Duration::days(1)
}

/// Goal attainment at `axes` (see [`known`]).
pub fn goals(events: &[impl Borrow<Event>], axes: Axes) -> Goals {
    goals_of(&known(events, axes), axes)
}

/// Goal attainment of events already in effect (see [`known`]), evaluated at `axes.valid_at`.
pub(crate) fn goals_of(effective: &[Event], axes: Axes) -> Goals {
    GoalsFold::of(effective).at(axes, Evidence::Listed)
}

/// [`goals_of`] without the figures each goal counted in its evidence (its own events stay): the
/// statuses and coverage only, for the summary.
pub(crate) fn statuses_of<'e>(effective: impl IntoIterator<Item = &'e Event>, axes: Axes) -> Goals {
    GoalsFold::of(effective).at(axes, Evidence::Left)
}

/// Whether a goal's evidence lists the figures it counted.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Evidence {
    Listed,
    Left,
}

/// The parties, the goals and the figures, kept as the events in effect are applied.
#[derive(Clone, Default)]
pub(crate) struct GoalsFold {
    parties: BTreeSet<OrgId>,
    goals: BTreeMap<ItemId, Goal>,
    figures: Vector<Figure>,
}

impl GoalsFold {
    fn of<'e>(effective: impl IntoIterator<Item = &'e Event>) -> Self {
        let mut fold = Self::default();
        for e in effective {
            fold.apply(e);
        }
        fold
    }

    /// Applies the next event in effect.
    pub(crate) fn apply(&mut self, e: &Event) {
        match &e.payload {
            Payload::PartnershipProposed(p) => {
                self.parties.extend(p.parties.iter().map(|p| p.org.clone()));
            }
            Payload::GoalProposed(p) => {
                self.goals.insert(
                    p.goal_id.clone(),
                    Goal {
                        kind: p.kind,
                        metric: p.metric,
                        target: p.target,
                        period: p.period,
                        agreed_by: BTreeSet::new(),
                        dropped: false,
                        evidence: vec![e.event_id],
                    },
                );
            }
            Payload::GoalAgreed(p) => {
                if let Some(g) = self.goals.get_mut(&p.goal_id) {
                    g.agreed_by.insert(p.by_org.clone());
                    // The parts of one version 1 consent share its id: cite it once.
                    if g.evidence.last() != Some(&e.event_id) {
                        g.evidence.push(e.event_id);
                    }
                }
            }
            Payload::GoalRevised(p) => {
                if let Some(g) = self.goals.get_mut(&p.goal_id) {
                    g.target = p.new_target.unwrap_or(g.target);
                    g.period = p.new_period.unwrap_or(g.period);
                    g.evidence.push(e.event_id);
                }
            }
            Payload::GoalDropped(p) => {
                if let Some(g) = self.goals.get_mut(&p.goal_id) {
                    g.dropped = true;
                    g.evidence.push(e.event_id);
                }
            }
            Payload::IndicatorRecorded(p) => self.figures.push_back(Figure {
                metric: p.metric,
                from_deal: false,
                value: p.value.0,
                period: p.period,
                event_id: e.event_id,
            }),
            Payload::DealClosed(p) if p.won => {
                let day = e.occurred_at.date();
                let period = Period {
                    start: day,
                    end: day,
                };
                for (metric, value) in [
                    (Metric::ClosedDeals, Decimal::ONE),
                    (Metric::Revenue, p.amount.0),
                ] {
                    self.figures.push_back(Figure {
                        metric,
                        from_deal: true,
                        value,
                        period,
                        event_id: e.event_id,
                    });
                }
            }
            _ => {}
        }
    }

    /// Each goal's actual, in the order of `self.goals`, with the figures it counted when
    /// `evidence_of` lists them.
    fn actuals(&self, evidence_of: Evidence) -> Vec<(Decimal, Vec<EventId>)> {
        // Deal metrics count won deals; the others count recorded indicators.
        let key = |g: &Goal| {
            (
                g.metric,
                matches!(g.metric, Metric::ClosedDeals | Metric::Revenue),
            )
        };
        let mut by_key: BTreeMap<(Metric, bool), Vec<usize>> = BTreeMap::new();
        for (i, f) in self.figures.iter().enumerate() {
            by_key.entry((f.metric, f.from_deal)).or_default().push(i);
        }
        let goals: Vec<&Goal> = self.goals.values().collect();
        let mut out = vec![(Decimal::ZERO, Vec::new()); goals.len()];
        let mut goals_by_key: BTreeMap<(Metric, bool), Vec<usize>> = BTreeMap::new();
        for (i, g) in goals.iter().enumerate() {
            goals_by_key.entry(key(g)).or_default().push(i);
        }
        for (k, of_key) in goals_by_key {
            let figures: Vec<&Figure> = by_key
                .get(&k)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .map(|i| &self.figures[*i])
                .collect();
            // Without the figures listed, one sweep sums every goal of the key.
            let swept = (evidence_of == Evidence::Left)
                .then(|| {
                    let values: Vec<(Period, Decimal)> =
                        figures.iter().map(|f| (f.period, f.value)).collect();
                    let periods: Vec<Period> = of_key.iter().map(|g| goals[*g].period).collect();
                    goal_sums::sums(&values, &periods)
                })
                .flatten();
            if let Some(sums) = swept {
                for (g, sum) in of_key.into_iter().zip(sums) {
                    out[g].0 = sum;
                }
                continue;
            }
            // Else goal by goal, over the figures by the start of their period, so that each
            // goal reads only those starting within its own.
            let mut starts: Vec<(Date, usize)> = figures
                .iter()
                .enumerate()
                .map(|(i, f)| (f.period.start, i))
                .collect();
            starts.sort_unstable();
            for g in of_key {
                let period = &goals[g].period;
                let from = starts.partition_point(|(start, _)| *start < period.start);
                let to = starts.partition_point(|(start, _)| *start <= period.end);
                let mut counted: Vec<usize> = starts[from..to.max(from)]
                    .iter()
                    .map(|(_, i)| *i)
                    .filter(|i| contains(period, &figures[*i].period))
                    .collect();
                // In the order the figures were recorded (a sum that saturates depends on it).
                counted.sort_unstable();
                let (actual, listed) = &mut out[g];
                for f in counted.into_iter().map(|i| figures[i]) {
                    *actual = actual.saturating_add(f.value);
                    if evidence_of == Evidence::Listed {
                        listed.push(f.event_id);
                    }
                }
            }
        }
        out
    }

    /// Attainment and coverage at `axes.valid_at` (at or after every event applied).
    pub(crate) fn at(&self, axes: Axes, evidence_of: Evidence) -> Goals {
        let at = axes.valid_at;
        let attained: Vec<GoalAttainment> = self
            .goals
            .iter()
            .zip(self.actuals(evidence_of))
            .map(|((goal_id, g), (actual, counted))| {
                let mut evidence = g.evidence.clone();
                evidence.extend(counted);
                let attainment = Amount::ratio(actual, g.target.0).unwrap_or(0.0);
                let elapsed = elapsed(&g.period, at);
                let status = if g.dropped {
                    GoalStatus::Dropped
                } else if !self.parties.is_subset(&g.agreed_by) {
                    GoalStatus::NotAgreed
                } else if attainment >= 1.0 {
                    GoalStatus::Achieved
                } else if at >= next_day(g.period.end) {
                    GoalStatus::Missed
                } else if attainment >= ON_TRACK_FACTOR * elapsed {
                    GoalStatus::OnTrack
                } else {
                    GoalStatus::Behind
                };
                GoalAttainment {
                    goal_id: goal_id.clone(),
                    kind: g.kind,
                    metric: g.metric,
                    target: g.target,
                    period: g.period,
                    actual: Amount(actual),
                    attainment,
                    elapsed,
                    status,
                    agreed_by: g.agreed_by.iter().cloned().collect(),
                    evidence,
                }
            })
            .collect();
        let agreed = |kind: GoalKind| {
            attained.iter().any(|g| {
                g.kind == kind && !matches!(g.status, GoalStatus::NotAgreed | GoalStatus::Dropped)
            })
        };
        let (qualitative, marketing, sales) = (
            agreed(GoalKind::Qualitative),
            agreed(GoalKind::Marketing),
            agreed(GoalKind::Sales),
        );
        Goals {
            as_of: axes.as_of,
            valid_at: at,
            goals: attained,
            coverage: Coverage {
                qualitative,
                marketing,
                sales,
                complete: qualitative && marketing && sales,
            },
        }
    }
}
