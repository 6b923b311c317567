//! The dashboard as a person uses it, in headless Chromium through Playwright
//! (`tests/python/dashboard.py`): sign-in and refusal, the list of what the token may read,
//! filters and order, the drill-down with its evidence links and charts, time travel with the
//! page's controls, the printable retrospective, and signing out; no console error, no request
//! elsewhere, and every control named.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::analytics::python;
use crate::app::{Accord, http, load_examples, new_token};
use crate::harness::workspace_root;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_looks_around_travels_in_time_and_signs_out() {
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("store");
    load_examples(&store);
    let file = dir.path().join("tokens.json");
    let medai = new_token(&file, "medai", "reader", "medai-dashboard");
    let a = Accord::up(&[
        "--data-dir",
        store.to_str().expect("utf-8"),
        "--tokens",
        file.to_str().expect("utf-8"),
    ]);
    // The projector goes on from its checkpoint: wait until the list shows the partnership.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = http()
            .get(format!("{}/", a.url))
            .bearer_auth(&medai)
            .send()
            .await
            .expect("the list")
            .text()
            .await
            .expect("a page");
        if page.contains("medai-lakeside") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the list never showed medai-lakeside"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let screenshot = dir.path().join("dashboard.png");
    let out = Command::new(python())
        .arg(workspace_root().join("tests/python/dashboard.py"))
        .arg(&a.url)
        .arg(&medai)
        .arg(&screenshot)
        .output()
        .expect("run the browser");
    assert!(
        out.status.success(),
        "dashboard.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).expect("what the browser saw");

    assert_eq!(seen["first_path"], "/sign-in", "{seen}");
    assert!(
        seen["refused"]
            .as_str()
            .is_some_and(|r| r.contains("not one this ledger knows")),
        "{seen}"
    );
    assert!(
        seen["signed_in"]
            .as_str()
            .is_some_and(|s| s.contains("medai")),
        "{seen}"
    );
    assert_eq!(
        seen["listed"],
        serde_json::json!(["medai-lakeside"]),
        "only what medai may read: {seen}"
    );
    assert!(
        seen["list_flags"][0]
            .as_str()
            .is_some_and(|f| f.contains("critical")),
        "{seen}"
    );
    assert_eq!(
        seen["filtered_none"], 0,
        "no terminated partnership: {seen}"
    );
    assert!(
        seen["ordered_url"]
            .as_str()
            .is_some_and(|u| u.contains("sort=flags")),
        "{seen}"
    );

    assert_eq!(seen["partnership_title"], "medai-lakeside", "{seen}");
    assert_eq!(
        seen["history_rows_now"], 24,
        "every event, one page: {seen}"
    );
    assert!(
        seen["charts"].as_u64().is_some_and(|c| c > 0),
        "the retrospective's charts: {seen}"
    );
    for section in ["summary", "history", "trust", "flags"] {
        assert!(
            seen["sections"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x == section)),
            "{section}: {seen}"
        );
    }
    assert!(
        seen["evidence_links"].as_u64().is_some_and(|n| n > 0),
        "{seen}"
    );
    assert_eq!(
        seen["evidence_target_shown"], true,
        "an evidence link shows its event: {seen}"
    );

    assert!(
        seen["travel_url"]
            .as_str()
            .is_some_and(|u| u.contains("as_of=2000-01-01")),
        "{seen}"
    );
    assert_eq!(
        seen["history_rows_then"], 0,
        "nothing was recorded then: {seen}"
    );
    assert!(
        seen["retro_title"]
            .as_str()
            .is_some_and(|t| t.starts_with("Retrospective")),
        "{seen}"
    );
    assert_eq!(seen["after_sign_out"], "/sign-in", "{seen}");
    assert_eq!(
        seen["after_sign_out_list"], "/sign-in",
        "signed out, the list asks again: {seen}"
    );

    for quiet in ["console_errors", "page_errors", "elsewhere"] {
        assert_eq!(seen[quiet], serde_json::json!([]), "{quiet}: {seen}");
    }
    for (step, controls) in seen["unnamed"].as_object().expect("steps") {
        assert_eq!(
            controls,
            &serde_json::json!([]),
            "unnamed controls on {step}"
        );
    }
    assert!(
        std::fs::metadata(&screenshot).is_ok_and(|m| m.len() > 10_000),
        "a screenshot"
    );
    a.stop();
}
