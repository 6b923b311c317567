//! Acts signed by their org, as the orgs and an auditor run them, on both backends: a key made
//! with `accord key new` and registered signed with itself; from then on the org's commits are
//! signed by `record --key` and `import --key` (or by the Python example, for the other org),
//! an unsigned or otherwise signed one is refused; `verify` checks every signature, still holds
//! after an erasure, and names a commit appended behind the ledger's back.

use std::path::Path;
use std::sync::Arc;

use accord_domain::personal::seal;
use accord_domain::{EventInput, PartnershipId};
use accord_log::embedded::EmbeddedLog;
use accord_log::jetstream::{JetStreamLog, StreamSettings};
use accord_log::{AppendRequest, EventLog, Expected};
use serde_json::{Value, json};

use crate::app::{Accord, accord, meeting, program, proposal};
use crate::harness::{NatsServer, ServerVersion};

const P: &str = "acme-stmary";

enum Backend {
    Embedded(tempfile::TempDir),
    JetStream(NatsServer),
}

impl Backend {
    fn start(&self) -> Accord {
        match self {
            Backend::Embedded(dir) => Accord::embedded(dir.path()),
            Backend::JetStream(server) => Accord::jetstream(server),
        }
    }

    async fn log(&self) -> Arc<dyn EventLog> {
        match self {
            Backend::Embedded(dir) => Arc::new(EmbeddedLog::open(dir.path()).expect("the store")),
            Backend::JetStream(server) => Arc::new(
                JetStreamLog::connect(&server.url(), &StreamSettings::default())
                    .await
                    .expect("the stream"),
            ),
        }
    }
}

