//! The event log: one trait and two backends that pass one conformance suite.
//!
//! - [`jetstream::JetStreamLog`]: NATS JetStream, stream `ACCORD_EVENTS`, one subject per
//!   partnership, one message per commit, optimistic concurrency enforced by the server.
//! - [`embedded::EmbeddedLog`]: a sled store inside the process with the same semantics.
//!
//! Positions are log-wide and start at 1; a partnership's **revision** is the position of its
//! last commit (0 before its first). Every read and subscription takes the position to start
//! *after*, so `0` means from the beginning and a checkpoint can be passed as it is.
//!
//! **Architecture invariant:** the log never decides anything about the domain. It orders,
//! deduplicates, guards the revision and seals the hash chain; validation is the ledger's.

pub mod embedded;
pub mod jetstream;
pub mod load;
mod verify;

use std::sync::Arc;
pub use verify::{verify_log, verify_partnership};

use std::collections::{BTreeSet, HashMap};

use accord_domain::personal::{Digest, Disclosure, erased};
use accord_domain::signing::Signed;
use accord_domain::signing_rules::SignatureAudit;
use accord_domain::{BrokenLink, Commit, CommitId, Event, EventId, Hash, PartnershipId};
use accord_proto::{DecodeError, ReadCommit, SealedCommit};
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use time::OffsetDateTime;

/// A log-wide position; a partnership's revision is the position of its last commit.
pub type Position = u64;

/// A partnership's last commit: its revision and hash, which the next commit links to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub revision: Position,
    pub hash: Hash,
}

impl Head {
    /// The head of a partnership without commits.
    pub const EMPTY: Head = Head {
        revision: 0,
        hash: Hash::GENESIS,
    };
}

impl Default for Head {
    fn default() -> Self {
        Self::EMPTY
    }
}

/// What the writer expects the partnership's head to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Whatever the head is; the log still links to the head it appends after and guards that
    /// revision, retrying a bounded number of times when another writer gets there first.
    Any,
    /// The partnership has no commit yet.
    NoStream,
    /// The head is exactly this one; anything else is a conflict.
    Exact(Head),
}

/// One commit to append.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendRequest {
    pub partnership_id: PartnershipId,
    pub commit_id: CommitId,
    pub recorded_at: OffsetDateTime,
    /// The events as stored: every personal value a digest (`accord_domain::personal::seal`).
    /// Shared, so that the writer keeps its events without a copy while the log encodes them.
    pub events: Arc<[Event]>,
    /// The disclosures of those digests, stored (erasable) before the commit.
    pub disclosures: Arc<[Disclosure]>,
    /// The acting org's signature, kept in the commit's body (boxed: most commits have none).
    pub signed: Option<Box<Signed>>,
    pub expected: Expected,
}

/// Disclosures fetched from the store, by digest; one it no longer holds (erased) is absent.
pub type Disclosed = HashMap<Digest, Disclosure>;

/// A disclosure read back from a store, checked against the digest it is kept under.
pub(crate) fn read_disclosure(digest: &Digest, bytes: &[u8]) -> Result<Disclosure, LogError> {
    let corrupt = |message: String| LogError::CorruptDisclosure {
        key: digest.to_string(),
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| corrupt(e.to_string()))?;
    let d = Disclosure::parse(text).map_err(|e| corrupt(e.to_string()))?;
    if d.digest() != *digest {
        return Err(corrupt("its bytes do not hash to its key".into()));
    }
    Ok(d)
}

/// The answer to an append. A retried append (same commit id) gets the original answer back,
/// with `replayed` set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub partnership_id: PartnershipId,
    pub commit_id: CommitId,
    /// The commit's position, which is the partnership's new revision.
    pub position: Position,
    pub hash: Hash,
    pub event_ids: Vec<EventId>,
    pub recorded_at: OffsetDateTime,
    pub replayed: bool,
}

impl Appended {
    fn from_stored(stored: &StoredCommit, replayed: bool) -> Result<Self, LogError> {
        let (sealed, commit) = stored.decode()?;
        Ok(Self {
            event_ids: commit.event_ids(),
            partnership_id: commit.partnership_id,
            commit_id: commit.commit_id,
            position: stored.position,
            hash: sealed.hash,
            recorded_at: commit.recorded_at,
            replayed,
        })
    }
}

