//! One conformance suite for the event log, run against the embedded backend and against the
//! JetStream backend on the minimum supported and a current nats-server, the current one both
//! with commits in atomic batches (the default) and each alone.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use accord_domain::event::{MeetingRequested, Payload};
use accord_domain::ids::Uuid;
use accord_domain::personal::seal;
use accord_domain::{Actor, BrokenLink, CommitId, Event, EventId, ItemId, OrgId, PartnershipId};
use accord_log::embedded::EmbeddedLog;
use accord_log::jetstream::{Batching, JetStreamLog, StreamSettings};
use accord_log::{
    AppendRequest, Appended, ChainFault, EventLog, Expected, Head, LogError, Position,
    StoredCommit, Verification, join_commits, verify_partnership,
};
use futures::{StreamExt, TryStreamExt};
use time::OffsetDateTime;

use crate::harness::{NatsServer, ServerVersion};

/// Longest wait for a condition (a subscription catching up, tasks finishing).
const WAIT: Duration = Duration::from_secs(60);

/// A backend under test, with what it needs to restart and to be tampered with.
pub(crate) enum Backend {
    Embedded {
        dir: tempfile::TempDir,
    },
    JetStream {
        server: NatsServer,
        /// Commits in atomic batches where the server allows it (the default).
        batched: bool,
    },
}