fn write(dir: &Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

fn record(a: &Accord, file: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["record", P, "-f", file, "--server", &a.url];
    args.extend_from_slice(extra);
    accord(&args)
}

fn with_person(mut event: Value, person: &str) -> Value {
    event["actor"]["person"] = json!(person);
    event["note"] = json!(format!("{person} asked for it"));
    event
}

fn verify(a: &Accord) -> (i32, String) {
    let (code, out, err) = accord(&["verify", P, "--server", &a.url, "--json"]);
    (code, format!("{out}{err}"))
}

async fn signed_acts(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let a = backend.start();
    let (code, out, err) = record(&a, &write(d, "p.json", &proposal()), &[]);
    assert_eq!(code, 0, "{out}{err}");

    // acme makes a key and registers it, signed with the key itself.
    let key = d.join("acme.key");
    let key = key.to_str().expect("utf-8");
    let (code, registration, err) = accord(&["key", "new", "--org", "acme", "--out", key]);
    assert_eq!(code, 0, "{err}");
    let registration: Value = serde_json::from_str(&registration).expect("the event");
    assert_eq!(registration["type"], "org_key_registered");
    let reg = write(d, "reg.json", &registration);
    let (code, _, err) = record(&a, &reg, &[]);
    assert_eq!(code, 2, "an unsigned registration: {err}");
    assert!(err.contains("signature: acme signs its acts"), "{err}");
    let (code, out, err) = record(&a, &reg, &["--key", key]);
    assert_eq!(code, 0, "{out}{err}");

    // From then on, acme's commits are signed with that key, and only with it.
    // A time with an offset is signed as the log stores it, in UTC.
    let mut m1 = with_person(meeting("m1"), "Ana Ruiz");
    m1["occurred_at"] = json!("2026-02-01T11:00:00.250+02:00");
    let m1 = write(d, "m1.json", &m1);
    let (code, _, err) = record(&a, &m1, &[]);
    assert_eq!(code, 2, "unsigned: {err}");
    let other = d.join("other.key");
    let (code, _, err) = accord(&[
        "key",
        "new",
        "--org",
        "acme",
        "--out",
        other.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = record(&a, &m1, &["--key", other.to_str().expect("utf-8")]);
    assert_eq!(code, 2, "another key: {err}");
    assert!(err.contains("signature.key_id"), "{err}");
    let (code, out, err) = record(&a, &m1, &["--key", key]);
    assert_eq!(code, 0, "{out}{err}");

    // A signed body that does not hold is refused by field, and records nothing.
    let another_registration: Value = serde_json::from_str(
        &accord(&[
            "key",
            "new",
            "--org",
            "acme",
            "--out",
            d.join("k3").to_str().expect("utf-8"),
        ])
        .1,
    )
    .expect("an event");
    let cases = [
        (
            json!({"events": [another_registration], "disclosures": [], "signature": {"org": "acme", "key_id": "XYZ", "sig": "AA=="}}),
            "signature.key_id",
        ),
        (
            json!({"events": [meeting("m9")], "disclosures": [1], "signature": {"org": "acme", "key_id": "0000000000000000", "sig": "AA=="}}),
            "disclosures[0]",
        ),
        (
            json!({"events": [meeting("m9")], "signature": {"org": "acme", "key_id": "0000000000000000", "sig": "AA=="}, "extra": 1}),
            "extra",
        ),
        (
            json!({"events": meeting("m9"), "signature": {"org": "acme", "key_id": "0000000000000000", "sig": "AA=="}}),
            "events",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = crate::app::post_raw(
            &a,
            P,
            body.to_string().into_bytes(),
            &[("Idempotency-Key", "k")],
        )
        .await;
        assert_eq!(
            status,
            reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {answer}"
        );
        assert!(
            answer["details"]
                .as_array()
                .is_some_and(|d| d.iter().any(|d| d["field"] == field)),
            "{field}: {answer}"
        );
    }
    let (status, answer) = crate::app::post_raw(
        &a,
        P,
        json!({"events": [meeting("m9")], "disclosures": [], "signature": {"org": "acme", "key_id": "0000000000000000", "sig": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="}}).to_string().into_bytes(),
        &[],
    )
    .await;
    assert_eq!(
        status,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "{answer}"
    );
    assert_eq!(answer["details"][0]["field"], "idempotency_key", "{answer}");

    // An import signs each line; a second import of the file records nothing new.
    let lines = [2, 3]
        .map(|n| json!({"partnership_id": P, "events": [with_person(meeting(&format!("m{n}")), "Ana Ruiz")]}).to_string())
        .join("\n");
    let file = d.join("lines.jsonl");
    std::fs::write(&file, lines).expect("write");
    let file = file.to_str().expect("utf-8");
    for (appended, skipped) in [(2, 0), (0, 2)] {
        let (code, out, err) =
            accord(&["import", file, "--key", key, "--server", &a.url, "--json"]);
        assert_eq!(code, 0, "{out}{err}");
        let report: Value = serde_json::from_str(&out).expect("json");
        assert_eq!(
            (report["appended"].as_u64(), report["skipped"].as_u64()),
            (Some(appended), Some(skipped)),
            "{report}"
        );
    }

    // stmary signs nothing until it registers a key of its own: here with the Python example.
    let (code, out, err) = record(
        &a,
        &write(
            d,
            "s.json",
            &json!({"type": "follow_up_proposed",
        "occurred_at": "2026-02-02T09:00:00Z", "actor": {"org": "stmary"}, "data": {"by_org": "stmary"}}),
        ),
        &[],
    );
    assert_eq!(code, 0, "{out}{err}");
    let python = program(
        "ACCORD_PYTHON",
        ".tools/py/bin/python",
        "run scripts/test once",
    );
    let example = crate::harness::workspace_root().join("examples/signing/sign_commit.py");
    let events = write(
        d,
        "py.json",
        &with_person(
            json!({"type": "meeting_requested",
        "occurred_at": "2026-02-03T09:00:00Z", "actor": {"org": "stmary"},
        "data": {"meeting_id": "s1", "requested_by_org": "stmary", "purpose": "a visit"}}),
            "Dr Sam Lee",
        ),
    );
    let ran = std::process::Command::new(python)
        .arg(&example)
        .args([
            "--server",
            &a.url,
            "--partnership",
            P,
            "--org",
            "stmary",
            "--new-key",
        ])
        .arg(d.join("stmary.pem"))
        .args(["--events", &events])
        .output()
        .expect("run the example");
    assert!(
        ran.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );
    let history = crate::app::history(&a, P).await.to_string();
    assert!(
        history.contains("Dr Sam Lee") && history.contains("a visit"),
        "the values are joined back in"
    );

    let (code, out) = verify(&a);
    assert_eq!(code, 0, "{out}");
    let report: Value = serde_json::from_str(&out).expect("json");
    let signed = report["partnerships"][0]["signed"]
        .as_u64()
        .expect("signed");
    assert_eq!(
        signed, 6,
        "acme's registration, m1, two imports, stmary's two: {report}"
    );

    // An erasure changes no signature: the signatures cover the digests.
    let (code, out, err) = accord(&[
        "forget",
        "--person",
        "Ana Ruiz",
        "--as-org",
        "acme",
        "--basis",
        "consent_withdrawn",
        "--server",
        &a.url,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        !crate::app::history(&a, P)
            .await
            .to_string()
            .contains("Ana Ruiz")
    );
    let (code, out) = verify(&a);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("\"signed\": {signed}")), "{out}");
    a.stop();

    // Behind the ledger's back, with the store's own access: an act of acme without its
    // signature. The chain links, but verify names it.
    let forged = {
        let log = backend.log().await;
        let p = PartnershipId::parse(P).expect("slug");
        let head = log.head(&p).await.expect("head");
        let input: EventInput = serde_json::from_value(meeting("forged")).expect("event");
        let now = time::OffsetDateTime::now_utc();
        let event = input.into_event(
            accord_domain::EventId::from_uuid(accord_domain::ids::Uuid::now_v7()),
            p.clone(),
            now,
        );
        let stored = seal(vec![event], &mut || [1; 16]);
        log.append(AppendRequest {
            partnership_id: p,
            commit_id: accord_domain::CommitId::from_uuid(accord_domain::ids::Uuid::now_v7()),
            recorded_at: now,
            events: stored.events.into(),
            disclosures: stored.disclosures.into(),
            signed: None,
            expected: Expected::Exact(head),
        })
        .await
        .expect("a forged append")
        .position
    };
    let a = backend.start();
    let (code, out) = verify(&a);
    assert_eq!(code, 1, "{out}");
    let report: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        report["partnerships"][0]["unsigned"],
        json!([forged]),
        "{report}"
    );
    let (_, words, _) = accord(&["verify", P, "--server", &a.url]);
    assert!(
        words.contains("SIGNATURES DO NOT HOLD") && words.contains(&format!("[{forged}]")),
        "{words}"
    );
    a.stop();

    // The one-pass verification of the whole log finds what each partnership's does.
    let log = backend.log().await;
    let all = accord_log::verify_log(&*log).await.expect("verify the log");
    assert_eq!(all.len(), 1);
    for (p, found) in &all {
        let alone = accord_log::verify_partnership(&*log, p)
            .await
            .expect("verify");
        assert_eq!(found, &alone, "{p}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_store_takes_signed_acts() {
    signed_acts(Backend::Embedded(tempfile::tempdir().expect("dir"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_takes_signed_acts() {
    let server = NatsServer::start(ServerVersion::Current).expect("nats-server");
    signed_acts(Backend::JetStream(server)).await;
}
