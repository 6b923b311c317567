//! The projections queries read: the current generation of the store, which a rebuild replaces
//! in one step once the new generation has caught up.
//!
//! On disk, under the projections directory: `gen-<n>/` per generation and `CURRENT`, which
//! names the generation in use. A rebuild writes `gen-<n+1>/` while queries keep reading
//! `gen-<n>`; when it has caught up, `CURRENT` is replaced atomically (write, fsync, rename),
//! queries switch to the new generation and the old directory is removed. A crash before the
//! rename leaves `CURRENT` on the old generation, and the unfinished one is removed at start.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use accord_domain::PartnershipId;
use accord_domain::models::{Axes, Model, ModelSettings, ReadModel, evaluate};

use crate::disclose::Disclose;
use crate::heads::{Head, Heads, KeptSettings};
use crate::store::{Broken, Facts, Meta, Store, StoreError, io_error};

const CURRENT: &str = "CURRENT";
/// Where a rebuild writes its sorted runs (see `bulk`).
const SCRATCH: &str = "rebuild-scratch";

/// Why a query has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error(
        "the chain of {partnership_id} is broken at position {} (last good commit at {}): {}; its projection stopped there",
        .broken.position, .broken.last_good, .broken.reason
    )]
    ChainBroken {
        partnership_id: PartnershipId,
        broken: Broken,
    },
    /// Evaluating this partnership's read model failed (a fault in the fold); the others are
    /// not affected. Logged with the partnership and counted in `accord_read_model_faults_total`.
    #[error("the {what} of {partnership_id} cannot be evaluated: {message}")]
    Fault {
        partnership_id: PartnershipId,
        what: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs `evaluate` (a pure fold over one partnership's facts) so that a fault in it answers for
/// that partnership alone: a panic becomes [`QueryError::Fault`], logged with the partnership's
/// id and counted in the metric `accord_read_model_faults_total{what}`.
pub fn guarded<T>(
    partnership_id: &PartnershipId,
    what: &'static str,
    evaluate: impl FnOnce() -> T,
) -> Result<T, QueryError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(evaluate)).map_err(|panic| {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a fault in the fold".to_owned());
        tracing::error!(partnership_id = %partnership_id, what, %message, "read model fault");
        metrics::counter!("accord_read_model_faults_total", "what" => what).increment(1);
        QueryError::Fault {
            partnership_id: partnership_id.clone(),
            what,
            message,
        }
    })
}

impl Meta {
    /// Whether anything may be read of the partnership: not when its chain broke.
    pub fn unbroken(&self, partnership_id: &PartnershipId) -> Result<(), QueryError> {
        match &self.broken {
            Some(broken) => Err(QueryError::ChainBroken {
                partnership_id: partnership_id.clone(),
                broken: broken.clone(),
            }),
            None => Ok(()),
        }
    }

    /// The partnership's read model `model`, folded by `fold`, when its chain holds; a fault in
    /// the fold answers for this partnership alone (see [`guarded`]).
    pub(crate) fn answer(
        &self,
        partnership_id: &PartnershipId,
        model: Model,
        fold: impl FnOnce() -> ReadModel,
    ) -> Result<ReadModel, QueryError> {
        self.unbroken(partnership_id)?;
        guarded(partnership_id, model.as_str(), fold)
    }
}

impl Facts {
    /// Whether anything may be read from these facts: not when the partnership's chain broke.
    pub fn unbroken(&self, partnership_id: &PartnershipId) -> Result<(), QueryError> {
        self.meta.unbroken(partnership_id)
    }

    /// One read model of these facts at `axes`; a partnership whose chain broke has none.
    pub fn evaluate(
        &self,
        partnership_id: &PartnershipId,
        model: Model,
        axes: Axes,
        settings: &ModelSettings,
    ) -> Result<ReadModel, QueryError> {
        self.meta.answer(partnership_id, model, || {
            evaluate(model, &self.events, axes, settings)
        })
    }
}

/// The generation of the store that queries read; cheap to clone.
#[derive(Debug, Clone)]
pub struct Projections {
    dir: PathBuf,
    kept: KeptSettings,
    current: Arc<RwLock<Generation>>,
    /// Where the personal values of the facts come from.
    disclose: Arc<dyn Disclose>,
}

#[derive(Debug, Clone)]
struct Generation {
    number: u64,
    store: Arc<Store>,
    heads: Arc<Heads>,
}

impl Projections {
    /// [`Projections::open_with`] the default [`KeptSettings`].
    pub fn open(dir: &Path, disclose: Arc<dyn Disclose>) -> Result<Self, StoreError> {
        Self::open_with(dir, KeptSettings::default(), disclose)
    }

