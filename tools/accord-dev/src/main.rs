//! `accord-dev`: the development tools of accord, kept out of the product binary (`accord`):
//! the benchmark, which starts its own nats-server and `accord` processes, and the synthetic
//! history generator.

mod bench;
mod bench_cluster;
mod bench_history;
mod bench_lag;
mod bench_signed;
mod bench_up;
mod synthetic;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// The allocator of the product binary, so that the in-process figures measure what `accord`
/// runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "accord-dev",
    version,
    about = "Development tools of accord: the benchmark and the synthetic history generator"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Measure the append, replay and query paths against raw baselines in the same run (see
    /// docs/benchmarks.md). Runs `accord` from beside this binary, or `$ACCORD_BIN`.
    Bench(bench::Args),
    /// Write a large deterministic synthetic history (JSONL, for `accord import`) for
    /// benchmarks and load tests.
    Gen(synthetic::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The benchmark prints its own lines; the services it runs in process say only what is wrong.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    // The NATS client uses rustls with ring; this process has no other provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let result = match cli.command {
        Cmd::Gen(args) => synthetic::run(&args),
        Cmd::Bench(args) => tokio::runtime::Runtime::new()
            .map_err(anyhow::Error::from)
            .and_then(|runtime| runtime.block_on(bench::run(args))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