impl Backend {
    pub(crate) fn embedded() -> Self {
        Backend::Embedded {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(crate) fn jetstream(version: ServerVersion) -> Self {
        Backend::JetStream {
            server: NatsServer::start(version).expect("start nats-server"),
            batched: true,
        }
    }

    pub(crate) fn jetstream_unbatched(version: ServerVersion) -> Self {
        Backend::JetStream {
            server: NatsServer::start(version).expect("start nats-server"),
            batched: false,
        }
    }

    pub(crate) async fn open(&self) -> Arc<dyn EventLog> {
        match self.open_jetstream().await {
            Some(log) => log,
            None => self.open_embedded(),
        }
    }

    fn open_embedded(&self) -> Arc<dyn EventLog> {
        match self {
            Backend::Embedded { dir } => Arc::new(EmbeddedLog::open(dir.path()).expect("open")),
            Backend::JetStream { .. } => unreachable!("a JetStream backend"),
        }
    }

    /// The JetStream log itself (to ask how it published), for a JetStream backend.
    pub(crate) async fn open_jetstream(&self) -> Option<Arc<JetStreamLog>> {
        let Backend::JetStream { server, batched } = self else {
            return None;
        };
        let settings = StreamSettings {
            batching: Batching {
                max_commits: if *batched { 100 } else { 1 },
                ..small_batches()
            },
            ..StreamSettings::default()
        };
        Some(Arc::new(
            JetStreamLog::connect(&server.url(), &settings)
                .await
                .expect("connect"),
        ))
    }

    /// Whether this backend is expected to send commits in atomic batches.
    fn batches(&self) -> bool {
        matches!(self, Backend::JetStream { server, batched: true } if server.at_least(2, 12))
    }

    /// Restarts the store: the caller has dropped every handle to the log.
    pub(crate) fn restart(&mut self) {
        if let Backend::JetStream { server, .. } = self {
            server.restart().expect("restart nats-server");
        }
    }
}

/// Batching from groups of two, so that the few writers of a test make batches.
pub(crate) fn small_batches() -> Batching {
    Batching {
        min_commits: 2,
        ..Batching::default()
    }
}

pub(crate) fn pid(s: &str) -> PartnershipId {
    PartnershipId::parse(s).expect("slug")
}

/// An event for log-level tests: the log does not validate domain rules.
pub(crate) fn event(p: &PartnershipId, n: u64) -> Event {
    let now = OffsetDateTime::now_utc();
    Event {
        event_id: EventId::from_uuid(Uuid::now_v7()),
        partnership_id: p.clone(),
        schema_version: accord_domain::SCHEMA_VERSION,
        occurred_at: now,
        recorded_at: now,
        actor: Actor {
            org: OrgId::parse("acme").expect("slug"),
            person: None,
            role: None,
        },
        note: Some(format!("note-{p}-{n}")),
        causation_id: None,
        correlation_id: None,
        payload: Payload::MeetingRequested(MeetingRequested {
            meeting_id: ItemId::parse(&format!("m{n}-{p}")).expect("slug"),
            requested_by_org: OrgId::parse("acme").expect("slug"),
            purpose: "quarterly review".into(),
            proposed_location_org: None,
        }),
    }
}

pub(crate) fn request(p: &PartnershipId, n: u64, expected: Expected) -> AppendRequest {
    with_events(
        AppendRequest {
            partnership_id: p.clone(),
            commit_id: CommitId::from_uuid(Uuid::now_v7()),
            recorded_at: OffsetDateTime::now_utc(),
            events: Vec::new().into(),
            disclosures: Vec::new().into(),
            signed: None,
            expected,
        },
        vec![event(p, n)],
    )
}

/// The request with `events` instead, sealed as the ledger stores them (each personal value a
/// digest, its disclosure beside it).
pub(crate) fn with_events(request: AppendRequest, events: Vec<Event>) -> AppendRequest {
    let mut n = 0u128;
    let stored = seal(events, &mut || {
        n += 1;
        (n ^ Uuid::now_v7().as_u128()).to_le_bytes()
    });
    AppendRequest {
        events: stored.events.into(),
        disclosures: stored.disclosures.into(),
        ..request
    }
}

fn head_of(a: &Appended) -> Head {
    Head {
        revision: a.position,
        hash: a.hash,
    }
}

async fn all(log: &dyn EventLog) -> Vec<StoredCommit> {
    log.read_all(0)
        .await
        .expect("read_all")
        .try_collect()
        .await
        .expect("read_all items")
}

/// Waits for writers that each append to a partnership of their own: the commits they got
/// acknowledged, and their partnerships in writer order.
pub(crate) async fn joined(
    writers: Vec<tokio::task::JoinHandle<(PartnershipId, Vec<CommitId>)>>,
) -> (BTreeSet<CommitId>, Vec<PartnershipId>) {
    let mut acknowledged = BTreeSet::new();
    let mut partnerships = Vec::new();
    for w in writers {
        let (p, ids) = w.await.expect("writer");
        acknowledged.extend(ids);
        partnerships.push(p);
    }
    (acknowledged, partnerships)
}

/// The log holds exactly the `acknowledged` commits, each once.
pub(crate) async fn stored_once(log: &dyn EventLog, acknowledged: &BTreeSet<CommitId>) {
    let stored: Vec<CommitId> = all(log)
        .await
        .iter()
        .map(|c| c.decode().expect("decode").1.commit_id)
        .collect();
    assert_eq!(stored.len(), acknowledged.len(), "every commit once");
    assert_eq!(&stored.into_iter().collect::<BTreeSet<_>>(), acknowledged);
}

fn event_ids(commits: &[StoredCommit]) -> Vec<EventId> {
    commits
        .iter()
        .flat_map(|c| c.decode().expect("decode").1.event_ids())
        .collect()
}

pub(crate) async fn append_and_read_back(backend: Backend) {
    let log = backend.open().await;
    let p = pid("acme-stmary");
    assert_eq!(log.head(&p).await.expect("head"), Head::EMPTY);
    assert_eq!(log.last_position().await.expect("last"), 0);

    let sent = vec![event(&p, 1), event(&p, 2)];
    let req = with_events(request(&p, 1, Expected::NoStream), sent.clone());
    let sent_ids: Vec<EventId> = req.events.iter().map(|e| e.event_id).collect();
    let first = log.append(req.clone()).await.expect("first append");
    assert_eq!(first.position, 1);
    assert_eq!(first.event_ids, sent_ids);
    assert!(!first.replayed);

    let second = log
        .append(request(&p, 3, Expected::Exact(head_of(&first))))
        .await
        .expect("second append");
    assert_eq!(second.position, 2);
    assert_eq!(log.head(&p).await.expect("head"), head_of(&second));

    let commits = log.read_partnership(&p, 0).await.expect("read");
    assert_eq!(
        commits.iter().map(|c| c.position).collect::<Vec<_>>(),
        [1, 2]
    );
    let (_, c1) = commits[0].decode().expect("decode");
    let stored: Vec<Event> = c1.events.iter().map(|e| e.stored().clone()).collect();
    assert_eq!(stored, *req.events, "events are stored as they were sent");
    assert!(
        !format!("{stored:?}").contains("note-acme-stmary-1"),
        "no personal value in the log"
    );
    let joined = join_commits(log.as_ref(), &commits).await.expect("join");
    assert_eq!(joined[0].1.events, sent, "and read back with their values");
    assert_eq!(c1.commit_id, req.commit_id);
    let (_, c2) = commits[1].decode().expect("decode");
    assert_eq!(
        c2.prev_hash, first.hash,
        "the second commit links to the first"
    );

    let after_first = log.read_partnership(&p, 1).await.expect("read after 1");
    assert_eq!(after_first.len(), 1);
    assert_eq!(after_first[0].position, 2);
    assert!(log.read_partnership(&p, 2).await.expect("read").is_empty());
    assert!(
        log.read_partnership(&pid("nobody"), 0)
            .await
            .expect("read unknown")
            .is_empty()
    );
    assert_eq!(log.partnerships().await.expect("list"), vec![p]);
}

pub(crate) async fn expected_revision_is_enforced(backend: Backend) {
    let log = backend.open().await;
    let p = pid("acme-stmary");
    let first = log
        .append(request(&p, 1, Expected::NoStream))
        .await
        .expect("first");

    let err = log
        .append(request(&p, 2, Expected::NoStream))
        .await
        .expect_err("no-stream on an existing partnership");
    assert_eq!(
        err,
        LogError::Conflict {
            partnership_id: p.clone(),
            expected: 0,
            actual: 1
        }
    );

    let second = log
        .append(request(&p, 2, Expected::Any))
        .await
        .expect("any appends after the head");
    assert_eq!(second.position, 2);

    let err = log
        .append(request(&p, 3, Expected::Exact(head_of(&first))))
        .await
        .expect_err("stale revision");
    assert_eq!(
        err,
        LogError::Conflict {
            partnership_id: p.clone(),
            expected: 1,
            actual: 2
        }
    );
    assert_eq!(
        log.last_position().await.expect("last"),
        2,
        "nothing appended on a conflict"
    );

    let err = log
        .append(AppendRequest {
            events: Vec::new().into(),
            ..request(&p, 4, Expected::Any)
        })
        .await
        .expect_err("empty commit");
    assert!(matches!(err, LogError::Invalid(_)), "{err:?}");
    let mut stray = event(&p, 5);
    stray.partnership_id = pid("other");
    let foreign = with_events(request(&p, 5, Expected::Any), vec![stray]);
    assert!(matches!(
        log.append(foreign).await,
        Err(LogError::Invalid(_))
    ));
    assert_eq!(
        log.last_position().await.expect("last"),
        2,
        "nothing appended on bad input"
    );
    assert!(matches!(
        verify_partnership(&*log, &p).await.expect("verify"),
        Verification::Ok { commits: 2, .. }
    ));
}

/// Many tasks race for the same revision: exactly one wins each round, the others get a typed
/// conflict naming the winner's revision; nothing is lost or duplicated.
pub(crate) async fn concurrent_appends_to_one_partnership(backend: Backend) {
    const TASKS: u64 = 12;
    const ROUNDS: u64 = 8;
    let log = backend.open().await;
    let p = pid("contended");
    let mut head = Head::EMPTY;
    let mut winners = Vec::new();
    for round in 0..ROUNDS {
        let attempts: Vec<_> = (0..TASKS)
            .map(|t| {
                let log = log.clone();
                let req = request(&p, round * TASKS + t, Expected::Exact(head));
                tokio::spawn(async move { (req.events[0].event_id, log.append(req).await) })
            })
            .collect();
        let mut won = Vec::new();
        let mut conflicts = 0;
        for a in attempts {
            let (id, result) = tokio::time::timeout(WAIT, a)
                .await
                .expect("append finishes")
                .expect("task");
            match result {
                Ok(appended) => won.push((id, appended)),
                Err(LogError::Conflict { expected, .. }) => {
                    assert_eq!(expected, head.revision);
                    conflicts += 1;
                }
                Err(e) => panic!("unexpected error {e}"),
            }
        }
        assert_eq!(won.len(), 1, "round {round}: exactly one append wins");
        assert_eq!(conflicts, TASKS - 1);
        let (id, appended) = won.pop().expect("winner");
        head = head_of(&appended);
        winners.push(id);
    }
    assert_eq!(log.head(&p).await.expect("head"), head);
    let commits = log.read_partnership(&p, 0).await.expect("read");
    assert_eq!(
        event_ids(&commits),
        winners,
        "every winner once, in order, no loser"
    );

    // Writers that re-read and retry on conflict: every event lands exactly once.
    let q = pid("retrying");
    let writers: Vec<_> = (0..TASKS)
        .map(|t| {
            let log = log.clone();
            let q = q.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in 0..ROUNDS {
                    let mut req = request(&q, t * 1000 + n, Expected::Any);
                    loop {
                        req.expected = Expected::Exact(log.head(&q).await.expect("head"));
                        match log.append(req.clone()).await {
                            Ok(_) => break,
                            Err(LogError::Conflict { .. }) => continue,
                            Err(e) => panic!("unexpected error {e}"),
                        }
                    }
                    ids.push(req.events[0].event_id);
                }
                ids
            })
        })
        .collect();
    let mut sent = BTreeSet::new();
    for w in writers {
        sent.extend(
            tokio::time::timeout(WAIT, w)
                .await
                .expect("writers finish")
                .expect("task"),
        );
    }
    let stored = event_ids(&log.read_partnership(&q, 0).await.expect("read"));
    assert_eq!(
        stored.len() as u64,
        TASKS * ROUNDS,
        "no event lost or duplicated"
    );
    assert_eq!(stored.into_iter().collect::<BTreeSet<_>>(), sent);
    assert!(matches!(
        verify_partnership(&*log, &q).await.expect("verify"),
        Verification::Ok { .. }
    ));
}

