//! `accord backup` and `accord restore`: a consistent copy of the whole log, taken from a
//! running accord, and loaded into a fresh store.
//!
//! A backup is a directory:
//! - `commits.jsonl`: every commit up to one position, in log order, one JSON line each
//!   (`{"position", "partnership_id", "commit"}`, the stored bytes in base64), as
//!   `GET /v1/log` sends them;
//! - `disclosures.jsonl`: the personal values those commits refer to and have not erased (see
//!   [`values`]);
//! - `manifest.json`, written last (a directory without it is no backup): the format, when and
//!   from where it was taken, the last position, the number of commits, the SHA-256 of
//!   `commits.jsonl` and of `disclosures.jsonl`, and the head of every partnership.
//!
//! The log only grows, so a prefix of it is consistent while appends go on. `backup` checks
//! the copy as it arrives (positions that follow one another, every chain link and hash) and
//! refuses an incomplete one. `restore` checks the file against its manifest, loads it into an
//! empty store through the log's `load` (which checks every commit again and keeps its bytes and
//! position), and compares every head with the manifest. The read models are not in a backup:
//! the projector of the restored store builds them from the log.
//!
//! A backup of format 1 (taken before personal values were stored apart, schema version 3) has
//! no `disclosures.jsonl`; it restores as it always did.

mod values;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use accord_domain::{Hash, PartnershipId};
use accord_log::embedded::EmbeddedLog;
use accord_log::jetstream::{JetStreamLog, StreamSettings};
use accord_log::load::Loading;
use accord_log::{EventLog, Head, LogError, Position, StoredCommit};
use anyhow::{Context, Result, bail, ensure};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::AsyncBufReadExt;

use crate::api::{Server, exit_for, explain};
use crate::output::{Output, finish_out, start_out};
use crate::up::Store;
use values::{Refs, ValuesFile};

const MANIFEST: &str = "manifest.json";
/// Personal values stored at once while restoring.
const LOAD_VALUES: usize = 1000;
const COMMITS: &str = "commits.jsonl";
const FORMAT: &str = "accord-backup/2";
/// The format before personal values were stored apart: commits only.
const FORMAT_1: &str = "accord-backup/1";

#[derive(Debug, clap::Args)]
pub(crate) struct BackupArgs {
    /// The directory to write the backup into: created if missing, and empty if it exists.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    server: Server,
    #[command(flatten)]
    output: Output,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RestoreArgs {
    /// A directory written by `accord backup`.
    dir: PathBuf,
    /// The store to load it into, which must be empty: the embedded store of --data-dir, or
    /// the stream of --nats.
    #[command(flatten)]
    store: Store,
    #[command(flatten)]
    output: Output,
}

/// What `manifest.json` says of a backup.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: String,
    /// When the copy was complete (RFC 3339).
    taken_at: String,
    /// The server it was taken from.
    source: String,
    accord_version: String,
    /// The log's last position when the copy began: the backup holds every commit up to it.
    last_position: Position,
    commits: u64,
    /// SHA-256 of `commits.jsonl`, hex.
    commits_sha256: String,
    /// `disclosures.jsonl` (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    disclosures: Option<ValuesFile>,
    partnerships: BTreeMap<PartnershipId, PartnershipHead>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnershipHead {
    revision: Position,
    head: Hash,
}

impl From<Head> for PartnershipHead {
    fn from(h: Head) -> Self {
        Self {
            revision: h.revision,
            head: h.hash,
        }
    }
}

/// What reading a backup's commits found.
struct CheckedFile {
    sha256: String,
    loading: Loading,
    refs: Refs,
}

/// Reads a backup's commits, hashing the file and checking every commit as a log would load it.
fn check_file(path: &Path) -> Result<CheckedFile> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut reader = std::io::BufReader::new(file);
    let mut sha = Sha256::new();
    let mut loading = Loading::start(0)?;
    let mut refs = Refs::default();
    let mut line = Vec::new();
    for n in 1.. {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        sha.update(&line);
        let stored: StoredCommit = serde_json::from_slice(&line)
            .with_context(|| format!("line {n} of {} cannot be read", path.display()))?;
        let mut checked = loading
            .check(&stored)
            .with_context(|| format!("line {n} of {}", path.display()))?;
        refs.note(&mut checked.commit)
            .with_context(|| format!("line {n} of {}", path.display()))?;
    }
    Ok(CheckedFile {
        sha256: hex_of(sha),
        loading,
        refs,
    })
}

