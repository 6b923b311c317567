//! The client commands that read and write the ledger: `record`, `import`, `history`, `verify`
//! and `health`. They talk to a running `accord up` over HTTP (`api`). Exit codes: 0 ok, 1
//! failure (conflict, broken chain, server unreachable), 2 bad input.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use reqwest::StatusCode;
use serde_json::Value;

use crate::api::{
    Server, all_partnerships, answer, exit_for, explain, full_history, get_json, reason,
};
use crate::output::Output;
use crate::receipts::Keeper;
use crate::signer::Signer;
use crate::terminal::Columns;

#[derive(Debug, clap::Args)]
pub(crate) struct RecordArgs {
    /// The partnership.
    id: String,
    /// A JSON file with one event or an array of events (one commit); `-` reads standard input.
    #[arg(long, short)]
    file: PathBuf,
    /// Only record if the partnership is still at this revision.
    #[arg(long)]
    if_match: Option<u64>,
    /// Makes a retry return the first answer and record nothing.
    #[arg(long)]
    idempotency_key: Option<String>,
    /// Keep the commit's receipt: append it to this JSONL file (see `verify --receipts`).
    #[arg(long)]
    receipts: Option<PathBuf>,
    /// Sign the commit with this org key (`accord key new`): the events are sealed and signed
    /// here, under --idempotency-key (a new one when not given).
    #[arg(long)]
    key: Option<PathBuf>,
    #[command(flatten)]
    output: Output,
    #[command(flatten)]
    server: Server,
}

#[derive(Debug, clap::Args)]
pub(crate) struct HistoryArgs {
    /// The partnership.
    id: String,
    /// Only what was recorded at or before this RFC 3339 time.
    #[arg(long)]
    as_of: Option<String>,
    #[command(flatten)]
    output: Output,
    #[command(flatten)]
    server: Server,
}

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The partnership (default: every partnership).
    id: Option<String>,
    /// Also prove that the log still holds every head these receipts name (a JSONL file kept
    /// by `record` or `import --receipts`), each signed by the ledger's key; names the first
    /// that does not hold.
    #[arg(long)]
    receipts: Option<PathBuf>,
    #[command(flatten)]
    output: Output,
    #[command(flatten)]
    server: Server,
}

#[derive(Debug, clap::Args)]
pub(crate) struct HealthArgs {
    #[command(flatten)]
    output: Output,
    #[command(flatten)]
    server: Server,
}

