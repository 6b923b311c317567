//! The embedded backend: a sled store inside the process, for a laptop, a demo or a small team.
//!
//! One writer thread ([`writer`]) owns every append. It takes the requests waiting in its
//! bounded queue as one group, checks each against the heads (idempotency first, then the
//! expected revision), writes the whole group as one atomic sled batch and fsyncs once before
//! answering any of them (group commit): an append that returned is durable.
//!
//! Layout, one sled tree, big-endian positions so that keys sort in log order:
//! - `c` ‖ position → partnership id length (1 byte) ‖ partnership id ‖ encoded `Commit`
//! - `p` ‖ partnership id ‖ `/` ‖ position → (empty): a partnership's commits
//! - `h` ‖ partnership id → position ‖ hash ‖ commit id: the partnership's head
//! - `i` ‖ commit id → position: idempotency, kept forever
//!
//! The disclosures of personal values live in a sled database of their own, `disclosures/`
//! under the store's directory (see [`disclosures`]); the writer stores a group's disclosures,
//! durably, before the group's commits.

mod disclosures;
mod writer;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use accord_domain::personal::{Digest, Disclosure};
use accord_domain::{CommitId, Hash, PartnershipId};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use tokio::sync::{oneshot, watch};

use self::disclosures::SledDisclosures;
use self::writer::Writer;
use crate::load::{Checked, Loading};
use crate::{
    AppendRequest, Appended, CommitStream, Disclosed, EventLog, Head, LogError, Position,
    StoredCommit, check_request,
};

/// Requests waiting for the writer; a full queue makes appenders wait (back-pressure).
const QUEUE_CAPACITY: usize = 4096;
/// Most appends written and fsynced together.
const MAX_GROUP: usize = 1024;
/// Commits read from sled per blocking call while reading or catching up.
const READ_BATCH: usize = 512;

const COMMIT: u8 = b'c';
const PART: u8 = b'p';
const HEAD: u8 = b'h';
const IDEM: u8 = b'i';

type Reply = oneshot::Sender<Result<Appended, LogError>>;

/// What the writer is asked to do.
enum Job {
    Append(AppendRequest, Reply),
    /// Commits of a copied log, checked, to store as they are (see [`EventLog::load`]).
    Load(Vec<Loaded>, oneshot::Sender<Result<(), LogError>>),
}

/// A commit of a copied log and what its check decoded.
struct Loaded {
    stored: StoredCommit,
    checked: Checked,
}

/// The sled-backed event log.
#[derive(Debug)]
pub struct EmbeddedLog {
    db: sled::Db,
    disclosures: Arc<SledDisclosures>,
    queue: Option<mpsc::SyncSender<Job>>,
    writer: Option<JoinHandle<()>>,
    last: watch::Receiver<Position>,
}

impl EmbeddedLog {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, LogError> {
        let db = sled::Config::new()
            .path(dir)
            .open()
            .map_err(|e| unavailable(&e))?;
        let disclosures = Arc::new(SledDisclosures::open(&dir.join("disclosures"))?);
        let last = last_position(&db)?;
        let (last_tx, last_rx) = watch::channel(last);
        let (queue, jobs) = mpsc::sync_channel(QUEUE_CAPACITY);
        let writer = Writer::new(db.clone(), Arc::clone(&disclosures), last_tx);
        let writer = std::thread::Builder::new()
            .name("accord-log-writer".into())
            .spawn(move || writer.run(&jobs))
            .map_err(|e| LogError::Unavailable(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            db,
            disclosures,
            queue: Some(queue),
            writer: Some(writer),
            last: last_rx,
        })
    }

    /// Hands a job to the writer, waiting off the runtime while its queue is full.
    async fn submit(&self, job: Job) -> Result<(), LogError> {
        let queue = self
            .queue
            .clone()
            .ok_or_else(|| LogError::Unavailable("the log is closed".into()))?;
        match queue.try_send(job) {
            Ok(()) => Ok(()),
            Err(mpsc::TrySendError::Full(job)) => {
                tokio::task::spawn_blocking(move || queue.send(job).map_err(drop))
                    .await
                    .map_err(|e| LogError::Unavailable(format!("append task failed: {e}")))?
                    .map_err(|()| LogError::Unavailable("the writer has stopped".into()))
            }
            Err(mpsc::TrySendError::Disconnected(_)) => {
                Err(LogError::Unavailable("the writer has stopped".into()))
            }
        }
    }

