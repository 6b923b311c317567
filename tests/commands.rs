//! The client commands end to end, as a user runs them: `record`, `history` and `verify` with
//! their exit codes (a tampered store caught), `import` with its report, the examples, the
//! README's demo, and the synthetic history of `accord-dev gen`.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::app::{Accord, accord, accord_dev, history, meeting, proposal};
use crate::harness::{NatsServer, ServerVersion, workspace_root};

/// The client commands and their exit codes; `accord verify` catches a tampered store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_records_reads_and_verifies() {
    let dir = tempfile::tempdir().expect("dir");
    let store = dir.path().join("store");
    let a = Accord::embedded(&store);
    let file = dir.path().join("commit.json");
    std::fs::write(&file, json!([proposal(), meeting("m1")]).to_string()).expect("write");
    let f = file.to_str().expect("utf-8");
    let s = a.url.clone();

    let (code, out, err) = accord(&["record", "acme-stmary", "--file", f, "--server", &s]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("recorded 2 event(s) in acme-stmary at revision 1"),
        "{out}"
    );

    let (code, _, err) = accord(&["record", "acme-stmary", "--file", f, "--server", &s]);
    assert_eq!(code, 2, "a re-proposal is bad input");
    assert!(
        err.contains("events[0].type: the partnership was already proposed"),
        "{err}"
    );

    std::fs::write(&file, meeting("m2").to_string()).expect("write");
    let (code, _, err) = accord(&[
        "record",
        "acme-stmary",
        "--file",
        f,
        "--if-match",
        "0",
        "--server",
        &s,
    ]);
    assert_eq!(code, 1, "a conflict is a failure: {err}");
    assert!(err.contains("409"), "{err}");
    let (code, out, _) = accord(&[
        "record",
        "acme-stmary",
        "--file",
        f,
        "--idempotency-key",
        "k1",
        "--server",
        &s,
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("revision 2"), "{out}");

    let (code, out, _) = accord(&["history", "acme-stmary", "--server", &s]);
    assert_eq!(code, 0);
    assert_eq!(
        out.lines().count(),
        1 + 3,
        "a header and three events:\n{out}"
    );
    assert!(out.contains("partnership_proposed") && out.contains("meeting_requested"));
    let (code, out, _) = accord(&["history", "acme-stmary", "--json", "--server", &s]);
    assert_eq!(code, 0);
    let json: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(json["events"].as_array().map(Vec::len), Some(3));
    let (code, _, err) = accord(&["history", "acme-stmary", "--as-of", "soon", "--server", &s]);
    assert_eq!(code, 2, "{err}");
    let first_recorded = json["events"][0]["recorded_at"]
        .as_str()
        .expect("recorded_at");
    let (code, out, _) = accord(&[
        "history",
        "acme-stmary",
        "--json",
        "--as-of",
        first_recorded,
        "--server",
        &s,
    ]);
    assert_eq!(code, 0);
    let then: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        then["events"].as_array().map(Vec::len),
        Some(2),
        "as of the first commit's recording time, the second is not yet known"
    );

    let (code, out, _) = accord(&["verify", "--server", &s]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("acme-stmary: ok, 2 commits"), "{out}");

    a.stop();
    let db = sled::open(&store).expect("open store");
    let mut key = vec![b'c'];
    key.extend_from_slice(&2u64.to_be_bytes());
    let mut value = db.get(&key).expect("get").expect("commit 2").to_vec();
    let at = value.len() - 40;
    value[at] ^= 1;
    db.insert(key, value).expect("tamper");
    db.flush().expect("flush");
    drop(db);
    let a = Accord::embedded(&store);
    let (code, out, _) = accord(&["verify", "acme-stmary", "--server", &a.url]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN at position 2"), "{out}");

    let (code, _, err) = accord(&["history", "nobody", "--server", &a.url]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = accord(&["verify", "--server", "http://127.0.0.1:9"]);
    assert_eq!(code, 1, "an unreachable server is a failure: {err}");
}

/// `accord import`: appended, skipped as duplicates and rejected lines with their numbers and
/// reasons; stop or continue on error as the flag says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_reports_appended_skipped_and_rejected_lines() {
    let dir = tempfile::tempdir().expect("dir");
    let a = Accord::embedded(&dir.path().join("store"));
    let with_id = |mut e: Value| {
        e["partnership_id"] = json!("acme-stmary");
        e.to_string()
    };
    let bad_meeting = json!({"type": "meeting_held", "occurred_at": "2026-02-02T09:00:00Z",
        "actor": {"org": "acme"},
        "data": {"meeting_id": "m9", "in_person": false,
                 "attendees": [{"org": "acme", "person": "Ana", "seniority": "staff"}]}});
    let lines = [
        json!({"partnership_id": "acme-stmary", "events": [proposal()]}).to_string(),
        with_id(meeting("m1")),
        with_id(bad_meeting),
        "not json".to_owned(),
        String::new(),
        with_id(meeting("m2")),
    ];
    let file = dir.path().join("history.jsonl");
    std::fs::write(&file, lines.join("\n")).expect("write");
    let f = file.to_str().expect("utf-8");

    let (code, out, _) = accord(&["import", f, "--server", &a.url]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("2 commits appended (2 events), 0 skipped as duplicates, 1 lines rejected"),
        "stops at the first refused line: {out}"
    );
    assert!(
        out.contains(
            "line 3: 422 Unprocessable Entity: events[0].data.meeting_id: unknown meeting m9"
        ),
        "{out}"
    );

    let (code, out, _) = accord(&["import", f, "--on-error", "continue", "--server", &a.url]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("1 commits appended (1 events), 2 skipped as duplicates, 2 lines rejected"),
        "{out}"
    );
    assert!(out.contains("line 4: malformed JSON"), "{out}");
    assert_eq!(
        history(&a, "acme-stmary").await["events"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let (code, out, _) = accord(&["import", f, "--on-error", "continue", "--server", &a.url]);
    assert_eq!(code, 2);
    assert!(
        out.contains("0 commits appended (0 events), 3 skipped as duplicates"),
        "{out}"
    );
}

/// The examples import cleanly through the real binary, on both backends, and verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_examples_import_and_verify() {
    let dir = tempfile::tempdir().expect("dir");
    let server = NatsServer::start(ServerVersion::Minimum).expect("server");
    for a in [Accord::embedded(dir.path()), Accord::jetstream(&server)] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(workspace_root().join("examples"))
            .expect("examples")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        files.sort();
        assert_eq!(files.len(), 5);
        for f in &files {
            let (code, out, err) =
                accord(&["import", f.to_str().expect("utf-8"), "--server", &a.url]);
            assert_eq!(code, 0, "{}: {out}{err}", f.display());
            assert!(
                out.contains(", 0 skipped as duplicates, 0 lines rejected"),
                "{out}"
            );
        }
        let (code, out, _) = accord(&["verify", "--server", &a.url]);
        assert_eq!(code, 0, "{out}");
        assert_eq!(
            out.lines().filter(|l| l.contains(": ok, ")).count(),
            5,
            "{out}"
        );
        a.stop();
    }
}

