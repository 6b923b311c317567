//! The command line as a user and an operator meet it: client timeouts, every client command's
//! `--json`, the health check, JSON log lines, shell completions and the manual page.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::app::{Accord, accord, accord_bin, meeting, proposal};

/// How long a command that should stop by itself may run before the test calls it stuck.
const STUCK: Duration = Duration::from_secs(30);

/// A server that takes connections and never answers.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    port
}

/// Runs accord with `args` to its end, or fails the test when it is still running after
/// [`STUCK`]; its exit code and stderr.
fn accord_bounded(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(accord_bin())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start accord");
    let deadline = Instant::now() + STUCK;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
                .expect("read stderr");
            return (status.code().unwrap_or(-1), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("accord {args:?} still waits after {STUCK:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A server that never answers does not hang a client command: it stops after `--timeout`,
/// with exit code 1 and a message naming the server and the flag.
#[test]
fn a_silent_server_does_not_hang_the_client() {
    let server = format!("http://127.0.0.1:{}", silent_server());
    for args in [
        vec![
            "history",
            "acme-stmary",
            "--server",
            &server,
            "--timeout",
            "1",
        ],
        vec!["verify", "--server", &server, "--timeout", "1"],
        vec!["health", "--server", &server, "--timeout", "1"],
        vec![
            "show",
            "summary",
            "acme-stmary",
            "--server",
            &server,
            "--timeout",
            "1",
        ],
    ] {
        let (code, err) = accord_bounded(&args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains(&format!("no answer from {server} within 1 s (--timeout)")),
            "{args:?}: {err}"
        );
    }
}

/// Runs accord with `args` and `--json`, expecting success; its standard output as JSON.
fn json_of(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, out, err) = accord(&all);
    assert_eq!(code, 0, "{all:?}: {out}{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{all:?} prints JSON ({e}): {out}"))
}

/// Every client command prints its result as one JSON document with `--json`.
#[test]
fn every_client_command_answers_in_json() {
    let dir = tempfile::tempdir().expect("dir");
    let a = Accord::embedded(&dir.path().join("store"));
    let s = a.url.as_str();
    let path = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    let p = "acme-stmary";

    let events = path("proposal.json");
    std::fs::write(&events, proposal().to_string()).expect("write");
    let key = ["--idempotency-key", "first"];
    let record = |extra: &[&str]| {
        let mut args = vec!["record", p, "--file", &events, "--server", s];
        args.extend(extra);
        json_of(&args)
    };
    let first = record(&key);
    assert_eq!(first["revision"], 1, "{first}");
    assert_eq!(first["replayed"], false, "{first}");
    assert_eq!(record(&key)["replayed"], true, "a retry says it was one");

    let line = serde_json::json!({"partnership_id": p, "events": [meeting("m1")]});
    std::fs::write(path("more.jsonl"), format!("{line}\n")).expect("write");
    let import = json_of(&["import", &path("more.jsonl"), "--server", s]);
    assert_eq!(
        (&import["appended"], &import["events"], &import["skipped"]),
        (&Value::from(1), &Value::from(1), &Value::from(0)),
        "{import}"
    );
    assert_eq!(import["rejected"], serde_json::json!([]), "{import}");

    let history = json_of(&["history", p, "--server", s]);
    assert_eq!(
        history["events"].as_array().map(Vec::len),
        Some(2),
        "{history}"
    );
    let verify = json_of(&["verify", "--server", s]);
    assert_eq!(verify["broken"], 0, "{verify}");
    assert_eq!(verify["partnerships"][0]["partnership_id"], p, "{verify}");
    assert_eq!(verify["partnerships"][0]["ok"], true, "{verify}");
    let health = json_of(&["health", "--server", s]);
    assert_eq!(health["status"], "ok", "{health}");
    let (code, out, _) = accord(&["health", "--server", s]);
    assert_eq!((code, out.trim()), (0, format!("{s}: ok").as_str()));
    let summary = json_of(&["show", "summary", p, "--server", s]);
    assert!(summary["open_flags"].is_array(), "{summary}");

    let export = json_of(&[
        "export",
        "--model",
        "events",
        "--format",
        "csv",
        "--out",
        &path("events.csv"),
        "--server",
        s,
    ]);
    assert_eq!(
        (&export["rows"], &export["partnerships"]),
        (&Value::from(2), &Value::from(1)),
        "{export}"
    );
    assert_eq!(export["out"], path("events.csv"), "{export}");
    let retro = json_of(&["retro", p, "--out", &path("retro.html"), "--server", s]);
    let written = std::fs::metadata(path("retro.html"))
        .expect("the page")
        .len();
    assert_eq!(retro["bytes"], written, "{retro}");

    let token = json_of(&[
        "token",
        "new",
        "--org",
        "acme",
        "--role",
        "reader",
        "--name",
        "crm",
        "--file",
        &path("tokens.json"),
    ]);
    assert!(
        token["token"]
            .as_str()
            .is_some_and(|t| t.starts_with("acc_")),
        "{token}"
    );
    assert_eq!(
        (&token["org"], &token["role"]),
        (&Value::from("acme"), &Value::from("reader")),
        "{token}"
    );
    a.stop();
}

/// `--log-format json` writes each log line as one JSON object.
#[test]
fn logs_can_be_json_lines() {
    let dir = tempfile::tempdir().expect("dir");
    let mut up = Command::new(accord_bin())
        .args([
            "up",
            "--http",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start accord up");
    let stderr = up.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Without a token file, the first thing it logs is a warning that the API is open.
    let line = rx.recv_timeout(STUCK).expect("a log line");
    let _ = up.kill();
    let _ = up.wait();
    let log: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(log["level"], "WARN", "{line}");
    assert!(
        log["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no token file")),
        "{line}"
    );
    assert!(log["timestamp"].is_string(), "{line}");
}

/// Completion scripts for the common shells and a manual page come from the command line's own
/// definition, so they name every command.
#[test]
fn completions_and_the_manual_page_name_every_command() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = accord(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        for command in ["record", "import", "history", "show", "export", "retro"] {
            assert!(out.contains(command), "{shell} completes {command}");
        }
    }
    // The bash script is valid bash.
    let (_, script, _) = accord(&["completions", "bash"]);
    let mut bash = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .spawn()
        .expect("bash");
    std::io::Write::write_all(&mut bash.stdin.take().expect("stdin"), script.as_bytes())
        .expect("write");
    assert!(bash.wait().expect("bash -n").success());

    let (code, man, err) = accord(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(man.contains(".TH accord 1"), "{man}");
    assert!(man.contains("record"), "{man}");

    let (code, _, err) = accord(&["completions", "tcsh"]);
    assert_eq!(code, 2, "an unknown shell is refused: {err}");
}
