//! The report's charts as inline SVG: a time axis shared by the charts over the window, lines,
//! grouped bars, horizontal bars and a timeline of spans. Plain SVG 1.1 elements with `<title>`
//! tooltips, no script, so they print and render anywhere.

use maud::{Markup, html};
use time::{Date, Month, OffsetDateTime};

/// Colours of the series, one per org or pair, in order.
pub(crate) const SERIES: [&str; 6] = [
    "#1f6fb2", "#b8501f", "#2e8b57", "#7b4fa8", "#8c6d1f", "#5f6b7a",
];
pub(crate) const WARN: &str = "#e0a100";
pub(crate) const CRITICAL: &str = "#c62828";
pub(crate) const GOOD: &str = "#2e7d32";
pub(crate) const MUTED: &str = "#9aa5b1";

pub(crate) fn series(i: usize) -> &'static str {
    SERIES[i % SERIES.len()]
}

const WIDTH: f64 = 720.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// The first day of the quarter of `d`.
pub(crate) fn quarter_start(d: Date) -> Date {
    let month = Month::try_from((u8::from(d.month()) - 1) / 3 * 3 + 1).unwrap_or(Month::January);
    Date::from_calendar_date(d.year(), month, 1).unwrap_or(d)
}

/// The first day of the quarter after the one of `d`.
pub(crate) fn next_quarter(d: Date) -> Date {
    let start = quarter_start(d);
    let (year, month) = match start.month() {
        Month::October => (start.year() + 1, Month::January),
        m => (start.year(), m.nth_next(3)),
    };
    Date::from_calendar_date(year, month, 1).unwrap_or(start)
}

/// `2026-Q1`.
pub(crate) fn quarter_label(d: Date) -> String {
    format!("{}-Q{}", d.year(), (u8::from(d.month()) - 1) / 3 + 1)
}

/// Time from `from` to `to` across the plot's width.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeAxis {
    pub(crate) from: OffsetDateTime,
    pub(crate) to: OffsetDateTime,
    /// Where the plot starts: room for the labels on its left.
    pub(crate) left: f64,
}

impl TimeAxis {
    pub(crate) fn new(from: OffsetDateTime, to: OffsetDateTime) -> Self {
        Self {
            from,
            to,
            left: LEFT,
        }
    }

    pub(crate) fn x(&self, t: OffsetDateTime) -> f64 {
        let span = (self.to - self.from).as_seconds_f64().max(1.0);
        let f = ((t - self.from).as_seconds_f64() / span).clamp(0.0, 1.0);
        self.left + f * (WIDTH - self.left - RIGHT)
    }

    /// The part of a line within the window: what came before starts it at the window's left
    /// edge, without a dot; what comes after is left out.
    fn clip(&self, line: &Line) -> Line {
        let before = line.points.iter().rfind(|p| p.at < self.from);
        let start = before.map(|p| Point {
            at: self.from,
            value: p.value,
            dot: None,
            title: String::new(),
        });
        Line {
            name: line.name.clone(),
            colour: line.colour,
            points: start
                .into_iter()
                .chain(
                    line.points
                        .iter()
                        .filter(|p| p.at >= self.from && p.at <= self.to)
                        .cloned(),
                )
                .collect(),
        }
    }

    /// A tick at the start of each quarter in the window (every other one past twelve).
    fn ticks(&self) -> Vec<(f64, String)> {
        let mut starts = Vec::new();
        let mut q = next_quarter(self.from.date());
        if quarter_start(self.from.date()) == self.from.date() {
            q = self.from.date();
        }
        while q <= self.to.date() {
            starts.push(q);
            q = next_quarter(q);
        }
        // Labels at least 72 px apart.
        let plot = WIDTH - self.left - RIGHT;
        let span_days = (self.to - self.from).whole_days().max(1) as f64;
        let per_quarter = plot * 91.0 / span_days;
        let step = (72.0 / per_quarter).ceil().max(1.0) as usize;
        starts
            .into_iter()
            .step_by(step)
            .map(|d| (self.x(d.midnight().assume_utc()), quarter_label(d)))
            .collect()
    }
}

