//! A partnership's read models kept at its head: the fold state of every model over the events in
//! effect, updated as commits come in, so that a question at the head costs what answering it
//! costs, not a fold of the whole history.
//!
//! - An event that occurred no earlier than every event in effect is pushed onto the state:
//!   the cost is that of the event.
//! - A backfilled event (one that occurred before the last), a retraction or a correction
//!   changes the events in effect from some place in business-time order on. The state is
//!   folded again from the last checkpoint at or before that place: one is kept every
//!   `checkpoint_every` events in effect. The state's growing parts are persistent collections
//!   (`imbl`), so a checkpoint, or the copy an answer works on, shares what did not change.
//! - [`Kept::answer`] answers at axes at or after the head (every event recorded by `as_of`,
//!   every event occurred by `valid_at`); other axes are a fold of their own ([`super::evaluate`]).
//!
//! The answers are exactly those of [`super::evaluate`] over the same events (the property test
//! `kept_tests` holds them to it).

use std::collections::HashMap;
use std::sync::Arc;

use time::OffsetDateTime;

use super::flags::{FlagTimeline, open_of};
use super::goals::{Evidence, GoalsFold};
use super::summary::{GoalCounts, Summary, balance_of, bands, bands_of};
use super::throughput::ThroughputFold;
use super::trust::{TrustTimeline, timeline_at};
use super::{Axes, Lists, Model, ModelSettings, ReadModel, known};
use crate::event::{Event, Payload, Status};
use crate::ids::EventId;

/// Every model's fold state over the events in effect pushed, in business-time order.
#[derive(Clone)]
struct Fold {
    flags: FlagTimeline,
    throughput: ThroughputFold,
    goals: GoalsFold,
    /// The latest status change's.
    status: Option<Status>,
}

impl Fold {
    fn new(settings: &ModelSettings) -> Self {
        Self {
            flags: FlagTimeline::new(settings),
            throughput: ThroughputFold::default(),
            goals: GoalsFold::default(),
            status: None,
        }
    }

    fn push(&mut self, e: &Arc<Event>) {
        if let Payload::PartnershipStatusChanged(s) = &e.payload {
            self.status = Some(s.status);
        }
        self.throughput.apply(e);
        self.goals.apply(e);
        self.flags.push(e.clone());
    }

    /// `model` at `axes`, at or after every event pushed, with `lists` of the lists that grow.
    fn answer(
        &self,
        model: Model,
        axes: Axes,
        settings: &ModelSettings,
        lists: Lists,
    ) -> ReadModel {
        match model {
            Model::Trust => ReadModel::Trust(self.trust(axes, settings, lists)),
            Model::Throughput => {
                ReadModel::Throughput(self.throughput.at(axes, &settings.throughput))
            }
            Model::Asymmetry => ReadModel::Asymmetry(self.flags.fold().asymmetry(axes)),
            Model::Goals => ReadModel::Goals(self.goals.at(axes, Evidence::Listed)),
            Model::Flags => ReadModel::Flags(self.flags.clone().at(axes, lists)),
            Model::Summary => {
                let mut fold = self.flags.fold().clone();
                let open_flags = open_of(&mut fold, axes.valid_at);
                let goals = self.goals.at(axes, Evidence::Left);
                ReadModel::Summary(Summary {
                    as_of: axes.as_of,
                    valid_at: axes.valid_at,
                    status: self.status,
                    trust: bands(fold.trust().clone(), axes, &settings.trust),
                    // The fold now stands at `valid_at`: its counts are the window's then.
                    balance: balance_of(&fold.balance()),
                    open_flags,
                    goal_coverage: goals.coverage,
                    goals: GoalCounts::of(&goals),
                })
            }
        }
    }

    /// Every model at `axes` (in the order of [`Model::ALL`]), each part evaluated once: the
    /// summary is read from the others' answers.
    fn answer_all(&self, axes: Axes, settings: &ModelSettings, lists: Lists) -> Vec<ReadModel> {
        let trust = self.trust(axes, settings, lists);
        let asymmetry = self.flags.fold().asymmetry(axes);
        let goals = self.goals.at(axes, Evidence::Listed);
        let flags = self.flags.clone().at(axes, lists);
        let summary = Summary {
            as_of: axes.as_of,
            valid_at: axes.valid_at,
            status: self.status,
            trust: bands_of(&trust),
            balance: balance_of(&asymmetry.pairs),
            open_flags: flags.open.clone(),
            goal_coverage: goals.coverage,
            goals: GoalCounts::of(&goals),
        };
        vec![
            ReadModel::Trust(trust),
            ReadModel::Throughput(self.throughput.at(axes, &settings.throughput)),
            ReadModel::Asymmetry(asymmetry),
            ReadModel::Goals(goals),
            ReadModel::Flags(flags),
            ReadModel::Summary(summary),
        ]
    }

    fn trust(&self, axes: Axes, settings: &ModelSettings, lists: Lists) -> TrustTimeline {
        timeline_at(
            self.flags.fold().trust().clone(),
            axes,
            &settings.trust,
            lists,
        )
    }
}

/// One partnership's read models kept at its head (see the module).
pub struct Kept {
    settings: ModelSettings,
    checkpoint_every: usize,
    /// Every event recorded, in log order (the events in effect share them).
    log: Vec<Arc<Event>>,
    /// The latest `recorded_at` and `occurred_at` in the log (a correction's replacement
    /// included).
    recorded: Option<OffsetDateTime>,
    occurred: Option<OffsetDateTime>,
    /// The events in effect at the head, in business-time order (of equal times, log order).
    effective: Vec<Arc<Event>>,
    /// The fold of the first `folded` events of `effective` (all of them between two calls).
    fold: Fold,
    folded: usize,
    /// `(n, fold of the first n events of effective)`, for n = every multiple of
    /// `checkpoint_every` up to the length of `effective`.
    checkpoints: Vec<(usize, Fold)>,
}

