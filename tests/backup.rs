//! Backup and restore as an operator runs them: `accord backup` of a running accord while
//! writers keep appending, `accord restore` into a fresh store of either backend (every chain
//! verifies, the copied histories are the source's up to the backup's position, and the read
//! models are identical), and each way a backup or a restore is refused without changing a
//! store.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use accord_domain::models::Model;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::app::{Accord, accord, caught_up, get_json, http, import_examples, new_token, proposal};
use crate::harness::{NatsServer, ServerVersion};

/// The example partnerships written before the load: their read models are compared.
const EXAMPLES: &[&str] = &[
    "jointworks-riverside-bundled-coe.jsonl",
    "tinyrx-megahealth-over-reliance.jsonl",
];
/// An `as_of` after everything, so that answers do not depend on the clock.
const LATER: &str = "2030-01-01T00:00:00Z";
/// Longest wait for a condition.
const PATIENCE: Duration = Duration::from_secs(60);

/// Writers appending to partnerships of their own (`load-<n>`) until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    writers: tokio::task::JoinSet<()>,
}

impl Load {
    fn start(a: &Accord, writers: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = tokio::task::JoinSet::new();
        for w in 0..writers {
            let url = a.events_url(&format!("load-{w}"));
            let stop = stop.clone();
            tasks.spawn(async move {
                let client = http();
                let mut body = json!([proposal()]);
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let answer = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.to_string())
                        .send()
                        .await
                        .expect("append");
                    assert!(answer.status().is_success(), "{}", answer.status());
                    body = json!({"type": "meeting_requested", "occurred_at": "2026-02-01T09:00:00Z",
                                  "actor": {"org": "acme"},
                                  "data": {"meeting_id": format!("m{n}"), "requested_by_org": "acme",
                                           "purpose": "review"}});
                }
            });
        }
        Self {
            stop,
            writers: tasks,
        }
    }

    async fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        while let Some(done) = self.writers.join_next().await {
            done.expect("a writer failed");
        }
    }
}

async fn last_position(a: &Accord) -> u64 {
    get_json(a, "/healthz").await["last_position"]
        .as_u64()
        .expect("last_position")
}

