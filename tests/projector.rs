//! The read side end to end through the real binary: the query routes on both backends, live
//! and past `as_of`, the NATS query endpoints, and a projector killed with SIGKILL mid-stream
//! that restarts (and rebuilds) to exactly the read models of an uninterrupted run.

use std::time::{Duration, Instant};

use accord_domain::Event;
use accord_domain::models::{Axes, Model, ModelSettings, evaluate};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::app::{
    Accord, CATCH_UP, accord, accord_dev, assert_problem, caught_up, error_code, http, metrics,
    post, projector,
};
use crate::harness::{NatsServer, ServerVersion};

/// An `as_of` after everything, so that answers do not depend on the clock.
const LATER: &str = "2030-01-01T00:00:00Z";

async fn get(url: &str) -> (StatusCode, Value) {
    let resp = http().get(url).send().await.expect("send");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn model(a: &Accord, p: &str, m: &str, as_of: &str) -> (StatusCode, Value) {
    get(&format!(
        "{}/v1/partnerships/{p}/{m}?as_of={}",
        a.url,
        as_of.replace('+', "%2B")
    ))
    .await
}

fn event(at: &str, org: &str, kind: &str, data: Value) -> Value {
    json!({"type": kind, "occurred_at": at, "actor": {"org": org}, "data": data})
}

/// The worked example of docs/domain.md, steps 1 to 4 (step 5 retracts the follow-up).
fn worked_example() -> Vec<Value> {
    let proposal = event(
        "2026-02-01T09:00:00Z",
        "acme",
        "partnership_proposed",
        json!({"parties": [{"org": "acme", "name": "Acme", "kind": "vendor"},
                           {"org": "stmary", "name": "St Mary", "kind": "health_system"}],
               "vision": "v"}),
    );
    let steps = vec![
        proposal,
        event(
            "2026-02-01T10:00:00Z",
            "acme",
            "meeting_requested",
            json!({"meeting_id": "m1", "requested_by_org": "acme", "purpose": "p"}),
        ),
        event(
            "2026-02-01T11:00:00Z",
            "stmary",
            "meeting_scheduled",
            json!({"meeting_id": "m1", "starts_at": "2026-02-02T10:00:00Z", "host_org": "stmary"}),
        ),
        event(
            "2026-02-02T10:00:00Z",
            "acme",
            "meeting_held",
            json!({"meeting_id": "m1", "in_person": false, "attendees": [
                {"org": "acme", "person": "A", "seniority": "staff"},
                {"org": "stmary", "person": "S", "seniority": "exec"}]}),
        ),
        event(
            "2026-02-03T10:00:00Z",
            "acme",
            "follow_up_proposed",
            json!({"by_org": "acme"}),
        ),
        event(
            "2026-02-04T10:00:00Z",
            "acme",
            "meeting_requested",
            json!({"meeting_id": "m2", "requested_by_org": "acme", "purpose": "p"}),
        ),
        event(
            "2026-02-04T11:00:00Z",
            "acme",
            "meeting_scheduled",
            json!({"meeting_id": "m2", "starts_at": "2026-02-09T10:00:00Z", "host_org": "acme"}),
        ),
        event(
            "2026-02-08T10:00:00Z",
            "stmary",
            "meeting_cancelled",
            json!({"meeting_id": "m2", "by_org": "stmary", "notice_hours": 24, "reason": "r"}),
        ),
    ];
    steps
}

fn r1(flags: &Value) -> Option<String> {
    flags["open"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["rule_id"] == "R1")
        .map(|f| f["severity"].as_str().unwrap_or("-").to_owned())
}

/// Records the worked example, then checks every query against what it must say, live and as
/// the ledger knew it before the retraction.
async fn queries_answer_live_and_past(a: &Accord) {
    let p = "acme-stmary";
    let steps = worked_example();
    let mut follow_up = None;
    for e in &steps {
        let (status, body) = post(a, p, e, &[]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        if e["type"] == "follow_up_proposed" {
            follow_up = body["event_ids"][0].as_str().map(str::to_owned);
        }
    }
    let head = get(&format!("{}/healthz", a.url)).await.1["last_position"]
        .as_u64()
        .expect("last_position");
    caught_up(a, head).await;
    let (status, flags) = model(a, p, "flags", LATER).await;
    assert_eq!(status, StatusCode::OK, "{flags}");
    assert_eq!(flags["partnership_id"], p);
    assert_eq!(r1(&flags).as_deref(), Some("critical"), "step 3: {flags}");
    let (_, trust) = model(a, p, "trust", LATER).await;
    let stmary = trust["orgs"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["org"] == "stmary"))
        .expect("stmary's timeline");
    assert!(
        stmary["points"]
            .as_array()
            .expect("points")
            .iter()
            .any(|pt| pt["rule_id"] == "T5"),
        "step 4: {stmary}"
    );

    // Everything recorded so far was recorded before `before`.
    let before = OffsetDateTime::now_utc().format(&Rfc3339).expect("rfc3339");
    let retraction = event(
        "2026-02-10T10:00:00Z",
        "acme",
        "event_retracted",
        json!({"target_event_id": follow_up.expect("follow-up id"), "reason": "wrong partnership"}),
    );
    let (status, body) = post(a, p, &retraction, &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    caught_up(a, head + 1).await;
    let (_, now) = model(a, p, "flags", LATER).await;
    assert_eq!(r1(&now).as_deref(), Some("warn"), "step 5: {now}");
    let (_, trust) = model(a, p, "trust", LATER).await;
    let acme = trust["orgs"]
        .as_array()
        .and_then(|o| o.iter().find(|o| o["org"] == "acme"))
        .expect("acme's timeline");
    assert!(
        !acme["points"]
            .as_array()
            .expect("points")
            .iter()
            .any(|pt| pt["rule_id"] == "T8"),
        "step 5 removes acme's T8 point: {acme}"
    );

    // As of `before`, the ledger had not heard of the retraction: every model equals a fresh
    // fold of the events recorded by then.
    let (_, history) = get(&format!(
        "{}/v1/partnerships/{p}/events?as_of={}",
        a.url,
        before.replace('+', "%2B")
    ))
    .await;
    let known: Vec<Event> = history["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| serde_json::from_value(e.clone()).expect("an event"))
        .collect();
    assert_eq!(known.len(), steps.len());
    let as_of = OffsetDateTime::parse(&before, &Rfc3339).expect("time");
    for m in Model::ALL {
        let (status, mut answer) = model(a, p, m.as_str(), &before).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        // Through JSON text, as the answer came: serde_json's float parsing may differ from
        // the value by one ulp, the same way for both.
        let text = serde_json::to_string(&evaluate(
            m,
            &known,
            Axes::at(as_of),
            &ModelSettings::default(),
        ))
        .expect("json");
        let mut fresh: Value = serde_json::from_str(&text).expect("json");
        fresh["partnership_id"] = json!(p);
        // The fresh fold's axes have the precision of the string they were parsed from.
        for axis in ["as_of", "valid_at"] {
            answer[axis] = Value::Null;
            fresh[axis] = Value::Null;
        }
        assert_eq!(answer, fresh, "{} as of {before}", m.as_str());
    }
    let (_, past) = model(a, p, "flags", &before).await;
    assert_eq!(r1(&past).as_deref(), Some("critical"));

    // Without as_of, the answer is as of now.
    let (status, summary) = get(&format!("{}/v1/partnerships/{p}/summary", a.url)).await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    assert!(
        summary["as_of"]
            .as_str()
            .is_some_and(|t| t > before.as_str()),
        "{summary}"
    );

    // Business time: the history was recorded today, but asked at 2026-02-05 (after step 3,
    // before the retraction occurred) the partnership stands as it did then, over HTTP, NATS's
    // JSON and the CLI alike.
    let (status, then) = get(&format!(
        "{}/v1/partnerships/{p}/flags?valid_at=2026-02-05T00:00:00Z",
        a.url
    ))
    .await;
    assert_eq!(status, StatusCode::OK, "{then}");
    assert_eq!(then["valid_at"], "2026-02-05T00:00:00Z");
    assert_eq!(r1(&then).as_deref(), Some("critical"), "{then}");
    let (code, out, err) = accord(&[
        "show",
        "flags",
        p,
        "--valid-at",
        "2026-02-05T00:00:00Z",
        "--server",
        &a.url,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(", valid at 2026-02-05T00:00:00Z"), "{out}");
    assert!(
        out.contains("critical R1 unwilling_partner (acme>stmary)"),
        "{out}"
    );
    // Before anything occurred, nothing holds.
    let (_, before_anything) = get(&format!(
        "{}/v1/partnerships/{p}/flags?valid_at=2026-01-01T00:00:00Z",
        a.url
    ))
    .await;
    assert_eq!(before_anything["open"], json!([]), "{before_anything}");
    let (status, body) = get(&format!(
        "{}/v1/partnerships/{p}/trust?valid_at=next%20week",
        a.url
    ))
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["details"][0]["field"], "valid_at");

    // Bad input.
    let (status, body) = model(a, "nobody-here", "summary", LATER).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = model(a, "Bad Id", "summary", LATER).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["details"][0]["field"], "partnership_id");
    let (status, body) = model(a, p, "summary", "yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["details"][0]["field"], "as_of");

    // The CLI shows the same, as a table and as JSON.
    let (code, out, err) = accord(&["show", "flags", p, "--as-of", &before, "--server", &a.url]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("critical R1 unwilling_partner (acme>stmary)"),
        "{out}"
    );
    let (code, out, _) = accord(&[
        "show", "summary", p, "--as-of", LATER, "--json", "--server", &a.url,
    ]);
    assert_eq!(code, 0);
    let shown: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(shown, model(a, p, "summary", LATER).await.1);
    let (code, _, err) = accord(&["show", "summary", "nobody-here", "--server", &a.url]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = accord(&["show", "vibes", p, "--server", &a.url]);
    assert_eq!(code, 2, "{err}");
}

/// The embedded backend, keeping the read models of at most one partnership, with a checkpoint
/// every 2 events: the worked example's retraction folds again from a checkpoint, and the
/// unknown partnership asked about takes no place beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_on_the_embedded_backend() {
    for (flag, why) in [
        ("--kept-partnerships", "keeping no partnership"),
        ("--checkpoint-every", "no event between checkpoints"),
    ] {
        let (code, _, err) = accord(&["up", flag, "0"]);
        assert_eq!(code, 2, "{why} is refused: {err}");
        assert!(err.contains(flag), "{err}");
    }
    let dir = tempfile::tempdir().expect("dir");
    let a = Accord::up(&[
        "--data-dir",
        dir.path().to_str().expect("utf-8 path"),
        "--kept-partnerships",
        "1",
        "--checkpoint-every",
        "2",
    ]);
    queries_answer_live_and_past(&a).await;
    let metrics = metrics(&a).await;
    assert!(
        metrics
            .lines()
            .any(|l| l == "accord_projector_kept_partnerships 1"),
        "one partnership kept: {metrics}"
    );
    a.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_on_jetstream_over_http_and_nats() {
    let server = NatsServer::start(ServerVersion::Minimum).expect("server");
    let dir = tempfile::tempdir().expect("dir");
    let a = Accord::up(&[
        "--nats",
        &server.url(),
        "--data-dir",
        dir.path().to_str().expect("utf-8"),
    ]);
    queries_answer_live_and_past(&a).await;

    let client = async_nats::connect(server.url()).await.expect("connect");
    for m in Model::ALL {
        let reply = client
            .request(
                format!("accord.query.{}", m.as_str()),
                json!({"partnership_id": "acme-stmary", "as_of": LATER})
                    .to_string()
                    .into(),
            )
            .await
            .expect("reply");
        let body: Value = serde_json::from_slice(&reply.payload).expect("json");
        assert_eq!(body, model(&a, "acme-stmary", m.as_str(), LATER).await.1);
    }
    let reply = client
        .request(
            "accord.query.summary",
            json!({"partnership_id": "nobody-here"}).to_string().into(),
        )
        .await
        .expect("reply");
    assert_eq!(error_code(&reply).as_deref(), Some("404"));
    // The body of a NATS service error is the same problem as over HTTP.
    let problem: Value = serde_json::from_slice(&reply.payload).expect("a JSON body");
    assert_problem(&problem, StatusCode::NOT_FOUND);
    assert_eq!(problem["partnership_id"], "nobody-here", "{problem}");
    a.stop();
}

/// Every read model of every partnership, at `LATER`.
async fn all_models(a: &Accord, partnerships: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for p in partnerships {
        for m in Model::ALL {
            let (status, body) = model(a, p, m.as_str(), LATER).await;
            assert_eq!(status, StatusCode::OK, "{p} {}: {body}", m.as_str());
            out.push(body);
        }
    }
    out
}

/// A projector killed with SIGKILL while commits stream in restarts from its checkpoint and
/// ends with the read models of a projector that was never interrupted; so does a rebuild.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projector_killed_mid_stream_resumes_to_the_same_read_models() {
    let server = NatsServer::start(ServerVersion::Current).expect("server");
    let dirs = [
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    ];
    let dir_of = |i: usize| dirs[i].path().to_str().expect("utf-8").to_owned();
    // The ledger with a projector of its own that is never interrupted.
    let ledger = Accord::up(&["--nats", &server.url(), "--data-dir", &dir_of(0)]);
    let projector_args = [
        "--nats".to_owned(),
        server.url(),
        "--data-dir".into(),
        dir_of(1),
    ];
    let args: Vec<&str> = projector_args.iter().map(String::as_str).collect();
    let killed = Accord::start("projector", &args);

    let file = dirs[0].path().join("history.jsonl");
    let file = file.to_str().expect("utf-8");
    let (code, _, err) = accord_dev(&[
        "gen",
        "--partnerships",
        "8",
        "--events",
        "1600",
        "--seed",
        "7",
        "--out",
        file,
    ]);
    assert_eq!(code, 0, "{err}");
    let url = ledger.url.clone();
    let import = tokio::task::spawn_blocking({
        let file = file.to_owned();
        move || accord(&["import", &file, "--server", &url])
    });

    // Kill the projector once it is partway, while the import still appends.
    let deadline = Instant::now() + CATCH_UP;
    let at_kill = loop {
        let report = projector(&killed).await;
        if report["checkpoint"].as_u64().is_some_and(|c| c >= 200) {
            break report["checkpoint"].as_u64().unwrap_or(0);
        }
        assert!(
            Instant::now() < deadline,
            "the projector never started: {report}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    killed.kill();
    let (code, out, err) = import.await.expect("import");
    assert_eq!(code, 0, "{out}{err}");
    let head = get(&format!("{}/healthz", ledger.url)).await.1["last_position"]
        .as_u64()
        .expect("head");
    assert!(
        at_kill < head,
        "killed at {at_kill}, before the head {head}"
    );

    let restarted = Accord::start("projector", &args);
    let report = caught_up(&restarted, head).await;
    assert_eq!(report["broken"], json!([]));
    caught_up(&ledger, head).await;
    let partnerships: Vec<String> =
        get(&format!("{}/v1/partnerships", ledger.url)).await.1["partnerships"]
            .as_array()
            .expect("list")
            .iter()
            .map(|p| p["partnership_id"].as_str().expect("id").to_owned())
            .collect();
    assert_eq!(partnerships.len(), 8);
    let expected = all_models(&ledger, &partnerships).await;
    assert_eq!(all_models(&restarted, &partnerships).await, expected);
    restarted.stop();

    // A rebuild from position 0 swaps in the same read models.
    let mut rebuild_args = args.clone();
    rebuild_args.push("--rebuild");
    let rebuilt = Accord::start("projector", &rebuild_args);
    caught_up(&rebuilt, head).await;
    assert_eq!(all_models(&rebuilt, &partnerships).await, expected);
    rebuilt.stop();
    ledger.stop();
}

/// Read models built from one log are never mixed with another's: pointed at another stream,
/// the projector refuses to start and says what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_models_of_another_log_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().to_str().expect("utf-8");
    let first = NatsServer::start(ServerVersion::Current).expect("server");
    let a = Accord::up(&["--nats", &first.url(), "--data-dir", data_dir]);
    let (status, body) = post(&a, "acme-stmary", &worked_example()[0], &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    caught_up(&a, 1).await;
    a.stop();

    let second = NatsServer::start(ServerVersion::Current).expect("server");
    let b = Accord::up(&["--nats", &second.url()]);
    let (status, body) = post(&b, "other", &worked_example()[0], &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    b.stop();
    let (code, _, err) = accord(&[
        "up",
        "--nats",
        &second.url(),
        "--data-dir",
        data_dir,
        "--http",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("built from another log"), "{err}");
}