/// `GET /healthz`: exit 0 while the service answers, `ok` or `degraded` (it serves; `degraded`
/// names what to look at, such as a broken chain); 1 when it is unavailable or does not answer.
/// A container's health check.
pub(crate) async fn health(args: HealthArgs) -> Result<ExitCode> {
    let client = args.server.client()?;
    let body = match get_json(&args.server, &client, "/healthz", &[]).await? {
        Ok(body) => body,
        Err(code) => return Ok(code),
    };
    args.output.print(&body, || {
        println!(
            "{}: {}",
            args.server.url(""),
            body["status"].as_str().unwrap_or("?")
        );
    })?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn record(args: RecordArgs) -> Result<ExitCode> {
    let mut body = Vec::new();
    if args.file.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut body)?;
    } else {
        body = std::fs::read(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?;
    }
    let signer = args.key.as_deref().map(Signer::open).transpose()?;
    let idempotency_key = match (&args.idempotency_key, &signer) {
        (None, Some(_)) => Some(format!("signed-{}", accord_domain::ids::Uuid::now_v7())),
        (key, _) => key.clone(),
    };
    if let (Some(signer), Some(key)) = (&signer, &idempotency_key) {
        body = signer.sign(&args.id, key, &body)?.to_string().into_bytes();
    }
    let url = args
        .server
        .url(&format!("/v1/partnerships/{}/events", args.id));
    let mut request = args
        .server
        .client()?
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(rev) = args.if_match {
        request = request.header("If-Match", rev.to_string());
    }
    if let Some(key) = &idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    let mut keeper = Keeper::open(args.receipts.as_deref())?;
    let response = args.server.send(request).await?;
    let replayed = response.headers().contains_key("idempotent-replayed");
    let (status, mut body) = answer(response).await?;
    if status != StatusCode::CREATED {
        explain(status, &body);
        return Ok(exit_for(status));
    }
    if let Some(keeper) = &mut keeper {
        keeper.keep(&body)?;
    }
    body["replayed"] = Value::Bool(replayed);
    args.output.print(&body, || {
        println!(
            "recorded {} event(s) in {} at revision {}{}",
            body["event_ids"].as_array().map_or(0, Vec::len),
            body["partnership_id"].as_str().unwrap_or("?"),
            body["revision"],
            if replayed {
                " (a retry: the first answer, nothing new recorded)"
            } else {
                ""
            }
        );
    })?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn history(args: HistoryArgs) -> Result<ExitCode> {
    let client = args.server.client()?;
    let body = match full_history(&args.server, &client, &args.id, args.as_of.as_deref()).await? {
        Ok(body) => body,
        Err(code) => return Ok(code),
    };
    args.output.print(&body, || {
        let time = |v: &Value| v.as_str().unwrap_or("").get(..19).unwrap_or("").to_owned();
        print!(
            "{}",
            Columns {
                header: &["rev", "occurred_at", "recorded_at", "org", "type", "data"],
                right: &[0],
            }
            .render(body["events"].as_array().into_iter().flatten().map(|e| {
                let data = e["data"].to_string();
                let data = match data.char_indices().nth(60) {
                    Some((i, _)) => format!("{}…", &data[..i]),
                    None => data,
                };
                vec![
                    e["revision"].as_u64().unwrap_or(0).to_string(),
                    time(&e["occurred_at"]),
                    time(&e["recorded_at"]),
                    e["actor"]["org"].as_str().unwrap_or("").to_owned(),
                    e["type"].as_str().unwrap_or("").to_owned(),
                    data,
                ]
            }))
        );
    })?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn verify(args: VerifyArgs) -> Result<ExitCode> {
    let client = args.server.client()?;
    let ids: Vec<String> = match args.id {
        Some(id) => vec![id],
        None => match all_partnerships(&args.server, &client).await? {
            Ok(ids) => ids,
            Err(code) => return Ok(code),
        },
    };
    let mut broken = 0;
    let mut answers = Vec::new();
    for id in &ids {
        let path = format!("/v1/partnerships/{id}/verify");
        let mut body = match get_json(&args.server, &client, &path, &[]).await? {
            Ok(body) => body,
            Err(code) => return Ok(code),
        };
        let ok = body["ok"] == Value::Bool(true);
        broken += usize::from(!ok);
        if args.output.json {
            body["partnership_id"] = Value::String(id.clone());
            answers.push(body);
        } else if ok {
            let signed = body["signed"].as_u64().unwrap_or(0);
            println!(
                "{id}: ok, {} commits, every link holds (revision {}){}",
                body["commits"],
                body["revision"],
                if signed > 0 {
                    format!("; {signed} signed commits, every signature holds")
                } else {
                    String::new()
                }
            );
        } else if body.get("position").is_none() {
            let list = |field: &str| {
                body[field]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default()
            };
            println!(
                "{id}: SIGNATURES DO NOT HOLD: every link holds (revision {}), but unsigned commits of an org with a key at revisions [{}], badly signed at [{}]",
                body["revision"],
                list("unsigned"),
                list("badly_signed")
            );
        } else {
            println!(
                "{id}: BROKEN at position {} (last good commit at {}): {}",
                body["position"],
                body["last_good"],
                body["reason"].as_str().unwrap_or("?")
            );
        }
    }
    let (receipts_held, receipts) = match &args.receipts {
        None => (true, Value::Null),
        Some(path) => {
            let (code, summary) =
                crate::receipts::verify(&args.server, &client, path, args.output.json).await?;
            if summary.is_null() {
                return Ok(code);
            }
            (code == ExitCode::SUCCESS, summary)
        }
    };
    if args.output.json {
        let mut all = serde_json::json!({"partnerships": answers, "broken": broken});
        if !receipts.is_null() {
            all["receipts"] = receipts;
        }
        println!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(if broken == 0 && receipts_held {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// What `import` does when a line is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum OnError {
    /// Stop at the first refused line.
    Stop,
    /// Report the line and go on with the next.
    Continue,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// A JSONL file: one commit per line, `{"partnership_id": ..., "events": [...]}` or one
    /// event with a `partnership_id` field.
    file: PathBuf,
    /// What to do when a line is refused.
    #[arg(long, value_enum, default_value_t = OnError::Stop)]
    on_error: OnError,
    /// Keep the receipt of every commit, appended or found already there, in this JSONL file
    /// (see `verify --receipts`).
    #[arg(long)]
    receipts: Option<PathBuf>,
    /// Sign every commit with this org key (`accord key new`); each line's events act for it.
    #[arg(long)]
    key: Option<PathBuf>,
    #[command(flatten)]
    output: Output,
    #[command(flatten)]
    server: Server,
}

/// One line of an import file, as sent.
pub(crate) struct Line {
    pub(crate) number: usize,
    pub(crate) partnership_id: String,
    pub(crate) body: Value,
    /// Derived from the line's text, so importing a file twice records nothing new.
    pub(crate) idempotency_key: String,
}

/// Reads one line of an import file.
pub(crate) fn parse_line(number: usize, text: &str) -> Result<Line, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("malformed JSON: {e}"))?;
    let (partnership_id, body) =
        accord_http::split_commit(value).map_err(|e| reason(e.status(), &e.body()))?;
    // The digest the key has always been made of, so that a file imported before keys were
    // scoped to the org is still recognised (the ledger matches the key's unscoped commit id).
    let digest = accord_domain::ids::CommitId::from_unscoped_idempotency_key(
        &accord_domain::PartnershipId::parse(&partnership_id)
            .map_err(|e| format!("partnership_id: {e}"))?,
        text,
    );
    Ok(Line {
        number,
        partnership_id,
        body,
        idempotency_key: format!("import-{digest}"),
    })
}

pub(crate) async fn import(args: ImportArgs) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let client = args.server.client()?;
    let progress = indicatif::ProgressBar::new(lines.len() as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} lines {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut keeper = Keeper::open(args.receipts.as_deref())?;
    let signer = args.key.as_deref().map(Signer::open).transpose()?;
    let (mut appended, mut events, mut skipped) = (0usize, 0usize, 0usize);
    let mut rejected: Vec<(usize, String)> = Vec::new();
    for (number, text) in lines {
        progress.inc(1);
        let line = match parse_line(number, text).and_then(|mut line| {
            if let Some(signer) = &signer {
                line.body = signer
                    .sign(
                        &line.partnership_id,
                        &line.idempotency_key,
                        line.body.to_string().as_bytes(),
                    )
                    .map_err(|e| format!("{e:#}"))?;
            }
            Ok(line)
        }) {
            Ok(line) => line,
            Err(reason) => {
                rejected.push((number, reason));
                if args.on_error == OnError::Stop {
                    break;
                }
                continue;
            }
        };
        let request = client
            .post(
                args.server
                    .url(&format!("/v1/partnerships/{}/events", line.partnership_id)),
            )
            .header("content-type", "application/json")
            .header("Idempotency-Key", &line.idempotency_key)
            .body(line.body.to_string());
        let response = args.server.send(request).await?;
        let replayed = response.headers().contains_key("idempotent-replayed");
        let (status, body) = answer(response).await?;
        if let (StatusCode::CREATED, Some(keeper)) = (status, &mut keeper) {
            keeper.keep(&body)?;
        }
        match status {
            StatusCode::CREATED if replayed => skipped += 1,
            StatusCode::CREATED => {
                appended += 1;
                events += body["event_ids"].as_array().map_or(0, Vec::len);
            }
            s if exit_for(s) == ExitCode::from(2) => {
                rejected.push((line.number, reason(s, &body)));
                if args.on_error == OnError::Stop {
                    break;
                }
            }
            s => {
                progress.finish_and_clear();
                explain(s, &body);
                eprintln!("import stopped at line {}", line.number);
                return Ok(ExitCode::from(1));
            }
        }
    }
    progress.finish_and_clear();
    let summary = serde_json::json!({
        "file": args.file,
        "appended": appended,
        "events": events,
        "skipped": skipped,
        "rejected": rejected
            .iter()
            .map(|(line, reason)| serde_json::json!({"line": line, "reason": reason}))
            .collect::<Vec<_>>(),
    });
    args.output.print(&summary, || {
        println!(
            "imported {}: {appended} commits appended ({events} events), {skipped} skipped as duplicates, {} lines rejected",
            args.file.display(),
            rejected.len()
        );
        for (number, why) in &rejected {
            println!("  line {number}: {why}");
        }
    })?;
    Ok(if rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