/// A y axis from `min` to `max` over a plot of `height`.
#[derive(Debug, Clone, Copy)]
struct ValueAxis {
    min: f64,
    max: f64,
    height: f64,
}

impl ValueAxis {
    fn y(&self, v: f64) -> f64 {
        let f = ((v - self.min) / (self.max - self.min)).clamp(0.0, 1.0);
        TOP + (1.0 - f) * (self.height - TOP - BOTTOM)
    }
}

fn frame(height: f64, label: &str, body: Markup) -> Markup {
    html! {
        svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img"
            viewBox=(format!("0 0 {WIDTH} {height}")) width=(WIDTH) height=(height) {
            title { (label) }
            (body)
        }
    }
}

fn time_ticks(axis: &TimeAxis, height: f64) -> Markup {
    html! {
        line class="axis" x1=(axis.left) x2=(WIDTH - RIGHT) y1=(height - BOTTOM) y2=(height - BOTTOM) {}
        @for (x, label) in axis.ticks() {
            line class="grid" x1=(fmt(x)) x2=(fmt(x)) y1=(TOP) y2=(height - BOTTOM) {}
            text class="tick" x=(fmt(x)) y=(height - BOTTOM + 16.0) text-anchor="middle" { (label) }
        }
    }
}

fn value_ticks(axis: &ValueAxis, ticks: &[(f64, String)]) -> Markup {
    html! {
        @for (v, label) in ticks {
            line class="grid" x1=(LEFT) x2=(WIDTH - RIGHT) y1=(fmt(axis.y(*v))) y2=(fmt(axis.y(*v))) {}
            text class="tick" x=(LEFT - 6.0) y=(fmt(axis.y(*v) + 4.0)) text-anchor="end" { (label) }
        }
    }
}

/// `s`, cut to `max` characters with an ellipsis when longer.
fn shortened(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut cut: String = s.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

pub(crate) fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// One point of a line: when, the value, its colour and what it says on hover.
#[derive(Debug, Clone)]
pub(crate) struct Point {
    pub(crate) at: OffsetDateTime,
    pub(crate) value: f64,
    pub(crate) dot: Option<&'static str>,
    pub(crate) title: String,
}

/// A named line of points in time order.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub(crate) name: String,
    pub(crate) colour: &'static str,
    pub(crate) points: Vec<Point>,
}

/// A horizontal reference at `value`, labelled.
#[derive(Debug, Clone)]
pub(crate) struct Reference {
    pub(crate) value: f64,
    pub(crate) label: String,
}

/// Lines over time, values from `min` to `max`.
pub(crate) fn lines(
    axis: &TimeAxis,
    label: &str,
    (min, max): (f64, f64),
    references: &[Reference],
    lines: &[Line],
) -> Markup {
    let height = 240.0;
    let v = ValueAxis { min, max, height };
    let ticks: Vec<(f64, String)> = (0..=4)
        .map(|i| {
            let value = min + (max - min) * f64::from(i) / 4.0;
            (value, format!("{value:.2}"))
        })
        .collect();
    frame(
        height,
        label,
        html! {
            (value_ticks(&v, &ticks))
            (time_ticks(axis, height))
            @for r in references {
                line class="reference" x1=(LEFT) x2=(WIDTH - RIGHT) y1=(fmt(v.y(r.value))) y2=(fmt(v.y(r.value))) {}
                text class="reference-label" x=(WIDTH - RIGHT - 4.0) y=(fmt(v.y(r.value) - 4.0)) text-anchor="end" { (r.label) }
            }
            @for l in lines.iter().map(|l| axis.clip(l)) {
                @let path = l.points.iter()
                    .map(|p| format!("{},{}", fmt(axis.x(p.at)), fmt(v.y(p.value))))
                    .collect::<Vec<_>>()
                    .join(" ");
                polyline class="series" points=(path) stroke=(l.colour) fill="none" stroke-width="2" {
                    title { (l.name) }
                }
                @for p in &l.points {
                    @if let Some(dot) = p.dot {
                        circle cx=(fmt(axis.x(p.at))) cy=(fmt(v.y(p.value))) r="3.5" fill=(dot) stroke=(l.colour) stroke-width="1" {
                            title { (p.title) }
                        }
                    }
                }
            }
        },
    )
}

