//! A person's erasure request honoured as an operator runs it, on both backends: `accord
//! forget` erases every value that names them, the erasure is itself recorded, every reader
//! (history, read models, exports, the retrospective page, a backup and its restore) shows
//! `[erased]`, the chain still verifies, no file of the store holds the name once it is closed,
//! and a restart with a rebuild brings nothing back.

use std::path::Path;

use reqwest::StatusCode;
use serde_json::Value;

use crate::app::{
    Accord, accord, assert_problem, caught_up, get_json, history, http, import_examples,
};
use crate::harness::{NatsServer, ServerVersion};

/// The person whose values are erased: the example names them 17 times, in names and prose.
const PERSON: &str = "Dr Maya Chen";
/// Another person of the same partnership, who stays.
const OTHER: &str = "Priya Nair";
const PARTNERSHIP: &str = "jointworks-riverside";

/// Every file under `dir` that holds `needle`, at any offset.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            found.extend(files_holding(&path, needle));
        } else if std::fs::read(&path)
            .expect("read")
            .windows(needle.len())
            .any(|w| w == needle)
        {
            found.push(path.display().to_string());
        }
    }
    found
}

/// POSTs `body` to `/v1/forget`; the answer is checked against the served document.
async fn post_forget(a: &Accord, body: &str) -> (StatusCode, Value) {
    let response = http()
        .post(format!("{}/v1/forget", a.url))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("send");
    let status = response.status();
    let media = crate::served_schema::media(&response);
    let answer = response.json().await.unwrap_or(Value::Null);
    crate::served_schema::check(
        &a.url,
        "POST",
        "/v1/forget",
        status,
        media.as_deref(),
        &answer,
    )
    .await;
    (status, answer)
}

/// Each bad body is refused with its status, naming the field and the rule.
async fn bad_requests_are_refused(a: &Accord) {
    let cases: [(&str, StatusCode, &str, &str); 5] = [
        (
            "{\"person\": ",
            StatusCode::BAD_REQUEST,
            "body",
            "malformed JSON",
        ),
        (
            r#"{"person": "x", "requested_by_org": "riverside", "basis": "because"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "basis",
            "unknown variant",
        ),
        (
            r#"{"person": "x", "requested_by_org": "River Side", "basis": "consent_withdrawn"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "requested_by_org",
            "must match",
        ),
        (
            r#"{"person": "x", "requested_by_org": "riverside", "basis": "consent_withdrawn", "why": 1}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "why",
            "unknown field",
        ),
        (
            r#"{"person": "x", "requested_by_org": "riverside", "basis": "consent_withdrawn", "request_ref": "Ticket 17"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "request_ref",
            "must match",
        ),
    ];
    for (body, status, field, rule) in cases {
        let (got, answer) = post_forget(a, body).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_problem(&answer, status);
        let detail = answer["details"][0].clone();
        assert_eq!(detail["field"], field, "{body}: {answer}");
        assert!(
            detail["message"].as_str().is_some_and(|m| m.contains(rule)),
            "{body}: {answer}"
        );
    }
}

async fn last_position(a: &Accord) -> u64 {
    get_json(a, "/healthz").await["last_position"]
        .as_u64()
        .expect("last_position")
}

fn forget(a: &Accord, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "forget",
        "--person",
        "dr maya chen ",
        "--org",
        "riverside",
        "--as-org",
        "riverside",
        "--basis",
        "data_subject_request",
        "--request-ref",
        "dsr-2026-17",
        "--server",
        &a.url,
    ];
    args.extend_from_slice(extra);
    accord(&args)
}

