//! `accord export --model M|events [--as-of T] --format csv|jsonl|parquet --out FILE`: the events
//! or one read model of every partnership (or of those named), as one flat table for an
//! analyst's tools.
//!
//! The rows come from the API's JSON, the same answers `accord show` prints, all at one `as_of`
//! (now, taken once, unless given). Each model has one grain, and its columns are the same in
//! the three formats (docs/exports.md lists them):
//! - `events`: one row per event, with both times and the commit's hash and the hash it follows;
//! - `trust`: one row per trust point of each org (an org with none has one row without point);
//! - `throughput`: one row per owner and period, weeks and quarters (`grain`);
//! - `asymmetry`: one row per pair of orgs and indicator;
//! - `goals`: one row per goal;
//! - `flags`: one row per change of a red flag (opened, changed or cleared), `open` on the last
//!   state of each flag still open;
//! - `summary`: one row per partnership.
//!
//! The file is written beside `--out` and renamed into place at the end (`client::start_out`),
//! so a failed export leaves no half file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use accord_domain::models::Model;
use accord_domain::values::rfc3339;
use anyhow::{Context, Result};
use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::client::{Server, finish_out, get_json, start_out};

#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// `events`, or a read model: trust, throughput, asymmetry, goals, flags or summary.
    #[arg(long, value_parser = parse_what)]
    model: What,
    /// What the ledger knew at this RFC 3339 time (default: now).
    #[arg(long)]
    as_of: Option<String>,
    /// The business time read models are evaluated at, RFC 3339 (default: --as-of).
    #[arg(long)]
    valid_at: Option<String>,
    #[arg(long, value_enum)]
    format: Format,
    /// The file to write (replaced if it exists).
    #[arg(long)]
    out: PathBuf,
    /// Only this partnership (repeat for several; default: every partnership).
    #[arg(long = "partnership")]
    partnerships: Vec<String>,
    #[command(flatten)]
    server: Server,
}

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Events,
    Model(Model),
}