/// A retried append (same commit id) returns the original answer and appends nothing, whatever
/// the retry's expectation and even after others appended.
pub(crate) async fn idempotent_retry_returns_the_original(backend: Backend) {
    let log = backend.open().await;
    let p = pid("acme-stmary");
    let req = request(&p, 1, Expected::NoStream);
    let original = log.append(req.clone()).await.expect("append");
    assert!(!original.replayed);

    for retry in [
        req.clone(),
        AppendRequest {
            expected: Expected::Any,
            ..req.clone()
        },
        // A retry that re-decided carries fresh event ids: the original's come back.
        AppendRequest {
            events: vec![event(&p, 1)].into(),
            ..req.clone()
        },
    ] {
        let again = log.append(retry).await.expect("retry");
        assert!(again.replayed);
        assert_eq!(
            Appended {
                replayed: false,
                ..again
            },
            original
        );
    }
    assert_eq!(log.last_position().await.expect("last"), 1);

    // After another commit landed, the same retry still gets the original answer.
    log.append(request(&p, 2, Expected::Exact(head_of(&original))))
        .await
        .expect("next");
    let again = log.append(req.clone()).await.expect("late retry");
    assert_eq!(again.position, original.position);
    assert!(again.replayed);
    assert_eq!(log.last_position().await.expect("last"), 2);

    // Concurrent retries of one new commit: one commit lands, all get its answer.
    let q = pid("retried");
    let req = request(&q, 1, Expected::NoStream);
    let tries: Vec<_> = (0..8)
        .map(|_| {
            let log = log.clone();
            let req = req.clone();
            tokio::spawn(async move { log.append(req).await })
        })
        .collect();
    let mut positions = BTreeSet::new();
    for t in tries {
        positions.insert(t.await.expect("task").expect("append or replay").position);
    }
    assert_eq!(
        positions.len(),
        1,
        "every retry answers with the one commit"
    );
    assert_eq!(log.read_partnership(&q, 0).await.expect("read").len(), 1);
}

