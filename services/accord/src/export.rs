//! `accord export --model M|events [--as-of T] --format csv|jsonl|parquet --out FILE`: the events
//! or one read model of every partnership (or of those named), as one flat table for an
//! analyst's tools.
//!
//! The rows come from the API's answers, the same `accord show` prints, all at one `as_of` (now,
//! taken once, unless given); a read model is read back as its typed model and flattened as
//! `accord_domain::models::table` says. Each model has one grain, and its columns are the same in
//! the three formats (docs/exports.md lists them):
//! - `events`: one row per event, with both times and the commit's hash and the hash it follows;
//! - `trust`: one row per trust point of each org (an org with none has one row without point);
//! - `throughput`: one row per owner and period, weeks and quarters (`grain`);
//! - `asymmetry`: one row per pair of orgs and indicator;
//! - `goals`: one row per goal;
//! - `flags`: one row per change of a red flag (opened, changed in severity, or cleared), `open` on the last
//!   state of each flag still open;
//! - `summary`: one row per partnership.
//!
//! The file is written beside `--out` and renamed into place at the end (`client::start_out`),
//! so a failed export leaves no half file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use Kind::{Bool, Float, Int, Str, Time};
use accord_domain::PartnershipId;
use accord_domain::models::table::{self, Cell, Column, Kind, Row, col};
use accord_domain::models::{Model, ReadModel};
use accord_domain::values::rfc3339;
use anyhow::{Context, Result};
use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::api::{Server, all_partnerships, full_history, get_json};
use crate::output::{Output, finish_out, start_out};

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
    output: Output,
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

impl What {
    fn columns(self) -> &'static [Column] {
        match self {
            What::Events => EVENTS,
            What::Model(m) => table::columns(m),
        }
    }

    fn name(self) -> &'static str {
        match self {
            What::Events => "events",
            What::Model(m) => m.as_str(),
        }
    }

    /// The rows of one partnership's answer: a model read back as the typed model it is.
    fn rows(self, p: &str, v: &Value) -> Result<Vec<Row>> {
        match self {
            What::Events => Ok(events(p, v)),
            What::Model(m) => {
                let model = ReadModel::read(m, v)
                    .with_context(|| format!("the {} of {p} is not one", m.as_str()))?;
                Ok(model.rows(&PartnershipId::parse(p)?))
            }
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
        match all_partnerships(&args.server, &client).await? {
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
        let answer = match args.model {
            // A partnership's history comes a page at a time; its rows chain hashes across them.
            What::Events => full_history(&args.server, &client, p, Some(&at)).await?,
            What::Model(m) => {
                let path = format!("/v1/partnerships/{p}/{}", m.as_str());
                get_json(&args.server, &client, &path, &query).await?
            }
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(code) => return Ok(code),
        };
        let batch = args.model.rows(p, &answer)?;
        rows += batch.len();
        sink.write(batch)?;
    }
    sink.finish()?;
    finish_out(tmp, &args.out)?;
    let summary = serde_json::json!({
        "model": args.model.name(),
        "partnerships": partnerships.len(),
        "as_of": at,
        "valid_at": valid,
        "rows": rows,
        "out": args.out,
    });
    args.output.print(&summary, || {
        println!(
            "exported {} of {} partnership(s) as of {}{}: {rows} row(s) to {}",
            args.model.name(),
            partnerships.len(),
            at,
            valid.map(|v| format!(", valid at {v}")).unwrap_or_default(),
            args.out.display()
        );
    })?;
    Ok(ExitCode::SUCCESS)
}
