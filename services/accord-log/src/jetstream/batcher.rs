//! Group commit on JetStream: concurrent commits to different partnerships go to the server as
//! one atomic batch ([`atomic`]), so that a server syncing every write (`sync_interval: always`)
//! flushes once for the group.
//!
//! - A commit that finds no batch in flight goes at once, alone, unless enough commits are on
//!   their way (published alone, not answered yet) to make a batch of `min_commits` soon: an
//!   idle ledger adds no wait, and a group waits at most `max_wait` for company.
//! - While a batch is in flight, the commits that arrive gather, and go when it is answered (or
//!   at `max_commits`, or `max_wait` after the first when more than one batch may be in flight).
//! - A group of at least `min_commits` goes as one atomic batch; a smaller one commit by commit,
//!   all at once, as without batching. nats-server 2.15 stages and stores the atomic batches of a
//!   stream one after the other at a cost of a few milliseconds each, whatever their size, so
//!   small batches would be slower than none, and one batch in flight (the default) lets the next
//!   group grow.
//! - A group holds at most one commit per partnership (the server checks each message's expected
//!   subject sequence against the stream as it was before the batch); another commit to the same
//!   partnership waits for the next group.
//! - When the server refuses a batch, none of it was stored. The commits whose partnership no
//!   longer stands at the revision they link to are published alone, as without batching, so each
//!   gets the answer it would have had (its original if it had landed, else a conflict for the
//!   ledger to re-decide); the others go again at once as a batch. A refusal that names no such
//!   commit, an answer that never comes, or a fourth refusal sends every commit alone: each
//!   keeps its message id, so one that did land is found and answered, never stored twice.
//! - A stream that stops allowing atomic batches (10174) turns batching off for good.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, ErrorCode, stream::LastRawMessageErrorKind};
use futures::future::join_all;
use tokio::sync::{Notify, Semaphore, mpsc, oneshot};
use tokio::time::Instant;

use super::atomic::{self, AtomicError, Outbound};
use super::{Acked, publish_alone};
use crate::{LogError, Position};

/// How often a group is sent again after the server refused it, before every commit goes alone.
const ROUNDS: usize = 4;

/// When a group of commits closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// The fewest commits sent as a batch; a smaller group is published alone, all at once.
    /// nats-server 2.15 takes a few milliseconds per batch whatever its size, while commits
    /// published alone and all at once share its writes: on this project's 2-core machines, a
    /// group of fewer than about 16 went faster alone.
    pub min_commits: usize,
    /// Size bound: the most commits in one batch (1 turns batching off; at most
    /// [`atomic::MAX_MESSAGES`]).
    pub max_commits: usize,
    /// Time bound: the longest a group waits for company when no batch is ahead of it, or for
    /// the batch ahead when fewer than `max_in_flight` are in flight.
    pub max_wait: Duration,
    /// Batches in flight at once (at least 1; the server takes 50 per stream).
    pub max_in_flight: usize,
}

impl Default for Batching {
    fn default() -> Self {
        Self {
            min_commits: 16,
            max_commits: 100,
            max_wait: Duration::from_millis(1),
            max_in_flight: 1,
        }
    }
}

/// A commit waiting for its group.
struct Queued {
    message: Outbound,
    /// The partnership's revision the message expects (its expected subject sequence).
    expected: Position,
    answer: oneshot::Sender<Result<Acked, LogError>>,
}

/// What the sending tasks share.
#[derive(Debug)]
struct Shared {
    js: jetstream::Context,
    stream: jetstream::stream::Stream,
    on: AtomicBool,
    slots: Arc<Semaphore>,
    /// A batch in flight, or a commit published alone, was answered.
    answered: Notify,
    /// Commits published alone and not answered yet.
    alone: AtomicUsize,
    batched: AtomicU64,
}

/// The handle appends publish through; the group-commit task ends when it is dropped.
#[derive(Debug)]
pub(crate) struct Batcher {
    queue: mpsc::UnboundedSender<Queued>,
    shared: Arc<Shared>,
}

