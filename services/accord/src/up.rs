//! `accord up`, `accord ledger` and `accord projector`: the services and their HTTP API.
//!
//! - `up`: the ledger, the projector and one HTTP API serving both (embedded store by default).
//! - `ledger`: the write side alone against JetStream.
//! - `projector`: the read side alone against JetStream: queries, `/healthz`, `/metrics`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use accord_domain::Settings;
use accord_domain::models::ModelSettings;
use accord_http::{AppState, Metrics, QueryState};
use accord_ledger::Ledger;
use accord_log::EventLog;
use accord_log::embedded::EmbeddedLog;
use accord_log::jetstream::{Batching, JetStreamLog, StreamSettings};
use accord_projector::KeptSettings;
use anyhow::{Context, Result, bail};
use tokio_util::sync::CancellationToken;

/// Where the event log lives: the embedded store, or NATS JetStream.
#[derive(Debug, clap::Args)]
pub(crate) struct Store {
    /// Where the embedded store lives (used when no --nats is given); the projector keeps its
    /// read models under `projections/` in it.
    #[arg(long, default_value = "./accord-data", env = "ACCORD_DATA_DIR")]
    pub(crate) data_dir: PathBuf,
    /// Use NATS JetStream at this URL (or comma-separated URLs of a cluster) instead of the
    /// embedded store.
    #[arg(long, env = "ACCORD_NATS")]
    pub(crate) nats: Option<String>,
    /// With --nats: require TLS and trust this certificate authority (PEM) for the servers.
    #[arg(long, env = "ACCORD_NATS_CA", requires = "nats")]
    pub(crate) nats_ca: Option<PathBuf>,
    /// Stream replicas (1 on one server, 3 in a cluster).
    #[arg(long, default_value_t = 1)]
    pub(crate) replicas: usize,
}

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    store: Store,
    /// With --nats: most commits in one atomic batch to JetStream (nats-server 2.12 or later);
    /// 1 publishes each commit alone, and each analytics update too.
    #[arg(long, default_value_t = Batching::default().max_commits as u64, env = "ACCORD_BATCH_MAX_COMMITS", value_parser = clap::value_parser!(u64).range(1..=accord_log::jetstream::atomic::MAX_MESSAGES as u64))]
    batch_max_commits: u64,
    /// With --nats: the fewest commits sent as one atomic batch; a smaller group is published
    /// alone, all at once.
    #[arg(long, default_value_t = Batching::default().min_commits as u64, env = "ACCORD_BATCH_MIN_COMMITS", value_parser = clap::value_parser!(u64).range(2..=accord_log::jetstream::atomic::MAX_MESSAGES as u64))]
    batch_min_commits: u64,
    /// With --nats: batches in flight at once. A commit that finds none in flight goes at once;
    /// the others gather while the batches ahead are answered.
    #[arg(long, default_value_t = Batching::default().max_in_flight as u64, env = "ACCORD_BATCH_MAX_IN_FLIGHT", value_parser = clap::value_parser!(u64).range(1..=50))]
    batch_max_in_flight: u64,
    /// With --nats: longest a group of commits waits, in microseconds, for company when no batch
    /// is ahead of it (or for the batch ahead, when more than one may be in flight).
    #[arg(long, default_value_t = Batching::default().max_wait.as_micros() as u64, env = "ACCORD_BATCH_MAX_WAIT_US")]
    batch_max_wait_us: u64,
    /// With --nats: let existing streams made without `allow_atomic` take atomic batches, by
    /// updating their configuration (without it they get one message per commit).
    #[arg(long, requires = "nats")]
    enable_atomic: bool,
    /// Where the HTTP API listens (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7480", env = "ACCORD_HTTP")]
    http: SocketAddr,
    /// A token file (see `accord token new`): every request then needs a bearer token, and the
    /// API may listen on any address. Without it the API is open and binds loopback only.
    #[arg(long, env = "ACCORD_TOKENS")]
    tokens: Option<PathBuf>,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, env = "ACCORD_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "ACCORD_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Listen beyond loopback over plain HTTP (behind a proxy that terminates TLS); without it,
    /// a non-loopback --http needs --tls-cert and --tls-key, so that tokens never cross a
    /// network in the clear.
    #[arg(long)]
    insecure_http: bool,
    /// The ledger's key that signs the receipt of every append (ed25519, PKCS#8 PEM); made
    /// there, readable by its owner only, when missing. Default: `ledger-key.pem` in --data-dir.
    /// Keep it: receipts are checked against it for as long as they are kept.
    #[arg(long, env = "ACCORD_LEDGER_KEY")]
    ledger_key: Option<PathBuf>,
    /// Rebuild the read models from position 0 into a fresh store, which replaces the current
    /// one once caught up; queries keep answering from the current one meanwhile.
    #[arg(long)]
    rebuild: bool,
    /// With --nats: updates of each read model the analytics feed keeps per partnership on
    /// stream ACCORD_ANALYTICS (see docs/analytics.md).
    #[arg(long, default_value_t = 10, env = "ACCORD_ANALYTICS_KEEP", value_parser = clap::value_parser!(i64).range(1..))]
    analytics_keep: i64,
    /// Most partnerships whose state the ledger keeps in memory; when full it drops the idle
    /// ones (metric accord_ledger_cached_partnerships).
    #[arg(long, default_value_t = accord_ledger::DEFAULT_CACHE_PARTNERSHIPS as u64, env = "ACCORD_CACHE_PARTNERSHIPS", value_parser = clap::value_parser!(u64).range(1..))]
    cache_partnerships: u64,
    /// With --nats: do not publish the analytics feed.
    #[arg(long)]
    no_analytics: bool,
    /// Most partnerships whose read models the projector keeps at their head, those read most
    /// recently (see docs/operations.md).
    #[arg(long, default_value_t = KeptSettings::default().partnerships as u64, env = "ACCORD_KEPT_PARTNERSHIPS", value_parser = clap::value_parser!(u64).range(1..))]
    kept_partnerships: u64,
    /// Events in effect between two checkpoints of a kept partnership's read models: a
    /// backfilled event, a retraction or a correction folds again from the last one before it.
    #[arg(long, default_value_t = KeptSettings::default().checkpoint_every as u64, env = "ACCORD_CHECKPOINT_EVERY", value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: u64,
}

