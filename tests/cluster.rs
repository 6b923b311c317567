//! A 3-node cluster started from the production configuration in deploy/: concurrent appends
//! with R3, in atomic batches, the stream's leader killed, appends go on, and nothing acknowledged
//! is lost or stored twice.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_domain::{CommitId, PartnershipId};
use accord_log::jetstream::{JetStreamLog, STREAM, StreamSettings};
use accord_log::{
    AppendRequest, EventLog, Expected, Head, LogError, Verification, verify_partnership,
};

use crate::conformance::{pid, request, small_batches, stored_once};
use crate::harness::{NatsServer, ServerVersion, free_port, workspace_root};
use crate::tls::TestCa;

/// Longest wait for the cluster to form, or to elect a new stream leader.
const CLUSTER_WAIT: Duration = Duration::from_secs(60);
const PASSWORD: &str = "ledger-test-password";
const ROUTE_PASSWORD: &str = "route-test-password";

fn path(p: &std::path::Path) -> String {
    p.to_str().expect("utf-8").to_owned()
}

/// Three nodes from deploy/cluster, with TLS for clients and routes from a test CA (kept for
/// the clients to trust) and the route login; gives the ledger's URLs.
fn start_cluster() -> (Vec<NatsServer>, String, TestCa) {
    let ca = TestCa::new();
    let bin = ServerVersion::Current.binary();
    let config = workspace_root().join("deploy/cluster/nats-node.conf");
    let ports: Vec<(u16, u16, u16)> = (0..3)
        .map(|_| {
            (
                free_port().expect("port"),
                free_port().expect("port"),
                free_port().expect("port"),
            )
        })
        .collect();
    let routes: Vec<String> = ports
        .iter()
        .map(|(_, route, _)| format!("nats-route://route:{ROUTE_PASSWORD}@127.0.0.1:{route}"))
        .collect();
    let nodes = ports
        .iter()
        .enumerate()
        .map(|(i, (client, route, monitor))| {
            let store = tempfile::tempdir().expect("store");
            let env = vec![
                ("NATS_SERVER_NAME", format!("accord-nats-{}", i + 1)),
                ("NATS_LISTEN", format!("127.0.0.1:{client}")),
                ("NATS_MONITOR", format!("127.0.0.1:{monitor}")),
                ("NATS_CLUSTER_LISTEN", format!("127.0.0.1:{route}")),
                (
                    "NATS_STORE_DIR",
                    store.path().join("js").display().to_string(),
                ),
                ("NATS_TLS_CERT", path(&ca.cert)),
                ("NATS_TLS_KEY", path(&ca.key)),
                ("NATS_TLS_CA", path(&ca.ca)),
                ("ROUTE_PASSWORD", ROUTE_PASSWORD.to_owned()),
                ("NATS_ROUTE_1", routes[0].clone()),
                ("NATS_ROUTE_2", routes[1].clone()),
                ("NATS_ROUTE_3", routes[2].clone()),
                ("LEDGER_PASSWORD", PASSWORD.to_owned()),
                ("PROJECTOR_PASSWORD", "projector-test-password".to_owned()),
                ("CLIENT_PASSWORD", "client-test-password".to_owned()),
                ("ANALYTICS_PASSWORD", "analytics-test-password".to_owned()),
                ("ADMIN_PASSWORD", "admin-test-password".to_owned()),
            ];
            let env = env.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            NatsServer::start_config(&bin, &config, store, env).expect("start node")
        })
        .collect();
    let urls = ports
        .iter()
        .map(|(client, _, _)| format!("tls://ledger:{PASSWORD}@127.0.0.1:{client}"))
        .collect::<Vec<_>>()
        .join(",");
    (nodes, urls, ca)
}

/// Appends, retrying with the same commit id while the cluster elects a leader: the commit
/// lands once whatever happened to the attempts before.
async fn append_through_failover(log: &JetStreamLog, request: AppendRequest) -> CommitId {
    let deadline = Instant::now() + CLUSTER_WAIT;
    loop {
        match log.append(request.clone()).await {
            Ok(a) => return a.commit_id,
            Err(LogError::Unavailable(e)) if Instant::now() < deadline => {
                pause_before_retry(&e).await;
            }
            Err(e) => panic!("append failed: {e}"),
        }
    }
}