impl Batcher {
    /// Starts the group-commit task on the current runtime.
    pub(crate) fn start(
        js: jetstream::Context,
        stream: jetstream::stream::Stream,
        batching: Batching,
    ) -> Self {
        let (queue, receiver) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            js,
            stream,
            on: AtomicBool::new(true),
            slots: Arc::new(Semaphore::new(batching.max_in_flight.max(1))),
            answered: Notify::new(),
            alone: AtomicUsize::new(0),
            batched: AtomicU64::new(0),
        });
        tokio::spawn(gather(receiver, shared.clone(), batching));
        Self { queue, shared }
    }

    /// Publishes one commit's message, in a batch when others come along.
    pub(crate) async fn publish(
        &self,
        message: Outbound,
        expected: Position,
    ) -> Result<Acked, LogError> {
        if !self.shared.on.load(Ordering::Relaxed) {
            return publish_alone(&self.shared.js, message).await;
        }
        let (answer, answered) = oneshot::channel();
        let queued = Queued {
            message,
            expected,
            answer,
        };
        if let Err(back) = self.queue.send(queued) {
            return publish_alone(&self.shared.js, back.0.message).await;
        }
        answered
            .await
            .map_err(|_| LogError::Unavailable("the group-commit task stopped".into()))?
    }

    /// Commits stored as part of a batch of two or more so far.
    pub(crate) fn batched_commits(&self) -> u64 {
        self.shared.batched.load(Ordering::Relaxed)
    }
}

/// Gathers the queued commits into groups and sends each group in a task of its own.
async fn gather(
    mut queue: mpsc::UnboundedReceiver<Queued>,
    shared: Arc<Shared>,
    batching: Batching,
) {
    let max = batching.max_commits.clamp(1, atomic::MAX_MESSAGES);
    let min = batching.min_commits.max(2);
    let in_flight = batching.max_in_flight.max(1);
    let mut later: VecDeque<Queued> = VecDeque::new();
    loop {
        let mut group = Group::default();
        for q in std::mem::take(&mut later) {
            group.add(q, max, &mut later);
        }
        if group.is_empty() {
            match queue.recv().await {
                Some(q) => group.add(q, max, &mut later),
                None => return,
            }
        }
        let deadline = Instant::now() + batching.max_wait;
        loop {
            while group.len() < max {
                match queue.try_recv() {
                    Ok(q) => group.add(q, max, &mut later),
                    Err(_) => break,
                }
            }
            let batches = in_flight - shared.slots.available_permits();
            let waited = Instant::now() >= deadline;
            let go = group.len() >= max
                || if batches == 0 {
                    // Nothing ahead: a batch when the group is large enough, else alone at once
                    // unless enough commits are on their way back to make a batch soon.
                    group.len() >= min
                        || waited
                        || shared.alone.load(Ordering::Relaxed) + group.len() < min
                } else {
                    batches < in_flight && waited
                };
            if go {
                break;
            }
            tokio::select! {
                q = queue.recv() => match q {
                    Some(q) => group.add(q, max, &mut later),
                    None => break,
                },
                () = shared.answered.notified() => {}
                () = tokio::time::sleep_until(deadline), if !waited => {}
            }
        }
        if group.len() < min || !shared.on.load(Ordering::Relaxed) {
            tokio::spawn(alone(shared.clone(), group.commits));
            continue;
        }
        let Ok(slot) = shared.slots.clone().acquire_owned().await else {
            return;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            send(shared.clone(), group.commits, min).await;
            drop(slot);
            shared.answered.notify_one();
        });
    }
}

/// Commits to distinct partnerships.
#[derive(Default)]
struct Group {
    commits: Vec<Queued>,
    subjects: HashSet<String>,
}

