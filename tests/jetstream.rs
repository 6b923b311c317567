//! What only the JetStream backend has: the stream's provisioning and its server-side guards.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use accord_domain::CommitId;
use accord_log::jetstream::{JetStreamLog, STREAM, StreamSettings};
use accord_log::{AppendRequest, EventLog, Expected, Head, LogError, Verification};
use async_nats::jetstream;
use reqwest::StatusCode;

use crate::app::{Accord, accord, history, http, meeting, metrics, post, proposal};
use crate::conformance::{joined, pid, request, small_batches, stored_once};
use crate::harness::{NatsServer, ServerVersion};

/// An existing stream with other settings is refused, naming each setting that differs.
async fn a_mismatched_stream_is_refused(version: ServerVersion) {
    let server = NatsServer::start(version).expect("server");
    let client = async_nats::connect(server.url()).await.expect("connect");
    let js = jetstream::new(client.clone());
    let mut config = StreamSettings::default().config();
    config.deny_purge = false;
    config.max_age = std::time::Duration::from_secs(3600);
    js.create_stream(config).await.expect("create a lax stream");

    let err = JetStreamLog::open(client.clone(), &StreamSettings::default())
        .await
        .expect_err("mismatch");
    let LogError::Misconfigured(message) = &err else {
        panic!("expected a configuration error, got {err:?}");
    };
    assert!(
        message.contains("deny_purge is false, expected true"),
        "{message}"
    );
    assert!(
        message.contains("max_age is 3600s, expected 0ns"),
        "{message}"
    );

    let other_replicas = StreamSettings {
        replicas: 3,
        ..StreamSettings::default()
    };
    js.delete_stream(STREAM)
        .await
        .expect("delete the lax stream");
    JetStreamLog::open(client.clone(), &StreamSettings::default())
        .await
        .expect("a fresh stream is provisioned");
    let err = JetStreamLog::open(client, &other_replicas)
        .await
        .expect_err("replicas differ");
    assert!(
        err.to_string().contains("num_replicas is 1, expected 3"),
        "{err}"
    );
}

/// Deleting or purging a commit fails on the server, and the commit stays.
async fn commits_cannot_be_deleted_or_purged(version: ServerVersion) {
    let server = NatsServer::start(version).expect("server");
    let client = async_nats::connect(server.url()).await.expect("connect");
    let log = JetStreamLog::open(client.clone(), &StreamSettings::default())
        .await
        .expect("open");
    let p = pid("acme-stmary");
    let appended = log
        .append(request(&p, 1, Expected::NoStream))
        .await
        .expect("append");
    let stream = jetstream::new(client)
        .get_stream(STREAM)
        .await
        .expect("stream");
    assert!(stream.delete_message(appended.position).await.is_err());
    assert!(stream.purge().await.is_err());
    assert!(
        stream
            .purge()
            .filter(format!("accord.events.{p}"))
            .await
            .is_err()
    );
    assert_eq!(log.read_partnership(&p, 0).await.expect("read").len(), 1);
    assert_eq!(
        log.head(&p).await.expect("head").revision,
        appended.position
    );
}

/// Headers name the partnership, the event types, the commit and the schema.
async fn headers_describe_the_commit(version: ServerVersion) {
    let server = NatsServer::start(version).expect("server");
    let client = async_nats::connect(server.url()).await.expect("connect");
    let log = JetStreamLog::open(client.clone(), &StreamSettings::default())
        .await
        .expect("open");
    let p = pid("acme-stmary");
    let req = request(&p, 1, Expected::NoStream);
    let appended = log.append(req.clone()).await.expect("append");
    let m = jetstream::new(client)
        .get_stream(STREAM)
        .await
        .expect("stream")
        .get_raw_message(appended.position)
        .await
        .expect("message");
    let header = |name: &str| m.headers.get(name).map(|v| v.as_str().to_owned());
    assert_eq!(m.subject.as_str(), "accord.events.acme-stmary");
    assert_eq!(header("Accord-Partnership").as_deref(), Some("acme-stmary"));
    assert_eq!(
        header("Accord-Event-Types").as_deref(),
        Some("meeting_requested")
    );
    assert_eq!(header("Accord-Schema").as_deref(), Some("accord.v1.Commit"));
    let id = req.commit_id.to_string();
    assert_eq!(header("Accord-Commit-Id"), Some(id.clone()));
    assert_eq!(header("Nats-Msg-Id"), Some(id));
}