    /// Has the writer store a checked part of a copied log.
    async fn load_part(&self, part: Vec<Loaded>) -> Result<(), LogError> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Load(part, reply)).await?;
        answer
            .await
            .map_err(|_| LogError::Unavailable("the writer has stopped".into()))?
    }

    async fn with_disclosures<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SledDisclosures) -> Result<T, LogError> + Send + 'static,
    ) -> Result<T, LogError> {
        let store = Arc::clone(&self.disclosures);
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| LogError::Unavailable(format!("disclosure task failed: {e}")))?
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&sled::Db) -> Result<T, LogError> + Send + 'static,
    ) -> Result<T, LogError> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(&db))
            .await
            .map_err(|e| LogError::Unavailable(format!("reader task failed: {e}")))?
    }

    /// A stream of stored commits after `after`; ends at `until` if given, else follows the log.
    fn commits(&self, after: Position, until: Option<Position>) -> CommitStream {
        struct State {
            db: sled::Db,
            cursor: Position,
            until: Option<Position>,
            buffer: std::vec::IntoIter<StoredCommit>,
            last: watch::Receiver<Position>,
        }
        let state = State {
            db: self.db.clone(),
            cursor: after,
            until,
            buffer: Vec::new().into_iter(),
            last: self.last.clone(),
        };
        futures::stream::unfold(state, |mut s| async move {
            loop {
                if let Some(c) = s.buffer.next() {
                    s.cursor = c.position;
                    return Some((Ok(c), s));
                }
                if s.until.is_some_and(|u| s.cursor >= u) {
                    return None;
                }
                let limit = s.until.map_or(READ_BATCH, |u| {
                    READ_BATCH.min(usize::try_from(u - s.cursor).unwrap_or(READ_BATCH))
                });
                let (db, cursor) = (s.db.clone(), s.cursor);
                let read = tokio::task::spawn_blocking(move || read_range(&db, cursor, limit))
                    .await
                    .map_err(|e| LogError::Unavailable(format!("reader task failed: {e}")))
                    .and_then(|r| r);
                match read {
                    Err(e) => return Some((Err(e), s)),
                    Ok(batch) if !batch.is_empty() => s.buffer = batch.into_iter(),
                    Ok(_) if s.until.is_some() => return None,
                    Ok(_) => {
                        // Caught up: wait until the writer publishes a later position.
                        let cursor = s.cursor;
                        if s.last.wait_for(|last| *last > cursor).await.is_err() {
                            return None;
                        }
                    }
                }
            }
        })
        .boxed()
    }
}

impl Drop for EmbeddedLog {
    fn drop(&mut self) {
        // Closing the queue ends the writer once it has answered what it holds.
        self.queue.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

#[async_trait]
impl EventLog for EmbeddedLog {
    async fn append(&self, request: AppendRequest) -> Result<Appended, LogError> {
        check_request(&request)?;
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Append(request, reply)).await?;
        answer
            .await
            .map_err(|_| LogError::Unavailable("the writer has stopped".into()))?
    }

    async fn head(&self, partnership: &PartnershipId) -> Result<Head, LogError> {
        let p = partnership.clone();
        self.blocking(move |db| Ok(read_head(db, &p)?.map_or(Head::EMPTY, |(h, _)| h)))
            .await
    }

    async fn read_partnership(
        &self,
        partnership: &PartnershipId,
        after: Position,
    ) -> Result<Vec<StoredCommit>, LogError> {
        let p = partnership.clone();
        self.blocking(move |db| {
            let prefix = part_prefix(&p);
            let start = part_key(&p, after.saturating_add(1));
            let mut out = Vec::new();
            for item in db.range(start..) {
                let (key, _) = item.map_err(|e| unavailable(&e))?;
                if !key.starts_with(&prefix) {
                    break;
                }
                let position = position_at(&key[prefix.len()..]);
                let value = db
                    .get(commit_key(position))
                    .map_err(|e| unavailable(&e))?
                    .ok_or_else(|| LogError::Corrupt {
                        position,
                        message: "indexed commit is missing".into(),
                    })?;
                out.push(stored(position, &value)?);
            }
            Ok(out)
        })
        .await
    }

    async fn read_all(&self, after: Position) -> Result<CommitStream, LogError> {
        let until = *self.last.borrow();
        Ok(self.commits(after, Some(until)))
    }

    async fn subscribe(&self, after: Position) -> Result<CommitStream, LogError> {
        Ok(self.commits(after, None))
    }

    async fn last_position(&self) -> Result<Position, LogError> {
        Ok(*self.last.borrow())
    }

    async fn partnerships(&self) -> Result<Vec<PartnershipId>, LogError> {
        self.blocking(|db| {
            db.scan_prefix([HEAD])
                .map(|item| {
                    let (key, _) = item.map_err(|e| unavailable(&e))?;
                    std::str::from_utf8(&key[1..])
                        .ok()
                        .and_then(|s| PartnershipId::parse(s).ok())
                        .ok_or_else(|| LogError::Corrupt {
                            position: 0,
                            message: format!("head key {key:?} is not a partnership id"),
                        })
                })
                .collect()
        })
        .await
    }

    async fn load(&self, mut commits: CommitStream) -> Result<Position, LogError> {
        let mut loading = Loading::start(self.last_position().await?)?;
        let mut part = Vec::with_capacity(MAX_GROUP);
        loop {
            let checked = match commits.next().await {
                None => break,
                Some(stored) => stored.and_then(|stored| Ok((loading.check(&stored)?, stored))),
            };
            match checked {
                Ok((checked, stored)) => part.push(Loaded { stored, checked }),
                Err(e) => {
                    // What passed before the failure is stored, as documented.
                    if !part.is_empty() {
                        self.load_part(part).await?;
                    }
                    return Err(e);
                }
            }
            if part.len() == MAX_GROUP {
                self.load_part(std::mem::take(&mut part)).await?;
            }
        }
        if !part.is_empty() {
            self.load_part(part).await?;
        }
        Ok(loading.last())
    }

    async fn disclosures(&self, digests: &[Digest]) -> Result<Disclosed, LogError> {
        let digests = digests.to_vec();
        self.with_disclosures(move |store| store.get(&digests))
            .await
    }

    async fn erase(&self, digests: &BTreeSet<Digest>) -> Result<(), LogError> {
        let digests = digests.clone();
        self.with_disclosures(move |store| store.erase(&digests))
            .await
    }

    async fn all_disclosures(&self) -> Result<Vec<Disclosure>, LogError> {
        self.with_disclosures(|store| store.all()).await
    }

    async fn load_disclosures(&self, disclosures: &[Disclosure]) -> Result<(), LogError> {
        let disclosures = disclosures.to_vec();
        self.with_disclosures(move |store| store.put(&disclosures.iter().collect::<Vec<_>>()))
            .await
    }

    async fn missing_positions(&self) -> Result<Vec<Position>, LogError> {
        self.blocking(|db| {
            let mut missing = Vec::new();
            let mut expected = 1;
            for item in db.scan_prefix([COMMIT]) {
                let (key, _) = item.map_err(|e| unavailable(&e))?;
                let position = position_at(&key[1..]);
                missing.extend(expected..position);
                expected = position + 1;
            }
            Ok(missing)
        })
        .await
    }
}

fn unavailable(e: &sled::Error) -> LogError {
    LogError::Unavailable(format!("sled: {e}"))
}

fn commit_key(position: Position) -> [u8; 9] {
    let mut k = [COMMIT; 9];
    k[1..].copy_from_slice(&position.to_be_bytes());
    k
}

fn part_prefix(p: &PartnershipId) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + p.as_str().len());
    k.push(PART);
    k.extend_from_slice(p.as_str().as_bytes());
    k.push(b'/');
    k
}