/// One group of bars (a period), each bar a series' value.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub(crate) label: String,
    pub(crate) bars: Vec<(f64, &'static str, String)>,
}

/// Grouped vertical bars, from 0 to the largest value.
pub(crate) fn bars(label: &str, groups: &[Group]) -> Markup {
    let height = 220.0;
    let max = groups
        .iter()
        .flat_map(|g| g.bars.iter().map(|b| b.0))
        .fold(1.0_f64, f64::max)
        .ceil();
    let v = ValueAxis {
        min: 0.0,
        max,
        height,
    };
    let step = (max / 4.0).ceil().max(1.0);
    let ticks: Vec<(f64, String)> = (0..)
        .map(|i| f64::from(i) * step)
        .take_while(|t| *t <= max)
        .map(|t| (t, format!("{t}")))
        .collect();
    let width = (WIDTH - LEFT - RIGHT) / groups.len().max(1) as f64;
    let bar = |n: usize| (width * 0.8 / n.max(1) as f64).min(28.0);
    frame(
        height,
        label,
        html! {
            (value_ticks(&v, &ticks))
            line class="axis" x1=(LEFT) x2=(WIDTH - RIGHT) y1=(height - BOTTOM) y2=(height - BOTTOM) {}
            @for (i, g) in groups.iter().enumerate() {
                @let x0 = LEFT + width * i as f64 + (width - bar(g.bars.len()) * g.bars.len() as f64) / 2.0;
                @for (j, (value, colour, title)) in g.bars.iter().enumerate() {
                    rect class="bar" x=(fmt(x0 + bar(g.bars.len()) * j as f64)) y=(fmt(v.y(*value)))
                        width=(fmt(bar(g.bars.len()) - 2.0)) height=(fmt(v.y(0.0) - v.y(*value))) fill=(*colour) {
                        title { (title) }
                    }
                }
                text class="tick" x=(fmt(LEFT + width * (i as f64 + 0.5))) y=(height - BOTTOM + 16.0) text-anchor="middle" { (g.label) }
            }
        },
    )
}

/// One horizontal bar: a label, a value from 0 to `max`, a marker, a colour, a note.
#[derive(Debug, Clone)]
pub(crate) struct HBar {
    pub(crate) label: String,
    pub(crate) value: f64,
    pub(crate) marker: Option<f64>,
    pub(crate) colour: &'static str,
    pub(crate) note: String,
}

/// Horizontal bars from 0 to `max`, with a reference line at `reference`.
pub(crate) fn hbars(label: &str, max: f64, reference: f64, bars: &[HBar]) -> Markup {
    let row = 26.0;
    let left = 200.0;
    let right = 150.0;
    let height = TOP + row * bars.len() as f64 + BOTTOM;
    let x = |v: f64| left + (v / max).clamp(0.0, 1.0) * (WIDTH - left - right);
    frame(
        height,
        label,
        html! {
            line class="reference" x1=(fmt(x(reference))) x2=(fmt(x(reference))) y1=(TOP) y2=(height - BOTTOM) {}
            text class="tick" x=(fmt(x(reference))) y=(height - BOTTOM + 16.0) text-anchor="middle" { (format!("{:.0}%", reference * 100.0)) }
            text class="tick" x=(fmt(x(0.0))) y=(height - BOTTOM + 16.0) text-anchor="middle" { "0%" }
            @for (i, b) in bars.iter().enumerate() {
                @let y = TOP + row * i as f64;
                text class="label" x=(left - 8.0) y=(fmt(y + 17.0)) text-anchor="end" { (b.label) }
                rect class="track" x=(fmt(x(0.0))) y=(fmt(y + 5.0)) width=(fmt(x(max) - x(0.0))) height="16" {}
                rect class="bar" x=(fmt(x(0.0))) y=(fmt(y + 5.0)) width=(fmt(x(b.value) - x(0.0))) height="16" fill=(b.colour) {
                    title { (b.note) }
                }
                @if let Some(m) = b.marker {
                    line class="marker" x1=(fmt(x(m))) x2=(fmt(x(m))) y1=(fmt(y + 2.0)) y2=(fmt(y + 24.0)) {
                        title { "where it should be by now" }
                    }
                }
                text class="value" x=(fmt(WIDTH - right + 8.0)) y=(fmt(y + 17.0)) { (b.note) }
            }
        },
    )
}