/// Reading partnerships leaves no consumer behind on the server: an export or `verify` reads
/// thousands, and ordered consumers would linger for 30 s each.
async fn reads_leave_no_consumer(version: ServerVersion) {
    let server = NatsServer::start(version).expect("server");
    let client = async_nats::connect(server.url()).await.expect("connect");
    let log = JetStreamLog::open(client.clone(), &StreamSettings::default())
        .await
        .expect("open");
    let p = pid("acme-stmary");
    log.append(request(&p, 1, Expected::NoStream))
        .await
        .expect("append");
    log.append(request(&p, 2, Expected::Any))
        .await
        .expect("append");
    for _ in 0..20 {
        assert_eq!(log.read_partnership(&p, 0).await.expect("read").len(), 2);
    }
    let mut stream = jetstream::new(client)
        .get_stream(STREAM)
        .await
        .expect("stream");
    let info = stream.info().await.expect("info");
    assert_eq!(info.state.consumer_count, 0);
}

/// What the servers answer to a publish retried after it landed (same `Nats-Msg-Id`, same
/// expected subject sequence), which is why the backend looks up the commit id on a conflict:
/// 2.9 answers with a duplicate ack, 2.15 checks the sequence first (error 10071).
async fn servers_differ_on_a_retried_publish(version: ServerVersion) {
    let server = NatsServer::start(version).expect("server");
    let client = async_nats::connect(server.url()).await.expect("connect");
    JetStreamLog::open(client.clone(), &StreamSettings::default())
        .await
        .expect("provision");
    let js = jetstream::new(client);
    let publish = || {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", "commit-1");
        headers.insert("Nats-Expected-Last-Subject-Sequence", "0");
        js.publish_with_headers("accord.events.p", headers, "body".into())
    };
    let first = publish().await.expect("send").await.expect("first lands");
    assert!(!first.duplicate);
    let retry = publish().await.expect("send").await;
    // Measured: 2.9.10 answers with a duplicate ack, 2.15.1 with error 10071; versions between
    // were not measured, and either answer is handled.
    match retry {
        Ok(ack) => {
            assert!(
                !server.at_least(2, 15),
                "{} acked a retry",
                server.version()
            );
            assert!(ack.duplicate, "on {}", server.version());
            assert_eq!(ack.sequence, first.sequence);
        }
        Err(err) => {
            assert!(
                server.at_least(2, 10),
                "{} refused a retry",
                server.version()
            );
            assert_eq!(
                err.kind(),
                async_nats::jetstream::context::PublishErrorKind::WrongLastSequence,
                "on {}",
                server.version()
            );
        }
    }
}

/// Commits travel in atomic batches on a stream that allows them, which a fresh stream does on
/// 2.12 and later. An existing stream without `allow_atomic` keeps one message per commit and is
/// changed only when the ledger is told to (`enable_atomic`).
async fn atomic_batches_only_where_the_stream_allows_them(version: ServerVersion) {
    let server = NatsServer::start(version).expect("server");
    let has_atomic = server.at_least(2, 12);
    let client = async_nats::connect(server.url()).await.expect("connect");
    let js = jetstream::new(client.clone());
    let allows = |info: &jetstream::stream::Info| info.config.allow_atomic_publish;

    let log = JetStreamLog::open(client.clone(), &StreamSettings::default())
        .await
        .expect("open");
    assert_eq!(log.batching(), has_atomic, "on {}", server.version());
    let mut stream = js.get_stream(STREAM).await.expect("stream");
    assert_eq!(allows(stream.info().await.expect("info")), has_atomic);

    js.delete_stream(STREAM).await.expect("delete");
    let mut config = StreamSettings::default().config();
    config.allow_atomic_publish = false;
    js.create_stream(config)
        .await
        .expect("a stream made before");
    let log = JetStreamLog::open(client.clone(), &StreamSettings::default())
        .await
        .expect("open");
    assert!(
        !log.batching(),
        "without allow_atomic, one message per commit"
    );
    let mut stream = js.get_stream(STREAM).await.expect("stream");
    assert!(
        !allows(stream.info().await.expect("info")),
        "the stream was not changed silently"
    );
    let p = pid("unbatched");
    let first = log
        .append(request(&p, 0, Expected::NoStream))
        .await
        .expect("append one message per commit");
    assert_eq!(first.position, 1);

    let enable = StreamSettings {
        enable_atomic: true,
        ..StreamSettings::default()
    };
    let log = JetStreamLog::open(client.clone(), &enable)
        .await
        .expect("open with enable_atomic");
    assert_eq!(log.batching(), has_atomic, "on {}", server.version());
    let mut stream = js.get_stream(STREAM).await.expect("stream");
    assert_eq!(allows(stream.info().await.expect("info")), has_atomic);
}

