//! The harness the end-to-end suites share: a running `accord` (`Accord`), the CLI (`accord`),
//! HTTP helpers, sample events and tokens.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{NatsServer, workspace_root};

/// How long `accord up` may take to say where it listens.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A program the tests run: `$env`, or `default` in the workspace; `missing` says how to get it.
pub(crate) fn program(env: &str, default: &str, missing: &str) -> PathBuf {
    let bin = std::env::var_os(env).map_or_else(|| workspace_root().join(default), PathBuf::from);
    assert!(
        bin.exists(),
        "{} is missing: {missing} (or set {env})",
        bin.display()
    );
    bin
}

/// The binary under test: `$ACCORD_BIN`, or the workspace's debug build (the test command
/// builds it first).
pub(crate) fn accord_bin() -> PathBuf {
    program(
        "ACCORD_BIN",
        "target/debug/accord",
        "run `cargo build -p accord` (scripts/test does)",
    )
}

/// A running `accord up`.
pub(crate) struct Accord {
    child: Child,
    pub(crate) url: String,
    /// The data directory when the test gave none: the projector's store lives there.
    _dir: Option<tempfile::TempDir>,
}

impl Accord {
    /// Starts `accord up` with these extra arguments on a free port.
    pub(crate) fn up(args: &[&str]) -> Self {
        Self::start("up", args)
    }

    /// Starts `accord <command>` (up, ledger or projector) with these extra arguments on a free
    /// port.
    pub(crate) fn start(command: &str, args: &[&str]) -> Self {
        let default_http: &[&str] = if args.contains(&"--http") {
            &[]
        } else {
            &["--http", "127.0.0.1:0"]
        };
        let dir = (!args.contains(&"--data-dir")).then(|| tempfile::tempdir().expect("dir"));
        let mut child = Command::new(accord_bin())
            .arg(command)
            .args(default_http)
            .args(
                dir.iter()
                    .flat_map(|d| ["--data-dir".as_ref(), d.path().as_os_str()]),
            )
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start accord up");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let url = loop {
            let line = rx
                .recv_timeout(READY_TIMEOUT)
                .unwrap_or_else(|_| panic!("accord {command} says where it listens"));
            if let Some(url) = line.split("HTTP API on ").nth(1) {
                break url.trim().to_owned();
            }
        };
        Self {
            child,
            url,
            _dir: dir,
        }
    }

    /// Embedded store in `dir`.
    pub(crate) fn embedded(dir: &Path) -> Self {
        Self::up(&["--data-dir", dir.to_str().expect("utf-8 path")])
    }

    pub(crate) fn jetstream(server: &NatsServer) -> Self {
        Self::up(&["--nats", &server.url()])
    }

    /// Stops with SIGKILL: nothing is finished or flushed.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// Stops with SIGTERM and waits: requests in flight finish, the store is closed.
    pub(crate) fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = self.child.wait().expect("wait");
        assert!(exit.success(), "accord up exits cleanly on SIGTERM: {exit}");
    }

    pub(crate) fn events_url(&self, p: &str) -> String {
        format!("{}/v1/partnerships/{p}/events", self.url)
    }
}

