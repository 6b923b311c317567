//! `accord up` and `accord ledger`: the ledger and its HTTP API in one process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use accord_domain::Settings;
use accord_http::{AppState, Metrics};
use accord_ledger::Ledger;
use accord_log::EventLog;
use accord_log::embedded::EmbeddedLog;
use accord_log::jetstream::{JetStreamLog, StreamSettings};
use anyhow::{Context, Result, bail};
use tokio_util::sync::CancellationToken;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where the embedded store lives (used when no --nats is given).
    #[arg(long, default_value = "./accord-data", env = "ACCORD_DATA_DIR")]
    data_dir: PathBuf,
    /// Use NATS JetStream at this URL (or comma-separated URLs of a cluster) instead of the
    /// embedded store.
    #[arg(long, env = "ACCORD_NATS")]
    nats: Option<String>,
    /// Stream replicas (1 on one server, 3 in a cluster).
    #[arg(long, default_value_t = 1)]
    replicas: usize,
    /// Where the HTTP API listens (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:7480", env = "ACCORD_HTTP")]
    http: SocketAddr,
    /// A token file (see `accord token new`): every request then needs a bearer token, and the
    /// API may listen on any address. Without it the API is open and binds loopback only.
    #[arg(long, env = "ACCORD_TOKENS")]
    tokens: Option<PathBuf>,
}

/// Which process this is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Role {
    /// Everything in one process (`accord up`).
    All,
    /// The ledger service alone (`accord ledger`), for production.
    Ledger,
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
    let mut nats = None;
    let (log, backend, store): (Arc<dyn EventLog>, _, _) = match &args.nats {
        Some(url) => {
            let settings = StreamSettings {
                replicas: args.replicas,
                ..StreamSettings::default()
            };
            let client = accord_log::jetstream::connect(url).await?;
            let log = JetStreamLog::open(client.clone(), &settings).await?;
            nats = Some(client);
            (Arc::new(log), "jetstream", without_credentials(url))
        }
        None => {
            if matches!(role, Role::Ledger) {
                bail!("accord ledger needs --nats URL; use accord up for the embedded store");
            }
            let log = EmbeddedLog::open(&args.data_dir)
                .with_context(|| format!("opening the store in {}", args.data_dir.display()))?;
            (
                Arc::new(log),
                "embedded",
                args.data_dir.display().to_string(),
            )
        }
    };
    let ledger = Arc::new(Ledger::new(log.clone(), Settings::default()));
    let state = AppState {
        ledger,
        log,
        metrics: Metrics::install(),
        backend,
        tokens: tokens.clone(),
    };
    let service = match &nats {
        Some(client) => Some(
            accord_http::nats::LedgerService::start(client)
                .await
                .map_err(|e| anyhow::anyhow!("cannot start the NATS service: {e}"))?,
        ),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(args.http)
        .await
        .with_context(|| format!("binding {}", args.http))?;
    let addr = listener.local_addr()?;
    if tokens.is_none() {
        tracing::warn!("no token file: the API is open to anyone who can reach {addr}");
        println!("accord up: open access (no token file), loopback only");
    }
    if service.is_some() {
        println!(
            "accord up: NATS service endpoint {}",
            accord_http::nats::APPEND_SUBJECT
        );
    }
    println!("accord up: ledger on {backend} ({store}), HTTP API on http://{addr}");

    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let service =
        service.map(|service| tokio::spawn(service.serve(state.clone(), shutdown.clone())));
    accord_http::serve(listener, state, shutdown).await?;
    if let Some(service) = service {
        service
            .await?
            .map_err(|e| anyhow::anyhow!("NATS service: {e}"))?;
    }
    println!("accord up: stopped");
    Ok(())
}

/// The server URLs without the `user:password@` part, for printing.
fn without_credentials(urls: &str) -> String {
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
