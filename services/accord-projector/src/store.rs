//! One generation of the projector's store: each partnership's verified commits (its facts), its
//! chain head, and the checkpoint, in one sled tree written one atomic batch at a time.
//!
//! Layout, big-endian positions so that keys sort in log order:
//! - `k` → the checkpoint: the position of the last commit applied (absent before the first)
//! - `f` → that commit's id: which log the store was built from
//! - `v` → the layout version ([`LAYOUT`]); a store of another layout is made again, not read
//! - `m` ‖ partnership id → [`Meta`]: the partnership's verified head and, once its chain broke,
//!   where and why
//! - `b` ‖ partnership id → (empty): the partnerships whose chain broke, for `/healthz`
//! - `o` ‖ partnership id → its [`Overview`] at some revision, for the list of partnerships; made
//!   from the facts when asked for and stale, so the apply path never writes it
//! - `c` ‖ partnership id ‖ `/` ‖ position → the partnership's verified commits from that
//!   position on, as written by one batch: (position u64, length u32, encoded `Commit`)*
//!
//! A batch that touches a partnership several times writes one `c` entry for it, so a rebuild
//! writes far fewer keys than commits. Applying a batch again changes nothing: commits at or
//! before the checkpoint are skipped.

use std::borrow::Borrow;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use accord_domain::personal::{Digest, Unjoined, erased};
use accord_domain::{
    ChainVerifier, CommitId, Event, Hash, Link, OrgId, Overview, Partnership, PartnershipId,
    Payload,
};
use accord_log::{Position, StoredCommit};
use accord_proto::SealedCommit;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::disclose::{Disclose, Undisclosed};

const CHECKPOINT: &[u8] = b"k";
const VERSION: &[u8] = b"v";
/// The layout this code reads and writes.
pub const LAYOUT: u32 = 1;
const FINGERPRINT: &[u8] = b"f";
const META: u8 = b'm';
const BROKEN: u8 = b'b';
const COMMITS: u8 = b'c';
const OVERVIEW: u8 = b'o';

/// Errors of the store itself (the disk, or a record it cannot read back).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("projection store: {0}")]
    Sled(String),
    #[error("projection store record {key} is unreadable: {message}")]
    Corrupt { key: String, message: String },
    #[error(
        "the read models were written by another version of accord (layout {found}, not {LAYOUT})"
    )]
    OtherLayout { found: String },
    /// The personal values of the facts cannot be read from the log's disclosure store.
    #[error("personal values unavailable")]
    Disclosures(#[source] accord_log::LogError),
}

pub(crate) fn sled_error(e: &sled::Error) -> StoreError {
    StoreError::Sled(e.to_string())
}

/// A file operation of the projections that failed: `what` (creating, reading, ...) `path`.
pub(crate) fn io_error(what: &str, path: &Path, e: &std::io::Error) -> StoreError {
    StoreError::Sled(format!("{what} {}: {e}", path.display()))
}

/// Where and why a partnership's chain broke; its projection stopped at `last_good`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broken {
    pub position: Position,
    pub last_good: Position,
    pub reason: String,
}

/// What the store keeps about a partnership besides its commits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The position of its last verified commit.
    pub revision: Position,
    pub head: [u8; 32],
    pub commits: u64,
    pub broken: Option<Broken>,
}

/// A partnership's verified events, in log order, and its meta.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub meta: Meta,
    /// The position of the last commit read (that it was read after, when there is none); the
    /// meta, read just before, may lag behind it if a batch landed in between.
    pub position: Position,
    pub events: Vec<Event>,
}

impl Facts {
    /// The parties named by the proposal.
    pub fn parties(&self) -> Vec<OrgId> {
        parties_of(&self.events)
    }

    /// Whether an event among them erases personal values.
    pub fn erases(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e.payload, Payload::PersonalDataErased(_)))
    }
}

/// The parties named by the proposal among `events`.
pub(crate) fn parties_of(events: &[impl Borrow<Event>]) -> Vec<OrgId> {
    events
        .iter()
        .find_map(|e| match &e.borrow().payload {
            Payload::PartnershipProposed(p) => {
                Some(p.parties.iter().map(|p| p.org.clone()).collect())
            }
            _ => None,
        })
        .unwrap_or_default()
}