/// A commit as read back: its position, its partnership and the stored bytes, decoded on demand
/// so that a damaged commit can be reported with its position rather than failing the read.
///
/// As JSON (a copy of the log, `GET /v1/log`, `accord backup`):
/// `{"position", "partnership_id", "commit"}`, the bytes in standard base64.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredCommit {
    pub position: Position,
    pub partnership_id: PartnershipId,
    #[serde(rename = "commit", with = "base64_bytes")]
    pub bytes: Bytes,
}

/// Bytes as standard base64 in JSON.
mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text.as_bytes())
            .map(Bytes::from)
            .map_err(|e| serde::de::Error::custom(format!("must be standard base64: {e}")))
    }
}

impl StoredCommit {
    /// The commit's stored form, its events not yet joined with their personal values.
    pub fn decode(&self) -> Result<(SealedCommit, ReadCommit), LogError> {
        let sealed = SealedCommit::decode(&self.bytes).map_err(|e| self.corrupt(&e))?;
        let commit = sealed.read().map_err(|e| self.corrupt(&e))?;
        Ok((sealed, commit))
    }

    fn corrupt(&self, e: &DecodeError) -> LogError {
        LogError::Corrupt {
            position: self.position,
            message: e.to_string(),
        }
    }
}

/// Commits as read, with every personal value joined back in from the log's disclosure store:
/// one fetch for all their digests, less those an erasure among them names (which read as
/// `[erased]` whatever the store still holds).
pub async fn join_commits(
    log: &dyn EventLog,
    stored: &[StoredCommit],
) -> Result<Vec<(SealedCommit, Commit)>, LogError> {
    let mut read = Vec::with_capacity(stored.len());
    let mut wanted = BTreeSet::new();
    for s in stored {
        let (sealed, mut commit) = s.decode()?;
        wanted.extend(commit.digests().map_err(|e| s.corrupt(&e))?);
        read.push((sealed, commit));
    }
    let gone = erased(
        read.iter()
            .flat_map(|(_, c)| c.events.iter().map(|e| e.stored())),
    );
    let wanted: Vec<Digest> = wanted.difference(&gone).copied().collect();
    let disclosed = log.disclosures(&wanted).await?;
    Ok(read
        .into_iter()
        .map(|(sealed, commit)| (sealed, commit.join(&disclosed)))
        .collect())
}

/// Errors grouped by what the caller does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// Another commit got there first: re-read, re-decide, retry.
    #[error(
        "conflict on partnership {partnership_id}: expected revision {expected}, the partnership is at {actual}"
    )]
    Conflict {
        partnership_id: PartnershipId,
        expected: Position,
        actual: Position,
    },
    /// The request itself is wrong (fix it): no events, ids that do not match.
    #[error("invalid append: {0}")]
    Invalid(String),
    /// The log cannot be reached or did not answer: try later.
    #[error("event log unavailable: {0}")]
    Unavailable(String),
    /// The log exists but is configured in a way the ledger cannot rely on.
    #[error("event log misconfigured: {0}")]
    Misconfigured(String),
    /// A stored commit cannot be decoded.
    #[error("commit at position {position} is corrupt: {message}")]
    Corrupt { position: Position, message: String },
    /// A stored disclosure cannot be read, or does not hash to its key.
    #[error("disclosure {key} is corrupt: {message}")]
    CorruptDisclosure { key: String, message: String },
}

/// A stream of commits in log order.
pub type CommitStream = BoxStream<'static, Result<StoredCommit, LogError>>;

/// The event log both backends implement.
#[async_trait]
pub trait EventLog: Send + Sync + std::fmt::Debug {
    /// Appends one commit atomically, or fails with a typed error and appends nothing.
    async fn append(&self, request: AppendRequest) -> Result<Appended, LogError>;

    /// The partnership's head ([`Head::EMPTY`] when it has no commit).
    async fn head(&self, partnership: &PartnershipId) -> Result<Head, LogError>;

    /// The partnership's commits after `revision`, in order.
    async fn read_partnership(
        &self,
        partnership: &PartnershipId,
        after: Position,
    ) -> Result<Vec<StoredCommit>, LogError>;

