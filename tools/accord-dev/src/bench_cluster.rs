//! Figure 9 of `accord-dev bench`: appends through the ledger on a 3-node cluster (R3, every node
//! with `sync_interval: always`), commits in atomic batches and each alone, against raw pipelined
//! publish with the expected subject sequence to an R3 stream of the same cluster, in the same
//! run. The nodes are plain local processes (no TLS, no logins): the figure is about replication.

use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_log::jetstream::{Batching, JetStreamLog, STREAM, StreamSettings};
use anyhow::{Context, Result};
use nats_process::{NatsServer, free_port};

use crate::bench::{Figure, ledger_append, raw_publish};

/// Longest wait for the cluster to place an R3 stream.
const FORM: Duration = Duration::from_secs(60);

/// Three nodes routed to each other; gives them and the clients' URL list.
fn start_cluster(bin: &std::path::Path) -> Result<(Vec<NatsServer>, String)> {
    let ports: Vec<(u16, u16)> = (0..3)
        .map(|_| Ok((free_port()?, free_port()?)))
        .collect::<Result<_>>()?;
    let routes: Vec<String> = ports
        .iter()
        .map(|(_, route)| format!("nats-route://127.0.0.1:{route}"))
        .collect();
    let mut nodes = Vec::new();
    for (i, (client, route)) in ports.iter().enumerate() {
        let store = tempfile::tempdir()?;
        let config = store.path().join("node.conf");
        std::fs::write(
            &config,
            format!(
                "server_name: accord-bench-{i}\nlisten: 127.0.0.1:{client}\n\
                 jetstream {{ store_dir: \"{}\"\n sync_interval: always }}\n\
                 cluster {{ name: accord-bench\n listen: 127.0.0.1:{route}\n routes: [{}] }}\n",
                store.path().join("js").display(),
                routes.join(", ")
            ),
        )?;
        nodes.push(NatsServer::start_config(bin, &config, store, Vec::new())?);
    }
    let urls = nodes
        .iter()
        .map(NatsServer::url)
        .collect::<Vec<_>>()
        .join(",");
    Ok((nodes, urls))
}

/// The event log with R3 on the cluster, once it can place the stream.
async fn open_r3(urls: &str, batching: Batching) -> Result<Arc<JetStreamLog>> {
    let settings = StreamSettings {
        replicas: 3,
        batching,
        ..StreamSettings::default()
    };
    let deadline = Instant::now() + FORM;
    loop {
        let client = accord_log::jetstream::connect(urls, None).await?;
        match JetStreamLog::open(client, &settings).await {
            Ok(log) => return Ok(Arc::new(log)),
            Err(e) if Instant::now() < deadline => {
                tracing::debug!(error = %e, "the cluster is forming");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e).context("the cluster did not place an R3 stream"),
        }
    }
}

pub(crate) async fn figure_9(bin: &std::path::Path, partnerships: u64, commits: u64) -> Result<()> {
    let (_nodes, urls) = start_cluster(bin)?;
    let batched = open_r3(&urls, Batching::default()).await?;
    let client = accord_log::jetstream::connect(&urls, None).await?;
    let raw = raw_publish(&client, partnerships, commits, 3).await?;
    let with_batches = ledger_append(batched, partnerships, commits).await?;
    async_nats::jetstream::new(client)
        .delete_stream(STREAM)
        .await?;
    let alone = open_r3(
        &urls,
        Batching {
            max_commits: 1,
            ..Batching::default()
        },
    )
    .await?;
    let without = ledger_append(alone, partnerships, commits).await?;
    for (name, value) in [
        ("9 append (R3 cluster, ledger path, batched)", with_batches),
        ("9 append (R3 cluster, ledger path, unbatched)", without),
    ] {
        Figure {
            name,
            unit: "commits/s",
            value,
            baseline: raw,
            target: None,
        }
        .print();
    }
    Figure {
        name: "9 batched vs unbatched (R3 cluster)",
        unit: "commits/s",
        value: with_batches,
        baseline: without,
        target: None,
    }
    .print();
    Ok(())
}