/// A broken chain found while applying a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreakFound {
    pub partnership_id: PartnershipId,
    #[serde(flatten)]
    pub broken: Broken,
}

/// What applying a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The checkpoint after the batch.
    pub checkpoint: Position,
    /// Commits folded in (not skipped as already applied, not refused by a broken chain).
    pub commits: usize,
    /// The partnerships whose facts changed, in no particular order.
    pub touched: Vec<PartnershipId>,
    /// Chains that broke in this batch.
    pub breaks: Vec<BreakFound>,
}

/// One generation of projections.
#[derive(Debug)]
pub struct Store {
    pub(crate) db: sled::Db,
}

/// The partnership id of a key made by [`key`].
fn id_of(k: &[u8]) -> Result<PartnershipId, StoreError> {
    std::str::from_utf8(&k[1..])
        .ok()
        .and_then(|s| PartnershipId::parse(s).ok())
        .ok_or_else(|| StoreError::Corrupt {
            key: String::from_utf8_lossy(k).into_owned(),
            message: "not a partnership id".into(),
        })
}

fn key(prefix: u8, p: &PartnershipId) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + p.as_str().len() + 9);
    k.push(prefix);
    k.extend_from_slice(p.as_str().as_bytes());
    k
}

fn commits_prefix(p: &PartnershipId) -> Vec<u8> {
    let mut k = key(COMMITS, p);
    k.push(b'/');
    k
}

/// A stored commit's id, when its head decodes.
pub fn commit_id(stored: &StoredCommit) -> Option<CommitId> {
    SealedCommit::decode(&stored.bytes)
        .and_then(|s| s.head())
        .ok()
        .map(|h| h.commit_id)
}

/// Checks one commit's link after `head`: its hash and that of the commit it follows.
fn verify(stored: &StoredCommit, head: Hash) -> Result<Hash, String> {
    let sealed = SealedCommit::decode(&stored.bytes).map_err(|e| e.to_string())?;
    let commit = sealed.head().map_err(|e| e.to_string())?;
    if commit.partnership_id != stored.partnership_id {
        return Err(format!(
            "the commit names partnership {}, its subject {}",
            commit.partnership_id, stored.partnership_id
        ));
    }
    ChainVerifier::after(head)
        .check(Link {
            prev_hash: commit.prev_hash,
            body: &sealed.body,
            hash: sealed.hash,
        })
        .map_err(|e| e.to_string())?;
    Ok(sealed.hash)
}

/// Folds one commit (after the checkpoint) into its partnership's meta: true when its link
/// verified and it belongs to the facts. A link that does not hold marks the partnership broken
/// there and is added to `breaks`; every later commit of a broken partnership is refused.
fn fold(meta: &mut Meta, stored: &StoredCommit, breaks: &mut Vec<BreakFound>) -> bool {
    if meta.broken.is_some() {
        return false;
    }
    match verify(stored, Hash(meta.head)) {
        Ok(hash) => {
            meta.revision = stored.position;
            meta.head = hash.0;
            meta.commits += 1;
            true
        }
        Err(reason) => {
            let broken = Broken {
                position: stored.position,
                last_good: meta.revision,
                reason,
            };
            meta.broken = Some(broken.clone());
            breaks.push(BreakFound {
                partnership_id: stored.partnership_id.clone(),
                broken,
            });
            false
        }
    }
}

/// The key of a partnership's facts entry that starts at `position`.
fn chunk_key(p: &PartnershipId, position: Position) -> Vec<u8> {
    let mut k = commits_prefix(p);
    k.extend_from_slice(&position.to_be_bytes());
    k
}

/// Appends a commit to a facts entry.
fn append(chunk: &mut Vec<u8>, stored: &StoredCommit) {
    chunk.extend_from_slice(&stored.position.to_be_bytes());
    chunk.extend_from_slice(&(stored.bytes.len() as u32).to_be_bytes());
    chunk.extend_from_slice(&stored.bytes);
}

