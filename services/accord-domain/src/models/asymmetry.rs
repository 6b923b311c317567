//! Read model C: power-asymmetry indicators, for each ordered pair of parties (A, B).
//!
//! Each share is the part of the effort or concession borne by A over a rolling window; 0.5 is
//! balanced. A share over fewer than `min_events` events is insufficient and left out of the
//! lean `L = mean(share − 0.5)` and the balance index `BI = 1 − mean(2·|share − 0.5|)`, which
//! use the six effort shares (vocabulary is reported on its own). Economic dependence comes from
//! each org's latest `revenue_reported`.

use std::borrow::Borrow;
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::{Axes, known};
use crate::event::{CommunicationClass, Event, Payload, RevenueReported};
use crate::ids::{EventId, OrgId};
use crate::values::Amount;

/// The thresholds of the asymmetry model *(settings)*.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct AsymmetrySettings {
    pub window_days: i64,
    pub min_events: u32,
}

impl Default for AsymmetrySettings {
    fn default() -> Self {
        Self {
            window_days: 180,
            min_events: 3,
        }
    }
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
pub enum Indicator {
    Initiation,
    Chasing,
    CancelledOn,
    Travel,
    Burden,
    DecisionRights,
    Vocabulary,
}

/// One indicator for A: `count` of `of` events weigh on A.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Share {
    pub indicator: Indicator,
    pub count: u32,
    pub of: u32,
    /// `count / of`, when there is at least one event.
    pub share: Option<f64>,
    pub sufficient: bool,
    pub evidence: Vec<EventId>,
}

/// Economic dependence between A and B, from their latest revenue reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Economic {
    /// Revenue A earns via B ÷ A's total revenue.
    pub d_a: Option<f64>,
    pub d_b: Option<f64>,
    /// `D_A − D_B`, `D_A + D_B`, and their ratio.
    pub da: Option<f64>,
    pub jd: Option<f64>,
    pub da_over_jd: Option<f64>,
    /// How much of A's revenue comes through partners at all: Σ partner revenue ÷ A's total.
    pub partner_revenue_share_a: Option<f64>,
    /// Concentration of A's partner revenue: Σ share².
    pub hhi_a: Option<f64>,
    pub evidence: Vec<EventId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairAsymmetry {
    pub a: OrgId,
    pub b: OrgId,
    /// The six effort shares, then vocabulary.
    pub shares: Vec<Share>,
    /// Positive: A is the weaker side. `None` when no effort share is sufficient.
    pub lean: Option<f64>,
    pub balance_index: Option<f64>,
    pub economic: Economic,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Asymmetry {
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub as_of: OffsetDateTime,
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub valid_at: OffsetDateTime,
    pub pairs: Vec<PairAsymmetry>,
}

/// Counts `(weighs on A, of all)` over events that concern A or B.
/// Counts `(weighs on A, of all)` over events that concern A or B, and those events.
#[derive(Default)]
pub(crate) struct Tally {
    count: u32,
    of: u32,
    evidence: Vec<EventId>,
}

impl Tally {
    /// `count` of `of`, without their events.
    pub(crate) fn counted(count: u32, of: u32) -> Self {
        Self {
            count,
            of,
            evidence: Vec::new(),
        }
    }

    pub(crate) fn add(&mut self, on_a: bool, id: EventId) {
        self.of += 1;
        if on_a {
            self.count += 1;
        }
        self.evidence.push(id);
    }

    fn share(self, indicator: Indicator, settings: &AsymmetrySettings) -> Share {
        Share {
            indicator,
            count: self.count,
            of: self.of,
            share: (self.of > 0).then(|| f64::from(self.count) / f64::from(self.of)),
            sufficient: self.of >= settings.min_events,
            evidence: self.evidence,
        }
    }
}

/// The indicators in the order a pair lists their shares.
pub(crate) const INDICATORS: [Indicator; 7] = [
    Indicator::Initiation,
    Indicator::Chasing,
    Indicator::CancelledOn,
    Indicator::Travel,
    Indicator::Burden,
    Indicator::DecisionRights,
    Indicator::Vocabulary,
];

/// Power-asymmetry indicators at `axes` (see [`known`]).
pub fn asymmetry(
    events: &[impl Borrow<Event>],
    axes: Axes,
    settings: &AsymmetrySettings,
) -> Asymmetry {
    asymmetry_of(&known(events, axes), axes, settings)
}

/// The indicators of events already in effect (see [`known`]), evaluated at `axes.valid_at`.
pub fn asymmetry_of(effective: &[Event], axes: Axes, settings: &AsymmetrySettings) -> Asymmetry {
    asymmetry_over(effective.iter(), axes, settings)
}

/// [`asymmetry_of`] the events in effect that `effective` goes over.
pub fn asymmetry_over<'e>(
    effective: impl Iterator<Item = &'e Event> + Clone,
    axes: Axes,
    settings: &AsymmetrySettings,
) -> Asymmetry {
    let parties: BTreeSet<OrgId> = effective
        .clone()
        .filter_map(|e| match &e.payload {
            Payload::PartnershipProposed(p) => Some(p.parties.iter().map(|p| p.org.clone())),
            _ => None,
        })
        .flatten()
        .collect();
    Asymmetry {
        as_of: axes.as_of,
        valid_at: axes.valid_at,
        pairs: pairs(effective, &parties, axes.valid_at, settings),
    }
}

