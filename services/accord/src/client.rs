//! The client commands: `record`, `history`, `verify`. They talk to a running `accord up` over
//! HTTP. Exit codes: 0 ok, 1 failure (conflict, broken chain, server unreachable), 2 bad input.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::StatusCode;
use serde_json::Value;

use crate::terminal::Columns;

/// Where the server is, and the token to show it.
#[derive(Debug, clap::Args)]
pub(crate) struct Server {
    /// The accord server's URL.
    #[arg(long, env = "ACCORD_SERVER", default_value = "http://127.0.0.1:7480")]
    server: String,
    /// A bearer token, when the server has a token file.
    #[arg(long, env = "ACCORD_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// With an https URL: trust only the certificate authorities of this PEM file (a private CA)
    /// instead of the system's.
    #[arg(long, env = "ACCORD_CA")]
    ca: Option<PathBuf>,
    /// Seconds to wait for a connection to the server.
    #[arg(long, env = "ACCORD_CONNECT_TIMEOUT", default_value_t = 5)]
    connect_timeout: u64,
    /// Seconds to wait for each answer, from the request to its last byte (0: no limit).
    #[arg(long, env = "ACCORD_TIMEOUT", default_value_t = 60)]
    timeout: u64,
}

impl Server {
    /// A client that sends the token with every request.
    pub(crate) fn client(&self) -> Result<reqwest::Client> {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = &self.token {
            let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
                .context("the token must be visible ASCII")?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::AUTHORIZATION, value);
        }
        let mut builder = reqwest::Client::builder()
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(self.connect_timeout));
        if self.timeout > 0 {
            builder = builder.timeout(Duration::from_secs(self.timeout));
        }
        if let Some(ca) = &self.ca {
            let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
            let roots = reqwest::Certificate::from_pem_bundle(&pem)
                .with_context(|| format!("{} is not a PEM certificate bundle", ca.display()))?;
            anyhow::ensure!(!roots.is_empty(), "{} holds no certificate", ca.display());
            builder = builder.tls_certs_only(roots);
        }
        Ok(builder.build()?)
    }

    /// Sends `request`; a request that fails, or gets no answer in time, says so in words.
    pub(crate) async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        request.send().await.map_err(|e| {
            let why = if e.is_connect() && e.is_timeout() {
                format!(
                    "no connection to {} within {} s (--connect-timeout)",
                    self.server, self.connect_timeout
                )
            } else if e.is_timeout() {
                format!(
                    "no answer from {} within {} s (--timeout)",
                    self.server, self.timeout
                )
            } else {
                format!("cannot reach {}", self.server)
            };
            anyhow::Error::new(e).context(why)
        })
    }
}

/// How a client command prints its result.
#[derive(Debug, clap::Args)]
pub(crate) struct Output {
    /// Print the result as one JSON document on standard output instead of words and tables
    /// (errors still go to standard error, with the same exit codes).
    #[arg(long)]
    pub(crate) json: bool,
}

impl Output {
    /// Prints `value` as JSON with `--json`, else runs `words`.
    pub(crate) fn print(&self, value: &Value, words: impl FnOnce()) -> Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            words();
        }
        Ok(())
    }
}

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
            args.server.server,
            body["status"].as_str().unwrap_or("?")
        );
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The exit code for an error answer: 2 when the input was at fault, 1 otherwise.
fn exit_for(status: StatusCode) -> ExitCode {
    if matches!(
        status,
        StatusCode::BAD_REQUEST
            | StatusCode::NOT_FOUND
            | StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::UNPROCESSABLE_ENTITY
    ) {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

/// Prints an error answer in words.
fn explain(status: StatusCode, body: &Value) {
    eprintln!("error: {}", reason(status, body));
}

/// The query string's pairs: those given.
pub(crate) type QueryPairs<'a> = &'a [(&'a str, Option<&'a str>)];

/// GETs a JSON answer; an error answer is explained and becomes the exit code.
pub(crate) async fn get_json(
    server: &Server,
    client: &reqwest::Client,
    path: &str,
    query: QueryPairs<'_>,
) -> Result<Result<Value, ExitCode>> {
    Ok(get_text(server, client, path, query)
        .await?
        .map(|text| serde_json::from_str(&text).unwrap_or(Value::String(text))))
}

/// Every partnership the server lists for this caller, in id order, page after page (each
/// page's `next` is where the following one starts).
pub(crate) async fn all_partnerships(
    server: &Server,
    client: &reqwest::Client,
) -> Result<Result<Vec<String>, ExitCode>> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query = [("limit", Some("1000")), ("after", after.as_deref())];
        let page = match get_json(server, client, "/v1/partnerships", &query).await? {
            Ok(page) => page,
            Err(code) => return Ok(Err(code)),
        };
        ids.extend(
            page["partnerships"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["partnership_id"].as_str().map(str::to_owned)),
        );
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => return Ok(Ok(ids)),
        }
    }
}

