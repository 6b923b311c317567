//! The API's OpenAPI document, generated from the code and served at `/v1/openapi.json`: a valid
//! OpenAPI 3.1 document listing every route, and every answer of a running ledger (each read
//! model of each sample partnership, the history, the list, verification, health, problems)
//! conforms to the schema it declares (`tests/python/check_openapi.py`).

use std::process::Command;

use serde_json::Value;

use crate::analytics::python;
use crate::app::{Accord, load_examples};
use crate::harness::workspace_root;

#[test]
fn every_answer_conforms_to_the_served_document() {
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("store");
    load_examples(&store);
    let a = Accord::embedded(&store);
    let samples = ["acme-stmary-rpm", "medai-lakeside", "tinyrx-megahealth"];
    let out = Command::new(python())
        .arg(workspace_root().join("tests/python/check_openapi.py"))
        .arg(&a.url)
        .args(samples)
        .output()
        .expect("run the check");
    assert!(
        out.status.success(),
        "check_openapi.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("a report");
    assert_eq!(report["openapi"], "3.1.0");
    let paths: Vec<&str> = report["paths"]
        .as_array()
        .expect("paths")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for route in [
        "/v1/partnerships",
        "/v1/partnerships/{id}/events",
        "/v1/partnerships/{id}/verify",
        "/v1/partnerships/{id}/trust",
        "/v1/partnerships/{id}/throughput",
        "/v1/partnerships/{id}/asymmetry",
        "/v1/partnerships/{id}/goals",
        "/v1/partnerships/{id}/flags",
        "/v1/partnerships/{id}/summary",
        "/v1/partnerships/{id}/retro",
        "/v1/events/stream",
        "/v1/partnerships/{id}/events/stream",
        "/healthz",
        "/metrics",
        "/v1/openapi.json",
        "/v1/log",
        "/v1/ledger/key",
    ] {
        assert!(paths.contains(&route), "{route} in {paths:?}");
    }
    let checked = report["checked"].as_array().expect("answers");
    // 3 partnerships × (history, verify, 6 models) + the list, health, the ledger's key and the
    // document itself, then 6 requests that fail.
    assert_eq!(checked.len(), 3 * 8 + 4 + 6, "{checked:#?}");
    for answer in checked {
        assert_eq!(answer["errors"], serde_json::json!([]), "{answer}");
    }
    let statuses: Vec<u64> = checked
        .iter()
        .rev()
        .take(6)
        .filter_map(|a| a["status"].as_u64())
        .collect();
    assert_eq!(
        statuses,
        [400, 400, 409, 404, 400, 422],
        "the failing requests, last first"
    );
    a.stop();
}
