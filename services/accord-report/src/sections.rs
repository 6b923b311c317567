//! The body of each model's section of the page: trust, throughput, the balance of effort,
//! goals and the red-flag timeline.

use accord_domain::models::Axes;
use accord_domain::models::asymmetry::{Asymmetry, PairAsymmetry, asymmetry_over};
use accord_domain::models::goals::GoalStatus;
use accord_domain::models::trust::TrustPoint;
use maud::{Markup, html};
use time::OffsetDateTime;

use super::{
    Page, badge, day, discuss, flag_episodes, percent, severity_colour, severity_name, unique,
};
use crate::charts::{
    self, CRITICAL, GOOD, Group, HBar, Line, MUTED, Point, Reference, Span, WARN, next_quarter,
    quarter_label, series,
};

impl Page<'_> {
    pub(super) fn trust_section(&self) -> Markup {
        let settings = &self.retro.settings.trust;
        let lines: Vec<Line> = self
            .trust
            .orgs
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let mut points = Vec::new();
                if let Some(p) = o.points.first() {
                    points.push(Point {
                        at: p.at,
                        value: p.score_before,
                        dot: None,
                        title: String::new(),
                    });
                }
                points.extend(o.points.iter().map(|p| Point {
                    at: p.at,
                    value: p.score_after,
                    dot: Some(if p.delta >= 0.0 { GOOD } else { CRITICAL }),
                    title: format!(
                        "{} {:+.2} on {}: {}",
                        <&str>::from(p.rule_id),
                        p.delta,
                        day(p.at),
                        discuss::trust_rule(p.rule_id)
                    ),
                }));
                points.push(Point {
                    at: self.retro.axes.valid_at.min(self.axis.to),
                    value: o.score,
                    dot: None,
                    title: String::new(),
                });
                Line {
                    name: format!("trust in {}", o.org),
                    colour: series(i),
                    points,
                }
            })
            .collect();
        let mut moves: Vec<(usize, &TrustPoint)> = self
            .trust
            .orgs
            .iter()
            .enumerate()
            .flat_map(|(i, o)| o.points.iter().map(move |p| (i, p)))
            .filter(|(_, p)| self.in_window(p.at))
            .collect();
        moves.sort_by(|a, b| b.1.delta.abs().total_cmp(&a.1.delta.abs()));
        moves.truncate(10);
        moves.sort_by_key(|(_, p)| p.at);
        html! {
            section #trust {
                h2 { "Trust" }
                p.lead {
                    "How trustworthy each org has shown itself to the other side: a score from 0 to 1 built from evidence that fades with a half-life of "
                    (settings.half_life_days) " days. Each dot is an event that moved it: green up, red down."
                }
                (charts::lines(&self.axis, "Trust per org over time", (0.0, 1.0), &[
                    Reference { value: settings.healthy_at, label: "healthy".into() },
                    Reference { value: settings.watch_at, label: "watch".into() },
                ], &lines))
                div.legend {
                    @for (i, o) in self.trust.orgs.iter().enumerate() {
                        span { i style=(format!("background:{}", series(i))) {} (o.org.as_str()) ": " (format!("{:.2}", o.score)) " " (badge(o.band.into(), <&str>::from(o.band))) }
                    }
                }
                h3 { "What moved it most" }
                @if moves.is_empty() {
                    p.muted { "No trust-relevant event in the window." }
                } @else {
                    table {
                        thead { tr { th { "date" } th { "about" } th { "rule" } th.num { "change" } th { "why" } } }
                        tbody {
                            @for (i, p) in &moves {
                                tr {
                                    td { (day(p.at)) }
                                    td { (self.trust.orgs[*i].org.as_str()) }
                                    td { (<&str>::from(p.rule_id)) }
                                    td.num { (format!("{:+.2}", p.delta)) }
                                    td { (discuss::trust_rule(p.rule_id)) br; span.muted { (self.event_line(&p.event_id)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    pub(super) fn throughput_section(&self) -> Markup {
        let (from_q, to_q) = (quarter_label(self.from), quarter_label(self.to));
        let in_window = |period: &str| period >= from_q.as_str() && period <= to_q.as_str();
        html! {
            section #throughput {
                h2 { "Deliverables: throughput and work in progress" }
                p.lead { "Per owner and quarter: deliverables completed (throughput), open at the quarter's end (WIP), and the share of those due that were done on time (PPC)." }
                @if self.throughput.owners.is_empty() {
                    p.muted { "No deliverable committed yet." }
                }
                @for (i, o) in self.throughput.owners.iter().enumerate() {
                    @let quarters: Vec<_> = o.quarters.iter().filter(|q| in_window(&q.period)).collect();
                    h3 { "Owned by " (o.owner_org.as_str()) }
                    @if quarters.is_empty() {
                        p.muted { "No quarter in the window." }
                    } @else {
                        (charts::bars(&format!("Throughput and WIP of {} per quarter", o.owner_org), &quarters.iter().map(|q| Group {
                            label: q.period.clone(),
                            bars: vec![
                                (f64::from(q.throughput), series(i), format!("{}: {} completed", q.period, q.throughput)),
                                (f64::from(q.wip), MUTED, format!("{}: {} in progress", q.period, q.wip)),
                            ],
                        }).collect::<Vec<_>>()))
                        div.legend {
                            span { i style=(format!("background:{}", series(i))) {} "throughput" }
                            span { i style=(format!("background:{MUTED}")) {} "WIP at the quarter's end" }
                        }
                        table {
                            thead { tr { th { "quarter" } th.num { "throughput" } th.num { "WIP" } th.num { "due" } th.num { "PPC" } th.num { "top-priority open" } } }
                            tbody {
                                @for q in quarters.iter().filter(|q| q.throughput + q.wip + q.due.unwrap_or(0) > 0) {
                                    tr {
                                        td { (q.period) }
                                        td.num { (q.throughput) }
                                        td.num { (q.wip) }
                                        td.num { (q.due.map_or_else(|| "–".to_owned(), |d| d.to_string())) }
                                        td.num { (percent(q.ppc)) }
                                        td.num { (q.focus.map_or_else(|| "–".to_owned(), |d| d.to_string())) }
                                    }
                                }
                            }
                        }
                    }
                    p.muted {
                        "Cycle time p50 " (o.cycle_time_p50.map_or_else(|| "–".to_owned(), |d| format!("{d} days")))
                        ", p85 " (o.cycle_time_p85.map_or_else(|| "–".to_owned(), |d| format!("{d} days")))
                        " · on time against the original date " (percent(o.on_time_original))
                        ", against the latest " (percent(o.on_time_latest))
                        " · " (o.slips) " slip(s), " (o.slip_days) " day(s) in all"
                    }
                }
            }
        }
    }

    /// The asymmetry model at the end of each quarter of the window, and at `valid_at`.
    fn asymmetry_over_time(&self) -> Vec<(OffsetDateTime, Asymmetry)> {
        let settings = &self.retro.settings.asymmetry;
        let end = self.retro.axes.valid_at.min(self.axis.to);
        let mut instants = Vec::new();
        let mut q = next_quarter(self.from);
        while q.midnight().assume_utc() < end {
            instants.push(q.midnight().assume_utc());
            q = next_quarter(q);
        }
        instants.push(end);
        instants
            .into_iter()
            .map(|t| {
                let occurred = self.known.iter().filter(move |e| e.occurred_at <= t);
                let axes = Axes {
                    as_of: self.retro.axes.as_of,
                    valid_at: t,
                };
                (t, asymmetry_over(occurred, axes, settings))
            })
            .collect()
    }

    pub(super) fn asymmetry_section(&self) -> Markup {
        let over_time = self.asymmetry_over_time();
        let Some((_, now)) = over_time.last() else {
            return html! {};
        };
        let pairs: Vec<_> = now.pairs.iter().filter(|p| p.a < p.b).collect();
        let lines: Vec<Line> = pairs
            .iter()
            .enumerate()
            .map(|(i, pair)| Line {
                name: format!("balance of {} and {}", pair.a, pair.b),
                colour: series(i),
                points: over_time
                    .iter()
                    .filter_map(|(t, a)| {
                        let p = a.pairs.iter().find(|p| p.a == pair.a && p.b == pair.b)?;
                        let bi = p.balance_index?;
                        Some(Point {
                            at: *t,
                            value: bi,
                            dot: Some(series(i)),
                            title: format!(
                                "{}: balance {bi:.2}, lean {:+.2} ({} {})",
                                day(*t),
                                p.lean.unwrap_or(0.0),
                                if p.lean.unwrap_or(0.0) > 0.0 {
                                    &p.a
                                } else {
                                    &p.b
                                },
                                "carries more"
                            ),
                        })
                    })
                    .collect(),
            })
            .collect();
        let window = self.retro.settings.asymmetry.window_days;
        html! {
            section #asymmetry {
                h2 { "Balance of effort" }
                p.lead {
                    "Who initiates, chases, travels, carries the work and decides, over the " (window) " days before each quarter's end. "
                    "The balance index is 1 when the effort is shared evenly and 0 when one side carries it all; below 0.6 is a red flag (R10)."
                }
                @if lines.iter().all(|l| l.points.is_empty()) {
                    p.muted { "Not enough events yet for a balance index (each indicator needs " (self.retro.settings.asymmetry.min_events) ")." }
                } @else {
                    (charts::lines(&self.axis, "Balance index over time", (0.0, 1.0), &[Reference { value: 0.6, label: "R10 threshold".into() }], &lines))
                    div.legend {
                        @for l in &lines { span { i style=(format!("background:{}", l.colour)) {} (l.name) } }
                    }
                }
                @for pair in &pairs {
                    @let rows: Vec<(OffsetDateTime, &PairAsymmetry)> = over_time.iter()
                        .filter_map(|(t, a)| a.pairs.iter()
                            .find(|p| p.a == pair.a && p.b == pair.b && p.shares.iter().any(|s| s.of > 0))
                            .map(|p| (*t, p)))
                        .collect();
                    h3 { "Shares borne by " (pair.a.as_str()) " (against " (pair.b.as_str()) ")" }
                    @if rows.is_empty() {
                        p.muted { "No effort event between them in the window." }
                    } @else {
                        table.shares {
                            thead {
                                tr {
                                    th { "180 days to" }
                                    @for s in &pair.shares { th.num { (<&str>::from(s.indicator).replace('_', " ")) } }
                                    th.num { "balance" }
                                    th.num { "lean" }
                                }
                            }
                            tbody {
                                @for (t, p) in &rows {
                                    tr {
                                        td { (day(*t)) }
                                        @for s in &p.shares {
                                            td.num.muted[!s.sufficient] title=(format!("{} of {}", s.count, s.of)) {
                                                (percent(s.share))
                                            }
                                        }
                                        td.num { (p.balance_index.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"))) }
                                        td.num { (p.lean.map_or_else(|| "–".to_owned(), |v| format!("{v:+.2}"))) }
                                    }
                                }
                            }
                        }
                        p.muted {
                            "Each share is the part borne by " (pair.a.as_str()) "; 50% is even. Grey: fewer than "
                            (self.retro.settings.asymmetry.min_events) " events, left out of the balance."
                        }
                    }
                    @if let Some(r) = pair.economic.da_over_jd {
                        p.muted {
                            "Economic dependence: " (pair.a.as_str()) " " (percent(pair.economic.d_a)) ", "
                            (pair.b.as_str()) " " (percent(pair.economic.d_b)) "; DA/JD " (format!("{r:+.2}"))
                        }
                    }
                    @if let (Some(share), Some(hhi)) = (pair.economic.partner_revenue_share_a, pair.economic.hhi_a) {
                        p.muted {
                            (pair.a.as_str()) " earns " (percent(Some(share))) " of its revenue through partners; their concentration (HHI) is " (format!("{hhi:.2}")) "."
                        }
                    }
                }
            }
        }
    }

    pub(super) fn goals_section(&self) -> Markup {
        let c = &self.goals.coverage;
        let bars: Vec<HBar> = self
            .goals
            .goals
            .iter()
            .map(|g| {
                let status: &str = g.status.into();
                HBar {
                    label: format!("{} ({})", g.goal_id, g.metric.as_str().replace('_', " ")),
                    value: g.attainment,
                    marker: matches!(g.status, GoalStatus::OnTrack | GoalStatus::Behind)
                        .then_some(g.elapsed),
                    colour: match g.status {
                        GoalStatus::Achieved | GoalStatus::OnTrack => GOOD,
                        GoalStatus::Behind => WARN,
                        GoalStatus::Missed => CRITICAL,
                        GoalStatus::NotAgreed | GoalStatus::Dropped => MUTED,
                    },
                    note: format!(
                        "{:.0}% · {}",
                        g.attainment * 100.0,
                        status.replace('_', " ")
                    ),
                }
            })
            .collect();
        html! {
            section #goals {
                h2 { "Goals" }
                p.lead {
                    "Attainment is the actual over the target; the black mark is how far through its period the goal is. "
                    "Kinds covered by an agreed goal: "
                    (if c.qualitative { "qualitative ✓" } else { "qualitative ✗" }) ", "
                    (if c.marketing { "marketing ✓" } else { "marketing ✗" }) ", "
                    (if c.sales { "sales ✓" } else { "sales ✗" }) "."
                }
                @if bars.is_empty() {
                    p.muted { "No goal proposed yet." }
                } @else {
                    (charts::hbars("Goal attainment", 1.5, 1.0, &bars))
                    table {
                        thead { tr { th { "goal" } th { "kind" } th.num { "target" } th.num { "actual" } th { "period" } th { "status" } th { "agreed by" } } }
                        tbody {
                            @for g in &self.goals.goals {
                                tr {
                                    td { (g.goal_id.as_str()) }
                                    td { (g.kind.as_str()) }
                                    td.num { (g.target.to_string()) }
                                    td.num { (g.actual.to_string()) }
                                    td { (g.period.start) " – " (g.period.end) }
                                    td { (<&str>::from(g.status).replace('_', " ")) }
                                    td { (g.agreed_by.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(", ")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    pub(super) fn flags_section(&self) -> Markup {
        let episodes = flag_episodes(&self.flags, self.retro.axes.valid_at);
        let rows: Vec<(String, Vec<Span>)> = episodes
            .iter()
            .map(|f| {
                // A change of reason or evidence does not break the bar; a change of severity does.
                let mut spans: Vec<Span> = Vec::new();
                for s in f
                    .stretches
                    .iter()
                    .filter(|s| s.to >= self.axis.from && s.from <= self.axis.to)
                {
                    let colour = severity_colour(s.flag.severity);
                    let title = format!(
                        "{} {} until {}: {}",
                        severity_name(s.flag.severity),
                        f.name(),
                        day(s.to),
                        s.flag.reason
                    );
                    match spans.last_mut() {
                        Some(last) if last.colour == colour && last.to == s.from => {
                            last.to = s.to;
                            last.title = title;
                        }
                        _ => spans.push(Span {
                            from: s.from,
                            to: s.to,
                            colour,
                            title,
                        }),
                    }
                }
                (f.name(), spans)
            })
            .collect();
        html! {
            section #flags {
                h2 { "Red flags" }
                p.lead { "When each warning sign was raised and cleared, with the events that raised it." }
                @if episodes.is_empty() {
                    p.muted { "No red flag was ever raised." }
                } @else {
                    (charts::timeline(&self.axis, "Red-flag timeline", &rows))
                    div.legend {
                        span { i style=(format!("background:{WARN}")) {} "warn" }
                        span { i style=(format!("background:{CRITICAL}")) {} "critical" }
                    }
                    @for f in &episodes {
                        @let last = f.stretches.last();
                        h3 {
                            (f.name()) " "
                            @match (f.open, last) {
                                (true, Some(s)) => { (badge(severity_name(s.flag.severity), &format!("open, {}", severity_name(s.flag.severity)))) }
                                _ => { (badge("cleared", "cleared")) }
                            }
                        }
                        @if let Some(s) = last {
                            p { (s.flag.reason) }
                            p.muted {
                                "raised " (day(f.stretches[0].from))
                                @if !f.open { ", cleared " (day(s.to)) }
                                " · " (discuss::flag_rule(s.flag.rule_id))
                            }
                            @if !s.flag.evidence.is_empty() {
                                ul.evidence {
                                    @for id in unique(&s.flag.evidence) { li { (self.event_line(id)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