/// Appends across partnerships; read_all gives them back in append order.
pub(crate) async fn read_all_follows_append_order(backend: Backend) {
    let log = backend.open().await;
    let ps: Vec<PartnershipId> = (0..5).map(|i| pid(&format!("p{i}"))).collect();
    let mut appended: Vec<(Position, CommitId)> = Vec::new();
    for n in 0..40u64 {
        let p = &ps[(n * 7 % 5) as usize];
        let a = log
            .append(request(p, n, Expected::Any))
            .await
            .expect("append");
        appended.push((a.position, a.commit_id));
    }
    let read: Vec<(Position, CommitId)> = all(&*log)
        .await
        .iter()
        .map(|c| (c.position, c.decode().expect("decode").1.commit_id))
        .collect();
    assert_eq!(read, appended);
    assert_eq!(
        read.iter().map(|(p, _)| *p).collect::<Vec<_>>(),
        (1..=40).collect::<Vec<_>>()
    );
    let tail: Vec<Position> = log
        .read_all(35)
        .await
        .expect("read_all")
        .map_ok(|c| c.position)
        .try_collect()
        .await
        .expect("items");
    assert_eq!(tail, [36, 37, 38, 39, 40]);
    let none: Vec<StoredCommit> = log
        .read_all(40)
        .await
        .expect("read_all")
        .try_collect()
        .await
        .expect("items");
    assert!(none.is_empty());
    assert_eq!(log.partnerships().await.expect("list"), ps);
}

