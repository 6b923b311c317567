//! The analytics feed end to end: `accord up` on JetStream publishes every read model it changes
//! on `ACCORD_ANALYTICS`; the Python example consumer (nats-py, classes generated from `proto/`
//! by protoc) gets the current state of every partnership, then live updates; a restart, a
//! crash that lost the feed's mark, and a rebuild publish nothing twice.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::app::{Accord, get_json, http, import_examples, program, revision};
use crate::harness::{NatsServer, ServerVersion, workspace_root};

/// Longest wait for the feed, the consumer or a message.
const WAIT: Duration = Duration::from_secs(60);
/// Examples imported: three partnerships.
const EXAMPLES: [&str; 3] = [
    "acme-stmary-unwilling-partner.jsonl",
    "medai-lakeside-fomo-copycat.jsonl",
    "tinyrx-megahealth-over-reliance.jsonl",
];
const MODELS: usize = 6;

/// The Python the test command installs the examples' requirements into: `$ACCORD_PYTHON`, or
/// `.tools/py/bin/python` in the workspace.
pub(crate) fn python() -> PathBuf {
    program(
        "ACCORD_PYTHON",
        ".tools/py/bin/python",
        "scripts/test installs examples/analytics/requirements.txt there",
    )
}

/// Generates the Python classes of `proto/` into `out` with protoc (grpcio-tools), as
/// docs/analytics.md says.
pub(crate) fn generate_python_classes(out: &Path) {
    let root = workspace_root();
    std::fs::create_dir_all(out).expect("create the classes' directory");
    let protos = ["events", "commit", "analytics"].map(|p| format!("proto/accord/v1/{p}.proto"));
    let status = Command::new(python())
        .current_dir(&root)
        .args(["-m", "grpc_tools.protoc", "-I", "proto"])
        .arg(format!("--python_out={}", out.display()))
        .args(&protos)
        .status()
        .expect("run protoc");
    assert!(status.success(), "protoc generates the Python classes");
}

/// The example consumer, its output lines arriving on a channel.
struct Consumer {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Consumer {
    fn start(nats: &str, classes: &Path) -> Self {
        let mut child = Command::new(python())
            .arg(workspace_root().join("examples/analytics/consumer.py"))
            .args(["--nats", nats])
            .env("PYTHONPATH", classes)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the consumer");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self { child, lines }
    }

