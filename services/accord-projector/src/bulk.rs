//! A rebuild's bulk load: the facts of every partnership from position 0 up to the log's head,
//! written in key order rather than batch by batch.
//!
//! Applied batch by batch, a rebuild of a large log touches nearly every partnership in every
//! batch, so each batch rewrites pages spread over the whole store, and once the store outgrows
//! sled's page cache each of those writes first reads its page back: the cost of a batch grows
//! with the store. A bulk load instead gathers each partnership's verified commits in memory, up
//! to a budget; when the budget is full it writes them, sorted by key, to a run: a plain file in
//! a scratch directory beside the generation. When the load reaches the head, the runs and what
//! is still in memory are merged in key order into the store's main tree, at its right edge,
//! with the metas and the checkpoint written last in one atomic batch; then the scratch directory
//! is removed. (Runs as sled trees cost more memory: reading them back and `drop_tree` both page
//! every run through sled's cache.) Every commit is written twice at most, always sequentially,
//! and memory stays within the budget.
//!
//! Nothing of a load is visible before it finishes: an interrupted rebuild leaves a generation
//! and a scratch directory that are removed at the next start (see `projections`), so the load
//! need not be resumable.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use accord_log::{Position, StoredCommit};
use itertools::Itertools;

use crate::store::{Folding, Meta, Store, StoreError, io_error, sled_error};

/// The load of a rebuild's generation, in progress.
#[derive(Debug)]
pub(crate) struct BulkLoad {
    store: Arc<Store>,
    /// Bytes of facts held in memory before they are written to a run.
    budget: usize,
    /// The metas, and the facts gathered since the last run.
    folding: Folding,
    /// Where the runs go: a directory removed when the load is dropped.
    scratch: PathBuf,
    runs: Vec<PathBuf>,
}

impl BulkLoad {
    /// A load into `store`, which must be empty, with its runs under `scratch`.
    pub(crate) fn new(store: Arc<Store>, scratch: PathBuf, budget: usize) -> Self {
        Self {
            store,
            budget,
            folding: Folding::default(),
            scratch,
            runs: Vec::new(),
        }
    }

    /// The position of the last commit taken.
    pub(crate) fn checkpoint(&self) -> Position {
        self.folding.checkpoint
    }

    /// Verifies and takes the next commits, in log order; returns how many were folded in.
    pub(crate) fn add(&mut self, commits: &[StoredCommit]) -> Result<usize, StoreError> {
        let before = self.folding.commits;
        // The store is empty: every partnership starts here.
        self.folding.fold(commits, |_| Ok(Meta::default()))?;
        if self.folding.bytes >= self.budget {
            self.spill()?;
        }
        Ok(self.folding.commits - before)
    }

    /// The facts gathered, sorted by key; they are left empty.
    fn drain_sorted(&mut self) -> Vec<Entry> {
        self.folding.bytes = 0;
        let mut entries: Vec<_> = self.folding.entries.drain().map(|(_, e)| e).collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        entries
    }

    /// Writes the buffer into a new run file.
    fn spill(&mut self) -> Result<(), StoreError> {
        let entries = self.drain_sorted();
        fs::create_dir_all(&self.scratch).map_err(|e| io_error("creating", &self.scratch, &e))?;
        let path = self.scratch.join(format!("run-{}", self.runs.len()));
        let file = File::create(&path).map_err(|e| io_error("creating", &path, &e))?;
        let mut out = BufWriter::new(file);
        for (k, v) in &entries {
            for part in [k, v] {
                out.write_all(&(part.len() as u32).to_be_bytes())
                    .and_then(|()| out.write_all(part))
                    .map_err(|e| io_error("writing", &path, &e))?;
            }
        }
        out.flush().map_err(|e| io_error("writing", &path, &e))?;
        self.runs.push(path);
        Ok(())
    }

    /// Merges the runs and the buffer into the store in key order, then writes the metas, the
    /// breaks and the checkpoint in one atomic batch and flushes. The runs are removed when the
    /// load is dropped.
    pub(crate) fn finish(mut self) -> Result<(), StoreError> {
        let buffered = self.drain_sorted().into_iter().map(Ok);
        let mut sources: Vec<Box<dyn Iterator<Item = Result<Entry, StoreError>>>> =
            vec![Box::new(buffered)];
        for path in &self.runs {
            let file = File::open(path).map_err(|e| io_error("opening", path, &e))?;
            sources.push(Box::new(Run {
                path,
                reader: BufReader::new(file),
            }));
        }
        // Errors sort first, so the merge stops at the first one.
        let merged = sources.into_iter().kmerge_by(|a, b| match (a, b) {
            (Ok((ka, _)), Ok((kb, _))) => ka < kb,
            (Err(_), _) => true,
            (Ok(_), Err(_)) => false,
        });
        let mut unflushed = 0;
        for entry in merged {
            let (k, v) = entry?;
            unflushed += k.len() + v.len();
            self.store.db.insert(k, v).map_err(|e| sled_error(&e))?;
            // sled holds what it has not written out in memory, beyond its cache's bound.
            if unflushed >= FLUSH_EVERY {
                unflushed = 0;
                self.store.flush()?;
            }
        }
        self.store.close_batch(
            sled::Batch::default(),
            &self.folding.metas,
            &self.folding.breaks,
            self.folding.checkpoint,
            self.folding.last,
        )?;
        self.store.flush()
    }
}

impl Drop for BulkLoad {
    fn drop(&mut self) {
        if !self.runs.is_empty()
            && let Err(e) = fs::remove_dir_all(&self.scratch)
        {
            tracing::warn!(error = %e, path = %self.scratch.display(), "cannot remove the rebuild's scratch directory");
        }
    }
}

/// A key and its facts entry.
type Entry = (Vec<u8>, Vec<u8>);

/// A run file, read back in order: (length u32, key, length u32, entry)*.
struct Run<'a> {
    path: &'a Path,
    reader: BufReader<File>,
}

impl Run<'_> {
    fn part(&mut self) -> std::io::Result<Vec<u8>> {
        let mut len = [0u8; 4];
        self.reader.read_exact(&mut len)?;
        let mut part = vec![0; u32::from_be_bytes(len) as usize];
        self.reader.read_exact(&mut part)?;
        Ok(part)
    }
}

impl Iterator for Run<'_> {
    type Item = Result<Entry, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.reader.fill_buf() {
            Ok([]) => return None,
            Ok(_) => {}
            Err(e) => return Some(Err(io_error("reading", self.path, &e))),
        }
        Some(
            self.part()
                .and_then(|k| Ok((k, self.part()?)))
                .map_err(|e| io_error("reading", self.path, &e)),
        )
    }
}

/// Bytes written between flushes: sled keeps what it has not written out in memory, beyond its
/// page cache's bound, so a long run of inserts is flushed every so often.
const FLUSH_EVERY: usize = 16 * 1024 * 1024;