impl Group {
    /// Adds `q`, or keeps it for a later group when its partnership is in this one already or
    /// this one is full.
    fn add(&mut self, q: Queued, max: usize, later: &mut VecDeque<Queued>) {
        if self.commits.len() >= max || !self.subjects.insert(q.message.subject.clone()) {
            later.push_back(q);
        } else {
            self.commits.push(q);
        }
    }

    fn len(&self) -> usize {
        self.commits.len()
    }

    fn is_empty(&self) -> bool {
        self.commits.is_empty()
    }
}

/// Sends a group and answers each of its commits.
async fn send(shared: Arc<Shared>, mut group: Vec<Queued>, min: usize) {
    for _ in 0..ROUNDS {
        if group.len() < min || !shared.on.load(Ordering::Relaxed) {
            break;
        }
        let messages = group.iter().map(|q| q.message.clone()).collect();
        match atomic::publish(&shared.js.client(), messages).await {
            Ok(stored) => {
                let count = group.len() as u64;
                shared.batched.fetch_add(count, Ordering::Relaxed);
                metrics_batch(count);
                for (sequence, q) in (stored.first..=stored.last).zip(group) {
                    // A caller that gave up no longer listens; its commit is stored all the same.
                    let _ = q.answer.send(Ok(Acked::Stored {
                        sequence,
                        duplicate: false,
                    }));
                }
                return;
            }
            Err(e) if e.code() == Some(ErrorCode::ATOMIC_PUBLISH_DISABLED) => {
                if shared.on.swap(false, Ordering::Relaxed) {
                    tracing::warn!(error = %e, "stream refuses atomic batches: publishing one message per commit from now on");
                }
                break;
            }
            Err(e @ AtomicError::Refused(_)) => {
                tracing::debug!(error = %e, commits = group.len(), "batch refused; finding the commits that no longer link to their head");
                let (stale, clean) = split_stale(&shared, group).await;
                if stale.is_empty() {
                    group = clean;
                    break;
                }
                tokio::spawn(alone(shared.clone(), stale));
                group = clean;
            }
            Err(e @ AtomicError::Unknown(_)) => {
                tracing::warn!(error = %e, commits = group.len(), "no answer to a batch; publishing its commits alone");
                break;
            }
        }
    }
    alone(shared, group).await;
}

/// Separates the commits whose partnership no longer stands at the revision they expect (or
/// whose head cannot be read now) from the others.
async fn split_stale(shared: &Shared, group: Vec<Queued>) -> (Vec<Queued>, Vec<Queued>) {
    let heads = join_all(
        group
            .iter()
            .map(|q| last_sequence(shared, &q.message.subject)),
    )
    .await;
    let (stale, clean): (Vec<_>, Vec<_>) = group
        .into_iter()
        .zip(heads)
        .partition(|(q, head)| head.as_ref().ok() != Some(&q.expected));
    (
        stale.into_iter().map(|(q, _)| q).collect(),
        clean.into_iter().map(|(q, _)| q).collect(),
    )
}

async fn last_sequence(shared: &Shared, subject: &str) -> Result<Position, LogError> {
    match shared.stream.get_last_raw_message_by_subject(subject).await {
        Ok(m) => Ok(m.sequence),
        Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(0),
        Err(e) => Err(LogError::Unavailable(e.to_string())),
    }
}

/// Publishes each commit alone, as without batching, all at once; counted in `alone` until
/// answered.
async fn alone(shared: Arc<Shared>, commits: Vec<Queued>) {
    let shared = &shared;
    shared.alone.fetch_add(commits.len(), Ordering::Relaxed);
    join_all(commits.into_iter().map(|q| async move {
        let acked = publish_alone(&shared.js, q.message).await;
        shared.alone.fetch_sub(1, Ordering::Relaxed);
        shared.answered.notify_one();
        let _ = q.answer.send(acked);
    }))
    .await;
}

fn metrics_batch(count: u64) {
    metrics::counter!("accord_log_batches_total").increment(1);
    metrics::counter!("accord_log_batched_commits_total").increment(count);
}
