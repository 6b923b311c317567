//! Verifying the whole log in one pass (`accord verify` of every partnership; figure 11 of
//! docs/benchmarks.md): the log read once in order, each partnership's chain checked as its
//! commits come, and the signatures verified in ed25519 batches on the blocking pool, as many
//! batches at once as there are cores, while the reading goes on.

use std::collections::{BTreeMap, HashMap};

use accord_domain::signing_rules::{Auditor, StoredCommitRef, ToVerify, verify_all};
use accord_domain::{BrokenLink, ChainVerifier, Event, Link, PartnershipId};
use futures::StreamExt;
use tokio::task::JoinSet;

use crate::{ChainBreak, ChainFault, EventLog, Head, LogError, Position, Verification};

/// Signatures verified together.
const BATCH: usize = 1024;

/// What a batch found: each signature's partnership, position and whether it holds.
type Checked = Vec<(PartnershipId, Position, bool)>;

/// One partnership as the pass goes.
#[derive(Default)]
struct Chain {
    verifier: ChainVerifier,
    head: Head,
    commits: usize,
    auditor: Auditor,
    broken: Option<ChainBreak>,
    verified: Vec<(Position, bool)>,
}

/// Every partnership of the log and what its verification found, as [`crate::verify_partnership`]
/// finds it one partnership at a time.
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
        let p = stored.partnership_id.clone();
        let chain = chains.entry(p.clone()).or_default();
        if chain.broken.is_some() {
            continue;
        }
        let broken = |chain: &Chain, reason| ChainBreak {
            partnership_id: p.clone(),
            position: stored.position,
            last_good: chain.head.revision,
            reason,
        };
        let (sealed, commit) = match stored.decode() {
            Ok(decoded) => decoded,
            Err(e) => {
                let reason = ChainFault::Link(BrokenLink::Undecodable(e.to_string()));
                chain.broken = Some(broken(chain, reason));
                continue;
            }
        };
        let link = Link {
            prev_hash: commit.prev_hash,
            body: &sealed.body,
            hash: sealed.hash,
        };
        if let Err(reason) = chain.verifier.check(link) {
            chain.broken = Some(broken(chain, ChainFault::Link(reason)));
            continue;
        }
        chain.head = Head {
            revision: stored.position,
            hash: sealed.hash,
        };
        chain.commits += 1;
        let events: Vec<Event> = commit.events.iter().map(|e| e.stored().clone()).collect();
        let noted = chain.auditor.note(
            &p,
            StoredCommitRef {
                position: stored.position,
                events: &events,
                signed: commit.signed.as_ref(),
            },
        );
        pending.extend(noted);
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
    let missing = if chains.values().any(|c| {
        matches!(
            c.broken,
            Some(ChainBreak {
                reason: ChainFault::Link(BrokenLink::PrevHashMismatch { .. }),
                ..
            })
        )
    }) {
        log.missing_positions().await?
    } else {
        Vec::new()
    };
    Ok(chains
        .into_iter()
        .map(|(p, chain)| {
            let verification = match chain.broken {
                Some(mut b) => {
                    // A commit that links to an unknown hash usually means the one before it
                    // is gone.
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
                    commits: chain.commits,
                    head: chain.head,
                    signatures: chain.auditor.finish(chain.verified),
                },
            };
            (p, verification)
        })
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