/// What every reader shows once the person is forgotten; `dir` is a scratch directory.
async fn readers_show_no_trace(a: &Accord, dir: &Path) {
    let h = history(a, PARTNERSHIP).await.to_string();
    assert!(!h.contains(PERSON), "the history names no one erased");
    assert!(h.contains("[erased]") && h.contains(OTHER), "{h}");
    let (code, out, err) = accord(&["verify", PARTNERSHIP, "--server", &a.url]);
    assert_eq!(code, 0, "the chain still verifies: {out}{err}");
    for model in ["events", "summary", "flags"] {
        let file = dir.join(format!("{model}.jsonl"));
        let (code, out, err) = accord(&[
            "export",
            "--model",
            model,
            "--format",
            "jsonl",
            "--out",
            file.to_str().expect("utf-8"),
            "--server",
            &a.url,
        ]);
        assert_eq!(code, 0, "{out}{err}");
        let text = std::fs::read_to_string(&file).expect("export");
        assert!(
            !text.contains(PERSON),
            "the {model} export names no one erased"
        );
    }
    let page = dir.join("retro.html");
    let (code, out, err) = accord(&[
        "retro",
        PARTNERSHIP,
        "--out",
        page.to_str().expect("utf-8"),
        "--server",
        &a.url,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let page = std::fs::read_to_string(&page).expect("page");
    assert!(!page.contains(PERSON) && page.contains(OTHER));
}

/// Imports the example, forgets the person and checks every reader; gives the directory of a
/// backup taken afterwards.
async fn forget_the_person(a: &Accord, scratch: &Path) -> std::path::PathBuf {
    import_examples(a, &["jointworks-riverside-bundled-coe.jsonl"]);
    let before = last_position(a).await;
    caught_up(a, before).await;
    assert!(history(a, PARTNERSHIP).await.to_string().contains(PERSON));

    // Refused requests change nothing.
    bad_requests_are_refused(a).await;
    let (code, _, err) = forget(a, &["--partnership", "nobody-here"]);
    assert_eq!(code, 2, "an unknown partnership: {err}");
    assert!(err.contains("404") && err.contains("nobody-here"), "{err}");
    let (code, _, err) = accord(&[
        "forget",
        "--person",
        "  ",
        "--as-org",
        "riverside",
        "--basis",
        "consent_withdrawn",
        "--server",
        &a.url,
    ]);
    assert_eq!(code, 2, "an empty name: {err}");
    assert!(err.contains("person"), "the message names the field: {err}");
    assert_eq!(last_position(a).await, before, "nothing was recorded");

    let (code, out, err) = forget(a, &["--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let answer: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(answer["values"], 17, "{answer}");
    assert_eq!(answer["erased"][0]["partnership_id"], PARTNERSHIP);
    let erasure = answer["erased"][0]["revision"].as_u64().expect("revision");
    assert_eq!(erasure, before + 1, "one commit records the erasure");
    caught_up(a, erasure).await;

    let h = history(a, PARTNERSHIP).await;
    let recorded = h["events"]
        .as_array()
        .and_then(|e| e.last())
        .expect("events")
        .clone();
    assert_eq!(recorded["type"], "personal_data_erased");
    assert_eq!(recorded["data"]["basis"], "data_subject_request");
    assert_eq!(recorded["data"]["request_ref"], "dsr-2026-17");
    assert_eq!(
        recorded["data"]["digests"].as_array().map(Vec::len),
        Some(17)
    );
    readers_show_no_trace(a, scratch).await;

    let backup = scratch.join("backup");
    let (code, out, err) = accord(&[
        "backup",
        "--out",
        backup.to_str().expect("utf-8"),
        "--server",
        &a.url,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        files_holding(&backup, PERSON.as_bytes()),
        Vec::<String>::new()
    );
    assert!(!files_holding(&backup, OTHER.as_bytes()).is_empty());
    backup
}

/// After a restart: asked again, nothing is left to erase and nothing is recorded.
async fn asked_again(a: &Accord) {
    let last = last_position(a).await;
    let (code, out, err) = forget(a, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("nothing to erase"), "{out}");
    assert_eq!(last_position(a).await, last);
}

/// The backup restores into a fresh embedded store whose readers show no trace either.
async fn the_backup_restores_erased(backup: &Path) {
    let data = tempfile::tempdir().expect("dir");
    let (code, out, err) = accord(&[
        "restore",
        backup.to_str().expect("utf-8"),
        "--data-dir",
        data.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let restored = Accord::embedded(data.path());
    caught_up(&restored, last_position(&restored).await).await;
    let scratch = tempfile::tempdir().expect("dir");
    readers_show_no_trace(&restored, scratch.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_forgets_a_person() {
    let data = tempfile::tempdir().expect("dir");
    let scratch = tempfile::tempdir().expect("dir");
    let a = Accord::embedded(data.path());
    let backup = forget_the_person(&a, scratch.path()).await;
    a.stop();

    let again = Accord::up(&[
        "--data-dir",
        data.path().to_str().expect("utf-8"),
        "--rebuild",
    ]);
    caught_up(&again, last_position(&again).await).await;
    readers_show_no_trace(&again, scratch.path()).await;
    again.stop();
    assert_eq!(
        files_holding(data.path(), PERSON.as_bytes()),
        Vec::<String>::new(),
        "no file of the store holds the name"
    );
    assert!(!files_holding(data.path(), OTHER.as_bytes()).is_empty());
    the_backup_restores_erased(&backup).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_forgets_a_person() {
    let mut server = NatsServer::start(ServerVersion::Current).expect("nats-server");
    let scratch = tempfile::tempdir().expect("dir");
    let a = Accord::jetstream(&server);
    let backup = forget_the_person(&a, scratch.path()).await;
    a.stop();
    server.stop().expect("stop nats-server");
    assert_eq!(
        files_holding(server.store_dir(), PERSON.as_bytes()),
        Vec::<String>::new(),
        "no file of the server's store holds the name"
    );
    assert!(!files_holding(server.store_dir(), OTHER.as_bytes()).is_empty());

    server.start_again().expect("start nats-server again");
    let again = Accord::up(&["--nats", &server.url(), "--rebuild"]);
    caught_up(&again, last_position(&again).await).await;
    readers_show_no_trace(&again, scratch.path()).await;
    asked_again(&again).await;
    the_backup_restores_erased(&backup).await;
}
