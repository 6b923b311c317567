//! R10's window: the events of the last 180 days *(setting)* that feed an effort indicator, and
//! per ordered pair of parties how many of them weigh on each side, kept as events come in and
//! age out.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use imbl::Vector;

use time::OffsetDateTime;

use crate::event::{Event, Payload};
use crate::ids::OrgId;
use crate::models::asymmetry::{self, AsymmetrySettings, PairAsymmetry, Tally};

/// Per ordered pair of parties, `(weighs on A, of all)` of each indicator over the window (see
/// `asymmetry::weighs`; decision rights are not windowed and stay 0 here).
type Counts = BTreeMap<(OrgId, OrgId), [(u32, u32); 7]>;

#[derive(Clone, Default)]
pub(super) struct Window {
    events: Vector<Arc<Event>>,
    counts: Counts,
}

/// What the asymmetry model reads beside the window: the latest governance definition, and
/// each org's latest revenue report.
pub(super) struct Latest<'f> {
    pub(super) governance: Option<&'f Event>,
    pub(super) revenue: &'f BTreeMap<OrgId, Arc<Event>>,
}

impl Window {
    /// An event applied: in the window if it feeds an effort indicator.
    pub(super) fn push(&mut self, e: &Arc<Event>) {
        if asymmetry::windowed(e) {
            count(&mut self.counts, e, 1);
            self.events.push_back(e.clone());
        }
    }

    /// Lets out what occurred at or before `since`.
    pub(super) fn slide(&mut self, since: OffsetDateTime) {
        while let Some(e) = self.events.front().filter(|e| e.occurred_at <= since) {
            count(&mut self.counts, e, -1);
            self.events.pop_front();
        }
    }

    /// Counts the window again for every ordered pair of `parties` (when a party joins).
    pub(super) fn recount(&mut self, parties: &BTreeSet<OrgId>) {
        self.counts = Counts::new();
        for a in parties {
            for b in parties.iter().filter(|b| *b != a) {
                self.counts.insert((a.clone(), b.clone()), [(0, 0); 7]);
            }
        }
        for e in &self.events {
            count(&mut self.counts, e, 1);
        }
    }

    /// Every ordered pair, from the counts (without the events behind them).
    pub(super) fn counted_pairs(
        &self,
        latest: Latest<'_>,
        settings: &AsymmetrySettings,
    ) -> Vec<PairAsymmetry> {
        let revenue = |o: &OrgId| {
            let e = latest.revenue.get(o)?;
            match &e.payload {
                Payload::RevenueReported(r) => Some((r, e.event_id)),
                _ => None,
            }
        };
        self.counts
            .iter()
            .map(|((a, b), counts)| {
                let mut tallies = counts.map(|(count, of)| Tally::counted(count, of));
                if let Some(g) = latest.governance {
                    tallies[5] = asymmetry::decision_rights(g, a, b);
                }
                asymmetry::pair_of(a, b, tallies, [revenue(a), revenue(b)], settings)
            })
            .collect()
    }

    /// Every ordered pair of `parties` at `t`, with the events behind each share.
    pub(super) fn pairs(
        &self,
        latest: Latest<'_>,
        parties: &BTreeSet<OrgId>,
        t: OffsetDateTime,
        settings: &AsymmetrySettings,
    ) -> Vec<PairAsymmetry> {
        let events = latest
            .governance
            .into_iter()
            .chain(latest.revenue.values().map(|e| &**e))
            .chain(self.events.iter().map(|e| &**e));
        asymmetry::pairs(events, parties, t, settings)
    }
}

/// Adds (`by` 1) or takes away (-1) an event of the window in every pair's counts.
fn count(counts: &mut Counts, e: &Event, by: i32) {
    for ((a, b), counts) in counts.iter_mut() {
        if let Some((i, on_a)) = asymmetry::weighs(e, a, b) {
            let (count, of) = &mut counts[i];
            *of = of.saturating_add_signed(by);
            if on_a {
                *count = count.saturating_add_signed(by);
            }
        }
    }
}