/// A subscription from 0, started while writers append, sees every commit once, in order.
pub(crate) async fn subscription_sees_every_commit_once(backend: Backend) {
    const BEFORE: u64 = 30;
    const WRITERS: u64 = 4;
    const EACH: u64 = 40;
    let log = backend.open().await;
    for n in 0..BEFORE {
        log.append(request(&pid(&format!("p{}", n % 3)), n, Expected::Any))
            .await
            .expect("append before");
    }
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let log = log.clone();
            tokio::spawn(async move {
                let p = pid(&format!("w{w}"));
                for n in 0..EACH {
                    log.append(request(&p, n, Expected::Any))
                        .await
                        .expect("append during");
                }
            })
        })
        .collect();
    let total = BEFORE + WRITERS * EACH;
    let sub = log.subscribe(0).await.expect("subscribe");
    let seen: Vec<StoredCommit> =
        tokio::time::timeout(WAIT, sub.take(total as usize).try_collect::<Vec<_>>())
            .await
            .expect("the subscription sees every commit in time")
            .expect("items");
    for w in writers {
        w.await.expect("writer");
    }
    let positions: Vec<Position> = seen.iter().map(|c| c.position).collect();
    assert_eq!(
        positions,
        (1..=total).collect::<Vec<_>>(),
        "each once, in order"
    );
    let stored = all(&*log).await;
    assert_eq!(seen, stored, "what the subscription saw is what is stored");

    // Live: a subscription from the head sees the next commit and nothing before it.
    let mut live = log.subscribe(total).await.expect("subscribe at head");
    let next = log
        .append(request(&pid("late"), 0, Expected::Any))
        .await
        .expect("append");
    let got = tokio::time::timeout(WAIT, live.next())
        .await
        .expect("live commit arrives")
        .expect("stream open")
        .expect("item");
    assert_eq!(got.position, next.position);
}

