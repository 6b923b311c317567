//! End to end through the real `accord` binary: `accord up` on both backends, the HTTP answers,
//! the client commands and their exit codes.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{
    Accord, accord, accord_dev, assert_problem, error_code, history, http, meeting, metrics,
    new_token, post, post_raw, proposal, revision,
};
use crate::harness::{NatsServer, ServerVersion, workspace_root};

/// Every answer code of the append, and the ledger unchanged after each error.
async fn answers_and_bad_input(a: &Accord) {
    let p = "acme-stmary";
    let (status, body) = post(a, p, &json!([proposal(), meeting("m1")]), &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["partnership_id"], "acme-stmary");
    assert_eq!(body["event_ids"].as_array().map(Vec::len), Some(2));
    let rev = body["revision"].as_u64().expect("revision");
    assert_eq!(body["position"].as_u64(), Some(rev));
    let before = history(a, p).await;

    /// What is sent, what it is, and the answer and field expected.
    type Case = (
        &'static str,
        Vec<u8>,
        Vec<(&'static str, &'static str)>,
        StatusCode,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            b"{\"type\": ".to_vec(),
            vec![],
            StatusCode::BAD_REQUEST,
            "body",
        ),
        (
            "unknown event type",
            json!({"type": "meeting_teleported", "occurred_at": "2026-02-01T09:00:00Z",
                   "actor": {"org": "acme"}, "data": {}})
            .to_string()
            .into_bytes(),
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "events[0].type",
        ),
        (
            "a field out of range",
            json!({"type": "health_check_responded", "occurred_at": "2026-02-01T09:00:00Z",
                   "actor": {"org": "stmary"},
                   "data": {"wave_id": "w1", "respondent_org": "stmary", "dimension": "strategy",
                            "score": 9}})
            .to_string()
            .into_bytes(),
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "events[0].data.score",
        ),
        (
            "an id that is not a subject token",
            json!({"type": "meeting_requested", "occurred_at": "2026-02-01T09:00:00Z",
                   "actor": {"org": "acme"},
                   "data": {"meeting_id": "m.>", "requested_by_org": "acme", "purpose": "x"}})
            .to_string()
            .into_bytes(),
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "events[0].data.meeting_id",
        ),
        (
            "a float for money",
            json!({"type": "deal_registered", "occurred_at": "2026-02-01T09:00:00Z",
                   "actor": {"org": "acme"},
                   "data": {"deal_id": "d1", "account": "Mercy", "sourced_by_org": "acme",
                            "value": 10.5, "currency": "USD"}})
            .to_string()
            .into_bytes(),
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "events[0].data.value",
        ),
        (
            "a rule of the domain",
            meeting("m1").to_string().into_bytes(),
            vec![],
            StatusCode::UNPROCESSABLE_ENTITY,
            "events[0].data.meeting_id",
        ),
        (
            "an oversized body",
            vec![b' '; 2 * 1024 * 1024],
            vec![],
            StatusCode::PAYLOAD_TOO_LARGE,
            "",
        ),
        (
            "a stale revision",
            meeting("m2").to_string().into_bytes(),
            vec![("If-Match", "0")],
            StatusCode::CONFLICT,
            "",
        ),
        (
            "a bad If-Match",
            meeting("m2").to_string().into_bytes(),
            vec![("If-Match", "yesterday")],
            StatusCode::BAD_REQUEST,
            "If-Match",
        ),
    ];
    for (what, body, headers, want, field) in cases {
        let (status, answer) = post_raw(a, p, body, &headers).await;
        assert_eq!(status, want, "{what}: {answer}");
        assert_problem(&answer, want);
        if !field.is_empty() {
            let fields: Vec<&str> = answer["details"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d["field"].as_str())
                .collect();
            assert_eq!(fields, [field], "{what}: {answer}");
        }
        assert_eq!(
            history(a, p).await,
            before,
            "{what} left the ledger unchanged"
        );
    }
    let (status, answer) = post(a, p, &meeting("m2"), &[("If-Match", "0")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_problem(&answer, StatusCode::CONFLICT);
    assert_eq!(
        (&answer["error"], &answer["expected"], &answer["actual"]),
        (&json!("conflict"), &json!(0), &json!(rev)),
        "{answer}"
    );

    let (status, answer) = post(a, "nobody", &meeting("m1"), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, answer) = post(a, "Not.A.Token", &meeting("m1"), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["details"][0]["field"], "partnership_id");
    assert_eq!(history(a, p).await, before);

    // With the right revision, and idempotent retries.
    let rev_s = rev.to_string();
    let headers = [("If-Match", rev_s.as_str()), ("Idempotency-Key", "req-42")];
    let (status, first) = post(a, p, &meeting("m2"), &headers).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let resp = http()
        .post(a.events_url(p))
        .header("Idempotency-Key", "req-42")
        .header("If-Match", rev_s.as_str())
        .body(meeting("m2").to_string())
        .send()
        .await
        .expect("retry");
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(
        resp.headers()
            .get("Idempotent-Replayed")
            .map(|v| v.to_str().unwrap_or("")),
        Some("true")
    );
    let again: Value = resp.json().await.expect("json");
    assert_eq!(again, first, "a retry answers as the first time");
    assert_eq!(
        history(a, p).await["events"].as_array().map(Vec::len),
        Some(3),
        "the retry appended nothing"
    );
}

/// Concurrent appends to one partnership: without If-Match all land; with If-Match on the same
/// revision exactly one does and the others get 409.
async fn concurrent_appends(a: &Accord) {
    let p = "busy";
    assert_eq!(post(a, p, &proposal(), &[]).await.0, StatusCode::CREATED);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let url = a.events_url(p);
            tokio::spawn(async move {
                http()
                    .post(url)
                    .body(meeting(&format!("free{i}")).to_string())
                    .send()
                    .await
                    .expect("send")
                    .status()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("task"), StatusCode::CREATED);
    }
    let rev = revision(a, p).await.to_string();
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let url = a.events_url(p);
            let rev = rev.clone();
            tokio::spawn(async move {
                http()
                    .post(url)
                    .header("If-Match", rev)
                    .body(meeting(&format!("strict{i}")).to_string())
                    .send()
                    .await
                    .expect("send")
                    .status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task"));
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        19
    );
    assert_eq!(
        history(a, p).await["events"].as_array().map(Vec::len),
        Some(1 + 20 + 1)
    );
}

/// Health, metrics and the partnership list answer.
async fn health_metrics_and_list(a: &Accord) {
    let health: Value = http()
        .get(format!("{}/healthz", a.url))
        .send()
        .await
        .expect("healthz")
        .json()
        .await
        .expect("json");
    assert_eq!(health["status"], "ok");
    let metrics = metrics(a).await;
    for name in [
        "accord_appends_total",
        "accord_conflicts_total",
        "accord_errors_total{kind=\"validation\"}",
        "accord_append_seconds_bucket",
    ] {
        assert!(metrics.contains(name), "{name} in\n{metrics}");
    }
    let list: Value = http()
        .get(format!("{}/v1/partnerships", a.url))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let first = &list["partnerships"][0];
    assert_eq!(first["partnership_id"], "acme-stmary");
    assert_eq!(first["parties"], json!(["acme", "stmary"]));
    assert_eq!(first["event_count"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_on_the_embedded_backend() {
    let dir = tempfile::tempdir().expect("dir");
    let a = Accord::embedded(dir.path());
    answers_and_bad_input(&a).await;
    concurrent_appends(&a).await;
    health_metrics_and_list(&a).await;
    a.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_on_jetstream() {
    let server = NatsServer::start(ServerVersion::Current).expect("server");
    let a = Accord::jetstream(&server);
    answers_and_bad_input(&a).await;
    concurrent_appends(&a).await;
    health_metrics_and_list(&a).await;
    a.stop();
}

/// With the log unreachable the API answers 503 and appends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_log_answers_503() {
    let mut server = NatsServer::start(ServerVersion::Current).expect("server");
    let a = Accord::jetstream(&server);
    assert_eq!(
        post(&a, "p1", &proposal(), &[]).await.0,
        StatusCode::CREATED
    );
    server.stop().expect("stop nats");
    let (status, body) = post(&a, "p1", &meeting("m1"), &[]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let health = http()
        .get(format!("{}/healthz", a.url))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// The client commands and their exit codes; `accord verify` catches a tampered store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_records_reads_and_verifies() {
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("store");
    let a = Accord::embedded(&store);
    let file = dir.path().join("commit.json");
    std::fs::write(&file, json!([proposal(), meeting("m1")]).to_string()).expect("write");
    let f = file.to_str().expect("utf-8");
    let s = a.url.clone();

    let (code, out, err) = accord(&["record", "acme-stmary", "--file", f, "--server", &s]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("recorded 2 event(s) in acme-stmary at revision 1"),
        "{out}"
    );

    let (code, _, err) = accord(&["record", "acme-stmary", "--file", f, "--server", &s]);
    assert_eq!(code, 2, "a re-proposal is bad input");
    assert!(
        err.contains("events[0].type: the partnership was already proposed"),
        "{err}"
    );

    std::fs::write(&file, meeting("m2").to_string()).expect("write");
    let (code, _, err) = accord(&[
        "record",
        "acme-stmary",
        "--file",
        f,
        "--if-match",
        "0",
        "--server",
        &s,
    ]);
    assert_eq!(code, 1, "a conflict is a failure: {err}");
    assert!(err.contains("409"), "{err}");
    let (code, out, _) = accord(&[
        "record",
        "acme-stmary",
        "--file",
        f,
        "--idempotency-key",
        "k1",
        "--server",
        &s,
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("revision 2"), "{out}");

    let (code, out, _) = accord(&["history", "acme-stmary", "--server", &s]);
    assert_eq!(code, 0);
    assert_eq!(
        out.lines().count(),
        1 + 3,
        "a header and three events:\n{out}"
    );
    assert!(out.contains("partnership_proposed") && out.contains("meeting_requested"));
    let (code, out, _) = accord(&["history", "acme-stmary", "--json", "--server", &s]);
    assert_eq!(code, 0);
    let json: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json["events"].as_array().map(Vec::len), Some(3));
    let (code, _, err) = accord(&["history", "acme-stmary", "--as-of", "soon", "--server", &s]);
    assert_eq!(code, 2, "{err}");
    let first_recorded = json["events"][0]["recorded_at"]
        .as_str()
        .expect("recorded_at");
    let (code, out, _) = accord(&[
        "history",
        "acme-stmary",
        "--json",
        "--as-of",
        first_recorded,
        "--server",
        &s,
    ]);
    assert_eq!(code, 0);
    let then: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        then["events"].as_array().map(Vec::len),
        Some(2),
        "as of the first commit's recording time, the second is not yet known"
    );

    let (code, out, _) = accord(&["verify", "--server", &s]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("acme-stmary: ok, 2 commits"), "{out}");

    a.stop();
    let db = sled::open(&store).expect("open store");
    let mut key = vec![b'c'];
    key.extend_from_slice(&2u64.to_be_bytes());
    let mut value = db.get(&key).expect("get").expect("commit 2").to_vec();
    let at = value.len() - 40;
    value[at] ^= 1;
    db.insert(key, value).expect("tamper");
    db.flush().expect("flush");
    drop(db);
    let a = Accord::embedded(&store);
    let (code, out, _) = accord(&["verify", "acme-stmary", "--server", &a.url]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at position 2"), "{out}");

    let (code, _, err) = accord(&["history", "nobody", "--server", &a.url]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = accord(&["verify", "--server", "http://127.0.0.1:9"]);
    assert_eq!(code, 1, "an unreachable server is a failure: {err}");
}

/// `accord import`: appended, skipped as duplicates and rejected lines with their numbers and
/// reasons; stop or continue on error as the flag says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_reports_appended_skipped_and_rejected_lines() {
    let dir = tempfile::tempdir().expect("dir");
    let a = Accord::embedded(&dir.path().join("store"));
    let with_id = |mut e: Value| {
        e["partnership_id"] = json!("acme-stmary");
        e.to_string()
    };
    let bad_meeting = json!({"type": "meeting_held", "occurred_at": "2026-02-02T09:00:00Z",
        "actor": {"org": "acme"},
        "data": {"meeting_id": "m9", "in_person": false,
                 "attendees": [{"org": "acme", "person": "Ana", "seniority": "staff"}]}});
    let lines = [
        json!({"partnership_id": "acme-stmary", "events": [proposal()]}).to_string(),
        with_id(meeting("m1")),
        with_id(bad_meeting),
        "not json".to_owned(),
        String::new(),
        with_id(meeting("m2")),
    ];
    let file = dir.path().join("history.jsonl");
    std::fs::write(&file, lines.join("\n")).expect("write");
    let f = file.to_str().expect("utf-8");

    let (code, out, _) = accord(&["import", f, "--server", &a.url]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("2 commits appended (2 events), 0 skipped as duplicates, 1 lines rejected"),
        "stops at the first refused line: {out}"
    );
    assert!(
        out.contains(
            "line 3: 422 Unprocessable Entity: events[0].data.meeting_id: unknown meeting m9"
        ),
        "{out}"
    );

    let (code, out, _) = accord(&["import", f, "--on-error", "continue", "--server", &a.url]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("1 commits appended (1 events), 2 skipped as duplicates, 2 lines rejected"),
        "{out}"
    );
    assert!(out.contains("line 4: malformed JSON"), "{out}");
    assert_eq!(
        history(&a, "acme-stmary").await["events"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let (code, out, _) = accord(&["import", f, "--on-error", "continue", "--server", &a.url]);
    assert_eq!(code, 2);
    assert!(
        out.contains("0 commits appended (0 events), 3 skipped as duplicates"),
        "{out}"
    );
}

/// The examples import cleanly through the real binary, on both backends, and verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_import_and_verify() {
    let dir = tempfile::tempdir().expect("dir");
    let server = NatsServer::start(ServerVersion::Minimum).expect("server");
    for a in [Accord::embedded(dir.path()), Accord::jetstream(&server)] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(workspace_root().join("examples"))
            .expect("examples")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        files.sort();
        assert_eq!(files.len(), 5);
        for f in &files {
            let (code, out, err) =
                accord(&["import", f.to_str().expect("utf-8"), "--server", &a.url]);
            assert_eq!(code, 0, "{}: {out}{err}", f.display());
            assert!(
                out.contains(", 0 skipped as duplicates, 0 lines rejected"),
                "{out}"
            );
        }
        let (code, out, _) = accord(&["verify", "--server", &a.url]);
        assert_eq!(code, 0, "{out}");
        assert_eq!(
            out.lines().filter(|l| l.contains(": ok, ")).count(),
            5,
            "{out}"
        );
        a.stop();
    }
}

/// The README's first command: the demo runs with no server and shows the samples.
#[test]
fn the_demo_runs_without_a_server() {
    let dir = tempfile::tempdir().expect("dir");
    let reports = dir.path().join("reports");
    let (code, out, err) = accord(&["demo", "--reports", reports.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("hash chain of acme-stmary: 5 commits, every link holds"),
        "{out}"
    );
    assert!(
        out.contains("refused: validation failed: events[0].data.meeting_id: unknown meeting m9")
    );
    for p in [
        "acme-stmary-rpm",
        "jointworks-riverside",
        "frontdoor-metro-carefirst",
        "medai-lakeside",
        "tinyrx-megahealth",
    ] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(p))
            .unwrap_or_else(|| panic!("{p} in\n{out}"));
        assert!(line.trim_end().ends_with("ok"), "{line}");
    }
    // Then the projector's summary of each: the worked example ends with R1 at warn (step 5).
    assert!(
        out.contains("the projector folded all 185 commits into read models"),
        "{out}"
    );
    for p in ["acme-stmary", "medai-lakeside", "tinyrx-megahealth"] {
        assert!(
            out.contains(&format!("\n{p} summary as of ")),
            "{p} in\n{out}"
        );
    }
    assert!(
        out.contains("red flag   warn     R1 unwilling_partner (acme>stmary): acme made the last two requests"),
        "{out}"
    );
    assert!(
        out.contains("R14 fomo: proposed because a competitor did it"),
        "{out}"
    );
    // R2 weighs materiality first: tinyrx earns most of its revenue through megahealth.
    assert!(
        out.contains(
            "R2 over_reliance (tinyrx): tinyrx earns 86% of its revenue through megahealth"
        ),
        "{out}"
    );
    // Last, a retrospective per sample partnership (tests/retro.rs renders them).
    let written = std::fs::read_dir(&reports).expect("the reports").count();
    assert_eq!(written, 5, "{out}");
    // The centre of excellence done right: each side earns a few percent through the other, so
    // neither relies on it, though each lists only that partner.
    let coe = std::fs::read_to_string(reports.join("jointworks-riverside.html")).expect("report");
    assert!(
        !coe.contains("over_reliance"),
        "no R2 in jointworks-riverside"
    );
    assert!(
        coe.contains("earns 7% of its revenue through partners"),
        "the retro shows why"
    );
}

/// Programs on NATS append through `accord.ledger.append` with the same JSON and answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nats_service_appends_like_the_api() {
    let server = NatsServer::start(ServerVersion::Current).expect("server");
    let a = Accord::jetstream(&server);
    let client = async_nats::connect(server.url()).await.expect("connect");
    let ask = |body: Value, headers: Vec<(&'static str, &'static str)>| {
        let client = client.clone();
        async move {
            let mut h = async_nats::HeaderMap::new();
            for (k, v) in headers {
                h.insert(k, v);
            }
            let reply = client
                .request_with_headers("accord.ledger.append", h, body.to_string().into())
                .await
                .expect("reply");
            let code = error_code(&reply);
            let replayed = reply
                .headers
                .as_ref()
                .and_then(|h| h.get("Idempotent-Replayed"))
                .is_some();
            let body: Value = serde_json::from_slice(&reply.payload).expect("json");
            (code, replayed, body)
        }
    };
    let mut first = json!({"partnership_id": "acme-stmary", "events": [proposal()]});
    let (code, _, body) = ask(first.clone(), vec![("Idempotency-Key", "p-1")]).await;
    assert_eq!(code, None, "{body}");
    assert_eq!(body["revision"], 1);
    let (code, replayed, again) = ask(first.clone(), vec![("Idempotency-Key", "p-1")]).await;
    assert_eq!((code, replayed), (None, true));
    assert_eq!(again, body);

    let mut single = meeting("m1");
    single["partnership_id"] = json!("acme-stmary");
    let (code, _, body) = ask(single.clone(), vec![("If-Match", "1")]).await;
    assert_eq!(code, None, "{body}");
    assert_eq!(body["revision"], 2);
    let (code, _, body) = ask(single.clone(), vec![("If-Match", "1")]).await;
    assert_eq!(code.as_deref(), Some("409"), "{body}");
    assert_eq!(body["actual"], 2);
    let (code, _, body) = ask(single, vec![]).await;
    assert_eq!(code.as_deref(), Some("422"), "{body}");
    assert_eq!(body["details"][0]["field"], "events[0].data.meeting_id");
    first["partnership_id"] = json!("Bad Id");
    let (code, _, _) = ask(first, vec![]).await;
    assert_eq!(code.as_deref(), Some("400"));
    assert_eq!(
        history(&a, "acme-stmary").await["events"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "only the two good commits landed"
    );
}

async fn send(
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<&Value>,
) -> StatusCode {
    let mut req = http().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    req.send().await.expect("send").status()
}

/// With a token file: 401 without a good token; writers write only as their org, to their
/// partnerships; readers and writers read only their orgs' partnerships; auditors read all and
/// write nothing. Violations change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_bind_orgs_and_roles_on_the_embedded_backend() {
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("store");
    tokens_bind_orgs_and_roles(&["--data-dir", store.to_str().expect("utf-8")]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_bind_orgs_and_roles_on_jetstream() {
    let server = NatsServer::start(ServerVersion::Minimum).expect("server");
    tokens_bind_orgs_and_roles(&["--nats", &server.url()]).await;
}

async fn tokens_bind_orgs_and_roles(backend: &[&str]) {
    use reqwest::Method;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("tokens.json");
    let acme = new_token(&file, "acme", "writer", "acme-crm");
    let stmary = new_token(&file, "stmary", "reader", "stmary-bi");
    let globex = new_token(&file, "globex", "writer", "globex-crm");
    let audit = new_token(&file, "audit-co", "auditor", "auditors");
    let stored = std::fs::read_to_string(&file).expect("token file");
    for t in [&acme, &stmary, &globex, &audit] {
        assert!(!stored.contains(t.as_str()), "tokens are stored hashed");
    }

    let mut args = backend.to_vec();
    args.extend([
        "--tokens",
        file.to_str().expect("utf-8"),
        "--http",
        "0.0.0.0:0",
        "--insecure-http",
    ]);
    let a = Accord::up(&args);
    let url = a.url.replace("0.0.0.0", "127.0.0.1");
    let events = format!("{url}/v1/partnerships/acme-stmary/events");
    let list = format!("{url}/v1/partnerships");

    assert_eq!(
        send(Method::POST, events.clone(), None, Some(&proposal())).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(
            Method::POST,
            events.clone(),
            Some("acc_wrong"),
            Some(&proposal())
        )
        .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(
            Method::POST,
            events.clone(),
            Some(&globex),
            Some(&proposal())
        )
        .await,
        StatusCode::FORBIDDEN,
        "globex proposes as acme"
    );
    let mut foreign = proposal();
    foreign["actor"]["org"] = json!("globex");
    assert_eq!(
        send(Method::POST, events.clone(), Some(&globex), Some(&foreign)).await,
        StatusCode::FORBIDDEN,
        "globex is not a party"
    );
    assert_eq!(
        send(
            Method::POST,
            events.clone(),
            Some(&stmary),
            Some(&proposal())
        )
        .await,
        StatusCode::FORBIDDEN,
        "a reader writes nothing"
    );
    assert_eq!(
        send(Method::POST, events.clone(), Some(&acme), Some(&proposal())).await,
        StatusCode::CREATED
    );

    let mut as_stmary = meeting("m1");
    as_stmary["actor"]["org"] = json!("stmary");
    assert_eq!(
        send(Method::POST, events.clone(), Some(&acme), Some(&as_stmary)).await,
        StatusCode::FORBIDDEN,
        "acme records as stmary"
    );
    let mut by_globex = meeting("m1");
    by_globex["actor"]["org"] = json!("globex");
    assert_eq!(
        send(
            Method::POST,
            events.clone(),
            Some(&globex),
            Some(&by_globex)
        )
        .await,
        StatusCode::NOT_FOUND,
        "another org's partnership answers as an unknown one"
    );
    assert_eq!(
        send(
            Method::POST,
            events.clone(),
            Some(&audit),
            Some(&meeting("m1"))
        )
        .await,
        StatusCode::FORBIDDEN,
        "an auditor writes nothing"
    );
    assert_eq!(
        send(
            Method::POST,
            events.clone(),
            Some(&acme),
            Some(&meeting("m1"))
        )
        .await,
        StatusCode::CREATED
    );

    assert_eq!(
        send(Method::GET, events.clone(), None, None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(Method::GET, events.clone(), Some(&globex), None).await,
        StatusCode::NOT_FOUND
    );
    for t in [&acme, &stmary, &audit] {
        assert_eq!(
            send(Method::GET, events.clone(), Some(t), None).await,
            StatusCode::OK
        );
    }
    let verify = format!("{url}/v1/partnerships/acme-stmary/verify");
    assert_eq!(
        send(Method::GET, verify.clone(), Some(&globex), None).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(Method::GET, verify, Some(&stmary), None).await,
        StatusCode::OK
    );

    let listed = |token: String| {
        let list = list.clone();
        async move {
            let body: Value = http()
                .get(list)
                .bearer_auth(token)
                .send()
                .await
                .expect("list")
                .json()
                .await
                .expect("json");
            body["partnerships"].as_array().map_or(0, Vec::len)
        }
    };
    assert_eq!(listed(globex.clone()).await, 0, "globex sees none");
    assert_eq!(listed(stmary.clone()).await, 1);
    assert_eq!(listed(audit.clone()).await, 1);

    let body: Value = http()
        .get(events.clone())
        .bearer_auth(&audit)
        .send()
        .await
        .expect("history")
        .json()
        .await
        .expect("json");
    assert_eq!(
        body["events"].as_array().map(Vec::len),
        Some(2),
        "only the two allowed commits landed"
    );

    let (code, out, err) = accord(&[
        "history",
        "acme-stmary",
        "--server",
        &url,
        "--token",
        &stmary,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, _, err) = accord(&["history", "acme-stmary", "--server", &url]);
    assert_eq!(code, 1, "401 is a failure: {err}");
    assert!(err.contains("401"), "{err}");
}

/// Without a token file the server refuses to listen beyond loopback, and says why.
#[test]
fn an_open_server_binds_loopback_only() {
    let dir = tempfile::tempdir().expect("dir");
    let (code, _, err) = accord(&[
        "up",
        "--data-dir",
        dir.path().to_str().expect("utf-8"),
        "--http",
        "0.0.0.0:0",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("refusing to listen on 0.0.0.0:0"), "{err}");
}

/// `accord-dev gen` is deterministic for a seed, and everything it writes imports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_histories_are_deterministic_and_valid() {
    let dir = tempfile::tempdir().expect("dir");
    let file = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    let generate_of = |partnerships: &str, events: &str, seed: &str, out: &str| {
        let (code, _, err) = accord_dev(&[
            "gen",
            "--partnerships",
            partnerships,
            "--events",
            events,
            "--seed",
            seed,
            "--out",
            out,
        ]);
        assert_eq!(code, 0, "{err}");
        std::fs::read_to_string(out).expect("read")
    };
    let generate = |seed: &str, out: &str| generate_of("12", "600", seed, out);
    let a1 = generate("7", &file("a1.jsonl"));
    assert_eq!(
        a1,
        generate("7", &file("a2.jsonl")),
        "the same seed, the same history"
    );
    assert_ne!(
        a1,
        generate("8", &file("b.jsonl")),
        "another seed, another history"
    );
    assert_eq!(a1.lines().count(), 600);

    let a = Accord::embedded(&dir.path().join("store"));
    let (code, out, err) = accord(&["import", &file("a1.jsonl"), "--server", &a.url]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(
            "600 commits appended (600 events), 0 skipped as duplicates, 0 lines rejected"
        ),
        "{out}"
    );
    // Few events per partnership: the jittered clock must still stay in the past.
    generate_of("300", "900", "1", &file("sparse.jsonl"));
    let sparse = Accord::embedded(&dir.path().join("sparse-store"));
    let (code, out, err) = accord(&["import", &file("sparse.jsonl"), "--server", &sparse.url]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(
            "900 commits appended (900 events), 0 skipped as duplicates, 0 lines rejected"
        ),
        "{out}"
    );
}

/// SIGTERM while appends are in flight: every append answered 201 is in the store after a
/// restart, nothing else is, and the chain holds (nothing half-written).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_what_it_accepted() {
    const REQUESTS: usize = 300;
    const BEFORE_STOP: usize = 10;
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("store");
    let a = Accord::embedded(&store);
    assert_eq!(post(&a, "p", &proposal(), &[]).await.0, StatusCode::CREATED);
    let (answered, mut answered_rx) = tokio::sync::watch::channel(0usize);
    let answered = std::sync::Arc::new(answered);
    let requests: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let url = a.events_url("p");
            let answered = answered.clone();
            tokio::spawn(async move {
                let response = http()
                    .post(url)
                    .body(meeting(&format!("m{i}")).to_string())
                    .send()
                    .await
                    .ok()?;
                if response.status() != StatusCode::CREATED {
                    return None;
                }
                let body = response.json::<Value>().await.ok()?;
                answered.send_modify(|n| *n += 1);
                Some(body)
            })
        })
        .collect();
    // Stop once some appends were answered, while the others are still in flight or unsent.
    tokio::time::timeout(
        Duration::from_secs(30),
        answered_rx.wait_for(|n| *n >= BEFORE_STOP),
    )
    .await
    .expect("appends are answered")
    .expect("watch");
    tokio::task::spawn_blocking(move || a.stop())
        .await
        .expect("stop");
    let mut acknowledged = BTreeSet::new();
    for r in requests {
        if let Some(answer) = r.await.expect("task") {
            acknowledged.insert(answer["event_ids"][0].as_str().expect("id").to_owned());
        }
    }
    assert!(acknowledged.len() >= BEFORE_STOP);
    let a = Accord::embedded(&store);
    let stored: BTreeSet<String> = history(&a, "p").await["events"]
        .as_array()
        .expect("events")
        .iter()
        .skip(1)
        .map(|e| e["event_id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(
        stored, acknowledged,
        "exactly the acknowledged appends are stored"
    );
    let (code, out, _) = accord(&["verify", "p", "--server", &a.url]);
    assert_eq!(code, 0, "{out}");
}

/// Two ledger processes on one JetStream: concurrent appends without If-Match. The loser of a
/// race re-reads and re-decides, a bounded number of times (`MAX_DECIDE_ATTEMPTS`), then answers
/// 409. Every 201 is stored once, a 409 stored nothing, and the chain holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ledger_processes_share_a_partnership() {
    let server = NatsServer::start(ServerVersion::Current).expect("server");
    let first = Accord::jetstream(&server);
    let second = Accord::jetstream(&server);
    assert_eq!(
        post(&first, "shared", &proposal(), &[]).await.0,
        StatusCode::CREATED
    );
    let urls = [first.events_url("shared"), second.events_url("shared")];
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let url = urls[i % 2].clone();
            tokio::spawn(async move {
                let response = http()
                    .post(url)
                    .body(meeting(&format!("m{i}")).to_string())
                    .send()
                    .await
                    .expect("send");
                let status = response.status();
                let body: Value = response.json().await.expect("json");
                (status, body)
            })
        })
        .collect();
    let mut ids = BTreeSet::new();
    for t in tasks {
        let (status, body) = t.await.expect("task");
        match status {
            StatusCode::CREATED => {
                ids.insert(body["event_ids"][0].as_str().expect("id").to_owned());
            }
            StatusCode::CONFLICT => assert_eq!(body["error"], "conflict", "{body}"),
            other => panic!("unexpected answer {other}: {body}"),
        }
    }
    // A request that gave up lost every attempt to a commit of the other process, each of them
    // a 201: so at least that many landed.
    assert!(
        ids.len() >= accord_ledger::MAX_DECIDE_ATTEMPTS,
        "{} landed",
        ids.len()
    );
    let stored: Vec<String> = history(&second, "shared").await["events"]
        .as_array()
        .expect("events")
        .iter()
        .skip(1)
        .map(|e| e["event_id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(
        stored.len(),
        ids.len(),
        "each acknowledged append once, nothing else"
    );
    assert_eq!(stored.into_iter().collect::<BTreeSet<_>>(), ids);
    let (code, out, _) = accord(&["verify", "shared", "--server", &first.url]);
    assert_eq!(code, 0, "{out}");
}
