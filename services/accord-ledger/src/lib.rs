//! The ledger: the write side. It validates a command against the partnership's state (the fold
//! of its commits, cached by revision), runs the pure `decide`, and appends one commit with the
//! expected revision, re-reading and re-deciding a bounded number of times when a writer in
//! another process got there first.
//!
//! **Architecture invariant:** only the ledger appends to the event log, and every append it
//! makes names the revision its decision was based on.
//!
//! Within one process, appends to one partnership take turns on that partnership's lock, so
//! concurrent requests to one process never conflict with each other.

mod forget;
pub mod key_file;
pub mod receipt;
mod sign;
mod verifier;

pub use forget::{ErasedIn, ForgetRequest, Forgotten, MAX_DIGESTS_PER_EVENT};
use sign::Opened;
pub use sign::{SignError, SignedRequest};

use std::collections::HashMap;
use std::sync::{Arc, Mutex as SyncMutex};

use accord_domain::ids::Uuid;
use accord_domain::personal::{Sealed, seal};
use accord_domain::signing::{KeyId, Presented};
use accord_domain::{
    ChainVerifier, Command, CommitId, DomainError, Event, EventId, EventInput, Hash, Link, OrgId,
    Overview, Partnership, PartnershipId, Payload, Settings, decide, evolve,
};
use accord_log::{
    AppendRequest, Appended, EventLog, Expected, Head, LogError, Position, join_commits,
};
use time::OffsetDateTime;
use tokio::sync::{Mutex, MutexGuard};

/// How often an append without `If-Match` re-reads and re-decides after a conflict.
pub const MAX_DECIDE_ATTEMPTS: usize = 5;
/// Partnerships whose state the ledger keeps by default (`Ledger::with_cache_limit`): each is
/// the fold of its events, so memory grows with the partnerships asked for, not with traffic.
pub const DEFAULT_CACHE_PARTNERSHIPS: usize = 10_000;

/// What a caller asks the ledger to record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRequest {
    pub partnership_id: PartnershipId,
    pub events: Vec<EventInput>,
    /// Strict optimistic concurrency: the revision the caller saw (`If-Match`).
    pub if_match: Option<Position>,
    /// Makes a retried request return the first answer and append nothing.
    pub idempotency_key: Option<String>,
    /// Sealed and signed by the client: `events` then hold a digest in every personal field.
    pub signed: Option<SignedRequest>,
}

/// Why the ledger did not record, grouped by what the caller does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// Fix the input (4xx, exit code 2).
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Re-read and retry (409).
    #[error(
        "conflict on partnership {partnership_id}: expected revision {expected}, the partnership is at {actual}"
    )]
    Conflict {
        partnership_id: PartnershipId,
        expected: Position,
        actual: Position,
    },
    /// Fix the input (422): the idempotency key already recorded another request of this org on
    /// this partnership.
    #[error(
        "idempotency key {key:?} was already used for another request on {partnership_id}; send that request again, or use a new key"
    )]
    IdempotencyKeyReused {
        partnership_id: PartnershipId,
        key: String,
    },
    /// Try later (503), or a stored history that no longer holds.
    #[error(transparent)]
    Log(LogError),
}

impl From<LogError> for LedgerError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::Conflict {
                partnership_id,
                expected,
                actual,
            } => LedgerError::Conflict {
                partnership_id,
                expected,
                actual,
            },
            other => LedgerError::Log(other),
        }
    }
}

/// A partnership's state as the ledger last saw it, with the answers of its commits made for
/// idempotency keys, so that a retried request is recognised even when its events would no
/// longer be valid.
#[derive(Debug, Default)]
struct Cached {
    /// Whether the cache has read the log since it was made or marked stale.
    loaded: bool,
    state: Partnership,
    head: Head,
    commits: HashMap<CommitId, Remembered>,
}

/// A commit made for an idempotency key: its answer, the org that acted and the fingerprint of
/// the request, to tell a retry from another request under the same key.
#[derive(Debug)]
struct Remembered {
    appended: Appended,
    org: Option<OrgId>,
    fingerprint: Hash,
}

