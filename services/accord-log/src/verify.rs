//! Verifying chains and signatures: one partnership ([`verify_partnership`]), or the whole log
//! in one pass ([`verify_log`]: `accord verify` of every partnership, figure 11 of
//! docs/benchmarks.md). Both step each partnership's commits through the same [`Chain`]: the
//! commit decodes, its link and hash hold, and its signature is owed or not; the signatures are
//! then verified in ed25519 batches (for the whole log, on the blocking pool, as many batches at
//! once as there are cores, while the reading goes on).

use std::collections::{BTreeMap, HashMap};

use accord_domain::signing_rules::{Auditor, StoredCommitRef, ToVerify, verify_all};
use accord_domain::{BrokenLink, ChainVerifier, Event, Link, PartnershipId};
use futures::StreamExt;
use tokio::task::JoinSet;

use crate::{
    ChainBreak, ChainFault, EventLog, Head, LogError, Position, StoredCommit, Verification,
};

/// Signatures verified together.
const BATCH: usize = 1024;

/// What a batch found: each signature's partnership, position and whether it holds.
type Checked = Vec<(PartnershipId, Position, bool)>;

/// One partnership's chain as its commits come, in order.
struct Chain {
    partnership_id: PartnershipId,
    verifier: ChainVerifier,
    head: Head,
    commits: usize,
    auditor: Auditor,
    broken: Option<ChainBreak>,
    verified: Vec<(Position, bool)>,
}

impl Chain {
    fn new(partnership_id: PartnershipId) -> Self {
        Self {
            partnership_id,
            verifier: ChainVerifier::default(),
            head: Head::EMPTY,
            commits: 0,
            auditor: Auditor::default(),
            broken: None,
            verified: Vec::new(),
        }
    }

    /// Checks the next commit; gives its signature to verify, if it has one that may hold. A
    /// chain that broke takes nothing more.
    fn push(&mut self, stored: &StoredCommit) -> Option<ToVerify> {
        if self.broken.is_some() {
            return None;
        }
        let (sealed, commit) = match stored.decode() {
            Ok(decoded) => decoded,
            Err(e) => {
                self.break_at(
                    stored.position,
                    ChainFault::Link(BrokenLink::Undecodable(e.to_string())),
                );
                return None;
            }
        };
        let link = Link {
            prev_hash: commit.prev_hash,
            body: &sealed.body,
            hash: sealed.hash,
        };
        if let Err(reason) = self.verifier.check(link) {
            self.break_at(stored.position, ChainFault::Link(reason));
            return None;
        }
        self.head = Head {
            revision: stored.position,
            hash: sealed.hash,
        };
        self.commits += 1;
        let events: Vec<Event> = commit.events.iter().map(|e| e.stored().clone()).collect();
        self.auditor.note(
            &self.partnership_id,
            StoredCommitRef {
                position: stored.position,
                events: &events,
                signed: commit.signed.as_ref(),
            },
        )
    }

    fn break_at(&mut self, position: Position, reason: ChainFault) {
        self.broken = Some(ChainBreak {
            partnership_id: self.partnership_id.clone(),
            position,
            last_good: self.head.revision,
            reason,
        });
    }

    /// Whether the chain links to an unknown hash: the log's missing positions may say why.
    fn lost_one(&self) -> bool {
        matches!(
            self.broken,
            Some(ChainBreak {
                reason: ChainFault::Link(BrokenLink::PrevHashMismatch { .. }),
                ..
            })
        )
    }

    /// What the verification found, given the log's missing positions (asked only when
    /// [`Chain::lost_one`]).
    fn finish(self, missing: &[Position]) -> Verification {
        match self.broken {
            Some(mut b) => {
                // A commit that links to an unknown hash usually means the one before it is
                // gone.
                if let ChainFault::Link(BrokenLink::PrevHashMismatch { .. }) = b.reason
                    && let Some(lost) = missing
                        .iter()
                        .find(|m| (b.last_good + 1..b.position).contains(m))
                {
                    b.position = *lost;
                    b.reason = ChainFault::Missing;
                }
                Verification::Broken(b)
            }
            None => Verification::Ok {
                commits: self.commits,
                head: self.head,
                signatures: self.auditor.finish(self.verified),
            },
        }
    }
}

/// Re-reads a partnership and checks every link of its hash chain and every signature.
pub async fn verify_partnership(
    log: &dyn EventLog,
    partnership: &PartnershipId,
) -> Result<Verification, LogError> {
    let mut chain = Chain::new(partnership.clone());
    let pending: Vec<ToVerify> = log
        .read_partnership(partnership, 0)
        .await?
        .iter()
        .filter_map(|stored| chain.push(stored))
        .collect();
    chain.verified = verify_all(&pending);
    let missing = if chain.lost_one() {
        log.missing_positions().await?
    } else {
        Vec::new()
    };
    Ok(chain.finish(&missing))
}

/// Every partnership of the log and what its verification found, as [`verify_partnership`]
/// finds it one partnership at a time, in one pass over the log.
pub async fn verify_log(
    log: &dyn EventLog,
) -> Result<BTreeMap<PartnershipId, Verification>, LogError> {
    let in_flight = std::thread::available_parallelism().map_or(2, usize::from);
    let mut chains: HashMap<PartnershipId, Chain> = HashMap::new();
    let mut pending: Vec<ToVerify> = Vec::with_capacity(BATCH);
    let mut running: JoinSet<Checked> = JoinSet::new();
    let mut commits = log.read_all(0).await?;
    while let Some(stored) = commits.next().await {
        let stored = stored?;
        let chain = chains
            .entry(stored.partnership_id.clone())
            .or_insert_with(|| Chain::new(stored.partnership_id.clone()));
        pending.extend(chain.push(&stored));
        if pending.len() >= BATCH {
            if running.len() >= in_flight {
                record(&mut chains, running.join_next().await)?;
            }
            spawn(&mut running, std::mem::take(&mut pending));
        }
    }
    spawn(&mut running, pending);
    while let Some(done) = running.join_next().await {
        record(&mut chains, Some(done))?;
    }
    let missing = if chains.values().any(Chain::lost_one) {
        log.missing_positions().await?
    } else {
        Vec::new()
    };
    Ok(chains
        .into_iter()
        .map(|(p, chain)| (p, chain.finish(&missing)))
        .collect())
}

fn spawn(running: &mut JoinSet<Checked>, batch: Vec<ToVerify>) {
    if batch.is_empty() {
        return;
    }
    running.spawn_blocking(move || {
        verify_all(&batch)
            .into_iter()
            .zip(&batch)
            .map(|((position, holds), t)| (t.partnership_id.clone(), position, holds))
            .collect()
    });
}

fn record(
    chains: &mut HashMap<PartnershipId, Chain>,
    done: Option<Result<Checked, tokio::task::JoinError>>,
) -> Result<(), LogError> {
    let Some(done) = done else { return Ok(()) };
    let results =
        done.map_err(|e| LogError::Unavailable(format!("a signature check failed: {e}")))?;
    for (p, position, holds) in results {
        if let Some(chain) = chains.get_mut(&p) {
            chain.verified.push((position, holds));
        }
    }
    Ok(())
}
