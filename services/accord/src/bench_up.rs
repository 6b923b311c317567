//! Figure 2 (throughput) of `accord bench`: commits through a real `accord up` process over
//! HTTP, on durable JetStream (`sync_interval: always`), with its ledger, projector and analytics
//! feed all on this machine, against raw pipelined publish with the expected subject sequence
//! to the same server, in the same run.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use nats_process::NatsServer;

use crate::bench::{Figure, meeting, proposal, rate, raw_publish, spawn_accord};

/// HTTP writers at once, each over its share of the partnerships.
const WRITERS: u64 = 64;

/// `accord up` on a fresh durable server, `partnerships` partnerships proposed, then `commits`
/// commits of one event each to every partnership, from [`WRITERS`] writers.
pub(crate) async fn figure_2(bin: &Path, partnerships: u64, commits: u64) -> Result<()> {
    let server = NatsServer::start_binary(bin, "sync_interval: always")?;
    let client = async_nats::connect(server.url()).await?;
    let raw = raw_publish(&client, partnerships, commits).await?;

    let dir = tempfile::tempdir()?;
    let (mut up, url) = spawn_accord(&["up"], &server.url(), dir.path()).await?;
    let post = {
        let http = reqwest::Client::new();
        move |p: u64, event: serde_json::Value| {
            let http = http.clone();
            let url = format!("{url}/v1/partnerships/bench-{p:05}/events");
            async move {
                let answer = http.post(url).json(&event).send().await?;
                anyhow::ensure!(
                    answer.status().is_success(),
                    "{}: {}",
                    answer.status(),
                    answer.text().await.unwrap_or_default()
                );
                anyhow::Ok(())
            }
        }
    };
    for p in 0..partnerships {
        post(p, proposal()).await?;
    }
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let post = post.clone();
            tokio::spawn(async move {
                for n in 0..commits {
                    for p in (w..partnerships).step_by(WRITERS as usize) {
                        post(p, meeting(n)).await?;
                    }
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for w in writers {
        w.await??;
    }
    let through_up = rate(partnerships * commits, started.elapsed());
    up.kill()?;
    up.wait()?;
    Figure {
        name: "2 append (accord up, http, sync always)",
        unit: "commits/s",
        value: through_up,
        baseline: raw,
        target: Some(0.8),
    }
    .print();
    Ok(())
}