/// Hash chains verify; a flipped byte in a stored commit is reported with its position.
pub(crate) async fn tampering_is_detected(mut backend: Backend) {
    let log = backend.open().await;
    let p = pid("acme-stmary");
    let q = pid("other");
    let mut positions = Vec::new();
    for n in 0..6 {
        positions.push(
            log.append(request(&p, n, Expected::Any))
                .await
                .expect("append")
                .position,
        );
        log.append(request(&q, n, Expected::Any))
            .await
            .expect("append other");
    }
    assert!(matches!(
        verify_partnership(&*log, &p).await.expect("verify"),
        Verification::Ok { commits: 6, .. }
    ));
    let target = positions[3];
    // The meeting's id: the note is a personal value, stored apart from the commit.
    let marker = format!("m3-{p}");
    drop(log);
    crate::tamper::flip_byte(&mut backend, target, marker.as_bytes());
    let log = backend.open().await;
    match verify_partnership(&*log, &p).await.expect("verify") {
        Verification::Broken(b) => {
            assert_eq!(b.position, target, "the break is reported where it is: {b}");
            assert_eq!(b.partnership_id, p);
            assert_eq!(b.last_good, positions[2]);
            // sled hands back the altered bytes; nats-server drops a message whose checksum
            // fails (silently losing it), which the chain reports as a missing commit.
            let in_one_pass = accord_log::verify_log(&*log).await.expect("verify the log");
            assert_eq!(
                in_one_pass.get(&p),
                Some(&Verification::Broken(b.clone())),
                "the one-pass verification finds the same break"
            );
            let lost = log.missing_positions().await.expect("missing");
            match b.reason {
                ChainFault::Link(BrokenLink::HashMismatch { .. }) => assert!(lost.is_empty()),
                ChainFault::Missing => assert_eq!(lost, [target]),
                other => panic!("unexpected fault {other}"),
            }
        }
        ok @ Verification::Ok { .. } => panic!("tampering went unnoticed: {ok:?}"),
    }
    assert!(
        matches!(
            verify_partnership(&*log, &q).await.expect("verify"),
            Verification::Ok { commits: 6, .. }
        ),
        "another partnership's chain is untouched"
    );
}

/// Many writers, each on its own partnership, with stale appends and retries among them: every
/// acknowledged commit is stored once, each stale append is a conflict that stores nothing, each
/// retry gets the original back. On JetStream with batching, commits did travel together, and a
/// batch holding a stale commit or a retry cost only that commit.
pub(crate) async fn concurrent_appends_to_many_partnerships(backend: Backend) {
    const WRITERS: u64 = 24;
    const COMMITS: u64 = 20;
    let jetstream = backend.open_jetstream().await;
    let log: Arc<dyn EventLog> = match &jetstream {
        Some(j) => j.clone(),
        None => backend.open().await,
    };
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let log = log.clone();
            tokio::spawn(async move {
                let p = pid(&format!("many{w}"));
                let mut acknowledged = Vec::new();
                let mut head = Head::EMPTY;
                let mut before = Head::EMPTY;
                for n in 0..COMMITS {
                    let commit = request(&p, n, Expected::Exact(head));
                    let appended = log.append(commit.clone()).await.expect("append");
                    assert!(!appended.replayed);
                    if n % 5 == 2 {
                        let again = log.append(commit).await.expect("retry");
                        assert_eq!(again.commit_id, appended.commit_id);
                        assert_eq!(again.position, appended.position);
                        assert!(again.replayed, "a retry is answered as a replay");
                    }
                    if n % 5 == 4 {
                        let stale = log
                            .append(request(&p, 1000 + n, Expected::Exact(before)))
                            .await;
                        assert!(
                            matches!(stale, Err(LogError::Conflict { .. })),
                            "a stale append is a conflict, got {stale:?}"
                        );
                    }
                    before = head;
                    head = head_of(&appended);
                    acknowledged.push(appended.commit_id);
                }
                (p, acknowledged)
            })
        })
        .collect();
    let (acknowledged, partnerships) = joined(writers).await;
    assert_eq!(acknowledged.len() as u64, WRITERS * COMMITS);
    stored_once(&*log, &acknowledged).await;
    for p in &partnerships {
        assert!(matches!(
            verify_partnership(&*log, p).await.expect("verify"),
            Verification::Ok { commits, .. } if commits as u64 == COMMITS
        ));
    }
    let batched = jetstream.as_ref().map_or(0, |j| j.batched_commits());
    if backend.batches() {
        assert!(
            batched > 0,
            "concurrent commits travelled in atomic batches"
        );
    } else {
        assert_eq!(batched, 0, "no batch on this backend");
    }
}