fn parse_what(s: &str) -> Result<What, String> {
    if s == "events" {
        return Ok(What::Events);
    }
    Model::parse(s).map(What::Model).ok_or_else(|| {
        let names: Vec<&str> = Model::ALL.iter().map(|m| m.as_str()).collect();
        format!("must be events or one of {}", names.join(", "))
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Csv,
    Jsonl,
    Parquet,
}

/// A column's type: how it is written in each format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// UTF-8 text.
    Str,
    Int,
    Float,
    Bool,
    /// An instant: RFC 3339 in CSV and JSONL, a UTC timestamp (µs) in Parquet.
    Time,
}

#[derive(Debug, Clone, Copy)]
struct Column {
    name: &'static str,
    kind: Kind,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

/// One value of a row; any column may be empty.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Time(OffsetDateTime),
}

type Row = Vec<Cell>;

use Kind::{Bool, Float, Int, Str, Time};

const EVENTS: &[Column] = &[
    col("partnership_id", Str),
    col("position", Int),
    col("revision", Int),
    col("commit_id", Str),
    col("event_id", Str),
    col("type", Str),
    col("schema_version", Int),
    col("occurred_at", Time),
    col("recorded_at", Time),
    col("actor_org", Str),
    col("actor_person", Str),
    col("actor_role", Str),
    col("causation_id", Str),
    col("correlation_id", Str),
    col("note", Str),
    col("data", Str),
    col("prev_hash", Str),
    col("hash", Str),
];

const TRUST: &[Column] = &[
    col("partnership_id", Str),
    col("as_of", Time),
    col("valid_at", Time),
    col("org", Str),
    col("score", Float),
    col("band", Str),
    col("r", Float),
    col("s", Float),
    col("at", Time),
    col("event_id", Str),
    col("rule_id", Str),
    col("score_before", Float),
    col("score_after", Float),
    col("delta", Float),
];

const THROUGHPUT: &[Column] = &[
    col("partnership_id", Str),
    col("as_of", Time),
    col("valid_at", Time),
    col("owner_org", Str),
    col("grain", Str),
    col("period", Str),
    col("throughput", Int),
    col("wip", Int),
    col("due", Int),
    col("ppc", Float),
    col("focus", Int),
];

const ASYMMETRY: &[Column] = &[
    col("partnership_id", Str),
    col("as_of", Time),
    col("valid_at", Time),
    col("a", Str),
    col("b", Str),
    col("indicator", Str),
    col("count", Int),
    col("of", Int),
    col("share", Float),
    col("sufficient", Bool),
    col("lean", Float),
    col("balance_index", Float),
];

const GOALS: &[Column] = &[
    col("partnership_id", Str),
    col("as_of", Time),
    col("valid_at", Time),
    col("goal_id", Str),
    col("kind", Str),
    col("metric", Str),
    col("target", Str),
    col("actual", Str),
    col("period_start", Str),
    col("period_end", Str),
    col("attainment", Float),
    col("elapsed", Float),
    col("status", Str),
    col("agreed_by", Str),
];

const FLAGS: &[Column] = &[
    col("partnership_id", Str),
    col("as_of", Time),
    col("valid_at", Time),
    col("at", Time),
    col("rule_id", Str),
    col("subject", Str),
    col("change", Str),
    col("open", Bool),
    col("flag", Str),
    col("severity", Str),
    col("reason", Str),
    col("evidence", Str),
];

const SUMMARY: &[Column] = &[
    col("partnership_id", Str),
    col("as_of", Time),
    col("valid_at", Time),
    col("status", Str),
    col("open_flags", Int),
    col("critical_flags", Int),
    col("flag_rules", Str),
    col("lowest_trust_org", Str),
    col("lowest_trust_score", Float),
    col("lowest_trust_band", Str),
    col("lowest_balance_index", Float),
    col("goals_not_agreed", Int),
    col("goals_achieved", Int),
    col("goals_on_track", Int),
    col("goals_behind", Int),
    col("goals_missed", Int),
    col("goals_dropped", Int),
    col("goal_coverage_complete", Bool),
];

impl What {
    fn columns(self) -> &'static [Column] {
        match self {
            What::Events => EVENTS,
            What::Model(Model::Trust) => TRUST,
            What::Model(Model::Throughput) => THROUGHPUT,
            What::Model(Model::Asymmetry) => ASYMMETRY,
            What::Model(Model::Goals) => GOALS,
            What::Model(Model::Flags) => FLAGS,
            What::Model(Model::Summary) => SUMMARY,
        }
    }

    fn name(self) -> &'static str {
        match self {
            What::Events => "events",
            What::Model(m) => m.as_str(),
        }
    }

    /// The rows of one partnership's answer.
    fn rows(self, p: &str, v: &Value) -> Vec<Row> {
        match self {
            What::Events => events(p, v),
            What::Model(Model::Trust) => trust(p, v),
            What::Model(Model::Throughput) => throughput(p, v),
            What::Model(Model::Asymmetry) => asymmetry(p, v),
            What::Model(Model::Goals) => goals(p, v),
            What::Model(Model::Flags) => flags(p, v),
            What::Model(Model::Summary) => vec![summary(p, v)],
        }
    }
}

// ---- cells from the API's JSON ----------------------------------------------------------------

fn s(v: &Value) -> Cell {
    match v {
        Value::Null => Cell::Null,
        Value::String(s) => Cell::Str(s.clone()),
        other => Cell::Str(other.to_string()),
    }
}

fn int(v: &Value) -> Cell {
    v.as_i64().map_or(Cell::Null, Cell::Int)
}

fn float(v: &Value) -> Cell {
    v.as_f64().map_or(Cell::Null, Cell::Float)
}

fn boolean(v: &Value) -> Cell {
    v.as_bool().map_or(Cell::Null, Cell::Bool)
}