/// A span of time on a row of the timeline.
#[derive(Debug, Clone)]
pub(crate) struct Span {
    pub(crate) from: OffsetDateTime,
    pub(crate) to: OffsetDateTime,
    pub(crate) colour: &'static str,
    pub(crate) title: String,
}

/// Rows of spans over time, each row labelled on the left.
pub(crate) fn timeline(axis: &TimeAxis, label: &str, rows: &[(String, Vec<Span>)]) -> Markup {
    let axis = &TimeAxis {
        left: 250.0,
        ..*axis
    };
    let row = 22.0;
    let height = TOP + row * rows.len() as f64 + BOTTOM;
    frame(
        height,
        label,
        html! {
            (time_ticks(axis, height))
            @for (i, (name, spans)) in rows.iter().enumerate() {
                @let y = TOP + row * i as f64;
                @for s in spans {
                    rect class="span" x=(fmt(axis.x(s.from))) y=(fmt(y + 3.0))
                        width=(fmt((axis.x(s.to) - axis.x(s.from)).max(3.0))) height="16" fill=(s.colour) rx="3" {
                        title { (s.title) }
                    }
                }
                text class="row-label" x=(axis.left - 8.0) y=(fmt(y + 15.0)) text-anchor="end" { (shortened(name, 50)) }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;

    #[test]
    fn quarters_start_and_follow() {
        assert_eq!(quarter_start(date!(2026 - 05 - 17)), date!(2026 - 04 - 01));
        assert_eq!(next_quarter(date!(2026 - 05 - 17)), date!(2026 - 07 - 01));
        assert_eq!(next_quarter(date!(2026 - 12 - 31)), date!(2027 - 01 - 01));
        assert_eq!(quarter_label(date!(2026 - 12 - 31)), "2026-Q4");
    }

    #[test]
    fn a_line_is_clipped_to_the_window() {
        let axis = TimeAxis::new(
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2026-07-01 0:00 UTC),
        );
        let point = |at, value| Point {
            at,
            value,
            dot: Some(GOOD),
            title: String::new(),
        };
        let line = Line {
            name: "l".into(),
            colour: series(0),
            points: vec![
                point(datetime!(2025-06-01 0:00 UTC), 0.2),
                point(datetime!(2025-12-01 0:00 UTC), 0.3),
                point(datetime!(2026-03-01 0:00 UTC), 0.4),
                point(datetime!(2026-08-01 0:00 UTC), 0.5),
            ],
        };
        let clipped = axis.clip(&line);
        let kept: Vec<(OffsetDateTime, f64, bool)> = clipped
            .points
            .iter()
            .map(|p| (p.at, p.value, p.dot.is_some()))
            .collect();
        assert_eq!(
            kept,
            vec![
                (axis.from, 0.3, false),
                (datetime!(2026-03-01 0:00 UTC), 0.4, true),
            ]
        );
        assert_eq!(axis.x(axis.from), LEFT);
        assert_eq!(axis.x(datetime!(2030-01-01 0:00 UTC)), WIDTH - RIGHT);
    }
}
