//! What only the JetStream backend has: the stream's provisioning and its server-side guards.

use accord_log::jetstream::{JetStreamLog, STREAM, StreamSettings};
use accord_log::{EventLog, Expected, LogError};
use async_nats::jetstream;

use crate::conformance::{pid, request};
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
