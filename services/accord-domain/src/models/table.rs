//! Each read model flattened into one table: its columns (name and type) and its rows, as
//! `accord export` writes them (docs/exports.md). Made from the typed models, so a renamed field
//! is a compile error here, not an empty column.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::asymmetry::Asymmetry;
use super::flags::{Flag, Flags, Severity};
use super::goals::Goals;
use super::summary::Summary;
use super::throughput::{Flow, Throughput};
use super::trust::TrustTimeline;
use super::{Model, ReadModel};
use crate::ids::PartnershipId;

/// A column's type: how it is written in each format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text.
    Str,
    Int,
    Float,
    Bool,
    /// An instant: RFC 3339 in CSV and JSONL, a UTC timestamp (µs) in Parquet.
    Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

pub const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

/// One value of a row; any column may be empty.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Time(OffsetDateTime),
}

pub type Row = Vec<Cell>;

use Kind::{Bool, Float, Int, Str, Time};

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
    col("d_a", Float),
    col("d_b", Float),
    col("partner_revenue_share_a", Float),
    col("hhi_a", Float),
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

/// The columns of a model's table.
pub fn columns(model: Model) -> &'static [Column] {
    match model {
        Model::Trust => TRUST,
        Model::Throughput => THROUGHPUT,
        Model::Asymmetry => ASYMMETRY,
        Model::Goals => GOALS,
        Model::Flags => FLAGS,
        Model::Summary => SUMMARY,
    }
}

fn text(s: impl ToString) -> Cell {
    Cell::Str(s.to_string())
}

fn name(s: impl Into<&'static str>) -> Cell {
    Cell::Str(s.into().to_owned())
}

fn float(x: Option<f64>) -> Cell {
    x.map_or(Cell::Null, Cell::Float)
}

fn int(x: Option<impl Into<i64>>) -> Cell {
    x.map_or(Cell::Null, |x| Cell::Int(x.into()))
}

/// A list as one cell, `;`-separated.
fn joined<T: ToString>(items: &[T]) -> Cell {
    Cell::Str(
        items
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(";"),
    )
}

impl ReadModel {
    /// The model's rows for partnership `p` (see [`columns`]).
    pub fn rows(&self, p: &PartnershipId) -> Vec<Row> {
        let (as_of, valid_at) = self.axes();
        let lead = || vec![text(p), Cell::Time(as_of), Cell::Time(valid_at)];
        let mut rows = match self {
            ReadModel::Trust(m) => trust(m),
            ReadModel::Throughput(m) => throughput(m),
            ReadModel::Asymmetry(m) => asymmetry(m),
            ReadModel::Goals(m) => goals(m),
            ReadModel::Flags(m) => flags(m),
            ReadModel::Summary(m) => vec![summary(m)],
        };
        for row in &mut rows {
            row.splice(0..0, lead());
        }
        rows
    }

    /// The model's `as_of` and `valid_at`.
    pub fn axes(&self) -> (OffsetDateTime, OffsetDateTime) {
        match self {
            ReadModel::Trust(m) => (m.as_of, m.valid_at),
            ReadModel::Throughput(m) => (m.as_of, m.valid_at),
            ReadModel::Asymmetry(m) => (m.as_of, m.valid_at),
            ReadModel::Goals(m) => (m.as_of, m.valid_at),
            ReadModel::Flags(m) => (m.as_of, m.valid_at),
            ReadModel::Summary(m) => (m.as_of, m.valid_at),
        }
    }
}

/// One row per trust point of each org, its standing repeated on each; an org with no point
/// has one row with the point's cells empty.
fn trust(m: &TrustTimeline) -> Vec<Row> {
    let mut out = Vec::new();
    for o in &m.orgs {
        let org = || {
            vec![
                text(&o.org),
                Cell::Float(o.score),
                name(o.band),
                Cell::Float(o.r),
                Cell::Float(o.s),
            ]
        };
        if o.points.is_empty() {
            let mut row = org();
            row.extend(std::iter::repeat_n(Cell::Null, 6));
            out.push(row);
        }
        for pt in &o.points {
            let mut row = org();
            row.extend([
                Cell::Time(pt.at),
                text(pt.event_id),
                name(pt.rule_id),
                Cell::Float(pt.score_before),
                Cell::Float(pt.score_after),
                Cell::Float(pt.delta),
            ]);
            out.push(row);
        }
    }
    out
}

