//! Figure 2 (throughput) of `accord-dev bench`: commits through a real `accord up` process over
//! HTTP, on durable JetStream (`sync_interval: always`), with its ledger, projector and analytics
//! feed all on this machine, against raw pipelined publish with the expected subject sequence
//! to a server of its own, in the same run. `accord up` runs with 64 and 16 writers, with its
//! commits in atomic batches (the default) and each alone (`--batch-max-commits 1`), each on a
//! fresh server.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use nats_process::NatsServer;

use crate::bench::{Figure, meeting, proposal, rate, raw_publish, spawn_accord};

/// The runs of `accord up`: its name in the report, HTTP writers at once, and whether commits
/// travel in atomic batches.
const RUNS: [(&str, u64, bool); 4] = [
    ("2 append (accord up, 64 writers, batched)", 64, true),
    ("2 append (accord up, 64 writers, unbatched)", 64, false),
    ("2 append (accord up, 16 writers, batched)", 16, true),
    ("2 append (accord up, 16 writers, unbatched)", 16, false),
];

/// Raw publish first, then every run of [`RUNS`]: `partnerships` partnerships proposed, then
/// `commits` commits of one event each to every partnership.
pub(crate) async fn figure_2(bin: &Path, partnerships: u64, commits: u64) -> Result<()> {
    let raw = {
        let server = NatsServer::start_binary(bin, "sync_interval: always")?;
        let client = async_nats::connect(server.url()).await?;
        raw_publish(&client, partnerships, commits, 1).await?
    };
    let mut unbatched_64 = None;
    let mut batched_64 = None;
    for (name, writers, batched) in RUNS {
        let value = through_up(bin, partnerships, commits, writers, batched).await?;
        Figure {
            name,
            unit: "commits/s",
            value,
            baseline: raw,
            // Issue 15: batched at least 1.5× raw; issue 12: at least 0.8×.
            target: (writers == 64 && batched).then_some(1.5),
        }
        .print();
        if writers == 64 {
            *if batched {
                &mut batched_64
            } else {
                &mut unbatched_64
            } = Some(value);
        }
    }
    if let (Some(batched), Some(unbatched)) = (batched_64, unbatched_64) {
        Figure {
            name: "2 batched vs unbatched (64 writers)",
            unit: "commits/s",
            value: batched,
            baseline: unbatched,
            target: Some(2.0),
        }
        .print();
    }
    Ok(())
}

/// Commits a second through `accord up` on a fresh durable server.
async fn through_up(
    bin: &Path,
    partnerships: u64,
    commits: u64,
    writers: u64,
    batched: bool,
) -> Result<f64> {
    let server = NatsServer::start_binary(bin, "sync_interval: always")?;
    let dir = tempfile::tempdir()?;
    let command: &[&str] = if batched {
        &["up"]
    } else {
        &["up", "--batch-max-commits", "1"]
    };
    let (mut up, url) = spawn_accord(command, &server.url(), dir.path()).await?;
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
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let post = post.clone();
            tokio::spawn(async move {
                for n in 0..commits {
                    for p in (w..partnerships).step_by(writers as usize) {
                        post(p, meeting(n)).await?;
                    }
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    let took = started.elapsed();
    up.kill()?;
    up.wait()?;
    Ok(rate(partnerships * commits, took))
}
