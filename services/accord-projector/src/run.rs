//! The projector service: follows the log from the checkpoint and applies what it reads in
//! batches.
//!
//! Two halves connected by a bounded queue: a task reads the subscription (catch-up, then live)
//! in chunks of whatever has arrived, and a writer thread applies them to sled, taking every
//! chunk waiting in the queue as one batch. While the writer is busy, chunks pile up and the next
//! batch is larger, so a rebuild writes few large batches and a live projector many small ones.
//! After an error on the subscription the reader resubscribes after the last position it handed
//! over; the writer skips anything at or before its checkpoint, so nothing is applied twice.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord_log::{EventLog, LogError, Position, StoredCommit};
use futures::StreamExt;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::bulk::BulkLoad;
use crate::feed::Changes;
use crate::projections::{NextGeneration, Projections};
use crate::store::{BreakFound, Store, StoreError};

/// Most commits the reader hands over at once.
const READ_CHUNK: usize = 4096;
/// Chunks waiting for the writer; a full queue makes the reader wait.
const QUEUE_CHUNKS: usize = 8;
/// Most commits in one sled batch.
const MAX_BATCH: usize = 64 * 1024;
/// Bytes of facts a rebuild gathers in memory before writing them out (see `bulk`).
const REBUILD_BUFFER: usize = 32 * 1024 * 1024;
/// How often the log's head is read for the lag.
const HEAD_EVERY: Duration = Duration::from_secs(1);
/// Longest wait before resubscribing after an error.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ProjectorError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the projector's writer thread stopped: {0}")]
    Writer(String),
    #[error(
        "the read models were built from another log: its commit at position {checkpoint} is missing or different; start with --rebuild, or give another --data-dir"
    )]
    AnotherLog { checkpoint: Position },
}

/// What the projector reports: on `/healthz` and in `/metrics`.
#[derive(Debug)]
pub struct Status {
    checkpoint: watch::Sender<Position>,
    log_head: AtomicU64,
    rebuilding: AtomicBool,
    broken: Mutex<Vec<BreakFound>>,
    /// The analytics feed's mark, when it runs.
    published: Mutex<Option<Position>>,
}

/// A snapshot of [`Status`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The position of the last commit applied to the generation queries read (or, during a
    /// rebuild, to the generation being built).
    pub checkpoint: Position,
    pub log_head: Position,
    /// `log_head − checkpoint`, as of the last time the head was read.
    pub lag: Position,
    pub rebuilding: bool,
    /// Partnerships whose projection stopped at a broken link.
    pub broken: Vec<BreakFound>,
    /// With the analytics feed: the checkpoint up to which every change is published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analytics_published: Option<Position>,
}

impl Status {
    fn new(checkpoint: Position, broken: Vec<BreakFound>, rebuilding: bool) -> Self {
        metrics::gauge!("accord_projector_broken_chains").set(broken.len() as f64);
        Self {
            checkpoint: watch::Sender::new(checkpoint),
            log_head: AtomicU64::new(checkpoint),
            rebuilding: AtomicBool::new(rebuilding),
            broken: Mutex::new(broken),
            published: Mutex::new(None),
        }
    }

    pub fn report(&self) -> Report {
        let checkpoint = *self.checkpoint.borrow();
        let log_head = self.log_head.load(Ordering::Relaxed);
        Report {
            checkpoint,
            log_head,
            lag: log_head.saturating_sub(checkpoint),
            rebuilding: self.rebuilding.load(Ordering::Relaxed),
            broken: self
                .broken
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
            analytics_published: *self
                .published
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        }
    }

    pub(crate) fn set_published(&self, checkpoint: Position) {
        *self
            .published
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(checkpoint);
        metrics::gauge!("accord_analytics_published_checkpoint").set(checkpoint as f64);
    }

    /// Waits until the checkpoint reaches `position` and no rebuild is pending.
    pub async fn caught_up_to(&self, position: Position) {
        let mut rx = self.checkpoint.subscribe();
        // The sender lives as long as `self`, so the wait ends only when the condition holds.
        let _ = rx
            .wait_for(|c| *c >= position && !self.rebuilding.load(Ordering::Acquire))
            .await;
    }

    fn set_head(&self, head: Position) {
        self.log_head.fetch_max(head, Ordering::Relaxed);
        self.publish_lag();
    }

    fn publish_lag(&self) {
        let r = self.report();
        metrics::gauge!("accord_projector_checkpoint").set(r.checkpoint as f64);
        metrics::gauge!("accord_projector_log_head").set(r.log_head as f64);
        metrics::gauge!("accord_projector_lag").set(r.lag as f64);
    }
}

