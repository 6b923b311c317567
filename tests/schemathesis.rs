//! schemathesis (PyPI) against the OpenAPI document accord serves: thousands of requests of
//! every operation, generated from the document, on an open ledger and on one with a token file,
//! with and without a token. No server error, no answer that breaks the document, no wrong
//! content type (`tests/schemathesis.toml` says which refusals the domain's rules make).
//!
//! The two event streams are left out: they never end (tests/stream.rs follows them).

use std::path::Path;
use std::process::Command;

use crate::analytics::python;
use crate::app::{Accord, load_examples, new_token};
use crate::harness::workspace_root;

/// Runs schemathesis against `a`, with `authorization` as a header when given; its output when
/// it fails the test.
fn schemathesis(a: &Accord, authorization: Option<&str>) {
    let bin = python().with_file_name("schemathesis");
    let config = workspace_root().join("tests/schemathesis.toml");
    let mut command = Command::new(&bin);
    command
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{}/v1/openapi.json", a.url)])
        .args(["--exclude-path-regex", "stream"])
        .args([
            "--max-examples",
            "20",
            "--generation-deterministic",
            "--no-color",
        ]);
    if let Some(value) = authorization {
        command.args(["--header", &format!("Authorization: {value}")]);
    }
    let out = command.output().expect("run schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis ({}): {report}{}",
        authorization.map_or("no token", |_| "a token"),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("passed"), "{report}");
}

fn examples(dir: &Path) -> std::path::PathBuf {
    let store = dir.join("store");
    load_examples(&store);
    store
}

#[test]
fn schemathesis_finds_nothing_on_an_open_ledger() {
    let dir = tempfile::tempdir().expect("dir");
    let a = Accord::embedded(&examples(dir.path()));
    schemathesis(&a, None);
    a.stop();
}

#[test]
fn schemathesis_finds_nothing_with_and_without_a_token() {
    let dir = tempfile::tempdir().expect("dir");
    let store = examples(dir.path());
    let file = dir.path().join("tokens.json");
    let token = new_token(&file, "medai", "writer", "schemathesis");
    let a = Accord::up(&[
        "--data-dir",
        store.to_str().expect("utf-8"),
        "--tokens",
        file.to_str().expect("utf-8"),
    ]);
    schemathesis(&a, Some(&format!("Bearer {token}")));
    schemathesis(&a, None);
    a.stop();
}
