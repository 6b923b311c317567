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
    let path = |p: u64| format!("/v1/partnerships/bench-{p:05}/events");
    let opening = (0..partnerships)
        .map(|p| Post::new(path(p), &proposal(), None))
        .collect();
    let each = (0..partnerships)
        .map(|p| {
            (0..commits)
                .map(|n| Post::new(path(p), &meeting(n), None))
                .collect()
        })
        .collect();
    let command: &[&str] = if batched {
        &["up"]
    } else {
        &["up", "--batch-max-commits", "1"]
    };
    posts_through_up(bin, command, opening, each, writers).await
}

/// One append over HTTP, made before the clock starts: where, the body, and its idempotency key.
pub(crate) struct Post {
    path: String,
    body: Vec<u8>,
    idempotency_key: Option<String>,
}

impl Post {
    pub(crate) fn new(
        path: String,
        body: &serde_json::Value,
        idempotency_key: Option<String>,
    ) -> Self {
        Self {
            path,
            body: body.to_string().into_bytes(),
            idempotency_key,
        }
    }
}

/// Commits a second through `accord <command>` on a fresh durable server: the opening posts one
/// at a time, then, timed, `writers` tasks that take the partnerships in turns, one commit of
/// each partnership per turn (`each` holds every partnership's commits, in order).
pub(crate) async fn posts_through_up(
    bin: &Path,
    command: &[&str],
    opening: Vec<Post>,
    each: Vec<Vec<Post>>,
    writers: u64,
) -> Result<f64> {
    let server = NatsServer::start_binary(bin, "sync_interval: always")?;
    let dir = tempfile::tempdir()?;
    let (mut up, url) = spawn_accord(command, &server.url(), dir.path()).await?;
    let http = reqwest::Client::new();
    let post = move |post: Post| {
        let mut request = http
            .post(format!("{url}{}", post.path))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(post.body);
        if let Some(key) = post.idempotency_key {
            request = request.header("Idempotency-Key", key);
        }
        async move {
            let answer = request.send().await?;
            anyhow::ensure!(
                answer.status().is_success(),
                "{}: {}",
                answer.status(),
                answer.text().await.unwrap_or_default()
            );
            anyhow::Ok(())
        }
    };
    for p in opening {
        post(p).await?;
    }
    let total = each.iter().map(Vec::len).sum::<usize>() as u64;
    // Writer w takes partnerships w, w + writers, ...: one commit of each per turn.
    let mut shares: Vec<Vec<std::vec::IntoIter<Post>>> = (0..writers).map(|_| Vec::new()).collect();
    let n = shares.len();
    for (p, commits) in each.into_iter().enumerate() {
        shares[p % n].push(commits.into_iter());
    }
    let started = Instant::now();
    let tasks: Vec<_> = shares
        .into_iter()
        .map(|mut share| {
            let post = post.clone();
            tokio::spawn(async move {
                while !share.is_empty() {
                    for commits in &mut share {
                        if let Some(p) = commits.next() {
                            post(p).await?;
                        }
                    }
                    share.retain(|c| !c.as_slice().is_empty());
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
    Ok(rate(total, took))
}
