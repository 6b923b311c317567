//! `accord-dev bench`: the project's path against the raw baseline, measured in the same run on the
//! same machine (see docs/benchmarks.md). Prints one line per figure: value, baseline, ratio.
//!
//! Figures: 1 (append through the ledger vs raw pipelined publish with expected sequence),
//! 2 (append latency through HTTP vs a raw awaited publish; and commits through a real `accord
//! up` over HTTP on durable JetStream, `bench_up`), 3 (replay of the log, and a full
//! rebuild of the read models by a real `accord projector --rebuild` process, vs raw
//! ordered-consumer replay), 4 (query latency over HTTP), 5 (the projector's peak memory during
//! the rebuild, and nats-server's memory at 100k partnerships), 6 (append and replay on the
//! embedded backend, against raw sled), 7 (the read models of one long partnership, cold:
//! `bench_history`), 8 (lag while it takes commits: `bench_lag`) and 9 (appends on a 3-node
//! cluster, batched and not: `bench_cluster`), 10 and 11 (signed acts: a signed and sealed
//! append, and verify of signed commits: `bench_signed`).

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
    /// Figures 3 to 5: partnerships of the synthetic history (`accord-dev gen`) the rebuild reads.
    #[arg(long, default_value_t = 1000)]
    rebuild_partnerships: u64,
    /// Figures 3 to 5: events of that history, one per commit (the target figure is 1M over 10k
    /// partnerships).
    #[arg(long, default_value_t = 100_000)]
    rebuild_events: u64,
    /// Figure 5: partnerships (one subject each) for nats-server's memory.
    #[arg(long, default_value_t = 100_000)]
    subjects: u64,
    /// Figure 7: the sizes of the one partnership's history, in events.
    #[arg(long, value_delimiter = ',', default_value = "1000,4000,16000,64000")]
    history_events: Vec<u64>,
    /// Figure 8: seconds of commits into the long partnership.
    #[arg(long, default_value_t = 60)]
    lag_seconds: u64,
    /// Figure 8: commits a second into the long partnership.
    #[arg(long, default_value_t = 1000)]
    lag_rate: u64,
    /// Figure 10: rounds of signed against plain appends (the figure is the median round).
    #[arg(long, default_value_t = 3)]
    rounds: u64,
    /// The figures to measure (each run measures the figures it shares a setup with).
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5,6,7,8,9,10,11")]
    figures: Vec<u8>,
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

pub(crate) struct Figure {
    pub(crate) name: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) value: f64,
    pub(crate) baseline: f64,
    pub(crate) target: Option<f64>,
}