    /// Opens the generation `CURRENT` names under `dir` (creating the first one), and removes
    /// any other generation a crash left behind; `kept` says which read models are kept, and
    /// `disclose` gives the personal values of the facts.
    pub fn open_with(
        dir: &Path,
        kept: KeptSettings,
        disclose: Arc<dyn Disclose>,
    ) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(|e| io_error("creating", dir, &e))?;
        let number = match read_number(&dir.join(CURRENT), "a generation number")? {
            Some(n) => n,
            None => {
                write_current(dir, 1)?;
                1
            }
        };
        for entry in fs::read_dir(dir).map_err(|e| io_error("listing", dir, &e))? {
            let path = entry.map_err(|e| io_error("listing", dir, &e))?.path();
            if generation_of(&path).is_some_and(|n| n != number)
                || path.file_name().is_some_and(|n| n == SCRATCH)
            {
                fs::remove_dir_all(&path).map_err(|e| io_error("removing", &path, &e))?;
            }
        }
        let (number, store) = match Store::open(&generation_dir(dir, number)) {
            Ok(store) => (number, store),
            // Read models are disposable: a store another version wrote is made again from the
            // log, in a new generation.
            Err(e @ StoreError::OtherLayout { .. }) => {
                tracing::warn!(error = %e, "starting the read models again from position 0");
                let next = number + 1;
                let store = Store::open(&generation_dir(dir, next))?;
                write_current(dir, next)?;
                let old = generation_dir(dir, number);
                fs::remove_dir_all(&old).map_err(|e| io_error("removing", &old, &e))?;
                (next, store)
            }
            Err(e) => return Err(e),
        };
        let store = Arc::new(store);
        Ok(Self {
            dir: dir.to_path_buf(),
            kept,
            current: Arc::new(RwLock::new(Generation {
                number,
                store,
                heads: Arc::new(Heads::new(kept)),
            })),
            disclose,
        })
    }

    /// The directory of the projections.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store queries read now.
    pub fn store(&self) -> Arc<Store> {
        self.generation().store
    }

    fn generation(&self) -> Generation {
        self.current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// An empty next generation, for a rebuild.
    pub fn next_generation(&self) -> Result<NextGeneration, StoreError> {
        let number = self.generation().number + 1;
        let path = generation_dir(&self.dir, number);
        let scratch = self.dir.join(SCRATCH);
        for stale in [&path, &scratch] {
            if stale.exists() {
                fs::remove_dir_all(stale).map_err(|e| io_error("removing", stale, &e))?;
            }
        }
        Ok(NextGeneration {
            number,
            store: Arc::new(Store::open(&path)?),
            scratch,
        })
    }

    /// Makes a caught-up generation the one queries read, and removes the old one.
    pub fn swap_in(&self, next: NextGeneration) -> Result<(), StoreError> {
        next.store.flush()?;
        write_current(&self.dir, next.number)?;
        let old = {
            let mut current = self
                .current
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            std::mem::replace(
                &mut *current,
                Generation {
                    number: next.number,
                    store: next.store,
                    heads: Arc::new(Heads::new(self.kept)),
                },
            )
        };
        // Queries still reading the old generation hold their own handle to it; its files are
        // unlinked now and freed when the last one finishes.
        let path = generation_dir(&self.dir, old.number);
        fs::remove_dir_all(&path).map_err(|e| io_error("removing", &path, &e))
    }

    /// A partnership's facts in the current generation, with their personal values.
    pub fn facts(&self, p: &PartnershipId) -> Result<Option<Facts>, StoreError> {
        self.store().facts(p, self.disclose.as_ref())
    }

    /// Reads a partnership's head in the current generation (its facts and kept read models,
    /// caught up with the store) with `read`; `None` when the store has never seen it.
    pub fn head<T>(
        &self,
        p: &PartnershipId,
        settings: &ModelSettings,
        read: impl FnOnce(&Head) -> T,
    ) -> Result<Option<T>, QueryError> {
        let generation = self.generation();
        generation
            .heads
            .read(&generation.store, self.disclose.as_ref(), p, settings, read)
    }
}

/// A generation being built by a rebuild, not yet read by queries.
#[derive(Debug)]
pub struct NextGeneration {
    number: u64,
    pub store: Arc<Store>,
    /// Scratch space for the rebuild's bulk load.
    pub scratch: PathBuf,
}

fn generation_dir(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("gen-{number}"))
}

fn generation_of(path: &Path) -> Option<u64> {
    path.file_name()?
        .to_str()?
        .strip_prefix("gen-")?
        .parse()
        .ok()
}

/// The number a small file holds (`CURRENT`, the feed's mark), or `None` when there is no file;
/// `what` says what it should be.
pub(crate) fn read_number(path: &Path, what: &str) -> Result<Option<u64>, StoreError> {
    match fs::read_to_string(path) {
        Ok(s) => s.trim().parse().map(Some).map_err(|_| StoreError::Corrupt {
            key: path.display().to_string(),
            message: format!("{s:?} is not {what}"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("reading", path, &e)),
    }
}

fn write_current(dir: &Path, number: u64) -> Result<(), StoreError> {
    write_atomically(&dir.join(CURRENT), &format!("{number}\n"))
}

/// Replaces a small file atomically (write, fsync, rename, fsync the directory): a crash leaves
/// the old content or the new, never a mix.
pub(crate) fn write_atomically(path: &Path, content: &str) -> Result<(), StoreError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = fs::File::create(&tmp).map_err(|e| io_error("creating", &tmp, &e))?;
    f.write_all(content.as_bytes())
        .map_err(|e| io_error("writing", &tmp, &e))?;
    f.sync_all().map_err(|e| io_error("syncing", &tmp, &e))?;
    fs::rename(&tmp, path).map_err(|e| io_error("renaming", path, &e))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("syncing", dir, &e))
}
