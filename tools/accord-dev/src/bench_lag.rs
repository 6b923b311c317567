//! Figure 8 of `accord-dev bench`: the projector's and the analytics feed's lag while a long
//! partnership takes commits.
//!
//! `accord up` on JetStream (ledger, projector and feed in one process, as figure 2). One
//! partnership of [`HISTORY`] events from the synthetic history (`accord-dev gen --partnerships 1`) is
//! imported first; then for `run` (60 s by default), [`WRITERS`] HTTP writers append commits of
//! one event each to it at `rate` commits a second in all (1 000 by default; each commit is sent
//! when its turn comes, or at once when the writers are behind). Meanwhile:
//! - a subscriber to the feed's summary subject of the partnership notes when each update
//!   arrives, and which position it reflects (its `Accord-Position`);
//! - `/healthz` is read every [`POLL`] for the projector's checkpoint.
//!
//! A commit's lag is the time from its acknowledgement to the first update (or checkpoint) at or
//! past its position. The figure prints, per 10 s of the run, the commits appended and the p50,
//! p99 and largest lag of each, so that a lag that grows with the partnership shows.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::StreamExt;
use nats_process::NatsServer;
use serde_json::json;

use crate::bench::spawn_accord;

/// Events of the partnership before the run.
const HISTORY: u64 = 16_000;
/// The slices the lag is reported by.
const SLICE: Duration = Duration::from_secs(10);
/// HTTP writers at once (the ledger takes one partnership's commits in turn).
const WRITERS: usize = 4;
/// How often the projector's checkpoint is read.
const POLL: Duration = Duration::from_millis(20);
/// The partnership `accord-dev gen --partnerships 1` makes, and its parties.
const PARTNERSHIP: &str = "syn-000000";
const ORGS: [&str; 2] = ["vendor-0", "system-1000"];

/// When something was seen at or past a position: `(position, when)` in the order seen.
type Seen = Arc<Mutex<Vec<(u64, Instant)>>>;