impl Cached {
    /// Keeps the answer of a commit made for an idempotency key, so that a retry finds it. The
    /// fingerprint of its events is computed unless the request that made it gave it.
    fn remember(&mut self, appended: &Appended, events: &[Event], fingerprint: Option<Hash>) {
        if CommitId::is_from_idempotency_key(&appended.commit_id) {
            let fingerprint =
                fingerprint.unwrap_or_else(|| accord_proto::events_fingerprint(events));
            self.commits.insert(
                appended.commit_id,
                Remembered {
                    appended: appended.clone(),
                    org: events.first().map(|e| e.actor.org.clone()),
                    fingerprint,
                },
            );
        }
    }

    /// The answer to a request under an idempotency key that was already recorded; an error
    /// when the key recorded another request.
    fn replay(&self, key: &IdempotencyKey) -> Option<Result<Appended, LedgerError>> {
        let remembered = self.commits.get(&key.commit_id).or_else(|| {
            // Recorded before keys were scoped to the org: the same key of the same org.
            self.commits
                .get(&key.unscoped)
                .filter(|r| r.org.as_ref() == key.org.as_ref())
        })?;
        Some(if remembered.fingerprint == key.fingerprint {
            Ok(Appended {
                replayed: true,
                ..remembered.appended.clone()
            })
        } else {
            Err(LedgerError::IdempotencyKeyReused {
                partnership_id: remembered.appended.partnership_id.clone(),
                key: key.key.clone(),
            })
        })
    }
}

/// A request's idempotency key, the commit id it names and the request's fingerprint.
#[derive(Debug)]
struct IdempotencyKey {
    key: String,
    org: Option<OrgId>,
    commit_id: CommitId,
    unscoped: CommitId,
    fingerprint: Hash,
}

impl IdempotencyKey {
    /// The key is scoped to the acting org (the org of the commit's events; with a token, every
    /// event acts as the token's org) and the partnership.
    fn of(request: &RecordRequest) -> Option<Self> {
        let key = request.idempotency_key.clone()?;
        let p = &request.partnership_id;
        let org = request.events.first().map(|e| e.actor.org.clone());
        let unscoped = CommitId::from_unscoped_idempotency_key(p, &key);
        let commit_id = org
            .as_ref()
            .map_or(unscoped, |org| CommitId::from_idempotency_key(p, org, &key));
        Some(Self {
            unscoped,
            fingerprint: accord_proto::request_fingerprint(p, &request.events),
            key,
            org,
            commit_id,
        })
    }
}

/// The write side over any event log.
#[derive(Debug)]
pub struct Ledger {
    log: Arc<dyn EventLog>,
    settings: Settings,
    partnerships: SyncMutex<HashMap<PartnershipId, Arc<Mutex<Cached>>>>,
    /// Most partnerships in `partnerships`.
    cache_limit: usize,
    /// Verifies the signatures of concurrent signed appends together.
    verifier: verifier::Verifier,
}

impl Ledger {
    pub fn new(log: Arc<dyn EventLog>, settings: Settings) -> Self {
        Self::with_cache_limit(log, settings, DEFAULT_CACHE_PARTNERSHIPS)
    }

    /// A ledger that keeps the state of at most `cache_limit` partnerships (at least one).
    /// When full, it drops the partnerships no request is using, down to half the limit; their
    /// state is read from the log again when asked for. The metric
    /// `accord_ledger_cached_partnerships` says how many it keeps.
    pub fn with_cache_limit(
        log: Arc<dyn EventLog>,
        settings: Settings,
        cache_limit: usize,
    ) -> Self {
        Self {
            log,
            settings,
            partnerships: SyncMutex::new(HashMap::new()),
            cache_limit: cache_limit.max(1),
            verifier: verifier::Verifier::start(),
        }
    }

