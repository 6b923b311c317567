//! Read model A: the trust timeline, per org (how trustworthy X has shown itself to the others).
//!
//! A beta-reputation score from positive (r) and negative (s) evidence about X, each piece
//! decaying with a half-life: weight × 2^(−(as_of − t)/H). `T = (r + 1) / (r + s + 2)`. Every
//! trust-relevant event is a point of the timeline, with the rule that applied and the score
//! before and after it. A pure function of (events, as_of, settings).

use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use time::OffsetDateTime;

use super::flag_rules::Standing;
use super::trust_fold::{Timeline, TrustFold, decay, score};
use super::{Axes, Lists, known};
use crate::event::Event;
use crate::ids::{EventId, OrgId};

/// The thresholds of the trust model *(settings)*.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TrustRule))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Band {
    Healthy,
    Watch,
    AtRisk,
    InsufficientEvidence,
}

/// A point of the timeline: one trust-relevant event and how it moved the score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustPoint {
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
    pub event_id: EventId,
    pub rule_id: Rule,
    pub score_before: f64,
    pub score_after: f64,
    pub delta: f64,
}

/// An org's trust at `valid_at` and the points that made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrgTrust {
    pub org: OrgId,
    /// Decayed positive and negative evidence at `valid_at`.
    pub r: f64,
    pub s: f64,
    pub score: f64,
    pub band: Band,
    /// In timeline order: every point, or the last ones of a capped answer
    /// ([`super::Lists`]).
    pub points: Vec<TrustPoint>,
    /// How many points there are in all.
    pub points_total: usize,
}

/// The trust timeline of a partnership, one entry per party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TrustTimeline {
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub as_of: OffsetDateTime,
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub valid_at: OffsetDateTime,
    pub orgs: Vec<OrgTrust>,
}

/// The timeline at `axes` (see [`known`]).
pub fn trust(events: &[impl Borrow<Event>], axes: Axes, settings: &TrustSettings) -> TrustTimeline {
    trust_of(&known(events, axes), axes, settings)
}

/// The timeline of events already in effect (see [`known`]), evaluated at `axes.valid_at`.
pub(crate) fn trust_of(effective: &[Event], axes: Axes, settings: &TrustSettings) -> TrustTimeline {
    timeline_at(fold_of(effective, settings), axes, settings, Lists::All)
}

/// The trust evidence of events already in effect.
pub(crate) fn fold_of<'e>(
    effective: impl IntoIterator<Item = &'e Event>,
    settings: &TrustSettings,
) -> TrustFold {
    let mut fold = TrustFold::new(settings);
    for e in effective {
        fold.apply(e);
    }
    fold
}

/// The timeline of the evidence `fold` holds (of events that occurred by `axes.valid_at`),
/// evaluated at `axes.valid_at`, with `lists` of each org's points.
pub(crate) fn timeline_at(
    mut fold: TrustFold,
    axes: Axes,
    settings: &TrustSettings,
    lists: Lists,
) -> TrustTimeline {
    let at = axes.valid_at;
    fold.settle(at);
    let orgs = fold
        .parties()
        .iter()
        .map(|org| {
            let timeline = fold.timeline(org);
            let total = timeline.map_or(0, Timeline::len);
            // A point's score before it is the one after the point before, decayed: a capped
            // list starts one item early.
            let skip = lists.skip(total);
            let mut last: Option<(OffsetDateTime, f64, f64)> = None;
            let mut points = Vec::with_capacity(total - skip + 1);
            let items =
                timeline.map_or_else(Vec::new, |t| t.last_items(total - skip.saturating_sub(1)));
            for (t, item) in items {
                let before = last.map_or(score(0.0, 0.0), |(l, r, s)| {
                    let decay = decay(l, t, settings);
                    score(r * decay, s * decay)
                });
                let after = score(item.r, item.s);
                last = Some((t, item.r, item.s));
                points.push(TrustPoint {
                    at: t,
                    event_id: item.event_id,
                    rule_id: item.rule,
                    score_before: before,
                    score_after: after,
                    delta: after - before,
                });
            }
            points.drain(..points.len() - (total - skip));
            let Standing { r, s, score } = fold.standing(org, at);
            OrgTrust {
                band: band(r, s, score, settings),
                org: org.clone(),
                r,
                s,
                score,
                points,
                points_total: total,
            }
        })
        .collect();
    TrustTimeline {
        as_of: axes.as_of,
        valid_at: at,
        orgs,
    }
}

pub(crate) fn band(r: f64, s: f64, score: f64, settings: &TrustSettings) -> Band {
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