/// Follows the log into the projections.
#[derive(Debug)]
pub struct Projector {
    log: Arc<dyn EventLog>,
    projections: Projections,
    status: Arc<Status>,
    target: Arc<Store>,
    next: Option<NextGeneration>,
    /// What the analytics feed is told, once one asked (see [`Projector::changes`]).
    changes: Option<Arc<Changes>>,
}

impl Projector {
    /// A projector resuming from the current generation's checkpoint, or, with `rebuild`,
    /// building a new generation from position 0 that replaces the current one when caught up.
    pub fn new(
        log: Arc<dyn EventLog>,
        projections: Projections,
        rebuild: bool,
    ) -> Result<Self, StoreError> {
        let (target, next) = if rebuild {
            let next = projections.next_generation()?;
            (next.store.clone(), Some(next))
        } else {
            (projections.store(), None)
        };
        let status = Arc::new(Status::new(
            target.checkpoint()?,
            projections.store().broken()?,
            rebuild,
        ));
        Ok(Self {
            log,
            projections,
            status,
            target,
            next,
            changes: None,
        })
    }

    pub fn status(&self) -> Arc<Status> {
        self.status.clone()
    }

    pub fn projections(&self) -> &Projections {
        &self.projections
    }

    /// The changes each batch makes to the projections queries read, for the analytics feed;
    /// the projector keeps them only once this was called.
    pub fn changes(&mut self) -> Arc<Changes> {
        self.changes.get_or_insert_default().clone()
    }

    /// Checks that the store was built from this log: the commit at its checkpoint has the id of
    /// the one it applied last (ids are UUIDs, so another log's differ). A store built from
    /// another stream (or another embedded store) would otherwise mix two histories, or find
    /// every chain broken. A commit there that no longer decodes is damage, not another log: the
    /// chain checks report it.
    pub async fn check_log(&self) -> Result<(), ProjectorError> {
        let checkpoint = self.target.checkpoint()?;
        if checkpoint == 0 {
            return Ok(());
        }
        let mut commits = self.log.read_all(checkpoint - 1).await?;
        let same = match commits.next().await.transpose()? {
            Some(c) if c.position == checkpoint => {
                match (
                    crate::store::commit_id(&c),
                    self.target.checkpoint_commit()?,
                ) {
                    (Some(log), Some(store)) => log == store,
                    _ => true,
                }
            }
            _ => false,
        };
        if same {
            Ok(())
        } else {
            Err(ProjectorError::AnotherLog { checkpoint })
        }
    }

    /// Runs until `shutdown`, then finishes the batch in hand and flushes.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), ProjectorError> {
        self.check_log().await?;
        let swap_at = match self.next {
            Some(_) => self.log.last_position().await?,
            None => 0,
        };
        let mut after = self.target.checkpoint()?;
        let (tx, rx) = mpsc::channel(QUEUE_CHUNKS);
        let writer = Writer {
            store: self.target.clone(),
            projections: self.projections.clone(),
            rebuild: self.next.map(|next| {
                let load = BulkLoad::new(next.store.clone(), next.scratch.clone(), REBUILD_BUFFER);
                (next, load)
            }),
            swap_at,
            status: self.status.clone(),
            changes: self.changes,
        };
        let writer = std::thread::Builder::new()
            .name("accord-projector".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| ProjectorError::Writer(e.to_string()))?;

        let mut ticker = tokio::time::interval(HEAD_EVERY);
        let mut backoff = Duration::from_millis(100);
        'subscribe: while !shutdown.is_cancelled() {
            let subscribed = tokio::select! {
                () = shutdown.cancelled() => break,
                s = self.log.subscribe(after) => s,
            };
            let mut stream = match subscribed {
                Ok(s) => s.ready_chunks(READ_CHUNK),
                Err(e) => {
                    tracing::warn!(error = %e, "projector: cannot subscribe to the log; retrying");
                    wait(&shutdown, &mut backoff).await;
                    continue;
                }
            };
            loop {
                let chunk = tokio::select! {
                    () = shutdown.cancelled() => break 'subscribe,
                    _ = ticker.tick() => {
                        match self.log.last_position().await {
                            Ok(head) => self.status.set_head(head),
                            Err(e) => tracing::warn!(error = %e, "projector: cannot read the log's head"),
                        }
                        continue;
                    }
                    chunk = stream.next() => chunk,
                };
                let Some(chunk) = chunk else {
                    continue 'subscribe;
                };
                let mut commits = Vec::with_capacity(chunk.len());
                let mut failed = None;
                for item in chunk {
                    match item {
                        Ok(c) => commits.push(c),
                        Err(e) => {
                            failed = Some(e);
                            break;
                        }
                    }
                }
                if let Some(last) = commits.last() {
                    after = last.position;
                    if tx.send(commits).await.is_err() {
                        break 'subscribe;
                    }
                }
                if let Some(e) = failed {
                    tracing::warn!(error = %e, after, "projector: the subscription failed; resubscribing");
                    wait(&shutdown, &mut backoff).await;
                    continue 'subscribe;
                }
                backoff = Duration::from_millis(100);
            }
        }
        drop(tx);
        writer
            .join()
            .map_err(|_| ProjectorError::Writer("it panicked".into()))??;
        Ok(())
    }
}