fn part_key(p: &PartnershipId, position: Position) -> Vec<u8> {
    let mut k = part_prefix(p);
    k.extend_from_slice(&position.to_be_bytes());
    k
}

fn head_key(p: &PartnershipId) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + p.as_str().len());
    k.push(HEAD);
    k.extend_from_slice(p.as_str().as_bytes());
    k
}

fn idem_key(id: &CommitId) -> [u8; 17] {
    let mut k = [IDEM; 17];
    k[1..].copy_from_slice(id.as_uuid().as_bytes());
    k
}

fn position_at(bytes: &[u8]) -> Position {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[..n].copy_from_slice(&bytes[..n]);
    Position::from_be_bytes(b)
}

fn read_head(db: &sled::Db, p: &PartnershipId) -> Result<Option<(Head, CommitId)>, LogError> {
    let Some(v) = db.get(head_key(p)).map_err(|e| unavailable(&e))? else {
        return Ok(None);
    };
    let corrupt = || LogError::Corrupt {
        position: position_at(&v),
        message: format!("head of {p} is malformed"),
    };
    if v.len() != 56 {
        return Err(corrupt());
    }
    let hash = Hash::from_slice(&v[8..40]).ok_or_else(corrupt)?;
    let id = uuid_from(&v[40..56]).ok_or_else(corrupt)?;
    Ok(Some((
        Head {
            revision: position_at(&v[..8]),
            hash,
        },
        id,
    )))
}

fn uuid_from(bytes: &[u8]) -> Option<CommitId> {
    let b: [u8; 16] = bytes.try_into().ok()?;
    Some(CommitId::from_uuid(accord_domain::ids::Uuid::from_bytes(b)))
}

fn stored(position: Position, value: &[u8]) -> Result<StoredCommit, LogError> {
    let corrupt = |message: &str| LogError::Corrupt {
        position,
        message: message.into(),
    };
    let (&len, rest) = value.split_first().ok_or_else(|| corrupt("empty record"))?;
    let len = usize::from(len);
    if rest.len() < len {
        return Err(corrupt("truncated record"));
    }
    let partnership_id = std::str::from_utf8(&rest[..len])
        .ok()
        .and_then(|s| PartnershipId::parse(s).ok())
        .ok_or_else(|| corrupt("record names no valid partnership"))?;
    Ok(StoredCommit {
        position,
        partnership_id,
        bytes: Bytes::copy_from_slice(&rest[len..]),
    })
}

fn last_position(db: &sled::Db) -> Result<Position, LogError> {
    let last = db
        .scan_prefix([COMMIT])
        .next_back()
        .transpose()
        .map_err(|e| unavailable(&e))?;
    Ok(last.map_or(0, |(k, _)| position_at(&k[1..])))
}

fn read_range(db: &sled::Db, after: Position, limit: usize) -> Result<Vec<StoredCommit>, LogError> {
    let start = commit_key(after.saturating_add(1));
    let end = commit_key(Position::MAX);
    db.range(start..=end)
        .take(limit)
        .map(|item| {
            let (k, v) = item.map_err(|e| unavailable(&e))?;
            stored(position_at(&k[1..]), &v)
        })
        .collect()
}
