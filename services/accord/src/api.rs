//! How the client commands talk to a running accord over HTTP: where the server is and the
//! token to show it, with connect and answer timeouts (`Server`), the GETs they make (a JSON
//! answer, a page of text, every page of a list or a history), and an error answer explained in
//! words with the exit code it means (2 when the input was at fault, 1 otherwise).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::StatusCode;
use serde_json::Value;

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
    /// The URL of `path` (which starts with `/`, or is empty for the server's own) on the server.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server)
    }

    /// A client that sends the token with every request.
    pub(crate) fn client(&self) -> Result<reqwest::Client> {
        self.client_with(true)
    }

    /// A client for an answer that streams as long as it needs (a copy of the log): --timeout
    /// bounds each wait for more of the answer rather than the whole answer.
    pub(crate) fn streaming_client(&self) -> Result<reqwest::Client> {
        self.client_with(false)
    }

    fn client_with(&self, whole_answer: bool) -> Result<reqwest::Client> {
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
            let timeout = Duration::from_secs(self.timeout);
            builder = if whole_answer {
                builder.timeout(timeout)
            } else {
                builder.read_timeout(timeout)
            };
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

/// The exit code for an error answer: 2 when the input was at fault, 1 otherwise.
pub(crate) fn exit_for(status: StatusCode) -> ExitCode {
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
pub(crate) fn explain(status: StatusCode, body: &Value) {
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
        .send(client.get(server.url(path)).query(&given))
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

pub(crate) async fn answer(response: reqwest::Response) -> Result<(StatusCode, Value)> {
    let status = response.status();
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((status, body))
}

/// An error answer in one line: each field and its rule, or what to do next.
pub(crate) fn reason(status: StatusCode, body: &Value) -> String {
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
