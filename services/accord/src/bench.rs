//! `accord bench`: the project's path against the raw baseline, measured in the same run on the
//! same machine (see docs/benchmarks.md). Prints one line per figure: value, baseline, ratio.
//!
//! Figures at the log level (issue 2): 1 (append through the ledger vs raw pipelined publish with
//! expected sequence), 3 (replay of the log vs raw ordered-consumer replay) and 6 (the same on
//! the embedded backend, against raw sled).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use accord_domain::{EventInput, PartnershipId, Settings};
use accord_ledger::{Ledger, RecordRequest};
use accord_log::EventLog;
use accord_log::embedded::EmbeddedLog;
use accord_log::jetstream::{JetStreamLog, StreamSettings};
use anyhow::{Context, Result};
use async_nats::jetstream::{self, consumer, stream};
use futures::{StreamExt, TryStreamExt};
use nats_process::{NatsServer, ServerVersion};
use serde_json::json;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Partnerships written concurrently (one subject each).
    #[arg(long, default_value_t = 1000)]
    partnerships: u64,
    /// Commits per partnership, one event each.
    #[arg(long, default_value_t = 40)]
    commits: u64,
    /// The nats-server binary (default: `$NATS_SERVER_BIN`, else the current release the test
    /// command installs under .tools/).
    #[arg(long, env = "NATS_SERVER_BIN")]
    nats_server: Option<PathBuf>,
    /// Run the server with `sync_interval: always` (fsync before every ack; 2.10 or newer).
    #[arg(long)]
    sync_always: bool,
    /// Which backends to measure.
    #[arg(long, value_enum, default_value_t = Backends::Both)]
    backends: Backends,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backends {
    Jetstream,
    Embedded,
    Both,
}

/// Payload size of the raw baseline, as in docs/benchmarks.md.
const RAW_PAYLOAD: usize = 300;
/// Values per sled batch in the raw sled baseline, as in docs/benchmarks.md.
const SLED_BATCH: u64 = 1000;

struct Figure {
    name: &'static str,
    unit: &'static str,
    value: f64,
    baseline: f64,
    target: Option<f64>,
}

impl Figure {
    fn print(&self) {
        let ratio = self.value / self.baseline;
        let verdict = self.target.map_or(String::new(), |t| {
            format!(
                "  (target ≥ {t:.2}: {})",
                if ratio >= t { "met" } else { "missed" }
            )
        });
        println!(
            "{:<44} {:>10.0} {:<10} baseline {:>10.0} {:<10} ratio {:.2}{verdict}",
            self.name, self.value, self.unit, self.baseline, self.unit, ratio
        );
    }
}

fn rate(n: u64, took: Duration) -> f64 {
    n as f64 / took.as_secs_f64()
}

pub(crate) async fn run(args: Args) -> Result<()> {
    let total = args.partnerships * args.commits;
    let bin = args
        .nats_server
        .clone()
        .unwrap_or_else(|| ServerVersion::Current.binary());
    let version = std::process::Command::new(&bin)
        .arg("--version")
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    println!(
        "accord bench: {} partnerships × {} commits of 1 event = {total} commits; {}, {}",
        args.partnerships,
        args.commits,
        String::from_utf8_lossy(&version.stdout).trim(),
        if args.sync_always {
            "sync_interval: always"
        } else {
            "default sync"
        }
    );
    let extra = if args.sync_always {
        "sync_interval: always"
    } else {
        ""
    };
    if args.backends != Backends::Embedded {
        jetstream_figures(&bin, extra, &args).await?;
    }
    if args.backends != Backends::Jetstream {
        embedded_figures(&args).await?;
    }
    Ok(())
}

async fn jetstream_figures(bin: &std::path::Path, extra: &str, args: &Args) -> Result<()> {
    let server = NatsServer::start_binary(bin, extra)?;
    let client = async_nats::connect(server.url()).await?;

    let raw_append = raw_publish(&client, args.partnerships, args.commits).await?;
    let log = Arc::new(JetStreamLog::open(client.clone(), &StreamSettings::default()).await?);
    let append = ledger_append(log.clone(), args.partnerships, args.commits).await?;

    Figure {
        name: "1 append (jetstream, ledger path)",
        unit: "commits/s",
        value: append,
        baseline: raw_append,
        target: Some(0.8),
    }
    .print();

    let raw_replay = raw_ordered_replay(&client).await?;
    let replay = log_replay(&*log).await?;

    Figure {
        name: "3 replay (jetstream, read_all + decode)",
        unit: "commits/s",
        value: replay,
        baseline: raw_replay,
        target: None,
    }
    .print();

    let raw = raw_latency(&client).await?;
    let http = http_latency(log).await?;
    for (name, pick) in [("p50", 0.50), ("p99", 0.99)] {
        let (value, baseline) = (percentile(&http, pick), percentile(&raw, pick));
        println!(
            "{:<44} {:>10.0} {:<10} baseline {:>10.0} {:<10} ratio {:.2}",
            format!("2 append latency {name} (http, idle)"),
            value,
            "µs",
            baseline,
            "µs",
            value / baseline
        );
    }
    Ok(())
}