/// One row per ISO week and per quarter of each owner.
fn throughput(m: &Throughput) -> Vec<Row> {
    let mut out = Vec::new();
    for o in &m.owners {
        for (grain, flows) in [("week", &o.weeks), ("quarter", &o.quarters)] {
            for Flow {
                period,
                throughput,
                wip,
                due,
                ppc,
                focus,
            } in flows
            {
                out.push(vec![
                    text(&o.owner_org),
                    text(grain),
                    text(period),
                    Cell::Int((*throughput).into()),
                    Cell::Int((*wip).into()),
                    int(*due),
                    float(*ppc),
                    int(*focus),
                ]);
            }
        }
    }
    out
}

/// One row per share of each ordered pair, the pair's lean and balance repeated.
fn asymmetry(m: &Asymmetry) -> Vec<Row> {
    let mut out = Vec::new();
    for pair in &m.pairs {
        for share in &pair.shares {
            out.push(vec![
                text(&pair.a),
                text(&pair.b),
                name(share.indicator),
                Cell::Int(share.count.into()),
                Cell::Int(share.of.into()),
                float(share.share),
                Cell::Bool(share.sufficient),
                float(pair.lean),
                float(pair.balance_index),
                float(pair.economic.d_a),
                float(pair.economic.d_b),
                float(pair.economic.partner_revenue_share_a),
                float(pair.economic.hhi_a),
            ]);
        }
    }
    out
}

fn goals(m: &Goals) -> Vec<Row> {
    m.goals
        .iter()
        .map(|g| {
            vec![
                text(&g.goal_id),
                text(g.kind.as_str()),
                text(g.metric.as_str()),
                text(g.target),
                text(g.actual),
                text(g.period.start),
                text(g.period.end),
                Cell::Float(g.attainment),
                Cell::Float(g.elapsed),
                name(g.status),
                joined(&g.agreed_by),
            ]
        })
        .collect()
}

/// One row per entry of the flag history: opened, changed (of severity) or cleared; `open` on
/// the last row of each flag still open, which carries the flag's reason and evidence as they
/// stand at `valid_at`.
fn flags(m: &Flags) -> Vec<Row> {
    let open: BTreeMap<_, &Flag> = m
        .open
        .iter()
        .map(|f| ((f.rule_id, &f.subject), f))
        .collect();
    let last: BTreeMap<_, usize> = m
        .history
        .iter()
        .enumerate()
        .map(|(i, c)| ((c.rule_id, &c.subject), i))
        .collect();
    let mut standing = BTreeMap::new();
    let mut out = Vec::new();
    for (i, c) in m.history.iter().enumerate() {
        let key = (c.rule_id, &c.subject);
        let was_open = standing.insert(key, c.now.is_some()).unwrap_or(false);
        let change = match (was_open, &c.now) {
            (_, None) => "cleared",
            (false, Some(_)) => "opened",
            (true, Some(_)) => "changed",
        };
        let still_open = last[&key] == i && c.now.is_some();
        let now = if still_open {
            open.get(&key).copied().or(c.now.as_ref())
        } else {
            c.now.as_ref()
        };
        out.push(vec![
            Cell::Time(c.at),
            name(c.rule_id),
            c.subject.as_ref().map_or(Cell::Null, text),
            text(change),
            Cell::Bool(still_open),
            now.map_or(Cell::Null, |f| text(f.flag)),
            now.map_or(Cell::Null, |f| name(f.severity)),
            now.map_or(Cell::Null, |f| text(&f.reason)),
            now.map_or(Cell::Str(String::new()), |f| joined(&f.evidence)),
        ]);
    }
    out
}

/// One row: the status, the open flags, the lowest trust and balance, and the goals.
fn summary(m: &Summary) -> Row {
    let critical = m
        .open_flags
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .count();
    let lowest = m.trust.iter().min_by(|a, b| a.score.total_cmp(&b.score));
    let lowest_balance = m
        .balance
        .iter()
        .filter_map(|b| b.balance_index)
        .min_by(f64::total_cmp);
    let rules: Vec<&'static str> = m.open_flags.iter().map(|f| f.rule_id.into()).collect();
    let g = &m.goals;
    let count = |n: u32| Cell::Int(n.into());
    vec![
        m.status.map_or(Cell::Null, |s| text(s.as_str())),
        Cell::Int(m.open_flags.len() as i64),
        Cell::Int(critical as i64),
        Cell::Str(rules.join(";")),
        lowest.map_or(Cell::Null, |t| text(&t.org)),
        lowest.map_or(Cell::Null, |t| Cell::Float(t.score)),
        lowest.map_or(Cell::Null, |t| name(t.band)),
        float(lowest_balance),
        count(g.not_agreed),
        count(g.achieved),
        count(g.on_track),
        count(g.behind),
        count(g.missed),
        count(g.dropped),
        Cell::Bool(m.goal_coverage.complete),
    ]
}