/// The README's first command: the demo runs with no server and shows the samples.
#[test]
fn the_demo_runs_without_a_server() {
    let dir = tempfile::tempdir().expect("dir");
    let reports = dir.path().join("reports");
    let (code, out, err) = accord(&["demo", "--reports", reports.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("hash chain of acme-stmary: 8 commits, every link holds")
            && out.contains("2 signed, every signature holds"),
        "{out}"
    );
    assert!(
        out.contains("erased, the erasure recorded at revision 6")
            && out.contains("the attendees of meeting m1 now read: Ana Ruiz, [erased]")
            && !out.contains("Sam Lee,")
            && !out.contains(", Dr Sam Lee"),
        "the demo erases a person: {out}"
    );
    assert!(
        out.contains("acme registers a signing key and signs its next act (revisions 7 and 8)")
            && out.contains("an unsigned act of acme is refused: validation failed: signature: acme signs its acts"),
        "the demo signs acts: {out}"
    );
    assert!(
        out.contains("receipts of its 8 commits, signed by ledger key")
            && out.contains("every head is still in the log"),
        "{out}"
    );
    assert!(
        out.contains("refused: validation failed: events[0].data.meeting_id: unknown meeting m9")
    );
    for p in [
        "acme-stmary-rpm",
        "jointworks-riverside",
        "frontdoor-metro-carefirst",
        "medai-lakeside",
        "tinyrx-megahealth",
    ] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(p))
            .unwrap_or_else(|| panic!("{p} in\n{out}"));
        assert!(line.trim_end().ends_with("ok"), "{line}");
    }
    // Then the projector's summary of each: the worked example ends with R1 at warn (step 5).
    assert!(
        out.contains("the projector folded all 188 commits into read models"),
        "{out}"
    );
    for p in ["acme-stmary", "medai-lakeside", "tinyrx-megahealth"] {
        assert!(
            out.contains(&format!("\n{p} summary as of ")),
            "{p} in\n{out}"
        );
    }
    assert!(
        out.contains("red flag   warn     R1 unwilling_partner (acme>stmary): acme made the last two requests"),
        "{out}"
    );
    assert!(
        out.contains("R14 fomo: proposed because a competitor did it"),
        "{out}"
    );
    // R2 weighs materiality first: tinyrx earns most of its revenue through megahealth.
    assert!(
        out.contains(
            "R2 over_reliance (tinyrx): tinyrx earns 86% of its revenue through megahealth"
        ),
        "{out}"
    );
    // Last, a retrospective per sample partnership (tests/retro.rs renders them).
    let written = std::fs::read_dir(&reports).expect("the reports").count();
    assert_eq!(written, 5, "{out}");
    // The centre of excellence done right: each side earns a few percent through the other, so
    // neither relies on it, though each lists only that partner.
    let coe = std::fs::read_to_string(reports.join("jointworks-riverside.html")).expect("report");
    assert!(
        !coe.contains("over_reliance"),
        "no R2 in jointworks-riverside"
    );
    assert!(
        coe.contains("earns 7% of its revenue through partners"),
        "the retro shows why"
    );
}