/// Figure 8 on a server started with `extra` configuration, appending `rate` commits a second
/// for `run`.
pub(crate) async fn figure_8(bin: &Path, extra: &str, run: Duration, rate: u64) -> Result<()> {
    let server = NatsServer::start_binary(bin, extra)?;
    let dir = tempfile::tempdir()?;
    let history = dir.path().join("history.jsonl");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&history)?);
        crate::synthetic::generate(1, HISTORY, 1, |line| {
            use std::io::Write;
            writeln!(out, "{line}")?;
            Ok(())
        })?;
    }
    let (mut up, url) = spawn_accord(&["up"], &server.url(), &dir.path().join("data")).await?;
    let imported = std::process::Command::new(crate::bench::accord_bin()?)
        .args(["import", "--server", &url])
        .arg(&history)
        .stdout(std::process::Stdio::null())
        .status()
        .context("importing the history")?;
    anyhow::ensure!(imported.success(), "importing the history failed");

    let client = async_nats::connect(server.url()).await?;
    let feed: Seen = Arc::default();
    let mut updates = client
        .subscribe(format!(
            "{}summary.{PARTNERSHIP}",
            accord_projector::feed::SUBJECT_PREFIX
        ))
        .await?;
    let feed_seen = feed.clone();
    let subscriber = tokio::spawn(async move {
        while let Some(m) = updates.next().await {
            let position = m
                .headers
                .as_ref()
                .and_then(|h| h.get(accord_projector::feed::HEADER_POSITION))
                .and_then(|v| v.as_str().parse().ok());
            if let Some(position) = position {
                lock(&feed_seen).push((position, Instant::now()));
            }
        }
    });
    let http = reqwest::Client::new();
    let projector: Seen = Arc::default();
    let stop = tokio_util::sync::CancellationToken::new();
    let poller = {
        let (http, url, seen, stop) = (http.clone(), url.clone(), projector.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(POLL);
            while !stop.is_cancelled() {
                tick.tick().await;
                let Ok(answer) = http.get(format!("{url}/healthz")).send().await else {
                    continue;
                };
                let checkpoint = answer
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|b| b["projector"]["checkpoint"].as_u64());
                if let Some(c) = checkpoint {
                    lock(&seen).push((c, Instant::now()));
                }
            }
        })
    };

    let started = Instant::now();
    let acked: Seen = Arc::default();
    let turns = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (http, acked, turns) = (http.clone(), acked.clone(), turns.clone());
            let url = format!("{url}/v1/partnerships/{PARTNERSHIP}/events");
            tokio::spawn(async move {
                let mut n = 0;
                loop {
                    let turn = turns.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let due = Duration::from_secs_f64(turn as f64 / rate.max(1) as f64);
                    if due >= run {
                        break;
                    }
                    tokio::time::sleep_until((started + due).into()).await;
                    let answer = http.post(&url).json(&commit(w, n)).send().await?;
                    anyhow::ensure!(
                        answer.status().is_success(),
                        "{}: {}",
                        answer.status(),
                        answer.text().await.unwrap_or_default()
                    );
                    let body: serde_json::Value = answer.json().await?;
                    let position = body["position"].as_u64().context("a position")?;
                    lock(&acked).push((position, Instant::now()));
                    n += 1;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for w in writers {
        w.await??;
    }
    // Every commit reflected, or 10 s more at most.
    let last = lock(&acked).iter().map(|(p, _)| *p).max().unwrap_or(0);
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until
        && [&feed, &projector]
            .iter()
            .any(|s| lock(s).last().is_none_or(|(p, _)| *p < last))
    {
        tokio::time::sleep(POLL).await;
    }
    stop.cancel();
    poller.await?;
    subscriber.abort();
    let peak = crate::bench::peak_rss_kb(up.id())?;
    up.kill()?;
    up.wait()?;

    let acked = std::mem::take(&mut *lock(&acked));
    let commits = acked.len();
    println!(
        "8 lag: {commits} commits in {:.0} s into one partnership of {HISTORY} events ({:.0} commits/s of {rate} asked, {WRITERS} writers, accord up on JetStream); accord up's peak memory {} MiB",
        run.as_secs_f64(),
        commits as f64 / run.as_secs_f64(),
        peak / 1024
    );
    for (name, seen) in [("projector", &projector), ("feed", &feed)] {
        let seen = lock(seen).clone();
        let mut slice = Vec::new();
        let mut slice_end = started + SLICE;
        for (position, at) in acked.iter().copied() {
            if at >= slice_end {
                print_slice(name, slice_end, started, &mut slice);
                slice_end += SLICE;
            }
            slice.push(lag(&seen, position, at));
        }
        print_slice(name, slice_end, started, &mut slice);
    }
    Ok(())
}

/// One event to append: alternately a meeting request and a follow-up, by either party.
fn commit(writer: usize, n: u64) -> serde_json::Value {
    let org = ORGS[(n as usize + writer) % 2];
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    if n % 2 == 0 {
        json!({"type": "meeting_requested", "occurred_at": now, "actor": {"org": org},
               "data": {"meeting_id": format!("lag-{writer}-{n}"), "requested_by_org": org,
                        "purpose": "load"}})
    } else {
        json!({"type": "follow_up_proposed", "occurred_at": now, "actor": {"org": org},
               "data": {"by_org": org}})
    }
}

/// How long after `at` something was first seen at or past `position` (`seen` goes by position,
/// as checkpoints and one subject's updates do); `None` if never.
fn lag(seen: &[(u64, Instant)], position: u64, at: Instant) -> Option<Duration> {
    seen.get(seen.partition_point(|(p, _)| *p < position))
        .map(|(_, t)| t.saturating_duration_since(at))
}

fn print_slice(name: &str, end: Instant, started: Instant, slice: &mut Vec<Option<Duration>>) {
    let missed = slice.iter().filter(|l| l.is_none()).count();
    let mut lags: Vec<Duration> = slice.drain(..).flatten().collect();
    lags.sort();
    let ms = |p: f64| {
        accord_domain::models::nearest_rank(&lags, p).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
    };
    println!(
        "8 lag {name} to {:>2.0} s: {} commits, p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms{}",
        (end - started).as_secs_f64(),
        lags.len() + missed,
        ms(0.5),
        ms(0.99),
        ms(1.0),
        if missed > 0 {
            format!(", {missed} never reflected")
        } else {
            String::new()
        }
    );
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
