//! R10's window: the events of the last 180 days *(setting)* that feed an effort indicator, and
//! per ordered pair of parties how many of them weigh on each side, kept as events come in and
//! age out.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use imbl::Vector;

use time::{Duration, OffsetDateTime};

use crate::event::{Event, Payload, RevenueReported};
use crate::ids::{EventId, OrgId};
use crate::models::asymmetry::{self, AsymmetrySettings, PairAsymmetry, Tally};

/// Per ordered pair of parties, `(weighs on A, of all)` of each indicator over the window (see
/// `asymmetry::weighs`; decision rights are not windowed and stay 0 here).
type Counts = BTreeMap<(OrgId, OrgId), [(u32, u32); 7]>;

/// Per ordered pair of parties and indicator, the events of the window that feed it, in order:
/// when, which, and whether it weighs on A.
type Feeds = BTreeMap<(OrgId, OrgId), [Vector<(OffsetDateTime, EventId, bool)>; 7]>;

#[derive(Clone, Default)]
pub(super) struct Window {
    events: Vector<Arc<Event>>,
    counts: Counts,
    feeds: Feeds,
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
            feed(&mut self.feeds, e);
            self.events.push_back(e.clone());
        }
    }

    /// Lets out what occurred at or before `since`.
    pub(super) fn slide(&mut self, since: OffsetDateTime) {
        while let Some(e) = self.events.front().filter(|e| e.occurred_at <= since) {
            count(&mut self.counts, e, -1);
            self.events.pop_front();
        }
        for feeds in self.feeds.values_mut().flat_map(|f| f.iter_mut()) {
            while feeds.front().is_some_and(|(at, _, _)| *at <= since) {
                feeds.pop_front();
            }
        }
    }

    /// Counts the window again for every ordered pair of `parties` (when a party joins).
    pub(super) fn recount(&mut self, parties: &BTreeSet<OrgId>) {
        self.counts = Counts::new();
        self.feeds = Feeds::new();
        for a in parties {
            for b in parties.iter().filter(|b| *b != a) {
                self.counts.insert((a.clone(), b.clone()), [(0, 0); 7]);
                self.feeds
                    .insert((a.clone(), b.clone()), Default::default());
            }
        }
        for e in &self.events {
            count(&mut self.counts, e, 1);
            feed(&mut self.feeds, e);
        }
    }

    /// Every ordered pair, from the counts (without the events behind them).
    pub(super) fn counted_pairs(
        &self,
        latest: Latest<'_>,
        settings: &AsymmetrySettings,
    ) -> Vec<PairAsymmetry> {
        let revenue = |o: &OrgId| latest.report(o);
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

    /// Every ordered pair of the parties at `t` (at or after the last slide), with the events
    /// behind each share: what `asymmetry::pairs` gives over the same events, from the feeds.
    pub(super) fn pairs(
        &self,
        latest: Latest<'_>,
        t: OffsetDateTime,
        settings: &AsymmetrySettings,
    ) -> Vec<PairAsymmetry> {
        let since = t - Duration::days(settings.window_days);
        self.feeds
            .iter()
            .map(|((a, b), feeds)| {
                let mut tallies: [Tally; 7] = feeds.each_ref().map(|feed| {
                    let mut tally = Tally::default();
                    for (_, id, on_a) in feed.iter().filter(|(at, _, _)| *at > since && *at <= t) {
                        tally.add(*on_a, *id);
                    }
                    tally
                });
                if let Some(g) = latest.governance {
                    tallies[5] = asymmetry::decision_rights(g, a, b);
                }
                asymmetry::pair_of(
                    a,
                    b,
                    tallies,
                    [latest.report(a), latest.report(b)],
                    settings,
                )
            })
            .collect()
    }
}

impl Latest<'_> {
    /// An org's latest revenue report, and its event.
    fn report(&self, org: &OrgId) -> Option<(&RevenueReported, EventId)> {
        let e = self.revenue.get(org)?;
        match &e.payload {
            Payload::RevenueReported(r) => Some((r, e.event_id)),
            _ => None,
        }
    }
}

/// Adds an event of the window to the feeds of the pairs it weighs in.
fn feed(feeds: &mut Feeds, e: &Event) {
    for ((a, b), feeds) in feeds.iter_mut() {
        if let Some((i, on_a)) = asymmetry::weighs(e, a, b) {
            feeds[i].push_back((e.occurred_at, e.event_id, on_a));
        }
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
