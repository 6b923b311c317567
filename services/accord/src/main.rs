//! `accord`: one binary that runs every service and is the client.

mod api;
mod backup;
mod client;
mod demo;
mod export;
mod forget;
mod output;
mod receipts;
mod retro;
mod show;
mod signer;
mod telemetry;
mod terminal;
mod token;
mod up;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

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
    /// How log lines are written to standard error.
    #[arg(long, global = true, env = "ACCORD_LOG_FORMAT", value_enum, default_value_t = telemetry::LogFormat::Text)]
    log_format: telemetry::LogFormat,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Record the worked example of the domain contract (docs/domain.md) into a fresh embedded
    /// ledger and show its audit history and hash chain, then the sample partnerships, their
    /// summaries and one retrospective report each. Needs no server.
    Demo {
        /// Where to keep the store (default: a new temporary directory, removed at the end).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Where to write the retrospective reports (created if missing).
        #[arg(long, default_value = "accord-reports")]
        reports: PathBuf,
    },
    /// Run the ledger, the projector and their HTTP API in one process (embedded store unless
    /// --nats is given).
    Up(up::Args),
    /// Run the ledger service alone against NATS JetStream (production).
    Ledger(up::Args),
    /// Run the projector alone against NATS JetStream (production): it keeps the read models
    /// and answers queries over HTTP and NATS.
    Projector(up::Args),
    /// Record one commit: the events of a JSON file (one event or an array).
    Record(client::RecordArgs),
    /// Import a JSONL file, one commit per line; a second import of the same file adds nothing.
    Import(client::ImportArgs),
    /// Show a partnership's audit history.
    History(client::HistoryArgs),
    /// Verify the hash chain of one partnership, or of all.
    Verify(client::VerifyArgs),
    /// Ask a running service whether it is healthy (GET /healthz): exit 0 while it serves, 1
    /// when it is unavailable or silent. The image's HEALTHCHECK.
    Health(client::HealthArgs),
    /// Show a read model of a partnership: trust, throughput, asymmetry, goals, flags or
    /// summary, now or as the ledger knew it at --as-of.
    Show(show::ShowArgs),
    /// Export the events or one read model of every partnership as one table: CSV, JSON lines
    /// or Parquet, for pandas, DuckDB or a spreadsheet.
    Export(export::ExportArgs),
    /// Write the retrospective report of a partnership: one self-contained HTML page with its
    /// story, trust, throughput, balance of effort, goals and red flags.
    Retro(retro::RetroArgs),
    /// Back up the whole log of a running accord into a directory: a consistent copy up to the
    /// log's last position when it starts (appends may go on), every chain verified (needs an
    /// auditor's token when the server has a token file).
    Backup(backup::BackupArgs),
    /// Load a backup into an empty store (the embedded store of --data-dir, or --nats), keeping
    /// every commit's position and bytes; the projector rebuilds the read models from it.
    Restore(backup::RestoreArgs),
    /// Erase a person's personal values (GDPR Art. 17): every name and note that names them, in
    /// every partnership of --as-org (or one). The erasure is recorded (personal_data_erased);
    /// the events, their hashes and every read model stay, the values read as [erased].
    Forget(forget::ForgetArgs),
    /// Manage access tokens.
    #[command(subcommand)]
    Token(TokenCmd),
    /// Manage an org's signing keys (docs/domain.md, "Signed acts").
    #[command(subcommand)]
    Key(KeyCmd),
    /// Print the shell completion script for SHELL (for example
    /// `accord completions bash > /etc/bash_completion.d/accord`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), for example `accord man > accord.1 && man ./accord.1`.
    Man,
}

#[derive(Debug, Subcommand)]
enum KeyCmd {
    /// Make an ed25519 key pair for an org: the private key goes to --out (PKCS#8 PEM, readable
    /// by its owner only), and the `org_key_registered` event that registers the public key is
    /// printed, to record signed with the key (`accord record ID -f FILE --key KEY`).
    New {
        /// The org whose key it is.
        #[arg(long)]
        org: String,
        /// The file to write the private key to (never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCmd {
    /// Make a token for an org and a role, print it once, and add its hash to the token file.
    New(token::NewArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    // The HTTPS client (reqwest) and the NATS client use rustls with ring; this process has no
    // other provider, so installing it cannot fail but for a second call.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Cmd::Demo { data_dir, reports } => demo::run(data_dir, &reports)
                .await
                .map(|()| ExitCode::SUCCESS),
            Cmd::Up(args) => up::run(args, up::Role::All)
                .await
                .map(|()| ExitCode::SUCCESS),
            Cmd::Ledger(args) => up::run(args, up::Role::Ledger)
                .await
                .map(|()| ExitCode::SUCCESS),
            Cmd::Projector(args) => up::run(args, up::Role::Projector)
                .await
                .map(|()| ExitCode::SUCCESS),
            Cmd::Record(args) => client::record(args).await,
            Cmd::Import(args) => client::import(args).await,
            Cmd::History(args) => client::history(args).await,
            Cmd::Verify(args) => client::verify(args).await,
            Cmd::Health(args) => client::health(args).await,
            Cmd::Show(args) => show::show(args).await,
            Cmd::Export(args) => export::export(args).await,
            Cmd::Retro(args) => retro::retro(args).await,
            Cmd::Backup(args) => backup::backup(args).await,
            Cmd::Restore(args) => backup::restore(args).await,
            Cmd::Forget(args) => forget::forget(args).await,
            Cmd::Token(TokenCmd::New(args)) => token::new(args).map(|()| ExitCode::SUCCESS),
            Cmd::Key(KeyCmd::New { org, out }) => signer::new_key(&org, &out).map(|event| {
                eprintln!(
                    "wrote {org}'s private key to {} (keep it secret); its registration, to record signed with it:",
                    out.display()
                );
                println!("{event:#}");
                ExitCode::SUCCESS
            }),
            Cmd::Completions { shell } => {
                clap_complete::generate(
                    shell,
                    &mut Cli::command(),
                    "accord",
                    &mut std::io::stdout(),
                );
                Ok(ExitCode::SUCCESS)
            }
            Cmd::Man => clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout())
                .map(|()| ExitCode::SUCCESS)
                .map_err(|e| anyhow::Error::new(e).context("writing the manual page")),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