/// Everything acknowledged before a restart is there after it, and appends continue.
pub(crate) async fn acknowledged_commits_survive_a_restart(mut backend: Backend) {
    let log = backend.open().await;
    let mut heads = Vec::new();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let log = log.clone();
            tokio::spawn(async move {
                let p = pid(&format!("w{w}"));
                let mut last = None;
                for n in 0..25 {
                    last = Some(
                        log.append(request(&p, n, Expected::Any))
                            .await
                            .expect("append"),
                    );
                }
                (p, last.expect("appended"))
            })
        })
        .collect();
    for w in writers {
        heads.push(w.await.expect("writer"));
    }
    let before = all(&*log).await;
    assert_eq!(before.len(), 100);
    drop(log);
    backend.restart();
    let log = backend.open().await;
    assert_eq!(
        all(&*log).await,
        before,
        "every acknowledged commit is still there"
    );
    assert_eq!(log.last_position().await.expect("last"), 100);
    for (p, last) in &heads {
        assert_eq!(log.head(p).await.expect("head"), head_of(last));
        let next = log
            .append(request(p, 99, Expected::Exact(head_of(last))))
            .await
            .expect("append after restart");
        assert!(next.position > 100, "appended after the restored log");
        assert!(matches!(
            verify_partnership(&*log, p).await.expect("verify"),
            Verification::Ok { commits: 26, .. }
        ));
    }
}

macro_rules! conformance_suite {
    ($($module:ident => $backend:expr;)*) => {$(
        mod $module {
            use super::*;

            #[tokio::test]
            async fn append_and_read_back() {
                super::append_and_read_back($backend).await;
            }

            #[tokio::test]
            async fn expected_revision_is_enforced() {
                super::expected_revision_is_enforced($backend).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_appends_to_one_partnership() {
                super::concurrent_appends_to_one_partnership($backend).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn idempotent_retry_returns_the_original() {
                super::idempotent_retry_returns_the_original($backend).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_appends_to_many_partnerships() {
                super::concurrent_appends_to_many_partnerships($backend).await;
            }

            #[tokio::test]
            async fn read_all_follows_append_order() {
                super::read_all_follows_append_order($backend).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn subscription_sees_every_commit_once() {
                super::subscription_sees_every_commit_once($backend).await;
            }

            #[tokio::test]
            async fn tampering_is_detected() {
                super::tampering_is_detected($backend).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn acknowledged_commits_survive_a_restart() {
                super::acknowledged_commits_survive_a_restart($backend).await;
            }
        }
    )*};
}

conformance_suite! {
    embedded => Backend::embedded();
    jetstream_minimum => Backend::jetstream(ServerVersion::Minimum);
    jetstream_current => Backend::jetstream(ServerVersion::Current);
    jetstream_current_unbatched => Backend::jetstream_unbatched(ServerVersion::Current);
}