    pub fn log(&self) -> &Arc<dyn EventLog> {
        &self.log
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HashMap<PartnershipId, Arc<Mutex<Cached>>>> {
        self.partnerships
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The partnership's cache entry, made (and the cache trimmed, when full) if there is none.
    fn entry(&self, p: &PartnershipId) -> Arc<Mutex<Cached>> {
        let mut map = self.cache();
        if let Some(entry) = map.get(p) {
            return Arc::clone(entry);
        }
        if map.len() >= self.cache_limit {
            // An entry only the map holds is idle: no request is using it.
            let mut idle: Vec<PartnershipId> = map
                .iter()
                .filter(|(_, e)| Arc::strong_count(e) == 1)
                .map(|(p, _)| p.clone())
                .collect();
            idle.truncate(map.len().saturating_sub(self.cache_limit / 2));
            for p in &idle {
                map.remove(p);
            }
        }
        let entry = Arc::clone(map.entry(p.clone()).or_default());
        metrics::gauge!("accord_ledger_cached_partnerships").set(map.len() as f64);
        entry
    }

    /// Lets go of a partnership's entry; one the log does not know (never proposed) leaves the
    /// cache, so that asking for unknown ids costs no memory.
    fn release(
        &self,
        p: &PartnershipId,
        entry: &Arc<Mutex<Cached>>,
        cached: MutexGuard<'_, Cached>,
    ) {
        let unknown = !cached.state.exists();
        drop(cached);
        if unknown {
            let mut map = self.cache();
            // Held by the map and by us only: no other request waits on it.
            if map.get(p).is_some_and(|e| Arc::ptr_eq(e, entry)) && Arc::strong_count(entry) == 2 {
                map.remove(p);
                metrics::gauge!("accord_ledger_cached_partnerships").set(map.len() as f64);
            }
        }
    }

    /// Records the request's events as one commit, or says why not; nothing is appended on any
    /// error.
    pub async fn record(&self, mut request: RecordRequest) -> Result<Appended, LedgerError> {
        let opened = Opened::of(&mut request)?;
        let p = request.partnership_id.clone();
        let entry = self.entry(&p);
        let mut cached = entry.lock().await;
        let result = self
            .record_locked(&mut cached, request, opened.as_ref())
            .await;
        self.release(&p, &entry, cached);
        result
    }

    /// [`Ledger::record`] with the partnership's entry locked.
    async fn record_locked(
        &self,
        cached: &mut Cached,
        request: RecordRequest,
        opened: Option<&Opened>,
    ) -> Result<Appended, LedgerError> {
        let p = request.partnership_id.clone();
        let key = IdempotencyKey::of(&request);
        let commit_id = key
            .as_ref()
            .map_or_else(|| CommitId::from_uuid(Uuid::now_v7()), |k| k.commit_id);
        // The cache is current unless a writer in another process appended: decide on it, and
        // re-read only when the log or the decision says the cache may be behind.
        let mut current = false;
        for _ in 0..MAX_DECIDE_ATTEMPTS {
            if !cached.loaded {
                self.catch_up(&p, cached).await?;
                current = true;
            }
            if let Some(answer) = key.as_ref().and_then(|k| cached.replay(k)) {
                return answer;
            }
            if let Some(expected) = request.if_match
                && expected != cached.head.revision
            {
                if !current {
                    cached.loaded = false;
                    continue;
                }
                return Err(LedgerError::Conflict {
                    partnership_id: p,
                    expected,
                    actual: cached.head.revision,
                });
            }
            let presented = match opened {
                Some(o) => Some(self.presented(o, cached).await),
                None => None,
            };
            let recorded_at = OffsetDateTime::now_utc();
            let command = Command::Record {
                partnership_id: p.clone(),
                recorded_at,
                events: request
                    .events
                    .iter()
                    .map(|e| (EventId::from_uuid(Uuid::now_v7()), e.clone()))
                    .collect(),
                signed: presented,
            };
            let events: Arc<[_]> = match decide(&cached.state, command, &self.settings) {
                Ok(events) => events.into(),
                Err(_) if !current => {
                    cached.loaded = false;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let stored = match opened {
                Some(o) => Sealed {
                    events: o.stored_events(&events),
                    disclosures: o.disclosures.clone(),
                },
                None => seal(events.to_vec(), &mut rand::random),
            };
            let append = AppendRequest {
                partnership_id: p.clone(),
                commit_id,
                recorded_at,
                events: stored.events.into(),
                disclosures: stored.disclosures.into(),
                signed: opened.map(|o| Box::new(o.signed.clone())),
                expected: Expected::Exact(cached.head),
            };
            match self.log.append(append).await {
                Ok(appended) if !appended.replayed => {
                    let state = std::mem::take(&mut cached.state);
                    cached.state = events.iter().fold(state, evolve);
                    cached.head = Head {
                        revision: appended.position,
                        hash: appended.hash,
                    };
                    cached.remember(&appended, &events, key.as_ref().map(|k| k.fingerprint));
                    return Ok(appended);
                }
                // The same commit landed before (a retry, perhaps through another process):
                // read it, then answer as then, or refuse a request that is not the same.
                Ok(_) => {
                    cached.loaded = false;
                    current = false;
                }
                Err(LogError::Conflict { .. }) => {
                    // Another process appended: re-read, then re-decide (or, with If-Match,
                    // report the conflict against the revision now known).
                    metrics::counter!("accord_ledger_redecisions_total").increment(1);
                    cached.loaded = false;
                    current = false;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let actual = self.log.head(&p).await?.revision;
        Err(LedgerError::Conflict {
            partnership_id: p,
            expected: request.if_match.unwrap_or(cached.head.revision),
            actual,
        })
    }

    /// A signed request's signature for `decide`, verified beforehand with the key the
    /// partnership expects (its org's current key, or the one the commit registers), together
    /// with the signatures of other appends waiting at the same time.
    async fn presented(&self, opened: &Opened, cached: &Cached) -> Presented {
        let mut presented = opened.presented.clone();
        let org = &presented.signature.org;
        let registered = opened.stored.iter().find_map(|e| match &e.payload {
            Payload::OrgKeyRegistered(k) if k.org == *org => Some(k.public_key),
            _ => None,
        });
        let key = cached.state.facts().keys.get(org).copied().or(registered);
        if let Some(key) = key
            && KeyId::of(&key.0) == presented.signature.key_id
            && self
                .verifier
                .verify(key, presented.message.clone(), presented.signature.sig)
                .await
        {
            presented.verified_with = Some(key);
        }
        presented
    }

    /// What the ledger knows of a partnership now (`None` when it was never proposed).
    pub async fn overview(&self, p: &PartnershipId) -> Result<Option<Overview>, LedgerError> {
        let entry = self.entry(p);
        let mut cached = entry.lock().await;
        let caught_up = self.catch_up(p, &mut cached).await;
        let overview = cached.state.overview(cached.head.revision);
        self.release(p, &entry, cached);
        caught_up.map(|()| overview)
    }

    /// A partnership's parties (`None` when it was never proposed). Parties are fixed by the
    /// proposal, so a partnership already in the cache is answered without reading the log.
    pub async fn parties(&self, p: &PartnershipId) -> Result<Option<Vec<OrgId>>, LedgerError> {
        let entry = self.entry(p);
        let mut cached = entry.lock().await;
        let caught_up = if cached.state.exists() {
            Ok(())
        } else {
            self.catch_up(p, &mut cached).await
        };
        let parties = cached
            .state
            .exists()
            .then(|| cached.state.facts().parties.iter().cloned().collect());
        self.release(p, &entry, cached);
        caught_up.map(|()| parties)
    }

    /// Folds the commits appended since the cached head, checking each hash link, with their
    /// personal values joined back in.
    async fn catch_up(&self, p: &PartnershipId, cached: &mut Cached) -> Result<(), LedgerError> {
        let stored = self.log.read_partnership(p, cached.head.revision).await?;
        let commits = join_commits(self.log.as_ref(), &stored).await?;
        let mut verifier = ChainVerifier::after(cached.head.hash);
        for (stored, (sealed, commit)) in stored.iter().zip(commits) {
            verifier
                .check(Link {
                    prev_hash: commit.prev_hash,
                    body: &sealed.body,
                    hash: sealed.hash,
                })
                .map_err(|e| LogError::Corrupt {
                    position: stored.position,
                    message: e.to_string(),
                })?;
            let appended = Appended {
                partnership_id: p.clone(),
                commit_id: commit.commit_id,
                position: stored.position,
                hash: sealed.hash,
                event_ids: commit.events.iter().map(|e| e.event_id).collect(),
                recorded_at: commit.recorded_at,
                replayed: false,
            };
            let state = std::mem::take(&mut cached.state);
            cached.state = commit.events.iter().fold(state, evolve);
            cached.head = Head {
                revision: stored.position,
                hash: sealed.hash,
            };
            cached.remember(&appended, &commit.events, None);
        }
        cached.loaded = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