async fn wait(shutdown: &CancellationToken, backoff: &mut Duration) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(*backoff) => {}
    }
    *backoff = (*backoff * 2).min(MAX_BACKOFF);
}

fn log_break(b: &BreakFound) {
    tracing::error!(
        partnership_id = %b.partnership_id,
        position = b.broken.position,
        last_good = b.broken.last_good,
        reason = %b.broken.reason,
        "hash chain broken: the partnership's projection stops at its last good commit"
    );
}

/// The thread that owns the writes.
struct Writer {
    store: Arc<Store>,
    projections: Projections,
    /// A rebuild in progress: the generation it builds, loaded in bulk up to `swap_at`.
    rebuild: Option<(NextGeneration, BulkLoad)>,
    /// A rebuild swaps its generation in once its checkpoint reaches this.
    swap_at: Position,
    status: Arc<Status>,
    changes: Option<Arc<Changes>>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Vec<StoredCommit>>) -> Result<(), ProjectorError> {
        self.finish_rebuild(false)?;
        while let Some(mut batch) = rx.blocking_recv() {
            if let Some((_, load)) = &mut self.rebuild {
                // The commits up to `swap_at` go to the bulk load; any after it are applied once
                // the rebuilt generation is in use.
                let after = batch.partition_point(|c| c.position <= self.swap_at);
                let live = batch.split_off(after);
                let folded = load.add(&batch)?;
                metrics::counter!("accord_projector_commits_total").increment(folded as u64);
                let checkpoint = load.checkpoint();
                self.status.checkpoint.send_replace(checkpoint);
                self.status.set_head(checkpoint);
                self.finish_rebuild(!live.is_empty())?;
                batch = live;
                if batch.is_empty() {
                    continue;
                }
            }
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(more) => batch.extend(more),
                    Err(_) => break,
                }
            }
            let applied = self.store.apply(&batch)?;
            metrics::counter!("accord_projector_commits_total").increment(applied.commits as u64);
            if !applied.breaks.is_empty() {
                let mut broken = self
                    .status
                    .broken
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                applied.breaks.iter().for_each(log_break);
                broken.extend(applied.breaks.iter().cloned());
                metrics::gauge!("accord_projector_broken_chains").set(broken.len() as f64);
            }
            if let Some(changes) = &self.changes {
                changes.applied(&applied.touched, applied.checkpoint);
            }
            self.status.checkpoint.send_replace(applied.checkpoint);
            self.status.set_head(applied.checkpoint);
        }
        self.store.flush()?;
        Ok(())
    }

    /// Finishes a rebuild's load and swaps its generation in, once it has reached `swap_at`
    /// (or the log has gone past it, `past`). Its breaks are reported then.
    fn finish_rebuild(&mut self, past: bool) -> Result<(), StoreError> {
        let due =
            |(_, load): &(NextGeneration, BulkLoad)| past || load.checkpoint() >= self.swap_at;
        let Some((next, load)) = self.rebuild.take_if(|r| due(r)) else {
            return Ok(());
        };
        let checkpoint = load.checkpoint();
        load.finish()?;
        self.projections.swap_in(next)?;
        let broken = self.store.broken()?;
        broken.iter().for_each(log_break);
        metrics::gauge!("accord_projector_broken_chains").set(broken.len() as f64);
        *self
            .status
            .broken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = broken;
        self.status.rebuilding.store(false, Ordering::Release);
        if let Some(changes) = &self.changes {
            changes.swapped(checkpoint);
        }
        tracing::info!(
            checkpoint,
            "rebuild caught up; the new projections are in use"
        );
        Ok(())
    }
}
