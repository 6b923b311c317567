//! The summary of a partnership in one answer: each org's trust band, the balance index of each
//! pair, the open red flags and goal coverage, all at the same axes. Each part
//! is read from its own model, so the summary never disagrees with them.

use std::borrow::Borrow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::asymmetry::{PairAsymmetry, asymmetry_over};
use super::flag_rules::Standing;
use super::flags::{Flag, open_at};
use super::goals::{Coverage, GoalStatus, Goals, statuses_of};
use super::trust::{Band, TrustSettings, TrustTimeline, band, fold_of};
use super::trust_fold::TrustFold;
use super::{Axes, ModelSettings, known};
use crate::event::{Event, Payload, Status};
use crate::ids::OrgId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustBand {
    pub org: OrgId,
    pub score: f64,
    pub band: Band,
}

/// The balance of one pair of parties (listed once, `a` before `b`); the lean is `a`'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Balance {
    pub a: OrgId,
    pub b: OrgId,
    pub balance_index: Option<f64>,
    pub lean: Option<f64>,
}

/// How many goals stand at each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GoalCounts {
    pub not_agreed: u32,
    pub achieved: u32,
    pub on_track: u32,
    pub behind: u32,
    pub missed: u32,
    pub dropped: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Summary {
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub as_of: OffsetDateTime,
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub valid_at: OffsetDateTime,
    /// The latest status change, or `None` while the partnership is only proposed.
    pub status: Option<Status>,
    pub trust: Vec<TrustBand>,
    pub balance: Vec<Balance>,
    pub open_flags: Vec<Flag>,
    pub goal_coverage: Coverage,
    pub goals: GoalCounts,
}

/// The summary at `axes` (see [`known`]): one evaluation of each part at `valid_at`, the red flags
/// without their history.
pub fn summary(events: &[impl Borrow<Event>], axes: Axes, settings: &ModelSettings) -> Summary {
    // Each part reads the same events in effect, made once (and shared, not copied).
    let effective: Vec<Arc<Event>> = known(events, axes).into_iter().map(Arc::new).collect();
    let each = || effective.iter().map(|e| &**e);
    // The latest in business time (of equals, the latest recorded).
    let status = effective.iter().rev().find_map(|e| match &e.payload {
        Payload::PartnershipStatusChanged(s) => Some(s.status),
        _ => None,
    });
    let goals = statuses_of(each(), axes);
    Summary {
        as_of: axes.as_of,
        valid_at: axes.valid_at,
        status,
        trust: bands(fold_of(each(), &settings.trust), axes, &settings.trust),
        balance: balance_of(&asymmetry_over(each(), axes, &settings.asymmetry).pairs),
        open_flags: open_at(effective.iter().cloned(), axes.valid_at, settings),
        goal_coverage: goals.coverage,
        goals: GoalCounts::of(&goals),
    }
}

/// Each party's trust score and band at `axes.valid_at`, from the evidence of `fold` (of events
/// occurred by then): the trust timeline's, without its points.
pub(crate) fn bands(mut fold: TrustFold, axes: Axes, settings: &TrustSettings) -> Vec<TrustBand> {
    fold.settle(axes.valid_at);
    fold.parties()
        .iter()
        .map(|org| {
            let Standing { r, s, score } = fold.standing(org, axes.valid_at);
            TrustBand {
                org: org.clone(),
                score,
                band: band(r, s, score, settings),
            }
        })
        .collect()
}

/// Each party's trust score and band, as its trust timeline has them.
pub(crate) fn bands_of(timeline: &TrustTimeline) -> Vec<TrustBand> {
    timeline
        .orgs
        .iter()
        .map(|o| TrustBand {
            org: o.org.clone(),
            score: o.score,
            band: o.band,
        })
        .collect()
}

/// The balance of each pair of parties, listed once (`a` before `b`), from every ordered pair
/// (their evidence need not be listed).
pub(crate) fn balance_of(pairs: &[PairAsymmetry]) -> Vec<Balance> {
    pairs
        .iter()
        .filter(|p| p.a < p.b)
        .map(|p| Balance {
            a: p.a.clone(),
            b: p.b.clone(),
            balance_index: p.balance_index,
            lean: p.lean,
        })
        .collect()
}

impl GoalCounts {
    /// How many of `goals` stand at each status.
    pub(crate) fn of(goals: &Goals) -> Self {
        let mut counts = Self::default();
        for g in &goals.goals {
            *match g.status {
                GoalStatus::NotAgreed => &mut counts.not_agreed,
                GoalStatus::Achieved => &mut counts.achieved,
                GoalStatus::OnTrack => &mut counts.on_track,
                GoalStatus::Behind => &mut counts.behind,
                GoalStatus::Missed => &mut counts.missed,
                GoalStatus::Dropped => &mut counts.dropped,
            } += 1;
        }
        counts
    }
}