/// Appends commits `numbers` to every partnership, one writer per partnership, all at once (so
/// that their commits travel together); gives the commit ids.
async fn append_concurrently(
    log: &Arc<JetStreamLog>,
    partnerships: &[PartnershipId],
    numbers: std::ops::Range<u64>,
) -> Vec<CommitId> {
    let writers: Vec<_> = partnerships
        .iter()
        .map(|p| {
            let (log, p, numbers) = (log.clone(), p.clone(), numbers.clone());
            tokio::spawn(async move {
                let mut ids = Vec::new();
                for n in numbers {
                    ids.push(append_through_failover(&log, request(&p, n, Expected::Any)).await);
                }
                ids
            })
        })
        .collect();
    let mut ids = Vec::new();
    for w in writers {
        ids.extend(w.await.expect("writer"));
    }
    ids
}

/// Waits a moment before the next attempt at a condition that is not met yet.
async fn pause_before_retry(_why: &str) {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_cluster_loses_nothing_acknowledged_when_a_node_dies() {
    let (mut nodes, urls, ca) = start_cluster();
    let settings = StreamSettings {
        replicas: 3,
        batching: small_batches(),
        ..StreamSettings::default()
    };
    // The cluster is ready when it can place an R3 stream.
    let deadline = Instant::now() + CLUSTER_WAIT;
    let log = loop {
        let connected = match accord_log::jetstream::connect(&urls, Some(&ca.ca)).await {
            Ok(client) => JetStreamLog::open(client, &settings).await,
            Err(e) => Err(e),
        };
        match connected {
            Ok(log) => break log,
            Err(e) if Instant::now() < deadline => pause_before_retry(&e.to_string()).await,
            Err(e) => panic!("the cluster did not form: {e}"),
        }
    };
    assert!(log.batching(), "the cluster takes atomic batches");
    let log = Arc::new(log);
    let partnerships: Vec<_> = (0..6).map(|i| pid(&format!("p{i}"))).collect();
    let mut acknowledged = BTreeSet::new();
    acknowledged.extend(append_concurrently(&log, &partnerships, 0..10).await);

    // Kill the node that leads the stream.
    let client = accord_log::jetstream::connect(&urls, Some(&ca.ca))
        .await
        .expect("connect");
    let info = async_nats::jetstream::new(client)
        .get_stream(STREAM)
        .await
        .expect("stream")
        .get_info()
        .await
        .expect("info");
    assert_eq!(info.config.num_replicas, 3);
    let leader = info
        .cluster
        .and_then(|c| c.leader)
        .expect("the stream has a leader");
    let index = leader
        .strip_prefix("accord-nats-")
        .and_then(|n| n.parse::<usize>().ok())
        .expect("a node name")
        - 1;
    nodes[index].kill().expect("kill the leader");

    acknowledged.extend(append_concurrently(&log, &partnerships, 10..20).await);

    // Every chain verifies, once the two nodes left answer reads (they may still be settling
    // after the election).
    for p in &partnerships {
        let deadline = Instant::now() + CLUSTER_WAIT;
        let verified = loop {
            match verify_partnership(&*log, p).await {
                Err(LogError::Unavailable(e)) if Instant::now() < deadline => {
                    pause_before_retry(&e).await;
                }
                other => break other.expect("verify"),
            }
        };
        assert!(matches!(verified, Verification::Ok { commits: 20, .. }));
    }
    assert_eq!(acknowledged.len(), 120);
    stored_once(&*log, &acknowledged).await;
    // On a clustered stream too, a stale revision is a conflict, and a commit sent again is
    // answered with the original (the server words some of these 10164, not 10071).
    let stale = log
        .append(request(&partnerships[0], 999, Expected::Exact(Head::EMPTY)))
        .await;
    assert!(
        matches!(stale, Err(LogError::Conflict { .. })),
        "a stale append is a conflict, got {stale:?}"
    );
    let again = request(&pid("again"), 0, Expected::NoStream);
    let first = log.append(again.clone()).await.expect("append");
    let replayed = log.append(again).await.expect("the same commit again");
    assert!(replayed.replayed);
    assert_eq!(replayed.position, first.position);
    assert!(log.batched_commits() > 0, "commits travelled in batches");
}