    /// Every commit after `after` up to the head when the call is made, in log order.
    async fn read_all(&self, after: Position) -> Result<CommitStream, LogError>;

    /// Every commit after `after`: first those already stored, then each new one as it is
    /// appended, without a gap or a duplicate at the seam. The stream never ends by itself.
    async fn subscribe(&self, after: Position) -> Result<CommitStream, LogError>;

    /// The position of the last commit (0 when the log is empty).
    async fn last_position(&self) -> Result<Position, LogError>;

    /// Every partnership with at least one commit.
    async fn partnerships(&self) -> Result<Vec<PartnershipId>, LogError>;

    /// Loads a copy of a log (a backup, in log order from position 1) into this log, which
    /// must be empty: every commit keeps its position and its stored bytes. Each commit is
    /// checked first (positions that follow one another, a body that decodes, a chain link and
    /// hash that hold); the first that fails stops the load with the commits before it stored.
    /// Returns the last position loaded.
    async fn load(&self, commits: CommitStream) -> Result<Position, LogError>;

    /// The disclosures the store holds of `digests` (an erased one is absent).
    async fn disclosures(&self, digests: &[Digest]) -> Result<Disclosed, LogError>;

    /// Erases disclosures for good: their bytes leave the store's files, not only its index.
    async fn erase(&self, digests: &BTreeSet<Digest>) -> Result<(), LogError>;

    /// Every disclosure the store holds, in digest order (a backup's copy).
    async fn all_disclosures(&self) -> Result<Vec<Disclosure>, LogError>;

    /// Stores the disclosures of a backup (see [`EventLog::load`]).
    async fn load_disclosures(&self, disclosures: &[Disclosure]) -> Result<(), LogError>;

    /// Positions up to the last one that hold no commit. The log never deletes, so each one is
    /// a commit the storage lost (a server drops a message whose checksum fails).
    async fn missing_positions(&self) -> Result<Vec<Position>, LogError>;
}

/// The first broken link of a partnership's chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "chain of {partnership_id} broken at position {position} (last good commit at {last_good}): {reason}"
)]
pub struct ChainBreak {
    pub partnership_id: PartnershipId,
    /// The first position where the chain does not hold: a commit that fails its hash, or one
    /// the storage lost.
    pub position: Position,
    /// The last position whose commit verified (0 when none did).
    pub last_good: Position,
    pub reason: ChainFault,
}

/// What is wrong at the break.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainFault {
    #[error("{0}")]
    Link(BrokenLink),
    /// The partnership's next commit is gone from the log, and the one after it links to it.
    #[error("the commit at this position is missing from the log; the next commit links to it")]
    Missing,
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// Every link holds; the partnership's head, and what its signatures say.
    Ok {
        commits: usize,
        head: Head,
        signatures: SignatureAudit,
    },
    Broken(ChainBreak),
}

/// Checks what every backend checks before appending.
fn check_request(request: &AppendRequest) -> Result<(), LogError> {
    if request.events.is_empty() {
        return Err(LogError::Invalid(
            "a commit holds at least one event".into(),
        ));
    }
    if let Some(e) = request
        .events
        .iter()
        .find(|e| e.partnership_id != request.partnership_id)
    {
        return Err(LogError::Invalid(format!(
            "event {} names partnership {}, the commit {}",
            e.event_id, e.partnership_id, request.partnership_id
        )));
    }
    Ok(())
}

/// Seals the commit a request makes when appended after `head`.
fn seal(request: &AppendRequest, head: Head) -> SealedCommit {
    SealedCommit::seal_parts(
        request.commit_id,
        &request.partnership_id,
        head.hash,
        request.recorded_at,
        &request.events,
        request.signed.as_deref(),
    )
}

impl AppendRequest {
    /// The answer for this request once appended at `position`.
    fn appended(&self, position: Position, hash: Hash) -> Appended {
        Appended {
            partnership_id: self.partnership_id.clone(),
            commit_id: self.commit_id,
            position,
            hash,
            event_ids: self.events.iter().map(|e| e.event_id).collect(),
            recorded_at: self.recorded_at,
            replayed: false,
        }
    }
}
