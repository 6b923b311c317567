//! `accord export` end to end: every table in the three formats from a running `accord up`. The
//! Parquet files are read back with DuckDB (a real Parquet reader, from Python), and the three
//! formats hold the same rows. The rows say what the API says: events with both times and the
//! hash chain, one summary row per partnership, one trust row per point. Bad arguments leave no
//! file and exit 2.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::analytics::python;
use crate::app::{Accord, accord, get_json, import_examples};
use crate::harness::workspace_root;

const TABLES: [&str; 7] = [
    "events",
    "trust",
    "throughput",
    "asymmetry",
    "goals",
    "flags",
    "summary",
];
const AS_OF: &str = "2030-01-01T00:00:00Z";

/// A cell as the three formats can all say it: CSV cannot tell an empty string from a null,
/// nor a number from a string that looks like one.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Num(f64),
    Text(String),
    /// An instant, in microseconds.
    Time(i128),
}

fn is_time(column: &str) -> bool {
    column == "as_of" || column == "at" || column.ends_with("_at")
}

fn text_cell(column: &str, s: &str) -> Cell {
    if s.is_empty() {
        Cell::Null
    } else if is_time(column) {
        let t = OffsetDateTime::parse(s, &Rfc3339).unwrap_or_else(|e| panic!("{column} {s}: {e}"));
        Cell::Time(t.unix_timestamp_nanos() / 1000)
    } else if let Ok(n) = s.parse::<f64>() {
        Cell::Num(n)
    } else {
        Cell::Text(s.to_owned())
    }
}

fn json_cell(column: &str, v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::Number(n) if is_time(column) => Cell::Time(n.as_i64().expect("µs").into()),
        Value::Number(n) => Cell::Num(n.as_f64().expect("a number")),
        Value::Bool(b) => Cell::Text(b.to_string()),
        Value::String(s) => text_cell(column, s),
        other => panic!("{column}: a cell is a scalar, not {other}"),
    }
}

/// The header and rows of a CSV export.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<Cell>>) {
    let mut reader = csv::Reader::from_path(path).expect("open the CSV");
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("a record");
            header
                .iter()
                .zip(r.iter())
                .map(|(c, s)| text_cell(c, s))
                .collect()
        })
        .collect();
    (header, rows)
}