/// Appends a commit, sending the same commit again while the server is away: it lands once.
async fn append_through_outage(log: &JetStreamLog, request: AppendRequest) -> (CommitId, Head) {
    let deadline = Instant::now() + OUTAGE;
    loop {
        match log.append(request.clone()).await {
            Ok(a) => {
                return (
                    a.commit_id,
                    Head {
                        revision: a.position,
                        hash: a.hash,
                    },
                );
            }
            Err(LogError::Unavailable(_)) if Instant::now() < deadline => {
                // The client reconnects by itself; try again shortly.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("append failed: {e}"),
        }
    }
}

/// Longest a writer keeps trying through the server's restart.
const OUTAGE: Duration = Duration::from_secs(60);

/// nats-server killed (SIGKILL) while batched commits are in flight, then started again: every
/// acknowledged commit is stored once, every commit sent again lands once, every chain holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batched_commits_survive_a_killed_server() {
    const WRITERS: usize = 16;
    const COMMITS: u64 = 30;
    let mut server = NatsServer::start(ServerVersion::Current).expect("server");
    let settings = StreamSettings {
        batching: small_batches(),
        ..StreamSettings::default()
    };
    let log = Arc::new(
        JetStreamLog::connect(&server.url(), &settings)
            .await
            .expect("open"),
    );
    assert!(log.batching());
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (log, acknowledged) = (log.clone(), acknowledged.clone());
            tokio::spawn(async move {
                let p = pid(&format!("killed{w}"));
                let mut head = Head::EMPTY;
                let mut ids = Vec::new();
                for n in 0..COMMITS {
                    let (id, next) =
                        append_through_outage(&log, request(&p, n, Expected::Exact(head))).await;
                    head = next;
                    ids.push(id);
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                }
                (p, ids)
            })
        })
        .collect();
    let deadline = Instant::now() + OUTAGE;
    while acknowledged.load(Ordering::Relaxed) < WRITERS * 5 {
        assert!(Instant::now() < deadline, "the writers made no progress");
        tokio::task::yield_now().await;
    }
    server.kill().expect("kill nats-server");
    server.start_again().expect("start nats-server again");

    let (sent, partnerships) = joined(writers).await;
    assert_eq!(sent.len(), WRITERS * COMMITS as usize);
    stored_once(&*log, &sent).await;
    for p in &partnerships {
        assert!(matches!(
            accord_log::verify_partnership(&*log, p).await.expect("verify"),
            Verification::Ok { commits, .. } if commits as u64 == COMMITS
        ));
    }
    assert!(log.batched_commits() > 0, "commits travelled in batches");
}

