//! Receipts as a client keeps and checks them, on both backends: `import` and `record` keep
//! the receipt of every commit, `verify --receipts` finds every head still in the log, and
//! catches what the chain alone cannot: an operator who wipes the log and appends a recomputed,
//! internally consistent chain with one commit changed, or one that stops short of the last
//! commits. A receipt edited by hand does not verify either.

use std::path::Path;
use std::sync::Arc;

use accord_domain::Commit;
use accord_log::embedded::EmbeddedLog;
use accord_log::jetstream::{JetStreamLog, STREAM, StreamSettings};
use accord_log::{AppendRequest, EventLog, Expected};
use futures::TryStreamExt;
use serde_json::{Value, json};

use crate::app::{Accord, accord, meeting};
use crate::harness::{NatsServer, ServerVersion, workspace_root};

const P: &str = "tinyrx-megahealth";
const EXAMPLE: &str = "tinyrx-megahealth-over-reliance.jsonl";

/// How the operator rewrites the log.
#[derive(Debug, Clone, Copy)]
enum Forgery {
    /// The commit at this position gets another note; everything after is re-linked.
    Change(u64),
    /// The last this many commits are left out.
    CutOff(u64),
}

/// Every commit of `log`, decoded.
async fn commits(log: &dyn EventLog) -> Vec<Commit> {
    let stored: Vec<_> = log
        .read_all(0)
        .await
        .expect("read")
        .try_collect()
        .await
        .expect("commits");
    stored
        .iter()
        .map(|c| {
            let commit = c.decode().expect("decode").1;
            let stored = commit.events.iter().map(|e| e.stored().clone()).collect();
            Commit {
                commit_id: commit.commit_id,
                partnership_id: commit.partnership_id,
                prev_hash: commit.prev_hash,
                recorded_at: commit.recorded_at,
                events: stored,
                signed: commit.signed,
            }
        })
        .collect()
}

/// Appends `commits` again, as `forgery` says, into an empty `log`: each commit with its own
/// id, time and events, sealed and linked anew, so that the chain verifies on its own.
async fn append_forged(log: &dyn EventLog, commits: Vec<Commit>, forgery: Forgery) {
    let keep = match forgery {
        Forgery::CutOff(n) => commits.len() - usize::try_from(n).expect("small"),
        Forgery::Change(_) => commits.len(),
    };
    for (position, mut commit) in (1..).zip(commits.into_iter().take(keep)) {
        if let Forgery::Change(at) = forgery
            && at == position
        {
            commit.events[0].occurred_at -= time::Duration::days(30);
        }
        log.append(AppendRequest {
            partnership_id: commit.partnership_id,
            commit_id: commit.commit_id,
            recorded_at: commit.recorded_at,
            // The events as stored: their digests are copied, not their values.
            events: commit.events.into(),
            disclosures: Vec::new().into(),
            signed: commit.signed.map(Box::new),
            expected: Expected::Any,
        })
        .await
        .expect("a forged append");
    }
}

