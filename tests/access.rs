//! Who may do what, end to end: with a token file, a token binds an org and a role (writers write
//! only as their org, readers and writers read only their orgs' partnerships, auditors read all
//! and write nothing, a writer asks an erasure only for its own org, and a violation changes
//! nothing); without one, the server refuses to listen
//! beyond loopback.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{Accord, accord, http, meeting, new_token, proposal};
use crate::harness::{NatsServer, ServerVersion};

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

    // An erasure is asked by a writer of the org on whose behalf it is made; anyone else is
    // refused and nothing is recorded.
    let forget = format!("{url}/v1/forget");
    let erase = json!({"person": "Dr Sam Lee", "requested_by_org": "stmary",
                       "basis": "data_subject_request"});
    for token in [&acme, &stmary, &audit] {
        assert_eq!(
            send(Method::POST, forget.clone(), Some(token), Some(&erase)).await,
            StatusCode::FORBIDDEN
        );
    }
    assert_eq!(
        send(Method::POST, forget.clone(), None, Some(&erase)).await,
        StatusCode::UNAUTHORIZED
    );
    let by_acme = json!({"person": "Dr Sam Lee", "requested_by_org": "acme",
                         "basis": "data_subject_request"});
    assert_eq!(
        send(Method::POST, forget.clone(), Some(&acme), Some(&by_acme)).await,
        StatusCode::OK,
        "acme's writer erases on acme's behalf (nothing names that person)"
    );
    assert_eq!(
        send(
            Method::GET,
            format!("{url}/v1/log/disclosures"),
            Some(&acme),
            None
        )
        .await,
        StatusCode::FORBIDDEN,
        "only an auditor copies the personal values"
    );
    assert_eq!(
        send(
            Method::GET,
            format!("{url}/v1/log/disclosures"),
            Some(&audit),
            None
        )
        .await,
        StatusCode::OK
    );

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