impl Figure {
    pub(crate) fn print(&self) {
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

pub(crate) fn rate(n: u64, took: Duration) -> f64 {
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
        "accord-dev bench: {} partnerships × {} commits of 1 event = {total} commits; {}, {}",
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
    let wants = |figures: &[u8]| figures.iter().any(|f| args.figures.contains(f));
    if wants(&[7]) {
        crate::bench_history::figure_7(&args.history_events)?;
    }
    if args.backends != Backends::Embedded {
        if wants(&[1, 2, 3]) {
            jetstream_figures(&bin, extra, &args).await?;
        }
        if wants(&[2]) {
            crate::bench_up::figure_2(&bin, args.partnerships, args.commits).await?;
        }
        if wants(&[10, 11]) {
            crate::bench_signed::figures_10_11(
                &bin,
                extra,
                args.partnerships,
                args.commits,
                args.rounds,
            )
            .await?;
        }
        if wants(&[9]) {
            crate::bench_cluster::figure_9(&bin, args.partnerships, args.commits).await?;
        }
        if wants(&[8]) {
            let run = Duration::from_secs(args.lag_seconds);
            crate::bench_lag::figure_8(&bin, extra, run, args.lag_rate).await?;
        }
        if wants(&[3, 4, 5]) {
            read_side_figures(&bin, extra, &args).await?;
        }
        if wants(&[5]) {
            subject_memory(&bin, extra, args.subjects).await?;
        }
    }
    if args.backends != Backends::Jetstream && wants(&[6]) {
        embedded_figures(&args).await?;
    }
    Ok(())
}

async fn jetstream_figures(bin: &std::path::Path, extra: &str, args: &Args) -> Result<()> {
    let server = NatsServer::start_binary(bin, extra)?;
    let client = async_nats::connect(server.url()).await?;

    let raw_append = raw_publish(&client, args.partnerships, args.commits, 1).await?;
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
    print_latency("2 append latency", "(http, idle)", &http, &raw, None);
    Ok(())
}

/// Prints the p50 and p99 of latency samples (µs) beside the baseline's; `p99_target` is the
/// most the p99 may be, when the figure has a target.
fn print_latency(
    figure: &str,
    how: &str,
    samples: &[f64],
    baseline: &[f64],
    p99_target: Option<f64>,
) {
    for (name, pick) in [("p50", 0.50), ("p99", 0.99)] {
        let (value, base) = (percentile(samples, pick), percentile(baseline, pick));
        let verdict = match p99_target {
            Some(t) if name == "p99" => format!(
                "  (target < {t:.0} µs: {})",
                if value < t { "met" } else { "missed" }
            ),
            _ => String::new(),
        };
        println!(
            "{:<44} {:>10.0} {:<10} baseline {:>10.0} {:<10} ratio {:.2}{verdict}",
            format!("{figure} {name} {how}"),
            value,
            "µs",
            base,
            "µs",
            value / base
        );
    }
}

/// Requests per latency figure, one at a time on an idle server.
const LATENCY_SAMPLES: usize = 2000;

/// Nearest-rank percentile of microsecond samples (the same rank as the read models use).
fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    accord_domain::models::nearest_rank(&sorted, p).unwrap_or(f64::NAN)
}

/// A file-backed stream of the raw baselines.
async fn bench_stream(
    js: &jetstream::Context,
    name: &str,
    subjects: &str,
    replicas: usize,
) -> Result<()> {
    js.create_stream(stream::Config {
        name: name.into(),
        subjects: vec![subjects.into()],
        storage: stream::StorageType::File,
        num_replicas: replicas,
        ..Default::default()
    })
    .await?;
    Ok(())
}

/// Raw: one publish with the expected subject sequence at a time, each awaited.
async fn raw_latency(client: &async_nats::Client) -> Result<Vec<f64>> {
    let js = jetstream::new(client.clone());
    bench_stream(&js, "BENCH_LATENCY", "bench.latency", 1).await?;
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
    let shutdown = tokio_util::sync::CancellationToken::new();
    let state = accord_http::AppState {
        ledger,
        log,
        metrics: accord_http::Metrics::install(),
        backend: "jetstream",
        tokens: None,
        queries: None,
        shutdown: shutdown.clone(),
        ledger_key: Arc::new(accord_ledger::receipt::LedgerKey::generate()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!(
        "http://{}/v1/partnerships/latency/events",
        listener.local_addr()?
    );
    let server = tokio::spawn(accord_http::serve(
        listener,
        accord_http::router(state),
        None,
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
pub(crate) async fn raw_publish(
    client: &async_nats::Client,
    subjects: u64,
    each: u64,
    replicas: usize,
) -> Result<f64> {
    let js = jetstream::new(client.clone());
    bench_stream(&js, "BENCH_RAW", "bench.raw.*", replicas).await?;
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
pub(crate) async fn ledger_append(
    log: Arc<dyn EventLog>,
    partnerships: u64,
    each: u64,
) -> Result<f64> {
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
    record_concurrently(&ledger, requests).await?;
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
        signed: None,
    }
}

pub(crate) fn proposal() -> serde_json::Value {
    json!({"type": "partnership_proposed", "occurred_at": "2026-01-05T09:00:00Z",
           "actor": {"org": "acme"},
           "data": {"parties": [{"org": "acme", "name": "Acme Health", "kind": "vendor"},
                                {"org": "stmary", "name": "St Mary's", "kind": "health_system"}],
                    "vision": "benchmark"}})
}

pub(crate) fn meeting(n: u64) -> serde_json::Value {
    json!({"type": "meeting_requested", "occurred_at": "2026-02-01T09:00:00Z",
           "actor": {"org": "acme", "person": "Ana Ruiz"},
           "data": {"meeting_id": format!("m{n}"), "requested_by_org": "acme",
                    "purpose": "quarterly business review"}})
}

/// Raw ordered-consumer replay of the whole event stream.
pub(crate) async fn raw_ordered_replay(client: &async_nats::Client) -> Result<f64> {
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

/// Figures 3 to 5 on a fresh server: a synthetic history appended through the ledger, then
/// rebuilt by a real `accord projector --rebuild` process, which then answers queries.
async fn read_side_figures(bin: &std::path::Path, extra: &str, args: &Args) -> Result<()> {
    let server = NatsServer::start_binary(bin, extra)?;
    let client = async_nats::connect(server.url()).await?;
    let log = Arc::new(JetStreamLog::open(client.clone(), &StreamSettings::default()).await?);
    let ids = append_synthetic(log.clone(), args.rebuild_partnerships, args.rebuild_events).await?;
    let head = log.last_position().await?;
    let raw_replay = raw_ordered_replay(&client).await?;

    let dir = tempfile::tempdir()?;
    let started = Instant::now();
    let (mut projector, url) =
        spawn_accord(&["projector", "--rebuild"], &server.url(), dir.path()).await?;
    let pid = projector.id();
    let http = reqwest::Client::new();
    loop {
        let report: serde_json::Value = http
            .get(format!("{url}/healthz"))
            .send()
            .await?
            .json()
            .await?;
        let p = &report["projector"];
        if p["checkpoint"].as_u64() >= Some(head) && p["rebuilding"] == false {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(1800),
            "the rebuild did not finish in 30 minutes: {report}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rebuild = rate(head, started.elapsed());
    let peak_mb = peak_rss_kb(pid)? as f64 / 1024.0;
    Figure {
        name: "3 rebuild (accord projector --rebuild)",
        unit: "events/s",
        value: rebuild,
        baseline: raw_replay,
        target: Some(0.5),
    }
    .print();
    println!(
        "{:<44} {peak_mb:>10.0} MB peak RSS over {head} events, {} partnerships (target < 300 MB)",
        "5 projector memory (rebuild)", args.rebuild_partnerships
    );

    // Query latency: one model of a partnership at a time, over partnerships in a fixed
    // shuffle: the first query of a partnership (cold), then the same again (warm: the store's
    // pages are cached; each query folds the partnership's events once).
    let floor = latencies(
        &http,
        (0..LATENCY_SAMPLES).map(|_| format!("{url}/healthz")),
    )
    .await?;
    let sample: Vec<&PartnershipId> = (0..LATENCY_SAMPLES.min(ids.len()))
        .map(|n| &ids[(n * 7919) % ids.len()])
        .collect();
    for (model, pass) in [("trust", "cold"), ("summary", "cold"), ("summary", "warm")] {
        let urls = sample
            .iter()
            .map(|p| format!("{url}/v1/partnerships/{p}/{model}?as_of=2027-01-01T00:00:00Z"));
        let samples = latencies(&http, urls).await?;
        let figure = format!("4 query {model} {pass}");
        print_latency(&figure, "(http)", &samples, &floor, Some(2000.0));
    }
    projector.kill()?;
    projector.wait()?;
    Ok(())
}

/// The `accord` binary the benchmark runs: `$ACCORD_BIN`, else the one beside this binary (cargo
/// builds both into the same directory).
pub(crate) fn accord_bin() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("ACCORD_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let beside = std::env::current_exe()?.with_file_name("accord");
    anyhow::ensure!(
        beside.is_file(),
        "no accord binary at {}: build it too (`cargo build --release -p accord -p accord-dev`) or set ACCORD_BIN",
        beside.display()
    );
    Ok(beside)
}

/// Starts `accord`'s `command` (`up`, `projector`, ...) on `nats` with its data in `dir`,
/// its HTTP API on a free port; gives the process and the API's URL, which it prints.
pub(crate) async fn spawn_accord(
    command: &[&str],
    nats: &str,
    dir: &std::path::Path,
) -> Result<(std::process::Child, String)> {
    let mut child = std::process::Command::new(accord_bin()?)
        .args(command)
        .args(["--http", "127.0.0.1:0", "--nats", nats])
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("starting accord {}", command.join(" ")))?;
    let stdout = child.stdout.take().context("the child's stdout")?;
    let url = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|l| l.split("HTTP API on ").nth(1).map(|u| u.trim().to_owned()))
    })
    .await?
    .with_context(|| format!("accord {} says where it listens", command.join(" ")))?;
    Ok((child, url))
}

/// Appends `accord-dev gen`'s history through the ledger, one task per partnership; gives the ids.
async fn append_synthetic(
    log: Arc<dyn EventLog>,
    partnerships: u64,
    events: u64,
) -> Result<Vec<PartnershipId>> {
    let mut per: std::collections::BTreeMap<String, Vec<RecordRequest>> = Default::default();
    crate::synthetic::generate(partnerships, events, 1, |line| {
        let id = line["partnership_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let p = PartnershipId::parse(&id)?;
        let events = accord_http::parse_events(line["events"].to_string().as_bytes())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        per.entry(id).or_default().push(RecordRequest {
            partnership_id: p,
            events,
            if_match: None,
            idempotency_key: None,
            signed: None,
        });
        Ok(())
    })?;
    let ledger = Arc::new(Ledger::new(log, Settings::default()));
    let ids = per
        .keys()
        .map(|p| PartnershipId::parse(p))
        .collect::<Result<Vec<_>, _>>()?;
    record_concurrently(&ledger, per.into_values().collect()).await?;
    Ok(ids)
}

/// One task per partnership, each recording its requests in order.
pub(crate) async fn record_concurrently(
    ledger: &Arc<Ledger>,
    each: Vec<Vec<RecordRequest>>,
) -> Result<()> {
    let tasks: Vec<_> = each
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
    Ok(())
}

/// Microseconds of each GET, one at a time.
async fn latencies(http: &reqwest::Client, urls: impl Iterator<Item = String>) -> Result<Vec<f64>> {
    let mut samples = Vec::new();
    for url in urls {
        let started = Instant::now();
        let response = http.get(&url).send().await?;
        let status = response.status();
        response.bytes().await?;
        samples.push(started.elapsed().as_secs_f64() * 1e6);
        anyhow::ensure!(status.is_success(), "{url}: {status}");
    }
    Ok(samples)
}

/// A process's peak resident memory (VmHWM), in KiB.
pub(crate) fn peak_rss_kb(pid: u32) -> Result<u64> {
    rss_field(pid, "VmHWM:")
}

fn rss_field(pid: u32, field: &str) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("{field} of process {pid}"))
}

/// Figure 5: nats-server's resident memory with `subjects` partnerships of one commit each.
async fn subject_memory(bin: &std::path::Path, extra: &str, subjects: u64) -> Result<()> {
    let server = NatsServer::start_binary(bin, extra)?;
    let pid = server.pid().context("the server runs")?;
    let client = async_nats::connect(server.url()).await?;
    let js = jetstream::new(client.clone());
    bench_stream(&js, "BENCH_SUBJECTS", "bench.subjects.*", 1).await?;
    let before = rss_field(pid, "VmRSS:")?;
    let payload = bytes::Bytes::from(vec![b'x'; RAW_PAYLOAD]);
    let mut acks = futures::stream::FuturesUnordered::new();
    for s in 0..subjects {
        acks.push(
            js.publish(format!("bench.subjects.partnership-{s}"), payload.clone())
                .await?
                .into_future(),
        );
        if acks.len() >= 512 {
            acks.next().await.transpose()?;
        }
    }
    while acks.next().await.transpose()?.is_some() {}
    let after = rss_field(pid, "VmRSS:")?;
    println!(
        "{:<44} {:>10.0} MB RSS with {subjects} subjects, {:.0} MB before ({:.2} KB per subject)",
        "5 nats-server memory",
        after as f64 / 1024.0,
        before as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / subjects as f64
    );
    Ok(())
}