/// Imports the example and records one commit more, keeping the receipts; checks them; returns
/// their number.
fn write_and_keep(a: &Accord, receipts: &Path) -> usize {
    let r = receipts.to_str().expect("utf-8");
    let file = workspace_root().join("examples").join(EXAMPLE);
    let (code, out, err) = accord(&[
        "import",
        file.to_str().expect("utf-8"),
        "--receipts",
        r,
        "--server",
        &a.url,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let commit = receipts.with_extension("commit.json");
    let mut m = meeting("m-last");
    m["actor"]["org"] = json!("tinyrx");
    m["data"]["requested_by_org"] = json!("tinyrx");
    std::fs::write(&commit, m.to_string()).expect("write");
    let (code, out, err) = accord(&[
        "record",
        P,
        "--file",
        commit.to_str().expect("utf-8"),
        "--receipts",
        r,
        "--server",
        &a.url,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let kept = std::fs::read_to_string(receipts).expect("receipts");
    let lines: Vec<Value> = kept
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    for (n, line) in (1..).zip(&lines) {
        assert_eq!(line["revision"], n, "one receipt per commit, in order");
        assert_eq!(line["partnership_id"], P);
    }
    let (code, out, err) = accord(&["verify", "--receipts", r, "--server", &a.url]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "{} checked, every head still in the log",
            lines.len()
        )),
        "{out}"
    );

    // A receipt edited by hand does not verify.
    let edited = receipts.with_extension("edited.jsonl");
    let mut changed = lines.clone();
    changed[3]["revision"] = json!(40);
    let text: String = changed.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&edited, text).expect("write");
    let (code, out, _) = accord(&[
        "verify",
        "--receipts",
        edited.to_str().expect("utf-8"),
        "--server",
        &a.url,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("1 of") && out.contains("line 4:") && out.contains("signature does not hold"),
        "{out}"
    );
    lines.len()
}

/// After the forgery, the chain verifies on its own, and the receipts name the first head the
/// log no longer holds.
fn caught(a: &Accord, receipts: &Path, forgery: Forgery, count: usize) {
    let (code, out, err) = accord(&["verify", "--server", &a.url]);
    assert_eq!(code, 0, "the forged chain holds on its own: {out}{err}");
    let (code, out, _) = accord(&[
        "verify",
        "--receipts",
        receipts.to_str().expect("utf-8"),
        "--server",
        &a.url,
    ]);
    assert_eq!(code, 1, "{out}");
    let (first, why, not_held) = match forgery {
        Forgery::Change(at) => (
            at,
            "the log holds another commit there",
            count - usize::try_from(at).expect("small") + 1,
        ),
        Forgery::CutOff(n) => (
            u64::try_from(count).expect("small") - n + 1,
            "the log holds no commit at that revision",
            usize::try_from(n).expect("small"),
        ),
    };
    assert!(
        out.contains(&format!("{not_held} of {count} NOT HELD"))
            && out.contains(&format!(
                "the first: line {first}: {P} at revision {first} "
            ))
            && out.contains(why),
        "{forgery:?}: {out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_catch_a_rewritten_or_cut_off_embedded_log() {
    for forgery in [Forgery::Change(10), Forgery::CutOff(3)] {
        let dir = tempfile::tempdir().expect("dir");
        let store = dir.path().join("store");
        let key = dir.path().join("ledger-key.pem");
        let args = [
            "--data-dir",
            store.to_str().expect("utf-8"),
            "--ledger-key",
            key.to_str().expect("utf-8"),
        ];
        let receipts = dir.path().join("receipts.jsonl");
        let a = Accord::up(&args);
        let count = write_and_keep(&a, &receipts);
        a.stop();

        // Whoever holds the store's files wipes it and appends a recomputed chain.
        let log = EmbeddedLog::open(&store).expect("open");
        let original = commits(&log).await;
        drop(log);
        std::fs::remove_dir_all(&store).expect("wipe");
        let log = EmbeddedLog::open(&store).expect("open");
        append_forged(&log, original, forgery).await;
        drop(log);

        let a = Accord::up(&args);
        caught(&a, &receipts, forgery, count);
        a.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_catch_a_rewritten_or_cut_off_stream() {
    for forgery in [Forgery::Change(10), Forgery::CutOff(3)] {
        let server = NatsServer::start(ServerVersion::Current).expect("server");
        let dir = tempfile::tempdir().expect("dir");
        let key = dir.path().join("ledger-key.pem");
        let k = key.to_str().expect("utf-8");
        let receipts = dir.path().join("receipts.jsonl");
        let a = Accord::up(&["--nats", &server.url(), "--ledger-key", k]);
        let count = write_and_keep(&a, &receipts);
        a.stop();

        // The admin user deletes the stream and appends a recomputed chain.
        let settings = StreamSettings::default();
        let log = JetStreamLog::connect(&server.url(), &settings)
            .await
            .expect("connect");
        let original = commits(&log).await;
        drop(log);
        let client = async_nats::connect(server.url()).await.expect("connect");
        async_nats::jetstream::new(client)
            .delete_stream(STREAM)
            .await
            .expect("delete the stream");
        let log = Arc::new(
            JetStreamLog::connect(&server.url(), &settings)
                .await
                .expect("a new stream"),
        );
        append_forged(&*log, original, forgery).await;
        drop(log);

        // A fresh projector store: the old one was built from the log before the forgery.
        let a = Accord::up(&["--nats", &server.url(), "--ledger-key", k]);
        caught(&a, &receipts, forgery, count);
        a.stop();
    }
}
