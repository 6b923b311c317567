//! End to end through the real `accord` binary: `accord up` on both backends, the answers of its
//! HTTP API and of its NATS service, a log out of reach, shutdown with appends in flight, and
//! two ledger processes on one stream. The client commands are `commands.rs`'s, access by token
//! `access.rs`'s.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{
    Accord, accord, assert_problem, error_code, history, http, meeting, metrics, post, post_raw,
    proposal, revision,
};
use crate::harness::{NatsServer, ServerVersion};

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