/// Which process this is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Role {
    /// Everything in one process (`accord up`).
    All,
    /// The ledger service alone (`accord ledger`), for production.
    Ledger,
    /// The projector alone (`accord projector`), for production.
    Projector,
}

pub(crate) async fn run(args: Args, role: Role) -> Result<()> {
    let tokens = match &args.tokens {
        Some(path) => Some(Arc::new(
            accord_http::auth::Tokens::load(path).map_err(anyhow::Error::msg)?,
        )),
        None if !args.http.ip().is_loopback() => bail!(
            "refusing to listen on {}: without a token file (--tokens) the API is open, so it binds loopback only",
            args.http
        ),
        None => None,
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(accord_http::Tls::from_pem_files(cert, key)?),
        _ if !args.http.ip().is_loopback() && !args.insecure_http => bail!(
            "refusing to listen on {} over plain HTTP: bearer tokens would cross the network in the clear; give --tls-cert and --tls-key, or --insecure-http behind a proxy that terminates TLS",
            args.http
        ),
        _ => None,
    };
    let name = match role {
        Role::All => "accord up",
        Role::Ledger => "accord ledger",
        Role::Projector => "accord projector",
    };
    // Before the log opens: it reports how it publishes.
    let metrics = Metrics::install();
    let mut nats = None;
    let (log, backend, store): (Arc<dyn EventLog>, &'static str, _) = match &args.store.nats {
        Some(url) => {
            if tokens.is_none() && !only_loopback(url) {
                bail!(
                    "refusing to serve the NATS doors on {}: without a token file (--tokens) they are open to every login of the server, so they are served on a loopback server only",
                    without_credentials(url)
                );
            }
            let settings = StreamSettings {
                replicas: args.store.replicas,
                batching: Batching {
                    min_commits: usize::try_from(args.batch_min_commits).unwrap_or(usize::MAX),
                    // The projector reads the log and never appends: no group-commit task.
                    max_commits: if matches!(role, Role::Projector) {
                        1
                    } else {
                        usize::try_from(args.batch_max_commits).unwrap_or(usize::MAX)
                    },
                    max_wait: Duration::from_micros(args.batch_max_wait_us),
                    max_in_flight: usize::try_from(args.batch_max_in_flight).unwrap_or(1),
                },
                enable_atomic: args.enable_atomic,
                ..StreamSettings::default()
            };
            let client = accord_log::jetstream::connect(url, args.store.nats_ca.as_deref()).await?;
            let log = JetStreamLog::open(client.clone(), &settings).await?;
            nats = Some(client);
            (Arc::new(log), "jetstream", without_credentials(url))
        }
        None => {
            if !matches!(role, Role::All) {
                bail!("{name} needs --nats URL; use accord up for the embedded store");
            }
            let log = EmbeddedLog::open(&args.store.data_dir).with_context(|| {
                format!("opening the store in {}", args.store.data_dir.display())
            })?;
            (
                Arc::new(log),
                "embedded",
                args.store.data_dir.display().to_string(),
            )
        }
    };
    let shutdown = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();

    let queries = if matches!(role, Role::Ledger) {
        None
    } else {
        let dir = args.store.data_dir.join("projections");
        let kept = KeptSettings {
            partnerships: usize::try_from(args.kept_partnerships).unwrap_or(usize::MAX),
            checkpoint_every: usize::try_from(args.checkpoint_every).unwrap_or(usize::MAX),
        };
        let disclose = Arc::new(accord_projector::FromLog::new(log.clone()));
        let projections = accord_projector::Projections::open_with(&dir, kept, disclose)
            .with_context(|| format!("opening the read models in {}", dir.display()))?;
        let mut projector =
            accord_projector::Projector::new(log.clone(), projections.clone(), args.rebuild)?;
        projector.check_log().await?;
        let settings = Arc::new(ModelSettings::default());
        if let Some(url) = args.store.nats.as_deref().filter(|_| !args.no_analytics) {
            // A connection of its own: the feed's batches are large, and on the ledger's
            // connection every commit would queue behind them.
            let client = accord_log::jetstream::connect(url, args.store.nats_ca.as_deref()).await?;
            let feed_settings = accord_projector::FeedSettings {
                keep_per_subject: args.analytics_keep,
                replicas: args.store.replicas,
                batched: args.batch_max_commits > 1,
                enable_atomic: args.enable_atomic,
            };
            let feed = accord_projector::Feed::open(
                client.clone(),
                &feed_settings,
                &mut projector,
                settings.clone(),
            )
            .await?;
            spawn_part(
                &mut tasks,
                &shutdown,
                "analytics feed",
                feed.run(shutdown.clone()),
            );
            println!(
                "{name}: analytics feed on stream {} ({}<model>.<partnership_id>), {} per subject",
                accord_projector::feed::STREAM,
                accord_projector::feed::SUBJECT_PREFIX,
                args.analytics_keep
            );
        }
        let status = projector.status();
        let stop = shutdown.clone();
        spawn_part(&mut tasks, &shutdown, "projector", projector.run(stop));
        println!(
            "{name}: projector from position {} into {}{}",
            status.report().checkpoint,
            dir.display(),
            if args.rebuild { " (rebuilding)" } else { "" }
        );
        Some(QueryState {
            projections,
            status,
            settings,
            tokens: tokens.clone(),
            https: tls.is_some() || args.insecure_http,
        })
    };

    let ledger_key = if matches!(role, Role::Projector) {
        None
    } else {
        let path = args
            .ledger_key
            .clone()
            .unwrap_or_else(|| args.store.data_dir.join("ledger-key.pem"));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let (key, made) = accord_ledger::receipt::LedgerKey::load_or_generate(&path)?;
        println!(
            "{name}: receipts signed by ledger key {} ({}{})",
            key.key_id(),
            path.display(),
            if made { ", made now" } else { "" }
        );
        Some(Arc::new(key))
    };
    let ledger = ledger_key.map(|ledger_key| AppState {
        ledger: Arc::new(Ledger::with_cache_limit(
            log.clone(),
            Settings::default(),
            usize::try_from(args.cache_partnerships).unwrap_or(usize::MAX),
        )),
        log,
        metrics: metrics.clone(),
        backend,
        tokens: tokens.clone(),
        queries: queries.clone(),
        shutdown: shutdown.clone(),
        ledger_key,
    });
    if let Some(client) = &nats {
        if let Some(state) = &ledger {
            let service = accord_http::nats::LedgerService::start(client)
                .await
                .map_err(|e| anyhow::anyhow!("cannot start the NATS service: {e}"))?;
            let serving = service.serve(state.clone(), shutdown.clone());
            spawn_part(&mut tasks, &shutdown, "NATS service", serving);
            println!(
                "{name}: NATS service endpoint {}",
                accord_http::nats::APPEND_SUBJECT
            );
        }
        if let Some(state) = &queries {
            let service = accord_http::nats::QueryService::start(client)
                .await
                .map_err(|e| anyhow::anyhow!("cannot start the NATS query service: {e}"))?;
            let serving = service.serve(state.clone(), shutdown.clone());
            spawn_part(&mut tasks, &shutdown, "NATS query service", serving);
            println!("{name}: NATS service endpoints accord.query.<model>");
        }
    }
    let router = match (ledger, queries) {
        (Some(state), _) => accord_http::router(state),
        (None, Some(queries)) => accord_http::queries::projector_router(queries, metrics),
        (None, None) => bail!("{name} runs neither the ledger nor the projector"),
    };

    let listener = tokio::net::TcpListener::bind(args.http)
        .await
        .with_context(|| format!("binding {}", args.http))?;
    let addr = listener.local_addr()?;
    if tokens.is_none() {
        tracing::warn!("no token file: the API is open to anyone who can reach {addr}");
        println!("{name}: open access (no token file), loopback only");
    }
    let what = match role {
        Role::All => "ledger and projector",
        Role::Ledger => "ledger",
        Role::Projector => "projector",
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("{name}: {what} on {backend} ({store}), HTTP API on {scheme}://{addr}");

    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let served = accord_http::serve(listener, router, tls, shutdown.clone()).await;
    // The HTTP server stops on shutdown, or on an error: either way the rest stops too.
    shutdown.cancel();
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    served?;
    println!("{name}: stopped");
    Ok(())
}

/// Runs one part of the process (the projector, a NATS service) until shutdown; a part that
/// stops on an error takes the whole process down with it, so nothing keeps serving half.
fn spawn_part<E: std::fmt::Display>(
    tasks: &mut tokio::task::JoinSet<Result<()>>,
    shutdown: &CancellationToken,
    what: &'static str,
    part: impl std::future::Future<Output = Result<(), E>> + Send + 'static,
) {
    let stop = shutdown.clone();
    tasks.spawn(async move {
        let ran = part.await;
        stop.cancel();
        ran.map_err(|e| anyhow::anyhow!("{what}: {e}"))
    });
}

/// Whether every server of a NATS URL list is on this machine (`localhost` or a loopback IP).
fn only_loopback(urls: &str) -> bool {
    urls.split(',').all(|u| {
        let u = u.trim();
        let rest = u.find("://").map_or(u, |at| &u[at + 3..]);
        let rest = rest.rfind('@').map_or(rest, |at| &rest[at + 1..]);
        let host = match rest.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => rest.split([':', '/']).next().unwrap_or(rest),
        };
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// The server URLs without the `user:password@` part, for printing.
pub(crate) fn without_credentials(urls: &str) -> String {
    urls.split(',')
        .map(|u| match (u.find("://"), u.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}{}", &u[..scheme + 3], &u[at + 1..])
            }
            _ => u.trim().to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Cancels on Ctrl-C or SIGTERM; requests in flight then finish before the process exits.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        () = term => {}
    }
    shutdown.cancel();
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_servers_only() {
        for url in [
            "nats://127.0.0.1:4222",
            "nats://ledger:secret@localhost:4222",
            "tls://[::1]:4222,nats://127.0.0.2",
            "127.0.0.1",
        ] {
            assert!(super::only_loopback(url), "{url}");
        }
        for url in [
            "nats://10.0.0.1:4222",
            "nats://127.0.0.1:4222,nats://nats-2.internal:4222",
            "nats://user:pw@example.com",
        ] {
            assert!(!super::only_loopback(url), "{url}");
        }
    }
}