/// Requests per latency figure, one at a time on an idle server.
const LATENCY_SAMPLES: usize = 2000;

/// Nearest-rank percentile of microsecond samples (the same rank as the read models use).
fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    accord_domain::models::nearest_rank(&sorted, p).unwrap_or(f64::NAN)
}

/// Raw: one publish with the expected subject sequence at a time, each awaited.
async fn raw_latency(client: &async_nats::Client) -> Result<Vec<f64>> {
    let js = jetstream::new(client.clone());
    js.create_stream(stream::Config {
        name: "BENCH_LATENCY".into(),
        subjects: vec!["bench.latency".into()],
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await?;
    let payload = bytes::Bytes::from(vec![b'x'; RAW_PAYLOAD]);
    let mut last = 0;
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for _ in 0..LATENCY_SAMPLES {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(
            "Nats-Expected-Last-Subject-Sequence",
            last.to_string().as_str(),
        );
        let started = Instant::now();
        let ack = js
            .publish_with_headers("bench.latency", headers, payload.clone())
            .await?
            .await?;
        samples.push(started.elapsed().as_secs_f64() * 1e6);
        last = ack.sequence;
    }
    js.delete_stream("BENCH_LATENCY").await?;
    Ok(samples)
}

/// The whole path of one command: HTTP request in, JSON parsed, decided, appended, answer out.
async fn http_latency(log: Arc<JetStreamLog>) -> Result<Vec<f64>> {
    let ledger = Arc::new(Ledger::new(log.clone(), Settings::default()));
    let state = accord_http::AppState {
        ledger,
        log,
        metrics: accord_http::Metrics::install(),
        backend: "jetstream",
        tokens: None,
        queries: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!(
        "http://{}/v1/partnerships/latency/events",
        listener.local_addr()?
    );
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(accord_http::serve(
        listener,
        accord_http::router(state),
        shutdown.clone(),
    ));
    let client = reqwest::Client::new();
    let post = |body: String| client.post(&url).body(body).send();
    let created = post(proposal().to_string()).await?;
    anyhow::ensure!(
        created.status().is_success(),
        "proposal refused: {}",
        created.status()
    );
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for n in 0..LATENCY_SAMPLES as u64 {
        let body = meeting(n).to_string();
        let started = Instant::now();
        let response = post(body).await?;
        let status = response.status();
        response.bytes().await?;
        samples.push(started.elapsed().as_secs_f64() * 1e6);
        anyhow::ensure!(status.is_success(), "append refused: {status}");
    }
    shutdown.cancel();
    server.await??;
    Ok(samples)
}

async fn embedded_figures(args: &Args) -> Result<()> {
    let total = args.partnerships * args.commits;
    let dir = tempfile::tempdir()?;
    let raw_sled = raw_sled_insert(&dir.path().join("raw"), total)?;
    let embedded = Arc::new(EmbeddedLog::open(&dir.path().join("log"))?);
    let append = ledger_append(embedded.clone(), args.partnerships, args.commits).await?;
    Figure {
        name: "6 append (embedded, ledger path)",
        unit: "commits/s",
        value: append,
        baseline: raw_sled,
        target: None,
    }
    .print();
    let raw_scan = raw_sled_scan(&dir.path().join("raw"))?;
    let replay = log_replay(&*embedded).await?;
    Figure {
        name: "6 replay (embedded, read_all + decode)",
        unit: "commits/s",
        value: replay,
        baseline: raw_scan,
        target: None,
    }
    .print();
    Ok(())
}

/// Raw async-nats: one task per subject, each publish carrying the subject's expected last
/// sequence, so one publish per subject is in flight at a time (docs/benchmarks.md's third row).
async fn raw_publish(client: &async_nats::Client, subjects: u64, each: u64) -> Result<f64> {
    let js = jetstream::new(client.clone());
    js.create_stream(stream::Config {
        name: "BENCH_RAW".into(),
        subjects: vec!["bench.raw.*".into()],
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await?;
    let payload = bytes::Bytes::from(vec![b'x'; RAW_PAYLOAD]);
    let started = Instant::now();
    let tasks: Vec<_> = (0..subjects)
        .map(|s| {
            let js = js.clone();
            let payload = payload.clone();
            tokio::spawn(async move {
                let subject = format!("bench.raw.s{s}");
                let mut last = 0;
                for _ in 0..each {
                    let mut headers = async_nats::HeaderMap::new();
                    headers.insert(
                        "Nats-Expected-Last-Subject-Sequence",
                        last.to_string().as_str(),
                    );
                    let ack = js
                        .publish_with_headers(subject.clone(), headers, payload.clone())
                        .await?
                        .await?;
                    last = ack.sequence;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    let took = started.elapsed();
    js.delete_stream("BENCH_RAW").await?;
    Ok(rate(subjects * each, took))
}

/// The ledger's path: validate, decide, encode, hash, append with the expected revision; one
/// task per partnership, one event per commit.
async fn ledger_append(log: Arc<dyn EventLog>, partnerships: u64, each: u64) -> Result<f64> {
    let ledger = Arc::new(Ledger::new(log, Settings::default()));
    let ids: Vec<PartnershipId> = (0..partnerships)
        .map(|i| PartnershipId::parse(&format!("bench-{i}")))
        .collect::<Result<_, _>>()?;
    let proposals: Vec<_> = ids
        .iter()
        .map(|p| {
            let ledger = ledger.clone();
            let p = p.clone();
            tokio::spawn(async move { ledger.record(request(&p, proposal())).await })
        })
        .collect();
    for t in proposals {
        t.await??;
    }
    // Requests are parsed before the clock starts: the figure is the ledger's path, not JSON.
    let requests: Vec<Vec<RecordRequest>> = ids
        .iter()
        .map(|p| (0..each).map(|n| request(p, meeting(n))).collect())
        .collect();
    let started = Instant::now();
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|requests| {
            let ledger = ledger.clone();
            tokio::spawn(async move {
                for r in requests {
                    ledger.record(r).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    Ok(rate(partnerships * each, started.elapsed()))
}

fn request(p: &PartnershipId, event: serde_json::Value) -> RecordRequest {
    RecordRequest {
        partnership_id: p.clone(),
        events: vec![
            serde_json::from_value::<EventInput>(event)
                .unwrap_or_else(|e| unreachable!("the benchmark's events are valid JSON: {e}")),
        ],
        if_match: None,
        idempotency_key: None,
    }
}

fn proposal() -> serde_json::Value {
    json!({"type": "partnership_proposed", "occurred_at": "2026-01-05T09:00:00Z",
           "actor": {"org": "acme"},
           "data": {"parties": [{"org": "acme", "name": "Acme Health", "kind": "vendor"},
                                {"org": "stmary", "name": "St Mary's", "kind": "health_system"}],
                    "vision": "benchmark"}})
}

fn meeting(n: u64) -> serde_json::Value {
    json!({"type": "meeting_requested", "occurred_at": "2026-02-01T09:00:00Z",
           "actor": {"org": "acme", "person": "Ana Ruiz"},
           "data": {"meeting_id": format!("m{n}"), "requested_by_org": "acme",
                    "purpose": "quarterly business review"}})
}

/// Raw ordered-consumer replay of the whole event stream.
async fn raw_ordered_replay(client: &async_nats::Client) -> Result<f64> {
    let js = jetstream::new(client.clone());
    let stream = js.get_stream(accord_log::jetstream::STREAM).await?;
    let last = stream.get_info().await?.state.last_sequence;
    let started = Instant::now();
    let mut messages = stream
        .create_consumer(consumer::pull::OrderedConfig {
            filter_subject: "accord.events.*".into(),
            ..Default::default()
        })
        .await?
        .messages()
        .await?;
    let mut n = 0;
    while let Some(m) = messages.next().await {
        n += 1;
        if m?
            .info()
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .stream_sequence
            >= last
        {
            break;
        }
    }
    Ok(rate(n, started.elapsed()))
}

/// The log's replay: read_all from the start, decoding every commit.
async fn log_replay(log: &dyn EventLog) -> Result<f64> {
    let started = Instant::now();
    let n = log
        .read_all(0)
        .await?
        .map_err(anyhow::Error::from)
        .try_fold(0u64, |n, c| async move {
            c.decode()?;
            Ok(n + 1)
        })
        .await?;
    Ok(rate(n, started.elapsed()))
}

/// Raw sled: batches of 1000 inserts of 300-byte values, each batch flushed.
fn raw_sled_insert(dir: &std::path::Path, total: u64) -> Result<f64> {
    let db = sled::open(dir)?;
    let value = vec![b'x'; RAW_PAYLOAD];
    let started = Instant::now();
    let mut key = 0u64;
    while key < total {
        let mut batch = sled::Batch::default();
        for _ in 0..SLED_BATCH.min(total - key) {
            key += 1;
            batch.insert(&key.to_be_bytes(), value.as_slice());
        }
        db.apply_batch(batch)?;
        db.flush()?;
    }
    Ok(rate(total, started.elapsed()))
}

/// Raw sled: a full ordered scan.
fn raw_sled_scan(dir: &std::path::Path) -> Result<f64> {
    let db = sled::open(dir)?;
    let started = Instant::now();
    let mut n = 0;
    for item in db.iter() {
        item?;
        n += 1;
    }
    Ok(rate(n, started.elapsed()))
}