/// The keys (in file order) and rows of a JSON-lines export.
fn read_jsonl(path: &Path) -> (Vec<String>, Vec<Vec<Cell>>) {
    let text = std::fs::read_to_string(path).expect("read the JSONL");
    let mut header = Vec::new();
    let rows = text
        .lines()
        .map(|line| {
            let object: serde_json::Map<String, Value> =
                serde_json::from_str(line).expect("a JSON object per line");
            header = object.keys().cloned().collect();
            object.iter().map(|(c, v)| json_cell(c, v)).collect()
        })
        .collect();
    (header, rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_round_trip_in_csv_jsonl_and_parquet() {
    let dir = tempfile::tempdir().expect("dir");
    let a = Accord::up(&[]);
    import_examples(
        &a,
        &[
            "jointworks-riverside-bundled-coe.jsonl",
            "tinyrx-megahealth-over-reliance.jsonl",
        ],
    );
    let partnerships: Vec<String> = get_json(&a, "/v1/partnerships").await["partnerships"]
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["partnership_id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(partnerships.len(), 2);
    let file = |table: &str, format: &str| dir.path().join(format!("{table}.{format}"));

    for table in TABLES {
        for format in ["csv", "jsonl", "parquet"] {
            let out = file(table, format);
            let (code, stdout, err) = accord(&[
                "export",
                "--model",
                table,
                "--format",
                format,
                "--as-of",
                AS_OF,
                "--out",
                out.to_str().expect("utf-8"),
                "--server",
                &a.url,
            ]);
            assert_eq!(code, 0, "{table} {format}: {stdout}{err}");
            assert!(
                stdout.contains(&format!("exported {table} of 2 partnership(s)")),
                "{stdout}"
            );
        }
    }

    // DuckDB reads every Parquet file, with the types of the schema.
    let parquet: Vec<String> = TABLES
        .iter()
        .map(|t| file(t, "parquet").display().to_string())
        .collect();
    let output = Command::new(python())
        .arg(workspace_root().join("tests/python/read_parquet.py"))
        .args(&parquet)
        .output()
        .expect("run DuckDB");
    assert!(
        output.status.success(),
        "DuckDB reads the Parquet files: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let read: BTreeMap<String, Value> =
        serde_json::from_slice(&output.stdout).expect("JSON from the reader");

    let mut tables = BTreeMap::new();
    for (table, path) in TABLES.iter().zip(&parquet) {
        let duck = &read[path];
        let types: BTreeMap<&str, &str> = duck["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| (c[0].as_str().expect("name"), c[1].as_str().expect("type")))
            .collect();
        let header: Vec<String> = duck["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c[0].as_str().expect("name").to_owned())
            .collect();
        let rows: Vec<Vec<Cell>> = duck["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| {
                header
                    .iter()
                    .zip(r.as_array().expect("a row"))
                    .map(|(c, v)| json_cell(c, v))
                    .collect()
            })
            .collect();
        assert!(!rows.is_empty(), "{table} has rows");
        for (column, kind) in &types {
            if is_time(column) {
                assert_eq!(*kind, "TIMESTAMP WITH TIME ZONE", "{table}.{column}");
            }
        }
        assert_eq!(types["partnership_id"], "VARCHAR");

        // The three formats: the same columns, the same rows, in the same order.
        let (csv_header, csv_rows) = read_csv(&file(table, "csv"));
        let (jsonl_header, jsonl_rows) = read_jsonl(&file(table, "jsonl"));
        assert_eq!(csv_header, header, "{table}: CSV columns");
        let mut sorted = header.clone();
        sorted.sort();
        assert_eq!(jsonl_header, sorted, "{table}: JSONL keys");
        let jsonl_rows: Vec<Vec<Cell>> = jsonl_rows
            .into_iter()
            .map(|row| {
                let by_name: BTreeMap<&String, Cell> = jsonl_header.iter().zip(row).collect();
                header.iter().map(|c| by_name[c].clone()).collect()
            })
            .collect();
        assert_eq!(csv_rows, rows, "{table}: CSV and Parquet");
        assert_eq!(jsonl_rows, rows, "{table}: JSONL and Parquet");
        tables.insert(*table, (types, header, rows));
    }
    let column = |table: &str, name: &str| -> Vec<Cell> {
        let (_, header, rows) = &tables[table];
        let i = header.iter().position(|c| c == name).expect("a column");
        rows.iter().map(|r| r[i].clone()).collect()
    };

    // Events: every event, both times, and each commit's hash and the one it follows.
    let (types, _, rows) = &tables["events"];
    assert_eq!(types["position"], "BIGINT");
    let mut events = 0;
    for p in &partnerships {
        let history = get_json(&a, &format!("/v1/partnerships/{p}/events")).await;
        let history = history["events"].as_array().expect("events");
        events += history.len();
        let last = history.last().expect("an event");
        let ids = column("events", "partnership_id");
        let hashes = column("events", "hash");
        let last_row = ids
            .iter()
            .rposition(|c| *c == Cell::Text(p.clone()))
            .expect("rows of the partnership");
        assert_eq!(
            hashes[last_row],
            Cell::Text(last["hash"].as_str().expect("hash").to_owned())
        );
    }
    assert_eq!(rows.len(), events);
    let (commits, hashes, previous) = (
        column("events", "commit_id"),
        column("events", "hash"),
        column("events", "prev_hash"),
    );
    let ids = column("events", "partnership_id");
    for i in 1..rows.len() {
        if ids[i] == ids[i - 1] && commits[i] != commits[i - 1] {
            assert_eq!(
                previous[i],
                hashes[i - 1],
                "row {i} follows the commit before"
            );
        }
    }
    assert!(
        column("events", "occurred_at")
            .iter()
            .all(|c| matches!(c, Cell::Time(_)))
    );
    assert!(
        column("events", "recorded_at")
            .iter()
            .all(|c| matches!(c, Cell::Time(_)))
    );

    // Summary: one row per partnership, its open flags counted; trust: one row per point.
    assert_eq!(tables["summary"].2.len(), partnerships.len());
    let mut points = 0;
    for (i, p) in partnerships.iter().enumerate() {
        let summary = get_json(&a, &format!("/v1/partnerships/{p}/summary?as_of={AS_OF}")).await;
        let open = summary["open_flags"].as_array().expect("open flags").len();
        assert_eq!(
            column("summary", "partnership_id")[i],
            Cell::Text(p.clone())
        );
        assert_eq!(column("summary", "open_flags")[i], Cell::Num(open as f64));
        let trust = get_json(&a, &format!("/v1/partnerships/{p}/trust?as_of={AS_OF}")).await;
        points += trust["orgs"]
            .as_array()
            .expect("orgs")
            .iter()
            .map(|o| o["points"].as_array().expect("points").len().max(1))
            .sum::<usize>();
    }
    assert_eq!(tables["trust"].2.len(), points);
    let open_in_flags = column("flags", "open")
        .iter()
        .filter(|c| **c == Cell::Text("true".into()))
        .count();
    let open_in_summary: f64 = column("summary", "open_flags")
        .iter()
        .map(|c| match c {
            Cell::Num(n) => *n,
            _ => 0.0,
        })
        .sum();
    assert_eq!(open_in_flags as f64, open_in_summary);

    // Bad arguments: a clear message, exit 2, and no file.
    let bad = dir.path().join("bad.csv");
    let bad_path = bad.to_str().expect("utf-8");
    for (args, says) in [
        (vec!["--model", "nonsense", "--format", "csv"], "--model"),
        (vec!["--model", "trust", "--format", "xlsx"], "--format"),
        (
            vec![
                "--model",
                "trust",
                "--format",
                "csv",
                "--as-of",
                "yesterday",
            ],
            "--as-of",
        ),
        (
            vec![
                "--model",
                "trust",
                "--format",
                "csv",
                "--partnership",
                "nobody-here",
            ],
            "nobody-here",
        ),
    ] {
        let mut all = vec!["export", "--out", bad_path, "--server", &a.url];
        all.extend(args);
        let (code, out, err) = accord(&all);
        assert_eq!(code, 2, "{all:?}: {out}{err}");
        assert!(err.contains(says), "{all:?} says {says}: {err}");
        assert!(!bad.exists(), "{all:?} leaves no file");
    }
    let nowhere = dir.path().join("no/such/dir/x.csv");
    let (code, _, err) = accord(&[
        "export",
        "--model",
        "events",
        "--format",
        "csv",
        "--out",
        nowhere.to_str().expect("utf-8"),
        "--server",
        &a.url,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--out"), "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        // `accord export` writes `.accord-*` beside `--out` and renames it into place; the failed
        // exports above wrote theirs in `dir`.
        .filter(|e| e.file_name().to_string_lossy().starts_with(".accord-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary file is left behind: {leftovers:?}"
    );
    a.stop();
}