/// Waits until the log of `a` is beyond `position`.
async fn beyond(a: &Accord, position: u64) {
    let deadline = Instant::now() + PATIENCE;
    while last_position(a).await <= position {
        assert!(
            Instant::now() < deadline,
            "the log did not pass position {position}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs `accord` off the runtime, so that the writers go on meanwhile.
async fn accord_async(args: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        accord(&args)
    })
    .await
    .expect("accord")
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"))
        .expect("json")
}

/// A backup taken while writers append restores into both backends: every chain verifies,
/// every partnership's history is the source's up to the backup's position, and the examples'
/// read models are identical.
async fn backup_under_load_restores_into_both_backends(source: &Accord) {
    for file in EXAMPLES {
        import_examples(source, &[file]);
    }
    let load = Load::start(source, 4);
    let start = last_position(source).await;
    beyond(source, start + 20).await;
    let dir = tempfile::tempdir().expect("dir");
    let backup = dir.path().join("backup");
    let (code, out, err) = accord_async(vec![
        "backup".into(),
        "--out".into(),
        backup.display().to_string(),
        "--server".into(),
        source.url.clone(),
    ])
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let taken = manifest(&backup);
    let at = taken["last_position"].as_u64().expect("last_position");
    assert!(at > start + 20, "the backup holds what the writers wrote");
    assert!(out.contains(&format!("up to position {at}")), "{out}");
    // The writers went on while the backup was taken and after: it is a prefix.
    beyond(source, at).await;
    load.stop().await;

    let store = dir.path().join("restored");
    let (code, out, err) = accord(&[
        "restore",
        backup.to_str().expect("utf-8"),
        "--data-dir",
        store.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("every head matches the manifest"), "{out}");
    let embedded = Accord::embedded(&store);
    let nats = NatsServer::start(ServerVersion::Current).expect("server");
    let (code, out, err) = accord(&[
        "restore",
        backup.to_str().expect("utf-8"),
        "--nats",
        &nats.url(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let jetstream = Accord::jetstream(&nats);

    let partnerships = taken["partnerships"].as_object().expect("partnerships");
    assert_eq!(partnerships.len(), EXAMPLES.len() + 4);
    for restored in [&embedded, &jetstream] {
        assert_eq!(last_position(restored).await, at);
        let (code, out, err) = accord(&["verify", "--server", &restored.url]);
        assert_eq!(code, 0, "{out}{err}");
        assert_eq!(out.matches(": ok,").count(), partnerships.len(), "{out}");
        for p in partnerships.keys() {
            let path = format!("/v1/partnerships/{p}/events?limit=1000");
            let mine = get_json(restored, &path).await["events"].clone();
            let theirs: Vec<Value> = get_json(source, &path).await["events"]
                .as_array()
                .expect("events")
                .iter()
                .filter(|e| e["revision"].as_u64() <= Some(at))
                .cloned()
                .collect();
            assert_eq!(mine, Value::Array(theirs), "the history of {p}");
        }
        caught_up(restored, at).await;
    }
    caught_up(source, last_position(source).await).await;
    for p in ["jointworks-riverside", "tinyrx-megahealth"] {
        for m in Model::ALL.iter().map(|m| m.as_str()) {
            let path = format!("/v1/partnerships/{p}/{m}?as_of={LATER}");
            let want = get_json(source, &path).await;
            assert_eq!(get_json(&embedded, &path).await, want, "{m} of {p}");
            assert_eq!(get_json(&jetstream, &path).await, want, "{m} of {p}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_the_embedded_store_under_load_restores_into_both_backends() {
    let dir = tempfile::tempdir().expect("dir");
    let source = Accord::embedded(&dir.path().join("store"));
    backup_under_load_restores_into_both_backends(&source).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_of_jetstream_under_load_restores_into_both_backends() {
    let server = NatsServer::start(ServerVersion::Current).expect("server");
    let source = Accord::jetstream(&server);
    backup_under_load_restores_into_both_backends(&source).await;
}

/// Rewrites the commit at `position` of a backup, and the manifest's digest with it, as someone
/// covering their tracks would.
fn tamper(backup: &Path, position: u64) {
    let path = backup.join("commits.jsonl");
    let text = std::fs::read_to_string(&path).expect("commits");
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let line = &mut lines[usize::try_from(position - 1).expect("index")];
    let mut bytes = STANDARD
        .decode(line["commit"].as_str().expect("commit"))
        .expect("base64");
    let last = bytes.len() - 40;
    bytes[last] ^= 1;
    line["commit"] = Value::String(STANDARD.encode(bytes));
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&path, &text).expect("write");
    let mut m = manifest(backup);
    use sha2::Digest;
    m["commits_sha256"] = Value::String(hex::encode(sha2::Sha256::digest(text.as_bytes())));
    std::fs::write(backup.join("manifest.json"), m.to_string()).expect("write");
}

/// Each refusal says why, with exit code 2 for a wrong argument and 1 otherwise, and leaves
/// every store as it was: a backup into a directory that is not empty, a backup by a token that
/// is not an auditor's, a restore of a file changed since the backup, of a backup rewritten
/// with its digest, of a directory without a manifest, and into a store that is not empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_and_restores_that_do_not_hold_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let tokens = dir.path().join("tokens.json");
    let auditor = new_token(&tokens, "audit-co", "auditor", "auditors");
    let reader = new_token(&tokens, "acme", "reader", "acme-bi");
    let source = Accord::up(&[
        "--data-dir",
        dir.path().join("store").to_str().expect("utf-8"),
        "--tokens",
        tokens.to_str().expect("utf-8"),
    ]);
    let backup = dir.path().join("backup");
    let b = backup.to_str().expect("utf-8");

    let (code, _, err) = accord(&[
        "backup",
        "--out",
        b,
        "--server",
        &source.url,
        "--token",
        &reader,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("403") && err.contains("only an auditor"),
        "{err}"
    );
    assert!(!backup.join("manifest.json").exists());

    std::fs::write(dir.path().join("stray"), "x").expect("write");
    let (code, _, err) = accord(&[
        "backup",
        "--out",
        dir.path().to_str().expect("utf-8"),
        "--server",
        &source.url,
        "--token",
        &auditor,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not empty"), "{err}");

    // An auditor may take one (of an empty log here).
    let empty = dir.path().join("empty");
    let (code, out, err) = accord(&[
        "backup",
        "--out",
        empty.to_str().expect("utf-8"),
        "--server",
        &source.url,
        "--token",
        &auditor,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(manifest(&empty)["last_position"], 0);

    // Something to back up, on an open server.
    let open = Accord::embedded(&dir.path().join("open-store"));
    import_examples(&open, &EXAMPLES[..1]);
    let (code, out, err) = accord(&["backup", "--out", b, "--server", &open.url, "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let summary: Value = serde_json::from_str(&out).expect("json");
    let at = summary["last_position"].as_u64().expect("last_position");
    assert_eq!(summary["commits"].as_u64(), Some(at));
    assert_eq!(summary["partnerships"], 1);

    // A restore into a store that is not empty changes nothing in it.
    let full = dir.path().join("full");
    let (code, _, err) = accord(&["restore", b, "--data-dir", full.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = accord(&["restore", b, "--data-dir", full.to_str().expect("utf-8")]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("empty log only"), "{err}");
    let again = Accord::embedded(&full);
    assert_eq!(last_position(&again).await, at, "nothing was added");
    again.stop();

    // A file changed since the backup.
    let commits = backup.join("commits.jsonl");
    let original = std::fs::read(&commits).expect("commits");
    let manifest_text = std::fs::read(backup.join("manifest.json")).expect("manifest");
    let mut changed = original.clone();
    changed.truncate(
        original.len()
            - 1
            - original
                .iter()
                .rev()
                .skip(1)
                .position(|&b| b == b'\n')
                .expect("lines"),
    );
    std::fs::write(&commits, &changed).expect("write");
    let target = dir.path().join("fresh");
    let t = target.to_str().expect("utf-8");
    let (code, _, err) = accord(&["restore", b, "--data-dir", t]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("changed since the backup was taken"), "{err}");
    assert!(!target.exists(), "the store was not touched");

    // A commit rewritten, and the digest with it: its chain no longer holds.
    std::fs::write(&commits, &original).expect("write");
    tamper(&backup, 2);
    let (code, _, err) = accord(&["restore", b, "--data-dir", t]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("line 2") && err.contains("position 2"),
        "{err}"
    );
    assert!(!target.exists(), "the store was not touched");

    // No manifest: an incomplete backup.
    std::fs::write(&commits, &original).expect("write");
    std::fs::remove_file(backup.join("manifest.json")).expect("remove");
    let (code, _, err) = accord(&["restore", b, "--data-dir", t]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("manifest"), "{err}");
    assert!(!target.exists(), "the store was not touched");

    // Put back as taken, it restores.
    std::fs::write(backup.join("manifest.json"), &manifest_text).expect("write");
    let (code, out, err) = accord(&["restore", b, "--data-dir", t]);
    assert_eq!(code, 0, "{out}{err}");
}