    fn next(&self) -> Value {
        let line = self
            .lines
            .recv_timeout(WAIT)
            .expect("the consumer prints a line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// The updates up to the line that says the consumer caught up.
    fn until_caught_up(&self) -> Vec<Value> {
        let mut updates = Vec::new();
        loop {
            let line = self.next();
            if line["caught_up"] == true {
                assert_eq!(line["updates"], updates.len());
                return updates;
            }
            updates.push(line);
        }
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn instant(v: &Value) -> time::OffsetDateTime {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
}

async fn health(a: &Accord) -> Value {
    get_json(a, "/healthz").await
}

/// Waits until the feed has published every change up to the log's head; gives the head.
async fn published(a: &Accord) -> u64 {
    let deadline = Instant::now() + WAIT;
    loop {
        let h = health(a).await;
        let head = h["last_position"].as_u64().expect("head");
        if h["projector"]["analytics_published"].as_u64() == Some(head) {
            return head;
        }
        assert!(
            Instant::now() < deadline,
            "the feed did not publish up to {head}: {h}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many updates per subject the stream keeps.
async fn kept_per_subject(url: &str) -> i64 {
    let client = async_nats::connect(url).await.expect("connect");
    let mut stream = jetstream::new(client)
        .get_stream("ACCORD_ANALYTICS")
        .await
        .expect("stream");
    stream
        .info()
        .await
        .expect("info")
        .config
        .max_messages_per_subject
}

/// Every message the stream holds: (subject, Accord-Position), and its last sequence.
async fn stream_contents(url: &str) -> (Vec<(String, u64)>, u64) {
    let client = async_nats::connect(url).await.expect("connect");
    let js = jetstream::new(client);
    let mut stream = js.get_stream("ACCORD_ANALYTICS").await.expect("stream");
    let info = stream.info().await.expect("info");
    let (count, last) = (info.state.messages, info.state.last_sequence);
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig::default())
        .await
        .expect("consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let mut out = Vec::new();
    while (out.len() as u64) < count {
        let m = tokio::time::timeout(WAIT, messages.next())
            .await
            .expect("a message in time")
            .expect("a message")
            .expect("no error");
        let position = m
            .headers
            .as_ref()
            .and_then(|h| h.get("Accord-Position"))
            .and_then(|v| v.as_str().parse().ok())
            .expect("Accord-Position");
        out.push((m.subject.to_string(), position));
    }
    (out, last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_follows_the_feed_and_nothing_is_published_twice() {
    let server = NatsServer::start(ServerVersion::Current).expect("server");
    let dir = tempfile::tempdir().expect("dir");
    let data_dir = dir.path().join("data");
    let args = [
        "--nats".to_owned(),
        server.url(),
        "--data-dir".to_owned(),
        data_dir.display().to_string(),
        "--analytics-keep".to_owned(),
        "3".to_owned(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, err) = crate::app::accord(&["up", "--analytics-keep", "0"]);
    assert_eq!(code, 2, "keeping no update is refused: {err}");
    assert!(err.contains("--analytics-keep"), "{err}");
    let a = Accord::up(&args);
    import_examples(&a, &EXAMPLES);
    published(&a).await;

    // The consumer gets the current state of every partnership: each model once, at the
    // partnership's last revision, decoded with the published schema.
    let classes = dir.path().join("classes");
    generate_python_classes(&classes);
    let consumer = Consumer::start(&server.url(), &classes);
    let current = consumer.until_caught_up();
    let mut seen = BTreeMap::new();
    for u in &current {
        let p = u["partnership_id"]
            .as_str()
            .expect("partnership")
            .to_owned();
        let model = u["model"].as_str().expect("model").to_owned();
        assert_eq!(u["subject"], format!("accord.analytics.{model}.{p}"));
        assert_eq!(u["data"]["partnership_id"], p.as_str());
        assert_eq!(instant(&u["data"]["as_of"]), instant(&u["as_of"]), "{u}");
        assert!(
            seen.insert((p, model), u.clone()).is_none(),
            "one each: {u}"
        );
    }
    let partnerships: BTreeSet<String> = seen.keys().map(|(p, _)| p.clone()).collect();
    assert_eq!(partnerships.len(), EXAMPLES.len());
    assert_eq!(seen.len(), EXAMPLES.len() * MODELS);
    for p in &partnerships {
        let r = revision(&a, p).await;
        for ((q, model), u) in &seen {
            if q == p {
                assert_eq!(u["position"], r, "{model} of {p} is at its last revision");
            }
        }
        // The feed's summary is the query's answer at the same axes.
        let fed = &seen[&(p.clone(), "summary".to_owned())]["data"];
        let axis = |name: &str| fed[name].as_str().expect(name).to_owned();
        let (as_of, valid_at) = (axis("as_of"), axis("valid_at"));
        let query = get_json(
            &a,
            &format!("/v1/partnerships/{p}/summary?as_of={as_of}&valid_at={valid_at}"),
        )
        .await;
        let rules = |flags: &Value| -> Vec<String> {
            flags
                .as_array()
                .map(|f| {
                    f.iter()
                        .map(|f| f["rule_id"].as_str().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(
            rules(&fed["open_flags"]),
            rules(&query["open_flags"]),
            "{p}"
        );
        assert!(!rules(&fed["open_flags"]).is_empty(), "{p} has open flags");
        let bands = |trust: &Value| -> Vec<(String, String)> {
            trust
                .as_array()
                .map(|t| {
                    t.iter()
                        .map(|t| (t["org"].to_string(), t["band"].to_string()))
                        .collect()
                })
                .unwrap_or_default()
        };
        assert_eq!(bands(&fed["trust"]), bands(&query["trust"]), "{p}");
    }

    // Then live updates: one more commit gives every model of that partnership once.
    let p = partnerships.first().expect("a partnership").clone();
    let meeting = json!({"type": "meeting_requested", "occurred_at": "2025-06-01T09:00:00Z",
        "actor": {"org": "acme"},
        "data": {"meeting_id": "feed-m1", "requested_by_org": "acme", "purpose": "retro"}});
    let resp = http()
        .post(a.events_url(&p))
        .json(&meeting)
        .send()
        .await
        .expect("send");
    assert!(resp.status().is_success(), "{}", resp.status());
    let r = revision(&a, &p).await;
    let live: BTreeSet<(String, u64)> = (0..MODELS)
        .map(|_| {
            let u = consumer.next();
            assert_eq!(u["partnership_id"], p.as_str(), "{u}");
            (
                u["model"].as_str().expect("model").to_owned(),
                u["position"].as_u64().expect("position"),
            )
        })
        .collect();
    assert_eq!(live.len(), MODELS);
    assert!(live.iter().all(|(_, position)| *position == r));
    drop(consumer);

    let head = published(&a).await;
    let (before, last) = stream_contents(&server.url()).await;
    let unique: BTreeSet<&(String, u64)> = before.iter().collect();
    assert_eq!(unique.len(), before.len(), "no update twice: {before:?}");
    let mut per_subject = BTreeMap::<&str, usize>::new();
    for (subject, _) in &before {
        *per_subject.entry(subject).or_default() += 1;
    }
    assert_eq!(per_subject.len(), EXAMPLES.len() * MODELS);
    assert!(
        per_subject.values().all(|n| *n <= 3),
        "keeps 3: {per_subject:?}"
    );

    // A restart (which also keeps fewer updates per subject now), a crash that lost the feed's
    // mark, and a rebuild publish nothing again.
    a.stop();
    let keep_two: Vec<&str> = args
        .iter()
        .map(|a| if *a == "3" { "2" } else { *a })
        .collect();
    let a = Accord::up(&keep_two);
    assert_eq!(published(&a).await, head);
    assert_eq!(kept_per_subject(&server.url()).await, 2);
    a.kill();
    std::fs::remove_file(data_dir.join("projections/analytics.published")).expect("remove mark");
    let a = Accord::up(&args);
    assert_eq!(published(&a).await, head);
    a.stop();
    let mut rebuild = args.clone();
    rebuild.push("--rebuild");
    let a = Accord::up(&rebuild);
    let deadline = Instant::now() + WAIT;
    while health(&a).await["projector"]["rebuilding"] != false {
        assert!(Instant::now() < deadline, "the rebuild finishes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The next commit is published once, after whatever the swap made the feed look at.
    let resp = http()
        .post(a.events_url(&p))
        .json(
            &json!({"type": "meeting_requested", "occurred_at": "2025-06-02T09:00:00Z",
            "actor": {"org": "acme"},
            "data": {"meeting_id": "feed-m2", "requested_by_org": "acme", "purpose": "retro"}}),
        )
        .send()
        .await
        .expect("send");
    assert!(resp.status().is_success(), "{}", resp.status());
    let head = published(&a).await;
    let (after, last_after) = stream_contents(&server.url()).await;
    assert_eq!(
        last_after,
        last + MODELS as u64,
        "only the new commit's updates"
    );
    let unique: BTreeSet<&(String, u64)> = after.iter().collect();
    assert_eq!(unique.len(), after.len(), "no update twice: {after:?}");
    let new: BTreeSet<&(String, u64)> = after.iter().filter(|u| !before.contains(u)).collect();
    assert_eq!(new.len(), MODELS);
    assert!(
        new.iter()
            .all(|(subject, position)| subject.ends_with(&format!(".{p}")) && *position == head)
    );
    a.stop();
}