impl Kept {
    /// An empty state; `checkpoint_every` (at least 1) is how many events in effect lie between
    /// two checkpoints.
    pub fn new(settings: &ModelSettings, checkpoint_every: usize) -> Self {
        Self {
            settings: settings.clone(),
            checkpoint_every: checkpoint_every.max(1),
            log: Vec::new(),
            recorded: None,
            occurred: None,
            effective: Vec::new(),
            fold: Fold::new(settings),
            folded: 0,
            checkpoints: Vec::new(),
        }
    }

    /// The settings the models are evaluated with.
    pub fn settings(&self) -> &ModelSettings {
        &self.settings
    }

    /// Every event applied, in log order.
    pub fn events(&self) -> &[Arc<Event>] {
        &self.log
    }

    /// The axes of the head: the latest `recorded_at`, and the latest of that and every
    /// `occurred_at`, a correction's included (an event may occur a little after it is recorded,
    /// within the clock skew allowed, or be corrected to a later time): every event is in.
    /// `None` before the first event.
    pub fn head(&self) -> Option<Axes> {
        let recorded = self.recorded?;
        Some(Axes {
            as_of: recorded,
            valid_at: self.occurred.map_or(recorded, |o| o.max(recorded)),
        })
    }

    /// Applies the events recorded next, in log order.
    pub fn apply(&mut self, events: impl IntoIterator<Item = Event>) {
        let mut from = self.effective.len();
        let mut resolve = false;
        for e in events {
            let e = Arc::new(e);
            self.recorded = self.recorded.max(Some(e.recorded_at));
            self.occurred = self.occurred.max(Some(e.occurred_at));
            if let Payload::EventCorrected(c) = &e.payload {
                // A correction may move its event later than anything else.
                self.occurred = self.occurred.max(Some(c.replacement.occurred_at));
            }
            if matches!(
                e.payload,
                Payload::EventRetracted(_) | Payload::EventCorrected(_)
            ) {
                resolve = true;
            } else {
                // After every event of the same time or earlier: it is the latest in log order.
                let at = self
                    .effective
                    .partition_point(|x| x.occurred_at <= e.occurred_at);
                self.effective.insert(at, e.clone());
                from = from.min(at);
            }
            self.log.push(e);
        }
        if resolve {
            // What is in effect is resolved once for the whole log, as every model reads it.
            let axes = self.head().unwrap_or(Axes::at(OffsetDateTime::UNIX_EPOCH));
            // An event in effect as recorded stays shared with the log.
            let recorded: HashMap<EventId, &Arc<Event>> =
                self.log.iter().map(|e| (e.event_id, e)).collect();
            let effective: Vec<Arc<Event>> = known(&self.log, axes)
                .into_iter()
                .map(|e| match recorded.get(&e.event_id) {
                    Some(shared) if ***shared == e => Arc::clone(shared),
                    _ => Arc::new(e),
                })
                .collect();
            let same = self
                .effective
                .iter()
                .zip(&effective)
                .take_while(|(a, b)| a == b)
                .count();
            from = from.min(same);
            self.effective = effective;
        }
        self.refold(from);
    }

    /// Folds again from the events in effect at place `from` on (business-time order).
    fn refold(&mut self, from: usize) {
        if from < self.folded {
            self.checkpoints.retain(|(n, _)| *n <= from);
            (self.folded, self.fold) = match self.checkpoints.last() {
                Some((n, fold)) => (*n, fold.clone()),
                None => (0, Fold::new(&self.settings)),
            };
        }
        // Otherwise only new events at the end: the state goes on from where it is.
        for e in &self.effective[self.folded..] {
            self.fold.push(e);
            self.folded += 1;
            if self.folded % self.checkpoint_every == 0 {
                self.checkpoints.push((self.folded, self.fold.clone()));
            }
        }
    }

    /// `model` at `axes` with `lists` of the lists that grow, from the state, when `axes` are
    /// at or after the head (see [`Kept::head`]); `None` otherwise, and before the first event.
    pub fn answer(&self, model: Model, axes: Axes, lists: Lists) -> Option<ReadModel> {
        self.at_head(axes)
            .then(|| self.fold.answer(model, axes, &self.settings, lists))
    }

    /// Every model (in the order of [`Model::ALL`]) as [`Kept::answer`] gives it, each part
    /// evaluated once: the summary is read from the others.
    pub fn answer_all(&self, axes: Axes, lists: Lists) -> Option<Vec<ReadModel>> {
        self.at_head(axes)
            .then(|| self.fold.answer_all(axes, &self.settings, lists))
    }

    /// Whether `axes` are at or after the head; `false` before the first event.
    fn at_head(&self, axes: Axes) -> bool {
        self.recorded
            .zip(self.occurred)
            .is_some_and(|(recorded, occurred)| axes.as_of >= recorded && axes.valid_at >= occurred)
    }
}

impl std::fmt::Debug for Kept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kept")
            .field("events", &self.log.len())
            .field("in_effect", &self.effective.len())
            .field("checkpoints", &self.checkpoints.len())
            .finish_non_exhaustive()
    }
}