/// A partnership's whole audit history (as recorded by `as_of`), page after page:
/// `{partnership_id, events}`, the events of every page in order.
pub(crate) async fn full_history(
    server: &Server,
    client: &reqwest::Client,
    id: &str,
    as_of: Option<&str>,
) -> Result<Result<Value, ExitCode>> {
    let path = format!("/v1/partnerships/{id}/events");
    let mut events = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let query = [("as_of", as_of), ("after", after.as_deref())];
        let mut page = match get_json(server, client, &path, &query).await? {
            Ok(page) => page,
            Err(code) => return Ok(Err(code)),
        };
        if let Value::Array(more) = page["events"].take() {
            events.extend(more);
        }
        match page["next"].as_u64() {
            Some(next) => after = Some(next.to_string()),
            None => {
                return Ok(Ok(
                    serde_json::json!({"partnership_id": id, "events": events}),
                ));
            }
        }
    }
}

/// GETs an answer as text (a page); an error answer is explained and becomes the exit code.
pub(crate) async fn get_text(
    server: &Server,
    client: &reqwest::Client,
    path: &str,
    query: QueryPairs<'_>,
) -> Result<Result<String, ExitCode>> {
    let given: Vec<(&str, &str)> = query
        .iter()
        .filter_map(|(k, v)| v.map(|v| (*k, v)))
        .collect();
    let response = server
        .send(client.get(format!("{}{path}", server.server)).query(&given))
        .await?;
    let status = response.status();
    let text = response.text().await?;
    if status == StatusCode::OK {
        Ok(Ok(text))
    } else {
        explain(
            status,
            &serde_json::from_str(&text).unwrap_or(Value::String(text)),
        );
        Ok(Err(exit_for(status)))
    }
}

/// A file being written for `out`: a temporary file beside it, which [`finish_out`] renames into
/// place once complete (and which is removed if it never is). Exit code 2 when `out` does not
/// name a file in an existing directory.
pub(crate) fn start_out(out: &Path) -> Result<Result<tempfile::NamedTempFile, ExitCode>> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() || out.is_dir() {
        eprintln!(
            "error: --out {} must name a file in an existing directory",
            out.display()
        );
        return Ok(Err(ExitCode::from(2)));
    }
    Ok(Ok(tempfile::Builder::new()
        .prefix(".accord-")
        .tempfile_in(dir)
        .with_context(|| {
            format!("creating a file in {}", dir.display())
        })?))
}

/// Renames a complete file into place as an ordinary file (a temporary one is private).
pub(crate) fn finish_out(file: tempfile::NamedTempFile, out: &Path) -> Result<()> {
    file.as_file().sync_all()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    file.persist(out)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

async fn answer(response: reqwest::Response) -> Result<(StatusCode, Value)> {
    let status = response.status();
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, body))
}

pub(crate) async fn record(args: RecordArgs) -> Result<ExitCode> {
    let mut body = Vec::new();
    if args.file.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut body)?;
    } else {
        body = std::fs::read(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?;
    }
    let url = format!("{}/v1/partnerships/{}/events", args.server.server, args.id);
    let mut request = args
        .server
        .client()?
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(rev) = args.if_match {
        request = request.header("If-Match", rev.to_string());
    }
    if let Some(key) = &args.idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    let response = args.server.send(request).await?;
    let replayed = response.headers().contains_key("idempotent-replayed");
    let (status, mut body) = answer(response).await?;
    if status != StatusCode::CREATED {
        explain(status, &body);
        return Ok(exit_for(status));
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
            println!(
                "{id}: ok, {} commits, every link holds (revision {})",
                body["commits"], body["revision"]
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
    if args.output.json {
        let all = serde_json::json!({"partnerships": answers, "broken": broken});
        println!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(if broken == 0 {
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
    let (mut appended, mut events, mut skipped) = (0usize, 0usize, 0usize);
    let mut rejected: Vec<(usize, String)> = Vec::new();
    for (number, text) in lines {
        progress.inc(1);
        let line = match parse_line(number, text) {
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
            .post(format!(
                "{}/v1/partnerships/{}/events",
                args.server.server, line.partnership_id
            ))
            .header("content-type", "application/json")
            .header("Idempotency-Key", &line.idempotency_key)
            .body(line.body.to_string());
        let response = args.server.send(request).await?;
        let replayed = response.headers().contains_key("idempotent-replayed");
        let (status, body) = answer(response).await?;
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

/// An error answer in one line: each field and its rule, or what to do next.
fn reason(status: StatusCode, body: &Value) -> String {
    let details: Vec<String> = body["details"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            format!(
                "{}: {}",
                d["field"].as_str().unwrap_or("?"),
                d["message"].as_str().unwrap_or("?")
            )
        })
        .collect();
    if !details.is_empty() {
        format!("{status}: {}", details.join("; "))
    } else if body["error"] == "conflict" {
        format!(
            "{status}: the partnership is at revision {}, not {}; read it again and retry",
            body["actual"], body["expected"]
        )
    } else {
        format!("{status}: {}", body["detail"].as_str().unwrap_or("refused"))
    }
}
