//! Every error answer of the HTTP API is RFC 9457 problem details (`application/problem+json`):
//! those of the handlers and those the router makes by itself (no such path, a method a path
//! does not take, a body over the limit).

use reqwest::StatusCode;
use reqwest::header::{ALLOW, CONTENT_TYPE};
use serde_json::Value;

use crate::app::{Accord, assert_problem, http, proposal};

/// Sends `request` and reads the answer: its status, whether it is `application/problem+json`,
/// its `Allow` header and its body.
async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, bool, Option<String>, Value) {
    let response = request.send().await.expect("an answer");
    let status = response.status();
    let headers = response.headers().clone();
    let problem = headers
        .get(CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes() == b"application/problem+json");
    let allow = headers
        .get(ALLOW)
        .map(|v| v.to_str().expect("ascii").to_owned());
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, problem, allow, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_answer_is_a_problem() {
    let dir = tempfile::tempdir().expect("dir");
    let a = Accord::embedded(dir.path());
    // A client per request: the server closes a connection whose body it refused to read.
    let client = http;
    let events = |p: &str| format!("{}/v1/partnerships/{p}/events", a.url);
    let (status, _, _, _) = answer(
        client()
            .post(events("acme-stmary"))
            .header(CONTENT_TYPE, "application/json")
            .body(proposal().to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let cases: Vec<(&str, reqwest::RequestBuilder, StatusCode, &str)> = vec![
        (
            "a path the API does not have",
            client().get(format!("{}/v1/nothing-here", a.url)),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "a method the path does not take",
            client().delete(events("acme-stmary")),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "a body over the limit",
            client()
                .post(events("acme-stmary"))
                .header(CONTENT_TYPE, "application/json")
                .body(vec![b' '; 2 * 1024 * 1024]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
        (
            "malformed JSON",
            client()
                .post(events("acme-stmary"))
                .header(CONTENT_TYPE, "application/json")
                .body("{not json"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "an unknown partnership",
            client().get(events("nobody-here")),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "a stale revision",
            client()
                .post(events("acme-stmary"))
                .header(CONTENT_TYPE, "application/json")
                .header("If-Match", "0")
                .body(proposal().to_string()),
            StatusCode::CONFLICT,
            "conflict",
        ),
    ];
    for (what, request, want, kind) in cases {
        let (status, problem, allow, body) = answer(request).await;
        assert_eq!(status, want, "{what}: {body}");
        assert!(problem, "{what} answers application/problem+json: {body}");
        assert_problem(&body, want);
        assert_eq!(body["error"], kind, "{what}: {body}");
        if want == StatusCode::METHOD_NOT_ALLOWED {
            let allow = allow.unwrap_or_else(|| panic!("{what} keeps Allow"));
            assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
        }
    }
    // A success is not a problem, and neither is a health report.
    let (status, problem, _, _) = answer(client().get(format!("{}/healthz", a.url))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!problem);
    a.stop();
}
