//! The read models the projector keeps at partnerships' heads ([`Kept`]), for the partnerships
//! read most recently: a query at the head, and the analytics feed after each batch, cost the
//! answer and what came since the last read, not a fold of the whole history.
//!
//! A head is caught up from the store when it is read (the commits past the position it was
//! read up to), so the writer never waits on it. Heads belong to one generation: a rebuilt one
//! starts with none.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use accord_domain::models::{Axes, Kept, Lists, Model, ModelSettings, ReadModel, evaluate};
use accord_domain::{Event, OrgId, PartnershipId};
use accord_log::Position;
use lru::LruCache;

use crate::disclose::Disclose;
use crate::projections::{QueryError, guarded};
use crate::store::{Facts, Meta, Store, parties_of};

/// How many heads the projector keeps, and how often each keeps a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptSettings {
    /// Partnerships whose read models are kept (those read most recently); at least 1.
    pub partnerships: usize,
    /// Events in effect between two checkpoints of a partnership's state: a backfilled event,
    /// a retraction or a correction folds again from the last checkpoint before it.
    pub checkpoint_every: usize,
}

impl Default for KeptSettings {
    fn default() -> Self {
        Self {
            partnerships: 1024,
            checkpoint_every: 1024,
        }
    }
}

/// One partnership's facts and read models, caught up with the store when read.
#[derive(Debug)]
pub struct Head {
    kept: Kept,
    meta: Meta,
    position: Position,
}

impl Head {
    /// The position of the partnership's last commit read.
    pub fn position(&self) -> Position {
        self.position
    }

    /// Every event of its verified commits, in log order.
    pub fn events(&self) -> &[Arc<Event>] {
        self.kept.events()
    }

    /// The parties named by the proposal.
    pub fn parties(&self) -> Vec<OrgId> {
        parties_of(self.events())
    }

    /// The axes of the partnership's last commit (see [`Kept::head`]).
    pub fn axes(&self) -> Option<Axes> {
        self.kept.head()
    }

    /// One read model at `axes`, with `lists` of the lists that grow: from the kept state when
    /// `axes` are at or after the head, else folded over the events (with every entry).
    pub fn evaluate(
        &self,
        partnership_id: &PartnershipId,
        model: Model,
        axes: Axes,
        settings: &ModelSettings,
        lists: Lists,
    ) -> Result<ReadModel, QueryError> {
        self.meta.answer(partnership_id, model, || {
            let kept = (self.kept.settings() == settings)
                .then(|| self.kept.answer(model, axes, lists))
                .flatten();
            kept.unwrap_or_else(|| evaluate(model, self.events(), axes, settings))
        })
    }

    /// Every read model that answers at `axes` (of [`Model::ALL`], in its order), as
    /// [`Head::evaluate`] gives each: from the kept state all at once, each part evaluated once.
    /// When that cannot answer, or faults, each is asked alone, so that a fault leaves out only
    /// the model it is in. A partnership whose chain broke has none.
    pub fn evaluate_all(
        &self,
        partnership_id: &PartnershipId,
        axes: Axes,
        settings: &ModelSettings,
        lists: Lists,
    ) -> Vec<(Model, ReadModel)> {
        if self.meta.unbroken(partnership_id).is_err() {
            return Vec::new();
        }
        let together = (self.kept.settings() == settings)
            .then(|| {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    self.kept.answer_all(axes, lists)
                }))
            })
            .and_then(Result::ok)
            .flatten();
        match together {
            Some(all) => Model::ALL.into_iter().zip(all).collect(),
            None => Model::ALL
                .into_iter()
                .filter_map(|model| {
                    // A fault is logged and counted where it happens.
                    let answer = self.evaluate(partnership_id, model, axes, settings, lists);
                    answer.ok().map(|a| (model, a))
                })
                .collect(),
        }
    }
}

type Entry = Arc<Mutex<Option<Head>>>;

/// The heads of one generation.
#[derive(Debug)]
pub(crate) struct Heads {
    settings: KeptSettings,
    cache: Mutex<LruCache<PartnershipId, Entry>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Heads {
    pub(crate) fn new(settings: KeptSettings) -> Self {
        let capacity = NonZeroUsize::new(settings.partnerships).unwrap_or(NonZeroUsize::MIN);
        Self {
            settings,
            cache: Mutex::new(LruCache::new(capacity)),
        }
    }

    /// Reads `p`'s head, caught up with `store`, with `read`; `None` when the store has never
    /// seen the partnership. A fault while folding the new events drops the head (the next read
    /// starts it again) and answers [`QueryError::Fault`].
    pub(crate) fn read<T>(
        &self,
        store: &Store,
        disclose: &dyn Disclose,
        p: &PartnershipId,
        settings: &ModelSettings,
        read: impl FnOnce(&Head) -> T,
    ) -> Result<Option<T>, QueryError> {
        let cached = lock(&self.cache).get(p).cloned();
        let entry = match cached {
            Some(entry) => entry,
            // An id the store has never seen takes no place (and pushes out no head).
            None if store.meta(p)?.is_none() => return Ok(None),
            None => {
                let mut cache = lock(&self.cache);
                let entry = cache.get_or_insert(p.clone(), Entry::default).clone();
                metrics::gauge!("accord_projector_kept_partnerships").set(cache.len() as f64);
                entry
            }
        };
        let mut head = lock(&entry);
        if head.as_ref().is_some_and(|h| h.kept.settings() != settings) {
            *head = None;
        }
        let mut after = head.as_ref().map_or(0, |h| h.position);
        let mut facts = store.facts_after(p, after, disclose)?;
        // An erasure changes what the events before it read as: fold them all again.
        if after > 0 && facts.as_ref().is_some_and(Facts::erases) {
            *head = None;
            after = 0;
            facts = store.facts_after(p, after, disclose)?;
        }
        let Some(facts) = facts else {
            drop(head);
            lock(&self.cache).pop(p);
            return Ok(None);
        };
        let mut current = head.take().unwrap_or_else(|| Head {
            kept: Kept::new(settings, self.settings.checkpoint_every),
            meta: facts.meta.clone(),
            position: 0,
        });
        let current = guarded(p, "kept", move || {
            current.kept.apply(facts.events);
            current.meta = facts.meta;
            current.position = facts.position;
            current
        })?;
        Ok(Some(read(head.insert(current))))
    }
}
