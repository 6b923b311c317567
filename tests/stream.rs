//! Following the ledger over HTTP: Server-Sent Events read by an SSE client (the
//! `eventsource-stream` parser over the HTTP body), which reconnects with `Last-Event-ID` as the
//! protocol says, across a restart of the ledger; and a token's stream holds only what it may
//! read.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{Accord, assert_problem, http, meeting, new_token, post, proposal};

/// How long a test waits for what it expects to arrive.
const ARRIVE: Duration = Duration::from_secs(30);

/// One commit as the stream gave it: its event id, partnership and position.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    id: String,
    partnership: String,
    position: u64,
}

/// Follows `path` on the server whose URL `url` holds (read again at each reconnection), as an
/// SSE client does: when the stream ends or the server is away, it connects again, sending the
/// last event id it saw. Everything it sees goes into `seen`; it stops when `done` says so.
async fn follow(
    url: Arc<Mutex<String>>,
    path: &str,
    token: Option<String>,
    seen: Arc<Mutex<Vec<Seen>>>,
    done: impl Fn(&[Seen]) -> bool,
) {
    let deadline = Instant::now() + ARRIVE;
    let mut last_id: Option<String> = None;
    while Instant::now() < deadline {
        let base = url.lock().expect("url").clone();
        let mut request = http().get(format!("{base}{path}"));
        if let Some(id) = &last_id {
            request = request.header("Last-Event-ID", id);
        }
        if let Some(token) = &token {
            request = request.bearer_auth(token);
        }
        // The server may be restarting: an SSE client waits its retry time and connects again.
        let Ok(response) = request.send().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        assert_eq!(response.status(), StatusCode::OK);
        let mut events = response.bytes_stream().eventsource();
        while let Some(Ok(event)) = events.next().await {
            assert_eq!(event.event, "commit");
            let data: Value = serde_json::from_str(&event.data).expect("JSON data");
            last_id = Some(event.id.clone());
            let mut seen = seen.lock().expect("seen");
            seen.push(Seen {
                id: event.id,
                partnership: data["partnership_id"].as_str().expect("an id").to_owned(),
                position: data["position"].as_u64().expect("a position"),
            });
            if done(&seen) {
                return;
            }
        }
    }
    panic!("the stream did not deliver what was expected within {ARRIVE:?}");
}

/// Waits until `seen` holds `n` commits.
async fn wait_for(seen: &Mutex<Vec<Seen>>, n: usize) {
    let deadline = Instant::now() + ARRIVE;
    while seen.lock().expect("seen").len() < n {
        assert!(Instant::now() < deadline, "{n} commits did not arrive");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_follows_the_ledger_across_a_restart_without_loss_or_repeat() {
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("store");
    let a = Accord::embedded(&store);
    let p = "acme-stmary";
    assert_eq!(post(&a, p, &proposal(), &[]).await.0, StatusCode::CREATED);

    let total = 1 + 2 * 8;
    let url = Arc::new(Mutex::new(a.url.clone()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    // From the first position: the proposal is caught up, the meetings come live.
    let follower = tokio::spawn(follow(
        url.clone(),
        "/v1/events/stream?from=1",
        None,
        seen.clone(),
        move |s| s.len() == total,
    ));
    for i in 0..8 {
        let (status, body) = post(&a, p, &meeting(&format!("m{i}")), &[]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    wait_for(&seen, 9).await;
    // The ledger stops (its streams end) and starts again on the same store, elsewhere.
    a.stop();
    let b = Accord::embedded(&store);
    *url.lock().expect("url") = b.url.clone();
    for i in 8..16 {
        let (status, body) = post(&b, p, &meeting(&format!("m{i}")), &[]).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    tokio::time::timeout(ARRIVE, follower)
        .await
        .expect("the follower finishes")
        .expect("the follower holds");
    let seen = seen.lock().expect("seen").clone();
    let positions: Vec<u64> = seen.iter().map(|s| s.position).collect();
    assert_eq!(
        positions,
        (1..=total as u64).collect::<Vec<_>>(),
        "each commit once, in order"
    );
    assert!(
        seen.iter().all(|s| s.id == s.position.to_string()),
        "the event id is the position"
    );

    // `from` starts at a position; the one-partnership stream; bad positions are refused.
    let first = |path: String| async move {
        let response = http().get(path).send().await.expect("an answer");
        let mut events = response.bytes_stream().eventsource();
        events.next().await.expect("an event").expect("parsed")
    };
    assert_eq!(
        first(format!("{}/v1/events/stream?from=5", b.url)).await.id,
        "5"
    );
    let one = first(format!(
        "{}/v1/partnerships/{p}/events/stream?from=3",
        b.url
    ))
    .await;
    assert_eq!(one.id, "3");
    for (query, field) in [("from=soon", "from"), ("from=-1", "from")] {
        let response = http()
            .get(format!("{}/v1/events/stream?{query}", b.url))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.expect("json");
        assert_problem(&body, StatusCode::BAD_REQUEST);
        assert_eq!(body["details"][0]["field"], field, "{body}");
    }
    let unknown = http()
        .get(format!(
            "{}/v1/partnerships/nobody-here/events/stream",
            b.url
        ))
        .send()
        .await
        .expect("an answer");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    b.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_streams_only_what_it_may_read() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("tokens.json");
    let acme = new_token(&file, "acme", "writer", "acme-crm");
    let globex = new_token(&file, "globex", "writer", "globex-crm");
    let a = Accord::up(&["--tokens", file.to_str().expect("utf-8")]);
    let send = |p: &'static str, body: Value, token: String| {
        let url = a.events_url(p);
        async move {
            http()
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("send")
                .status()
        }
    };
    let mut theirs = proposal();
    theirs["actor"]["org"] = json!("globex");
    theirs["data"]["parties"][0]["org"] = json!("globex");
    assert_eq!(
        send("acme-stmary", proposal(), acme.clone()).await,
        StatusCode::CREATED
    );
    assert_eq!(
        send("globex-stmary", theirs, globex.clone()).await,
        StatusCode::CREATED
    );
    assert_eq!(
        send("acme-stmary", meeting("m1"), acme.clone()).await,
        StatusCode::CREATED
    );

    let seen = Arc::new(Mutex::new(Vec::new()));
    // acme follows everything from the start; the last commit is acme's meeting (position 3).
    follow(
        Arc::new(Mutex::new(a.url.clone())),
        "/v1/events/stream?from=1",
        Some(acme.clone()),
        seen.clone(),
        |s| s.last().is_some_and(|s| s.position == 3),
    )
    .await;
    let seen = seen.lock().expect("seen").clone();
    assert!(
        seen.iter().all(|s| s.partnership == "acme-stmary"),
        "acme sees none of globex's partnership: {seen:?}"
    );
    assert_eq!(seen.len(), 2, "{seen:?}");
    // Another org's partnership is not there for acme, as if it did not exist.
    let other = http()
        .get(format!(
            "{}/v1/partnerships/globex-stmary/events/stream",
            a.url
        ))
        .bearer_auth(&acme)
        .send()
        .await
        .expect("an answer");
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let anonymous = http()
        .get(format!("{}/v1/events/stream", a.url))
        .send()
        .await
        .expect("an answer");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}