/// `accord up` on JetStream killed (SIGKILL) while its writers append, in batches, then started
/// again: the writers send what was not acknowledged again with the same idempotency keys, and
/// every partnership holds each meeting once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_ledger_loses_and_repeats_nothing() {
    const WRITERS: usize = 16;
    const MEETINGS: usize = 25;
    // As deploy/ runs it: a write is on disk before it is acknowledged.
    let server =
        NatsServer::start_binary(&ServerVersion::Current.binary(), "sync_interval: always")
            .expect("server");
    let up =
        |server: &NatsServer| Accord::up(&["--nats", &server.url(), "--batch-min-commits", "2"]);
    let first = up(&server);
    for w in 0..WRITERS {
        let (status, _) = post(&first, &format!("killed-{w}"), &proposal(), &[]).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (url, acknowledged) = (first.url.clone(), acknowledged.clone());
            tokio::spawn(async move {
                let client = http();
                let mut n = 0;
                while n < MEETINGS && meet(&client, &url, w, n).await.is_some() {
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
                n
            })
        })
        .collect();
    let deadline = Instant::now() + OUTAGE;
    while acknowledged.load(Ordering::Relaxed) < WRITERS * 5 {
        assert!(Instant::now() < deadline, "the writers made no progress");
        tokio::task::yield_now().await;
    }
    first.kill();
    let mut resume = Vec::new();
    for w in writers {
        resume.push(w.await.expect("writer"));
    }
    assert!(
        resume.iter().any(|n| *n < MEETINGS),
        "killed before the writers finished"
    );

    let second = up(&server);
    let writers: Vec<_> = resume
        .into_iter()
        .enumerate()
        .map(|(w, from)| {
            let url = second.url.clone();
            tokio::spawn(async move {
                let client = http();
                for n in from..MEETINGS {
                    meet(&client, &url, w, n)
                        .await
                        .expect("appended after the restart");
                }
            })
        })
        .collect();
    for w in writers {
        w.await.expect("writer");
    }
    for w in 0..WRITERS {
        let events = history(&second, &format!("killed-{w}")).await;
        let meetings: Vec<&str> = events["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["data"]["meeting_id"].as_str())
            .collect();
        let expected: Vec<String> = (0..MEETINGS).map(|n| format!("m-{n}")).collect();
        assert_eq!(
            meetings, expected,
            "each meeting once, in order, for writer {w}"
        );
    }
    let (code, out, err) = accord(&["verify", "--server", &second.url]);
    assert_eq!(code, 0, "every chain verifies: {out}{err}");
    let metrics = metrics(&second).await;
    assert!(
        metrics.lines().any(|l| l == "accord_log_atomic_batches 1"),
        "accord up says it sends atomic batches"
    );
    let batched = metrics
        .lines()
        .find_map(|l| l.strip_prefix("accord_log_batched_commits_total "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(
        batched > 0.0,
        "the commits after the restart travelled in batches"
    );
}

/// Records meeting `n` of writer `w` with idempotency key `w-n`; `None` when `accord up` did not
/// acknowledge it (it may still have been stored).
async fn meet(client: &reqwest::Client, url: &str, w: usize, n: usize) -> Option<()> {
    let answer = client
        .post(format!("{url}/v1/partnerships/killed-{w}/events"))
        .header("Idempotency-Key", format!("{w}-{n}"))
        .json(&meeting(&format!("m-{n}")))
        .send()
        .await
        .ok()?;
    answer.status().is_success().then_some(())
}

macro_rules! per_version {
    ($($module:ident => $version:expr;)*) => {$(
        mod $module {
            #[tokio::test]
            async fn a_mismatched_stream_is_refused() {
                super::a_mismatched_stream_is_refused($version).await;
            }

            #[tokio::test]
            async fn commits_cannot_be_deleted_or_purged() {
                super::commits_cannot_be_deleted_or_purged($version).await;
            }

            #[tokio::test]
            async fn servers_differ_on_a_retried_publish() {
                super::servers_differ_on_a_retried_publish($version).await;
            }

            #[tokio::test]
            async fn reads_leave_no_consumer() {
                super::reads_leave_no_consumer($version).await;
            }

            #[tokio::test]
            async fn atomic_batches_only_where_the_stream_allows_them() {
                super::atomic_batches_only_where_the_stream_allows_them($version).await;
            }

            #[tokio::test]
            async fn headers_describe_the_commit() {
                super::headers_describe_the_commit($version).await;
            }
        }
    )*};
}

per_version! {
    minimum => super::ServerVersion::Minimum;
    current => super::ServerVersion::Current;
}