/// Every ordered pair of `parties` at `t`, from `events` in order: those in the window at `t`,
/// and the governance definitions and revenue reports (of which the latest count).
pub(crate) fn pairs<'e>(
    events: impl Iterator<Item = &'e Event> + Clone,
    parties: &BTreeSet<OrgId>,
    t: OffsetDateTime,
    settings: &AsymmetrySettings,
) -> Vec<PairAsymmetry> {
    let mut pairs = Vec::new();
    for a in parties {
        for b in parties.iter().filter(|b| *b != a) {
            pairs.push(pair(events.clone(), a, b, t, settings));
        }
    }
    pairs
}

/// Whether an event feeds a windowed indicator (as [`pairs`] reads it).
pub(crate) fn windowed(e: &Event) -> bool {
    matches!(
        &e.payload,
        Payload::MeetingRequested(_)
            | Payload::FollowUpProposed(_)
            | Payload::MeetingCancelled(_)
            | Payload::DeliverableCommitted(_)
            | Payload::CommunicationTagged(_)
    ) || matches!(&e.payload, Payload::MeetingHeld(m) if m.in_person)
}

/// The windowed indicator (by its place in [`INDICATORS`]) an event feeds for the pair (A, B),
/// and whether it weighs on A.
pub(crate) fn weighs(e: &Event, a: &OrgId, b: &OrgId) -> Option<(usize, bool)> {
    let either = |o: &OrgId| o == a || o == b;
    match &e.payload {
        Payload::MeetingRequested(m) if either(&m.requested_by_org) => {
            Some((0, &m.requested_by_org == a))
        }
        Payload::FollowUpProposed(f) if either(&f.by_org) => Some((1, &f.by_org == a)),
        Payload::MeetingCancelled(c) if either(&c.by_org) => Some((2, &c.by_org == b)),
        Payload::MeetingHeld(m) if m.in_person => m
            .location_org
            .as_ref()
            .filter(|o| either(o))
            .map(|at| (3, at == b)),
        Payload::DeliverableCommitted(d) if either(&d.owner_org) => Some((4, &d.owner_org == a)),
        Payload::CommunicationTagged(c) if &c.org == a => {
            Some((6, c.class == CommunicationClass::UsThem))
        }
        _ => None,
    }
}

/// The decision rights of a governance definition, for the pair (A, B): topics decided by B.
pub(crate) fn decision_rights(g: &Event, a: &OrgId, b: &OrgId) -> Tally {
    let mut tally = Tally::default();
    if let Payload::GovernanceDefined(d) = &g.payload {
        for right in d
            .decision_rights
            .iter()
            .filter(|r| &r.org == a || &r.org == b)
        {
            tally.add(&right.org == b, g.event_id);
        }
    }
    tally
}