fn time(v: &Value) -> Cell {
    v.as_str()
        .and_then(|s| rfc3339::parse(s).ok())
        .map_or(Cell::Null, Cell::Time)
}

fn id(p: &str) -> Cell {
    Cell::Str(p.to_owned())
}

fn items(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

/// A list of strings as one cell, `;`-separated.
fn joined(v: &Value) -> Cell {
    Cell::Str(
        items(v)
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(";"),
    )
}

fn events(p: &str, v: &Value) -> Vec<Row> {
    let mut prev_hash = "0".repeat(64);
    let mut commit: Option<&Value> = None;
    let mut out = Vec::new();
    for e in items(&v["events"]) {
        if let Some(c) = commit.filter(|c| c["commit_id"] != e["commit_id"]) {
            prev_hash = c["hash"].as_str().unwrap_or_default().to_owned();
        }
        commit = Some(e);
        let data = if e["data"].is_null() {
            Cell::Null
        } else {
            Cell::Str(e["data"].to_string())
        };
        out.push(vec![
            id(p),
            int(&e["position"]),
            int(&e["revision"]),
            s(&e["commit_id"]),
            s(&e["event_id"]),
            s(&e["type"]),
            int(&e["schema_version"]),
            time(&e["occurred_at"]),
            time(&e["recorded_at"]),
            s(&e["actor"]["org"]),
            s(&e["actor"]["person"]),
            s(&e["actor"]["role"]),
            s(&e["causation_id"]),
            s(&e["correlation_id"]),
            s(&e["note"]),
            data,
            Cell::Str(prev_hash.clone()),
            s(&e["hash"]),
        ]);
    }
    out
}

fn trust(p: &str, v: &Value) -> Vec<Row> {
    let mut out = Vec::new();
    for o in items(&v["orgs"]) {
        let org = || {
            vec![
                id(p),
                time(&v["as_of"]),
                time(&v["valid_at"]),
                s(&o["org"]),
                float(&o["score"]),
                s(&o["band"]),
                float(&o["r"]),
                float(&o["s"]),
            ]
        };
        let points = items(&o["points"]);
        if points.is_empty() {
            let mut row = org();
            row.extend(std::iter::repeat_n(Cell::Null, 6));
            out.push(row);
        }
        for pt in points {
            let mut row = org();
            row.extend([
                time(&pt["at"]),
                s(&pt["event_id"]),
                s(&pt["rule_id"]),
                float(&pt["score_before"]),
                float(&pt["score_after"]),
                float(&pt["delta"]),
            ]);
            out.push(row);
        }
    }
    out
}

fn throughput(p: &str, v: &Value) -> Vec<Row> {
    let mut out = Vec::new();
    for o in items(&v["owners"]) {
        for (grain, flows) in [("week", &o["weeks"]), ("quarter", &o["quarters"])] {
            for f in items(flows) {
                out.push(vec![
                    id(p),
                    time(&v["as_of"]),
                    time(&v["valid_at"]),
                    s(&o["owner_org"]),
                    Cell::Str(grain.to_owned()),
                    s(&f["period"]),
                    int(&f["throughput"]),
                    int(&f["wip"]),
                    int(&f["due"]),
                    float(&f["ppc"]),
                    int(&f["focus"]),
                ]);
            }
        }
    }
    out
}

fn asymmetry(p: &str, v: &Value) -> Vec<Row> {
    let mut out = Vec::new();
    for pair in items(&v["pairs"]) {
        for share in items(&pair["shares"]) {
            out.push(vec![
                id(p),
                time(&v["as_of"]),
                time(&v["valid_at"]),
                s(&pair["a"]),
                s(&pair["b"]),
                s(&share["indicator"]),
                int(&share["count"]),
                int(&share["of"]),
                float(&share["share"]),
                boolean(&share["sufficient"]),
                float(&pair["lean"]),
                float(&pair["balance_index"]),
            ]);
        }
    }
    out
}

fn goals(p: &str, v: &Value) -> Vec<Row> {
    items(&v["goals"])
        .iter()
        .map(|g| {
            vec![
                id(p),
                time(&v["as_of"]),
                time(&v["valid_at"]),
                s(&g["goal_id"]),
                s(&g["kind"]),
                s(&g["metric"]),
                s(&g["target"]),
                s(&g["actual"]),
                s(&g["period"]["start"]),
                s(&g["period"]["end"]),
                float(&g["attainment"]),
                float(&g["elapsed"]),
                s(&g["status"]),
                joined(&g["agreed_by"]),
            ]
        })
        .collect()
}

fn flags(p: &str, v: &Value) -> Vec<Row> {
    let history = items(&v["history"]);
    // A flag is its rule and subject.
    fn key(c: &Value) -> (Option<&str>, Option<&str>) {
        (c["rule_id"].as_str(), c["subject"].as_str())
    }
    let last: BTreeMap<_, usize> = history
        .iter()
        .enumerate()
        .map(|(i, c)| (key(c), i))
        .collect();
    let mut standing = BTreeMap::new();
    let mut out = Vec::new();
    for (i, c) in history.iter().enumerate() {
        let now = &c["now"];
        let was_open = standing.insert(key(c), !now.is_null()).unwrap_or(false);
        let change = match (was_open, now.is_null()) {
            (_, true) => "cleared",
            (false, false) => "opened",
            (true, false) => "changed",
        };
        let last_of_flag = last[&key(c)] == i;
        out.push(vec![
            id(p),
            time(&v["as_of"]),
            time(&v["valid_at"]),
            time(&c["at"]),
            s(&c["rule_id"]),
            s(&c["subject"]),
            Cell::Str(change.to_owned()),
            Cell::Bool(last_of_flag && !now.is_null()),
            s(&now["flag"]),
            s(&now["severity"]),
            s(&now["reason"]),
            joined(&now["evidence"]),
        ]);
    }
    out
}

fn summary(p: &str, v: &Value) -> Row {
    let open = items(&v["open_flags"]);
    let critical = open.iter().filter(|f| f["severity"] == "critical").count();
    let lowest = items(&v["trust"]).iter().min_by(|a, b| {
        let score = |t: &Value| t["score"].as_f64().unwrap_or(f64::INFINITY);
        score(a).total_cmp(&score(b))
    });
    let lowest_balance = items(&v["balance"])
        .iter()
        .filter_map(|b| b["balance_index"].as_f64())
        .min_by(f64::total_cmp);
    let g = &v["goals"];
    vec![
        id(p),
        time(&v["as_of"]),
        time(&v["valid_at"]),
        s(&v["status"]),
        Cell::Int(open.len() as i64),
        Cell::Int(critical as i64),
        Cell::Str(
            open.iter()
                .filter_map(|f| f["rule_id"].as_str())
                .collect::<Vec<_>>()
                .join(";"),
        ),
        lowest.map_or(Cell::Null, |t| s(&t["org"])),
        lowest.map_or(Cell::Null, |t| float(&t["score"])),
        lowest.map_or(Cell::Null, |t| s(&t["band"])),
        lowest_balance.map_or(Cell::Null, Cell::Float),
        int(&g["not_agreed"]),
        int(&g["achieved"]),
        int(&g["on_track"]),
        int(&g["behind"]),
        int(&g["missed"]),
        int(&g["dropped"]),
        boolean(&v["goal_coverage"]["complete"]),
    ]
}

// ---- the three formats ------------------------------------------------------------------------

/// Where rows go: one of the three formats.
enum Sink {
    Csv(Box<csv::Writer<BufWriter<File>>>),
    Jsonl(BufWriter<File>, &'static [Column]),
    Parquet(Box<ParquetSink>),
}

/// Rows gathered into row groups of at most `ROW_GROUP` rows.
struct ParquetSink {
    writer: SerializedFileWriter<BufWriter<File>>,
    columns: &'static [Column],
    rows: Vec<Row>,
}

const ROW_GROUP: usize = 64 * 1024;

impl Sink {
    fn new(format: Format, file: File, columns: &'static [Column]) -> Result<Self> {
        let out = BufWriter::new(file);
        Ok(match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(columns.iter().map(|c| c.name))?;
                Sink::Csv(Box::new(w))
            }
            Format::Jsonl => Sink::Jsonl(out, columns),
            Format::Parquet => {
                let schema = parquet::schema::parser::parse_message_type(&parquet_schema(columns))?;
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .build();
                let writer = SerializedFileWriter::new(out, Arc::new(schema), Arc::new(props))?;
                Sink::Parquet(Box::new(ParquetSink {
                    writer,
                    columns,
                    rows: Vec::new(),
                }))
            }
        })
    }

    fn write(&mut self, rows: Vec<Row>) -> Result<()> {
        match self {
            Sink::Csv(w) => {
                for row in rows {
                    w.write_record(row.iter().map(|c| match c {
                        Cell::Null => String::new(),
                        Cell::Str(s) => csv_text(s),
                        Cell::Int(i) => i.to_string(),
                        Cell::Float(f) => f.to_string(),
                        Cell::Bool(b) => b.to_string(),
                        Cell::Time(t) => rfc3339::format(*t),
                    }))?;
                }
            }
            Sink::Jsonl(w, columns) => {
                for row in rows {
                    let object: Map<String, Value> = columns
                        .iter()
                        .zip(row)
                        .map(|(c, cell)| {
                            let v = match cell {
                                Cell::Null => Value::Null,
                                Cell::Str(s) => Value::String(s),
                                Cell::Int(i) => i.into(),
                                Cell::Float(f) => f.into(),
                                Cell::Bool(b) => b.into(),
                                Cell::Time(t) => Value::String(rfc3339::format(t)),
                            };
                            (c.name.to_owned(), v)
                        })
                        .collect();
                    serde_json::to_writer(&mut *w, &object)?;
                    w.write_all(b"\n")?;
                }
            }
            Sink::Parquet(p) => {
                p.rows.extend(rows);
                if p.rows.len() >= ROW_GROUP {
                    p.row_group()?;
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        match self {
            Sink::Csv(w) => {
                let out = (*w)
                    .into_inner()
                    .map_err(|e| anyhow::anyhow!("{}", e.error()))?;
                drop(out.into_inner()?);
            }
            Sink::Jsonl(w, _) => drop(w.into_inner()?),
            Sink::Parquet(mut p) => {
                p.row_group()?;
                p.writer.close()?;
            }
        }
        Ok(())
    }
}

/// A text cell as CSV writes it: a cell that a spreadsheet would run as a formula (starting
/// with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, as OWASP advises
/// against CSV injection. Numbers are never text cells, so they are written as they are.
fn csv_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    }
}

/// The Parquet schema of `columns`: every column optional, strings UTF-8, instants UTC
/// timestamps in microseconds.
fn parquet_schema(columns: &[Column]) -> String {
    let fields: String = columns
        .iter()
        .map(|c| {
            let t = match c.kind {
                Str => "BYTE_ARRAY",
                Int => "INT64",
                Float => "DOUBLE",
                Bool => "BOOLEAN",
                Time => "INT64",
            };
            let logical = match c.kind {
                Str => " (STRING)",
                Time => " (TIMESTAMP(MICROS,true))",
                Int | Float | Bool => "",
            };
            format!("  OPTIONAL {t} {}{logical};\n", c.name)
        })
        .collect();
    format!("message accord_export {{\n{fields}}}")
}

impl ParquetSink {
    /// Writes the rows gathered as one row group (nothing when there are none).
    fn row_group(&mut self) -> Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.rows);
        let mut group = self.writer.next_row_group()?;
        for (i, column) in self.columns.iter().enumerate() {
            let mut writer = group
                .next_column()?
                .context("the schema has as many columns as the table")?;
            let levels: Vec<i16> = rows.iter().map(|r| i16::from(r[i] != Cell::Null)).collect();
            let cells = rows.iter().map(|r| &r[i]);
            match column.kind {
                Str => {
                    let values: Vec<ByteArray> = cells
                        .filter_map(|c| match c {
                            Cell::Str(s) => Some(ByteArray::from(s.as_str())),
                            _ => None,
                        })
                        .collect();
                    writer
                        .typed::<ByteArrayType>()
                        .write_batch(&values, Some(&levels), None)?;
                }
                Int | Time => {
                    let values: Vec<i64> = cells
                        .filter_map(|c| match c {
                            Cell::Int(i) => Some(*i),
                            Cell::Time(t) => i64::try_from(t.unix_timestamp_nanos() / 1000).ok(),
                            _ => None,
                        })
                        .collect();
                    writer
                        .typed::<Int64Type>()
                        .write_batch(&values, Some(&levels), None)?;
                }
                Float => {
                    let values: Vec<f64> = cells
                        .filter_map(|c| match c {
                            Cell::Float(f) => Some(*f),
                            _ => None,
                        })
                        .collect();
                    writer
                        .typed::<DoubleType>()
                        .write_batch(&values, Some(&levels), None)?;
                }
                Bool => {
                    let values: Vec<bool> = cells
                        .filter_map(|c| match c {
                            Cell::Bool(b) => Some(*b),
                            _ => None,
                        })
                        .collect();
                    writer
                        .typed::<BoolType>()
                        .write_batch(&values, Some(&levels), None)?;
                }
            }
            writer.close()?;
        }
        group.close()?;
        Ok(())
    }
}