pub(crate) async fn backup(args: BackupArgs) -> Result<ExitCode> {
    let dir = &args.out;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if std::fs::read_dir(dir)?.next().is_some() {
        eprintln!(
            "error: --out {} is not empty: a backup goes into a new or empty directory",
            dir.display()
        );
        return Ok(ExitCode::from(2));
    }
    let client = args.server.streaming_client()?;
    let response = match fetch(&args.server, &client, "/v1/log").await? {
        Ok(response) => response,
        Err(code) => return Ok(code),
    };
    let last: Position = response
        .headers()
        .get(accord_http::copy::LAST_POSITION)
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .context("the server did not say where the copy ends (Accord-Last-Position)")?;

    let commits_path = dir.join(COMMITS);
    let file = match start_out(&commits_path)? {
        Ok(file) => file,
        Err(code) => return Ok(code),
    };
    let mut writer = std::io::BufWriter::new(file);
    let mut sha = Sha256::new();
    let mut loading = Loading::start(0)?;
    let mut refs = Refs::default();
    let mut commits = 0u64;
    let mut pending: Vec<u8> = Vec::new();
    let mut body = response.bytes_stream();
    let mut line_of = |line: &[u8]| -> Result<()> {
        let stored: StoredCommit = serde_json::from_slice(line)
            .with_context(|| format!("line {} of the copy cannot be read", commits + 1))?;
        refs.note(&mut loading.check(&stored)?.commit)?;
        writer.write_all(line)?;
        writer.write_all(b"\n")?;
        sha.update(line);
        sha.update(b"\n");
        commits += 1;
        Ok(())
    };
    while let Some(chunk) = body.next().await {
        let chunk = chunk.context("the copy was cut off")?;
        pending.extend_from_slice(&chunk);
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|&b| b == b'\n') {
            line_of(&pending[start..start + end])?;
            start += end + 1;
        }
        pending.drain(..start);
    }
    ensure!(
        pending.is_empty(),
        "the copy ends in the middle of a line: it was cut off"
    );
    ensure!(
        loading.last() == last,
        "the copy ends at position {}, but the log's last position was {last}: it was cut off; take the backup again",
        loading.last()
    );
    let file = writer.into_inner().map_err(|e| e.into_error())?;
    finish_out(file, &commits_path)?;

    // The personal values, fetched after the commits: every one they refer to is there,
    // unless it was erased since.
    let response = match fetch(&args.server, &client, "/v1/log/disclosures").await? {
        Ok(response) => response,
        Err(code) => return Ok(code),
    };
    let body = response
        .text()
        .await
        .context("the personal values were cut off")?;
    let written = values::write(dir, &body, &refs)?;

    let manifest = Manifest {
        format: FORMAT.into(),
        taken_at: accord_domain::values::rfc3339::format(time::OffsetDateTime::now_utc()),
        source: args.server.url(""),
        accord_version: env!("CARGO_PKG_VERSION").into(),
        last_position: last,
        commits,
        commits_sha256: hex_of(sha),
        disclosures: Some(written.file.clone()),
        partnerships: loading
            .heads()
            .map(|(p, h)| (p.clone(), PartnershipHead::from(h)))
            .collect(),
    };
    let manifest_path = dir.join(MANIFEST);
    let mut file = match start_out(&manifest_path)? {
        Ok(file) => file,
        Err(code) => return Ok(code),
    };
    serde_json::to_writer_pretty(&mut file, &manifest)?;
    finish_out(file, &manifest_path)?;
    sync_dir(dir)?;
    let summary = json!({
        "dir": dir.display().to_string(),
        "last_position": manifest.last_position,
        "commits": manifest.commits,
        "partnerships": manifest.partnerships.len(),
        "commits_sha256": manifest.commits_sha256,
        "personal_values": written.file.values,
        "erased_since": written.erased_since,
    });
    args.output.print(&summary, || {
        println!(
            "backup of {} commits of {} partnerships, up to position {}, and {} personal values, in {} (every chain verified)",
            manifest.commits,
            manifest.partnerships.len(),
            manifest.last_position,
            written.file.values,
            dir.display()
        );
        if written.erased_since > 0 {
            println!(
                "{} personal values the copy refers to were erased while it was taken: they are not in the backup",
                written.erased_since
            );
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn restore(args: RestoreArgs) -> Result<ExitCode> {
    let dir = &args.dir;
    let manifest: Manifest = {
        let path = dir.join(MANIFEST);
        let text = std::fs::read(&path).with_context(|| {
            format!(
                "reading {}: a backup's manifest is written last, so without it the backup is incomplete",
                path.display()
            )
        })?;
        serde_json::from_slice(&text)
            .with_context(|| format!("{} cannot be read", path.display()))?
    };
    ensure!(
        (manifest.format == FORMAT) == manifest.disclosures.is_some()
            && [FORMAT, FORMAT_1].contains(&manifest.format.as_str()),
        "{} is a backup of format {:?}; this accord restores {FORMAT:?} (with its personal values) and {FORMAT_1:?}",
        dir.display(),
        manifest.format
    );
    let commits_path = dir.join(COMMITS);
    // The whole file is checked before the store is touched: a backup that does not hold
    // restores nothing.
    let checked = {
        let path = commits_path.clone();
        tokio::task::spawn_blocking(move || check_file(&path)).await??
    };
    ensure!(
        checked.sha256 == manifest.commits_sha256,
        "{} changed since the backup was taken: its SHA-256 is {}, the manifest says {}",
        commits_path.display(),
        checked.sha256,
        manifest.commits_sha256
    );
    let heads: BTreeMap<PartnershipId, PartnershipHead> = checked
        .loading
        .heads()
        .map(|(p, h)| (p.clone(), PartnershipHead::from(h)))
        .collect();
    ensure!(
        checked.loading.last() == manifest.last_position && heads == manifest.partnerships,
        "{} does not hold what the manifest says: its commits end at position {} with {} partnerships, the manifest says {} with {}",
        commits_path.display(),
        checked.loading.last(),
        heads.len(),
        manifest.last_position,
        manifest.partnerships.len()
    );

    let disclosures = match &manifest.disclosures {
        Some(want) => values::read(dir, want, &checked.refs)?,
        None => Vec::new(),
    };

    let (log, place) = open(&args.store).await?;
    // The values first: a commit is never stored without its disclosures.
    for chunk in disclosures.chunks(LOAD_VALUES) {
        log.load_disclosures(chunk)
            .await
            .with_context(|| format!("loading the personal values into {place}"))?;
    }
    let file = tokio::fs::File::open(&commits_path).await?;
    let lines = commits_in(tokio::io::BufReader::new(file));
    let loaded = log
        .load(lines)
        .await
        .with_context(|| format!("loading {} into {place}", commits_path.display()))?;
    ensure!(
        loaded == manifest.last_position,
        "loaded up to position {loaded}, the manifest says {}",
        manifest.last_position
    );
    for (p, want) in &manifest.partnerships {
        let head = PartnershipHead::from(log.head(p).await?);
        if head != *want {
            bail!(
                "{p} is at revision {} ({}) after the restore, the manifest says {} ({})",
                head.revision,
                head.head,
                want.revision,
                want.head
            );
        }
    }
    let summary = json!({
        "into": place,
        "last_position": loaded,
        "commits": manifest.commits,
        "partnerships": manifest.partnerships.len(),
        "personal_values": disclosures.len(),
    });
    args.output.print(&summary, || {
        println!(
            "restored {} commits of {} partnerships, up to position {loaded}, and {} personal values, into {place}; every head matches the manifest",
            manifest.commits,
            manifest.partnerships.len(),
            disclosures.len()
        );
    })?;
    Ok(ExitCode::SUCCESS)
}

/// GETs `path`; an error answer is explained and becomes the exit code.
async fn fetch(
    server: &Server,
    client: &reqwest::Client,
    path: &str,
) -> Result<Result<reqwest::Response, ExitCode>> {
    let response = server.send(client.get(server.url(path))).await?;
    let status = response.status();
    if status.is_success() {
        return Ok(Ok(response));
    }
    let body = response.json().await.unwrap_or_default();
    explain(status, &body);
    Ok(Err(exit_for(status)))
}

/// Opens the store to restore into, and says where it is.
async fn open(store: &Store) -> Result<(Arc<dyn EventLog>, String)> {
    Ok(match &store.nats {
        Some(url) => {
            let settings = StreamSettings {
                replicas: store.replicas,
                ..StreamSettings::default()
            };
            let client = accord_log::jetstream::connect(url, store.nats_ca.as_deref()).await?;
            let log = JetStreamLog::open(client, &settings).await?;
            (
                Arc::new(log),
                format!(
                    "stream {} of {}",
                    accord_log::jetstream::STREAM,
                    crate::up::without_credentials(url)
                ),
            )
        }
        None => {
            let log = EmbeddedLog::open(&store.data_dir)
                .with_context(|| format!("opening the store in {}", store.data_dir.display()))?;
            (Arc::new(log), store.data_dir.display().to_string())
        }
    })
}

/// The commits of a backup's file, one per line.
fn commits_in(reader: tokio::io::BufReader<tokio::fs::File>) -> accord_log::CommitStream {
    futures::stream::unfold((reader.lines(), 0u64), |(mut lines, n)| async move {
        let line = match lines.next_line().await {
            Ok(Some(line)) => line,
            Ok(None) => return None,
            Err(e) => {
                let e = LogError::Unavailable(format!("reading the backup: {e}"));
                return Some((Err(e), (lines, n)));
            }
        };
        let commit = serde_json::from_str::<StoredCommit>(&line).map_err(|e| {
            LogError::Invalid(format!("line {} of the backup cannot be read: {e}", n + 1))
        });
        Some((commit, (lines, n + 1)))
    })
    .boxed()
}

fn hex_of(sha: Sha256) -> String {
    Hash(sha.finalize().into()).to_hex()
}

/// Makes the directory's new entries durable.
fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}