impl Drop for Accord {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Imports files of `examples/` into `a` with `accord import`.
pub(crate) fn import_examples(a: &Accord, files: &[&str]) {
    for file in files {
        let file = workspace_root().join("examples").join(file);
        let (code, out, err) =
            accord(&["import", file.to_str().expect("utf-8"), "--server", &a.url]);
        assert_eq!(code, 0, "{out}{err}");
    }
}

/// What `/metrics` answers (Prometheus text).
pub(crate) async fn metrics(a: &Accord) -> String {
    get(a, "/metrics").await.1
}

/// An HTTP client for the tests (reqwest over rustls with ring, as the `accord` binary uses).
pub(crate) fn http() -> reqwest::Client {
    // Installed once per test process; a second call finds it installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

pub(crate) fn proposal() -> Value {
    json!({"type": "partnership_proposed", "occurred_at": "2026-01-05T09:00:00Z",
           "actor": {"org": "acme"},
           "data": {"parties": [{"org": "acme", "name": "Acme Health", "kind": "vendor"},
                                {"org": "stmary", "name": "St Mary's", "kind": "health_system"}],
                    "vision": "fewer readmissions"}})
}

pub(crate) fn meeting(id: &str) -> Value {
    json!({"type": "meeting_requested", "occurred_at": "2026-02-01T09:00:00Z",
           "actor": {"org": "acme"},
           "data": {"meeting_id": id, "requested_by_org": "acme", "purpose": "review"}})
}

pub(crate) async fn post(
    a: &Accord,
    p: &str,
    body: &Value,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    post_raw(a, p, body.to_string().into_bytes(), headers).await
}

pub(crate) async fn post_raw(
    a: &Accord,
    p: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut req = http()
        .post(a.events_url(p))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    let media = crate::served_schema::media(&resp);
    let body = resp.json().await.unwrap_or(Value::Null);
    let path = format!("/v1/partnerships/{p}/events");
    crate::served_schema::check(&a.url, "POST", &path, status, media.as_deref(), &body).await;
    (status, body)
}

/// The answer to a GET of `path` (with its query string) on `a`: its status, media type and
/// text, checked against the document the server serves (see `served_schema`).
async fn get(a: &Accord, path: &str) -> (StatusCode, String) {
    let response = http()
        .get(format!("{}{path}", a.url))
        .send()
        .await
        .expect("send");
    let status = response.status();
    let media = crate::served_schema::media(&response);
    let text = response.text().await.expect("a body");
    let body = if media.as_deref().is_some_and(|m| m.ends_with("json")) {
        serde_json::from_str(&text).expect("JSON")
    } else {
        Value::Null
    };
    crate::served_schema::check(&a.url, "GET", path, status, media.as_deref(), &body).await;
    (status, text)
}

/// The JSON answer of a GET of `path` (with its query string) on `a`.
pub(crate) async fn get_json(a: &Accord, path: &str) -> Value {
    serde_json::from_str(&get(a, path).await.1).expect("json")
}

pub(crate) async fn history(a: &Accord, p: &str) -> Value {
    get_json(a, &format!("/v1/partnerships/{p}/events")).await
}

/// Longest wait for a projector to catch up.
pub(crate) const CATCH_UP: Duration = Duration::from_secs(60);

/// The projector's report from `/healthz` (of `accord up` or `accord projector`, which serves
/// no OpenAPI document of its own).
pub(crate) async fn projector(a: &Accord) -> Value {
    let answer = http()
        .get(format!("{}/healthz", a.url))
        .send()
        .await
        .expect("send");
    answer.json::<Value>().await.unwrap_or(Value::Null)["projector"].clone()
}

/// Waits until the projector's checkpoint reaches `position` with no rebuild pending.
pub(crate) async fn caught_up(a: &Accord, position: u64) -> Value {
    let deadline = Instant::now() + CATCH_UP;
    loop {
        let report = projector(a).await;
        if report["checkpoint"].as_u64() >= Some(position) && report["rebuilding"] == false {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "the projector did not reach {position} within {CATCH_UP:?}: {report}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A partnership's last revision, from its audit history.
pub(crate) async fn revision(a: &Accord, p: &str) -> u64 {
    let h = history(a, p).await;
    h["events"]
        .as_array()
        .and_then(|e| e.last())
        .and_then(|e| e["revision"].as_u64())
        .expect("a revision")
}

pub(crate) fn accord(args: &[&str]) -> (i32, String, String) {
    run(&accord_bin(), args)
}

/// Runs the development tools (`accord-dev gen ...`): `$ACCORD_DEV_BIN`, or the workspace's debug
/// build (the test command builds it first); its exit code, stdout and stderr.
pub(crate) fn accord_dev(args: &[&str]) -> (i32, String, String) {
    let bin = program(
        "ACCORD_DEV_BIN",
        "target/debug/accord-dev",
        "run `cargo build -p accord-dev` (scripts/test does)",
    );
    run(&bin, args)
}

/// Runs `bin` with `args` to its end: its exit code, stdout and stderr.
fn run(bin: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `answer` is RFC 9457 problem details for `status`: the standard members, and the kind in
/// `error`.
pub(crate) fn assert_problem(answer: &Value, status: StatusCode) {
    assert_eq!(
        answer["status"],
        status.as_u16(),
        "the status member: {answer}"
    );
    let kind = answer["error"]
        .as_str()
        .unwrap_or_else(|| panic!("a kind: {answer}"));
    assert_eq!(
        answer["type"],
        format!("urn:accord:problem:{kind}"),
        "the type names the kind: {answer}"
    );
    for member in ["title", "detail"] {
        assert!(
            answer[member].as_str().is_some_and(|t| !t.is_empty()),
            "a {member}: {answer}"
        );
    }
}

/// The HTTP status a NATS service error reply carries (`None` for a success).
pub(crate) fn error_code(reply: &async_nats::Message) -> Option<String> {
    reply
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Service-Error-Code"))
        .map(|v| v.as_str().to_owned())
}

/// Makes a token with `accord token new` and returns it.
pub(crate) fn new_token(file: &Path, org: &str, role: &str, name: &str) -> String {
    let (code, out, err) = accord(&[
        "token",
        "new",
        "--org",
        org,
        "--role",
        role,
        "--name",
        name,
        "--file",
        file.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    out.trim().to_owned()
}

/// Loads the sample partnerships of examples/ into a store at `store`, through an open ledger.
pub(crate) fn load_examples(store: &Path) {
    let a = Accord::embedded(store);
    let examples = crate::harness::workspace_root().join("examples");
    for entry in std::fs::read_dir(&examples).expect("examples/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            let (code, out, err) =
                accord(&["import", path.to_str().expect("utf-8"), "--server", &a.url]);
            assert_eq!(code, 0, "{}: {out}{err}", path.display());
        }
    }
    a.stop();
}