// ---- the command ------------------------------------------------------------------------------

pub(crate) async fn export(args: ExportArgs) -> Result<ExitCode> {
    let instant = |flag: &str, t: &Option<String>| match t.as_deref().map(rfc3339::parse) {
        Some(Err(e)) => {
            eprintln!("error: --{flag} {e}");
            Err(ExitCode::from(2))
        }
        Some(Ok(t)) => Ok(Some(t)),
        None => Ok(None),
    };
    let (as_of, valid_at) = match (
        instant("as-of", &args.as_of),
        instant("valid-at", &args.valid_at),
    ) {
        (Ok(as_of), Ok(valid_at)) => (as_of.unwrap_or_else(OffsetDateTime::now_utc), valid_at),
        (Err(code), _) | (_, Err(code)) => return Ok(code),
    };
    let (at, valid) = (rfc3339::format(as_of), valid_at.map(rfc3339::format));
    let query = [("as_of", Some(at.as_str())), ("valid_at", valid.as_deref())];
    let client = args.server.client()?;
    let partnerships = if args.partnerships.is_empty() {
        match crate::client::all_partnerships(&args.server, &client).await? {
            Ok(ids) => ids,
            Err(code) => return Ok(code),
        }
    } else {
        args.partnerships.clone()
    };

    let tmp = match start_out(&args.out)? {
        Ok(tmp) => tmp,
        Err(code) => return Ok(code),
    };
    let mut sink = Sink::new(args.format, tmp.reopen()?, args.model.columns())?;
    let mut rows = 0;
    for p in &partnerships {
        let path = match args.model {
            What::Events => format!("/v1/partnerships/{p}/events"),
            What::Model(m) => format!("/v1/partnerships/{p}/{}", m.as_str()),
        };
        let answer = match get_json(&args.server, &client, &path, &query).await? {
            Ok(answer) => answer,
            Err(code) => return Ok(code),
        };
        let batch = args.model.rows(p, &answer);
        rows += batch.len();
        sink.write(batch)?;
    }
    sink.finish()?;
    finish_out(tmp, &args.out)?;
    println!(
        "exported {} of {} partnership(s) as of {}{}: {rows} row(s) to {}",
        args.model.name(),
        partnerships.len(),
        at,
        valid.map(|v| format!(", valid at {v}")).unwrap_or_default(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