/// `accord-dev gen` is deterministic for a seed, and everything it writes imports.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_histories_are_deterministic_and_valid() {
    let dir = tempfile::tempdir().expect("dir");
    let file = |name: &str| dir.path().join(name).to_str().expect("utf-8").to_owned();
    let generate_of = |partnerships: &str, events: &str, seed: &str, out: &str| {
        let (code, _, err) = accord_dev(&[
            "gen",
            "--partnerships",
            partnerships,
            "--events",
            events,
            "--seed",
            seed,
            "--out",
            out,
        ]);
        assert_eq!(code, 0, "{err}");
        std::fs::read_to_string(out).expect("read")
    };
    let generate = |seed: &str, out: &str| generate_of("12", "600", seed, out);
    let a1 = generate("7", &file("a1.jsonl"));
    assert_eq!(
        a1,
        generate("7", &file("a2.jsonl")),
        "the same seed, the same history"
    );
    assert_ne!(
        a1,
        generate("8", &file("b.jsonl")),
        "another seed, another history"
    );
    assert_eq!(a1.lines().count(), 600);

    let a = Accord::embedded(&dir.path().join("store"));
    let (code, out, err) = accord(&["import", &file("a1.jsonl"), "--server", &a.url]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(
            "600 commits appended (600 events), 0 skipped as duplicates, 0 lines rejected"
        ),
        "{out}"
    );
    // Few events per partnership: the jittered clock must still stay in the past.
    generate_of("300", "900", "1", &file("sparse.jsonl"));
    let sparse = Accord::embedded(&dir.path().join("sparse-store"));
    let (code, out, err) = accord(&["import", &file("sparse.jsonl"), "--server", &sparse.url]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(
            "900 commits appended (900 events), 0 skipped as duplicates, 0 lines rejected"
        ),
        "{out}"
    );
}