/// Commits folded in log order, as `Store::apply` and a rebuild's bulk load gather them: the
/// metas of the partnerships seen and, per partnership, its facts entry (keyed by its first
/// position).
#[derive(Debug, Default)]
pub(crate) struct Folding {
    /// The position of the last commit taken.
    pub(crate) checkpoint: Position,
    /// The id of that commit.
    pub(crate) last: Option<CommitId>,
    pub(crate) metas: HashMap<PartnershipId, Meta>,
    /// Per partnership: the key of its entry and the entry.
    pub(crate) entries: HashMap<PartnershipId, (Vec<u8>, Vec<u8>)>,
    pub(crate) breaks: Vec<BreakFound>,
    /// Commits folded in (not skipped as already taken, not refused by a broken chain).
    pub(crate) commits: usize,
    /// Bytes of `entries`.
    pub(crate) bytes: usize,
}

impl Folding {
    /// Folds the commits after the checkpoint; `known` gives the meta of a partnership seen for
    /// the first time.
    pub(crate) fn fold(
        &mut self,
        commits: &[StoredCommit],
        mut known: impl FnMut(&PartnershipId) -> Result<Meta, StoreError>,
    ) -> Result<(), StoreError> {
        let mut last = None;
        for stored in commits {
            if stored.position <= self.checkpoint {
                continue;
            }
            self.checkpoint = stored.position;
            last = Some(stored);
            let p = &stored.partnership_id;
            let meta = match self.metas.entry(p.clone()) {
                std::collections::hash_map::Entry::Occupied(m) => m.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => v.insert(known(p)?),
            };
            if fold(meta, stored, &mut self.breaks) {
                let (_, entry) = self
                    .entries
                    .entry(p.clone())
                    .or_insert_with(|| (chunk_key(p, stored.position), Vec::new()));
                let before = entry.len();
                append(entry, stored);
                self.bytes += entry.len() - before;
                self.commits += 1;
            }
        }
        if let Some(last) = last {
            self.last = commit_id(last);
        }
        Ok(())
    }
}

