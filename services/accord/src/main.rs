//! `accord`: one binary that runs every service and is the client.

mod bench;
mod demo;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// mimalloc: the services allocate many small, short-lived objects on several threads, where
/// glibc's allocator spends a measurable share of the append path (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "accord",
    version,
    about = "An event-sourced ledger of how business partnerships evolve"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Record the worked example of the domain contract (docs/domain.md) into a fresh embedded ledger and show its audit
    /// history and hash chain. Needs no server.
    Demo {
        /// Where to keep the store (default: a new temporary directory, removed at the end).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Measure the append and replay paths against raw baselines in the same run.
    Bench(bench::Args),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match cli.command {
        Cmd::Demo { data_dir } => runtime.block_on(demo::run(data_dir)),
        Cmd::Bench(args) => runtime.block_on(bench::run(args)),
    }
}