fn pair<'e>(
    events: impl Iterator<Item = &'e Event>,
    a: &OrgId,
    b: &OrgId,
    as_of: OffsetDateTime,
    settings: &AsymmetrySettings,
) -> PairAsymmetry {
    let since = as_of - Duration::days(settings.window_days);
    let in_window = |e: &Event| e.occurred_at > since && e.occurred_at <= as_of;
    let mut tallies: [Tally; 7] = Default::default();
    let mut latest_revenue: [Option<(&RevenueReported, EventId)>; 2] = [None, None];
    for e in events {
        match &e.payload {
            // Governance and revenue are not windowed: the latest definition and report hold.
            Payload::GovernanceDefined(_) => tallies[5] = decision_rights(e, a, b),
            Payload::RevenueReported(r) if &r.org == a => latest_revenue[0] = Some((r, e.event_id)),
            Payload::RevenueReported(r) if &r.org == b => latest_revenue[1] = Some((r, e.event_id)),
            _ if !in_window(e) => {}
            _ => {
                if let Some((i, on_a)) = weighs(e, a, b) {
                    tallies[i].add(on_a, e.event_id);
                }
            }
        }
    }
    pair_of(a, b, tallies, latest_revenue, settings)
}

/// A pair's shares from its tallies (in the order of [`INDICATORS`]), its lean and balance
/// index, and its economic dependence from the latest revenue reports of A and B.
pub(crate) fn pair_of(
    a: &OrgId,
    b: &OrgId,
    tallies: [Tally; 7],
    latest_revenue: [Option<(&RevenueReported, EventId)>; 2],
    settings: &AsymmetrySettings,
) -> PairAsymmetry {
    let shares: Vec<Share> = INDICATORS
        .into_iter()
        .zip(tallies)
        .map(|(indicator, tally)| tally.share(indicator, settings))
        .collect();
    let effort: Vec<f64> = shares
        .iter()
        .filter(|s| s.indicator != Indicator::Vocabulary && s.sufficient)
        .filter_map(|s| s.share)
        .collect();
    let mean = |f: &dyn Fn(f64) -> f64| {
        (!effort.is_empty())
            .then(|| effort.iter().map(|s| f(*s)).sum::<f64>() / effort.len() as f64)
    };
    let lean = mean(&|s| s - 0.5);
    let balance_index = mean(&|s| 2.0 * (s - 0.5).abs()).map(|m| 1.0 - m);
    PairAsymmetry {
        a: a.clone(),
        b: b.clone(),
        shares,
        lean,
        balance_index,
        economic: economic(a, b, latest_revenue),
    }
}

/// What an org's revenue report says of its dependence on some of its partners.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Dependence {
    /// What it earns via those partners ÷ its total revenue (`D`).
    pub(crate) through: Option<f64>,
    /// What it earns via all its partners ÷ its total revenue.
    pub(crate) partner_share: Option<f64>,
    /// How concentrated its partner revenue is: Σ share² over its partners (`HHI`).
    pub(crate) hhi: Option<f64>,
}

/// The dependence `report` shows on the partners of `via`.
pub(crate) fn dependence(report: &RevenueReported, via: &[OrgId]) -> Dependence {
    let through = Amount::total(
        report
            .by_partner
            .iter()
            .filter(|p| via.contains(&p.partner_org))
            .map(|p| p.amount.0),
    );
    let partner_total = Amount::total(report.by_partner.iter().map(|p| p.amount.0));
    let hhi = (!partner_total.is_zero()).then(|| {
        report
            .by_partner
            .iter()
            .filter_map(|p| Amount::ratio(p.amount.0, partner_total))
            .map(|s| s * s)
            .sum()
    });
    Dependence {
        through: Amount::ratio(through, report.total.0),
        partner_share: Amount::ratio(partner_total, report.total.0),
        hhi,
    }
}

fn economic(a: &OrgId, b: &OrgId, latest: [Option<(&RevenueReported, EventId)>; 2]) -> Economic {
    let of_a = latest[0].map(|(r, _)| dependence(r, std::slice::from_ref(b)));
    let d_b = latest[1].and_then(|(r, _)| dependence(r, std::slice::from_ref(a)).through);
    let d_a = of_a.and_then(|d| d.through);
    let (da, jd) = match (d_a, d_b) {
        (Some(x), Some(y)) => (Some(x - y), Some(x + y)),
        _ => (None, None),
    };
    Economic {
        d_a,
        d_b,
        da,
        jd,
        da_over_jd: da.zip(jd).and_then(|(da, jd)| (jd > 0.0).then(|| da / jd)),
        partner_revenue_share_a: of_a.and_then(|d| d.partner_share),
        hhi_a: of_a.and_then(|d| d.hhi),
        evidence: latest.iter().flatten().map(|(_, id)| *id).collect(),
    }
}