impl Store {
    /// Opens (or creates) a store in `dir`, with a bounded page cache.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(64 * 1024 * 1024)
            .open()
            .map_err(|e| sled_error(&e))?;
        Self::with_layout(db)
    }

    /// Marks a new store with this layout, or checks an existing one's.
    fn with_layout(db: sled::Db) -> Result<Self, StoreError> {
        match db.get(VERSION).map_err(|e| sled_error(&e))? {
            None if db.is_empty() => {
                db.insert(VERSION, &LAYOUT.to_be_bytes())
                    .map_err(|e| sled_error(&e))?;
            }
            Some(v) if v.as_ref() == LAYOUT.to_be_bytes() => {}
            other => {
                return Err(StoreError::OtherLayout {
                    found: other.map_or_else(|| "none".into(), |v| format!("{:?}", v.as_ref())),
                });
            }
        }
        Ok(Self { db })
    }

    /// A store that lives in memory only, for tests.
    pub fn temporary() -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .map_err(|e| sled_error(&e))?;
        Self::with_layout(db)
    }

    /// The position of the last commit applied (0 before any).
    pub fn checkpoint(&self) -> Result<Position, StoreError> {
        match self.db.get(CHECKPOINT).map_err(|e| sled_error(&e))? {
            None => Ok(0),
            Some(v) => <[u8; 8]>::try_from(v.as_ref())
                .map(u64::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    key: "checkpoint".into(),
                    message: format!("{} bytes, not 8", v.len()),
                }),
        }
    }

    /// The id of the commit at the checkpoint (`None` before the first, or when that commit
    /// could not be decoded).
    pub fn checkpoint_commit(&self) -> Result<Option<CommitId>, StoreError> {
        Ok(self
            .db
            .get(FINGERPRINT)
            .map_err(|e| sled_error(&e))?
            .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok()))
    }

    pub fn meta(&self, p: &PartnershipId) -> Result<Option<Meta>, StoreError> {
        self.db
            .get(key(META, p))
            .map_err(|e| sled_error(&e))?
            .map(|v| {
                codec::decode(&v).map_err(|message| StoreError::Corrupt {
                    key: format!("meta of {p}"),
                    message,
                })
            })
            .transpose()
    }

    /// Every partnership whose chain broke, with where and why.
    pub fn broken(&self) -> Result<Vec<BreakFound>, StoreError> {
        let mut out = Vec::new();
        for p in self.ids(BROKEN) {
            let p = p?;
            if let Some(Meta {
                broken: Some(broken),
                ..
            }) = self.meta(&p)?
            {
                out.push(BreakFound {
                    partnership_id: p,
                    broken,
                });
            }
        }
        Ok(out)
    }

    /// The partnership ids of the keys under `prefix`.
    fn ids(&self, prefix: u8) -> impl Iterator<Item = Result<PartnershipId, StoreError>> + '_ {
        self.db
            .scan_prefix([prefix])
            .keys()
            .map(|k| id_of(&k.map_err(|e| sled_error(&e))?))
    }

    /// Verifies and applies a batch of commits in log order, writing the touched partnerships
    /// and the checkpoint in one atomic sled batch. A commit whose link does not hold stops its
    /// partnership's projection there (it and every later commit of that partnership are left
    /// out); the checkpoint still moves past it.
    pub fn apply(&self, commits: &[StoredCommit]) -> Result<Applied, StoreError> {
        let checkpoint = self.checkpoint()?;
        let mut folding = Folding {
            checkpoint,
            ..Folding::default()
        };
        folding.fold(commits, |p| Ok(self.meta(p)?.unwrap_or_default()))?;
        if folding.checkpoint == checkpoint {
            // Nothing after the checkpoint (a replay after a restart): nothing changes, not even
            // the id of the commit at the checkpoint.
            return Ok(Applied {
                checkpoint,
                ..Applied::default()
            });
        }
        let mut batch = sled::Batch::default();
        for (k, entry) in folding.entries.values() {
            batch.insert(k.as_slice(), entry.as_slice());
        }
        self.close_batch(
            batch,
            &folding.metas,
            &folding.breaks,
            folding.checkpoint,
            folding.last,
        )?;
        Ok(Applied {
            checkpoint: folding.checkpoint,
            commits: folding.commits,
            touched: folding.entries.into_keys().collect(),
            breaks: folding.breaks,
        })
    }

    /// Completes `batch` with the metas, the breaks and the checkpoint (with the id of the
    /// commit there), and applies it atomically.
    pub(crate) fn close_batch(
        &self,
        mut batch: sled::Batch,
        metas: &HashMap<PartnershipId, Meta>,
        breaks: &[BreakFound],
        checkpoint: Position,
        last: Option<CommitId>,
    ) -> Result<(), StoreError> {
        for b in breaks {
            batch.insert(key(BROKEN, &b.partnership_id), &[][..]);
        }
        for (p, meta) in metas {
            batch.insert(key(META, p), codec::encode(meta));
        }
        batch.insert(CHECKPOINT, &checkpoint.to_be_bytes());
        match last {
            Some(id) => batch.insert(FINGERPRINT, id.to_string().as_bytes()),
            None => batch.remove(FINGERPRINT),
        }
        self.db.apply_batch(batch).map_err(|e| sled_error(&e))
    }

    /// A partnership's facts, their personal values from `disclose`, or `None` when the store
    /// has never seen it.
    pub fn facts(
        &self,
        p: &PartnershipId,
        disclose: &dyn Disclose,
    ) -> Result<Option<Facts>, StoreError> {
        self.facts_after(p, 0, disclose)
    }

    /// A partnership's facts after `after`: the events of its commits past that position (a
    /// position it was read up to before), or `None` when the store has never seen it. Each
    /// entry is written whole, so reading from the entries that start past `after` reads every
    /// commit past it.
    /// Their personal values are joined in from `disclose` (those an erasure among them names
    /// read as erased).
    pub fn facts_after(
        &self,
        p: &PartnershipId,
        after: Position,
        disclose: &dyn Disclose,
    ) -> Result<Option<Facts>, StoreError> {
        let Some(meta) = self.meta(p)? else {
            return Ok(None);
        };
        let corrupt = |message: String| StoreError::Corrupt {
            key: format!("commits of {p}"),
            message,
        };
        let mut unjoined = Vec::new();
        let mut wanted = BTreeSet::new();
        let mut position = after;
        let prefix = commits_prefix(p);
        let entries = self
            .db
            .range(chunk_key(p, after.saturating_add(1))..)
            .take_while(|entry| entry.as_ref().map_or(true, |(k, _)| k.starts_with(&prefix)));
        for entry in entries {
            let (_, chunk) = entry.map_err(|e| sled_error(&e))?;
            let mut rest: &[u8] = &chunk;
            while !rest.is_empty() {
                if rest.len() < 12 {
                    return Err(corrupt("a commit entry is cut short".into()));
                }
                position = rest
                    .first_chunk()
                    .map_or(position, |p| u64::from_be_bytes(*p));
                let len = u32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]) as usize;
                let bytes = rest
                    .get(12..12 + len)
                    .ok_or_else(|| corrupt("a commit is cut short".into()))?;
                let mut commit = SealedCommit::decode(bytes)
                    .and_then(|s| s.read())
                    .map_err(|e| corrupt(e.to_string()))?;
                wanted.extend(commit.digests().map_err(|e| corrupt(e.to_string()))?);
                unjoined.extend(commit.events);
                rest = &rest[12 + len..];
            }
        }
        let gone = erased(unjoined.iter().map(Unjoined::stored));
        let wanted: Vec<Digest> = wanted.difference(&gone).copied().collect();
        let disclosed = disclose.disclose(&wanted)?;
        let events = unjoined.into_iter().map(|e| e.join(&disclosed)).collect();
        Ok(Some(Facts {
            meta,
            position,
            events,
        }))
    }

    /// Writes everything applied so far to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(drop).map_err(|e| sled_error(&e))
    }

    /// The overview of each partnership after `after` (every one when `None`), in id order:
    /// its stored overview when that is at the partnership's revision, else one folded from its
    /// facts and stored for the next time. A partnership whose chain broke shows what its
    /// verified commits say.
    pub fn overviews_after(
        &self,
        after: Option<&PartnershipId>,
    ) -> impl Iterator<Item = Result<Overview, StoreError>> + '_ {
        let start = match after {
            // Just past the partnership's own key: no id holds a 0 byte.
            Some(p) => [key(META, p), vec![0]].concat(),
            None => vec![META],
        };
        self.db
            .range(start..)
            .take_while(|entry| {
                entry
                    .as_ref()
                    .map_or(true, |(k, _)| k.first() == Some(&META))
            })
            .map(move |entry| {
                let (k, v) = entry.map_err(|e| sled_error(&e))?;
                let p = id_of(&k)?;
                let meta: Meta = codec::decode(&v).map_err(|message| StoreError::Corrupt {
                    key: format!("meta of {p}"),
                    message,
                })?;
                self.overview(&p, meta.revision)
            })
            .filter_map(Result::transpose)
    }

    /// A partnership's overview at `revision`, stored or made (`None` without a proposal).
    fn overview(
        &self,
        p: &PartnershipId,
        revision: Position,
    ) -> Result<Option<Overview>, StoreError> {
        if let Some(stored) = self.db.get(key(OVERVIEW, p)).map_err(|e| sled_error(&e))? {
            let stored: Overview =
                codec::decode(&stored).map_err(|message| StoreError::Corrupt {
                    key: format!("overview of {p}"),
                    message,
                })?;
            if stored.revision == revision {
                return Ok(Some(stored));
            }
        }
        let Some(facts) = self.facts(p, &Undisclosed)? else {
            return Ok(None);
        };
        let Some(overview) = Partnership::from_events(&facts.events).overview(facts.position)
        else {
            return Ok(None);
        };
        self.db
            .insert(key(OVERVIEW, p), codec::encode(&overview))
            .map_err(|e| sled_error(&e))?;
        Ok(Some(overview))
    }

    /// Every partnership the store has seen, in id order.
    pub fn partnerships(&self) -> Result<Vec<PartnershipId>, StoreError> {
        self.ids(META).collect()
    }
}
