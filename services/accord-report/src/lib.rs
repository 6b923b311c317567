//! The retrospective report: one self-contained HTML page (no script, no network, no external
//! font) telling a partnership's story for a team holding a retrospective.
//!
//! What the page shows:
//! - what to discuss, drawn from the open red flags;
//! - the story, quarter by quarter, with who acted;
//! - trust per org, with the points that moved it and why;
//! - throughput and WIP per quarter;
//! - the balance of effort over time, with its indicators;
//! - goal attainment;
//! - the red-flag timeline, with evidence.
//!
//! Like the read models it draws on, the report is a pure function of (events, axes, window,
//! settings): it never reads the clock, so the same inputs give the same bytes.
//!
//! Time runs two ways on the page. The report shows what the ledger knew at `as_of` of what had
//! occurred by `valid_at` (retractions and corrections applied), evaluated at `valid_at`. Its
//! charts lay that knowledge out in business time (`occurred_at`) over the window. The balance of
//! effort at the end of each quarter is the asymmetry model evaluated at that instant over the
//! known events that had occurred by then.

mod charts;
pub mod dashboard;
mod discuss;
mod sections;
mod story;

use std::collections::BTreeMap;

use accord_domain::event::{Event, Payload};
use accord_domain::models::flags::{self, Flag, Flags, Severity};
use accord_domain::models::goals::{self, Goals};
use accord_domain::models::summary::{self, Summary};
use accord_domain::models::throughput::{self, Throughput};
use accord_domain::models::trust::{self, TrustTimeline};
use accord_domain::models::{Axes, ModelSettings, known};
use accord_domain::values::rfc3339::format as rfc3339;
use accord_domain::{EventId, PartnershipId};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use time::{Date, Duration, OffsetDateTime};

use crate::charts::{CRITICAL, TimeAxis, WARN, quarter_label, quarter_start};

/// What a report is made of.
#[derive(Debug, Clone, Copy)]
pub struct Retro<'a> {
    pub partnership_id: &'a PartnershipId,
    /// Everything recorded for the partnership, in log order.
    pub events: &'a [Event],
    /// What the ledger knew (`as_of`) of the partnership at `valid_at`.
    pub axes: Axes,
    /// The window of business time shown: from the first event, to `valid_at`, unless given.
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub settings: &'a ModelSettings,
    /// The partnership's revision, for the footer.
    pub revision: Option<u64>,
}

/// Why there is no report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetroError {
    #[error("from ({from}) must not be after to ({to})")]
    Window { from: Date, to: Date },
    #[error("{partnership_id} has no event the ledger knew at {as_of} that occurred by {valid_at}")]
    NothingKnown {
        partnership_id: PartnershipId,
        as_of: String,
        valid_at: String,
    },
}

fn day(t: OffsetDateTime) -> String {
    t.date().to_string()
}

/// Everything the page is drawn from.
struct Page<'a> {
    retro: &'a Retro<'a>,
    known: Vec<Event>,
    /// Where each event in effect is in `known` (a corrected one reads as corrected).
    by_id: BTreeMap<EventId, usize>,
    axis: TimeAxis,
    from: Date,
    to: Date,
    trust: TrustTimeline,
    throughput: Throughput,
    goals: Goals,
    flags: Flags,
    summary: Summary,
}

/// The report as one HTML page.
pub fn render(retro: &Retro<'_>) -> Result<String, RetroError> {
    Ok(Page::of(retro)?.html().into_string())
}

/// The report's sections without its page (what to discuss, at a glance, the story, trust,
/// throughput, balance, goals and red flags), for a page of another's that shows them under
/// [`STYLE`].
pub fn render_sections(retro: &Retro<'_>) -> Result<String, RetroError> {
    Ok(Page::of(retro)?.sections().into_string())
}

/// The style sheet the report's sections are drawn with.
pub const STYLE: &str = CSS;

impl<'a> Page<'a> {
    fn of(retro: &'a Retro<'a>) -> Result<Self, RetroError> {
        let known = known(retro.events, retro.axes);
        let Some(first) = known.iter().map(|e| e.occurred_at).min() else {
            return Err(RetroError::NothingKnown {
                partnership_id: retro.partnership_id.clone(),
                as_of: rfc3339(retro.axes.as_of),
                valid_at: rfc3339(retro.axes.valid_at),
            });
        };
        let from = retro.from.unwrap_or(first.date());
        let to = retro.to.unwrap_or(retro.axes.valid_at.date());
        if from > to {
            return Err(RetroError::Window { from, to });
        }
        let axis = TimeAxis::new(
            from.midnight().assume_utc(),
            to.midnight().assume_utc() + Duration::DAY,
        );
        let (events, axes, settings) = (retro.events, retro.axes, retro.settings);
        let summary = summary::summary(events, axes, settings);
        let flags = flags::flags(events, axes, settings);
        let page = Page {
            retro,
            by_id: known
                .iter()
                .enumerate()
                .map(|(i, e)| (e.event_id, i))
                .collect(),
            axis,
            from,
            to,
            trust: trust::trust(events, axes, &settings.trust),
            throughput: throughput::throughput(events, axes, &settings.throughput),
            goals: goals::goals(events, axes),
            flags,
            summary,
            known,
        };
        Ok(page)
    }
}

const CSS: &str = r#"
:root { color-scheme: light; --ink: #1d2733; --muted: #5f6b7a; --line: #d8dee6; --soft: #f4f6f9; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 960px; margin: 0 auto; padding: 32px 24px 64px; }
h1 { font-size: 28px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 40px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--ink); }
h3 { font-size: 16px; margin: 20px 0 6px; }
p.meta, p.lead, .muted { color: var(--muted); }
p.vision { font-size: 17px; font-style: italic; margin: 8px 0 0; }
table { width: 100%; border-collapse: collapse; margin: 8px 0; font-size: 14px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
table.story td:first-child { white-space: nowrap; width: 7.5em; }
table.story td:nth-child(2) { width: 9em; }
table.shares td.muted { color: #9aa5b1; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; background: var(--soft); }
.card .k { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.card .v { font-size: 18px; font-weight: 600; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600; color: #fff; white-space: nowrap; }
.badge.critical { background: #c62828; } .badge.warn { background: #b07d00; } .badge.cleared { background: #5f6b7a; }
.badge.healthy { background: #2e7d32; } .badge.watch { background: #b07d00; } .badge.at_risk { background: #c62828; } .badge.insufficient_evidence { background: #5f6b7a; }
ol.discuss li { margin: 8px 0; }
ol.discuss .q { font-weight: 600; }
svg.chart { display: block; width: 100%; height: auto; margin: 8px 0; font-size: 11px; }
svg .axis { stroke: #5f6b7a; stroke-width: 1; }
svg .grid { stroke: #e6eaf0; stroke-width: 1; }
svg .tick { fill: #5f6b7a; }
svg .reference { stroke: #5f6b7a; stroke-dasharray: 4 3; stroke-width: 1; }
svg .reference-label { fill: #5f6b7a; }
svg .track { fill: #eef1f5; }
svg .marker { stroke: #1d2733; stroke-width: 2; }
svg .label, svg .value { fill: #1d2733; font-size: 12px; }
svg .row-label { fill: #1d2733; font-size: 11px; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
.legend { display: flex; flex-wrap: wrap; gap: 16px; font-size: 13px; color: var(--muted); }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
.evidence { font-size: 13px; color: var(--muted); margin: 2px 0 0 0; padding-left: 18px; }
.other { font-size: 13px; color: var(--muted); }
footer { margin-top: 48px; font-size: 12px; color: var(--muted); border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  section, svg.chart, table, .cards { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
"#;

fn badge(class: &str, text: &str) -> Markup {
    html! { span class=(format!("badge {class}")) { (text.replace('_', " ")) } }
}

fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => CRITICAL,
        Severity::Warn => WARN,
    }
}

fn severity_name(s: Severity) -> &'static str {
    s.into()
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

impl Page<'_> {
    fn html(&self) -> Markup {
        let title = format!("Retrospective: {}", self.parties_title());
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) }
                    style { (PreEscaped(CSS)) }
                }
                body {
                    main {
                        (self.header(&title))
                        (self.sections())
                        (self.footer())
                    }
                }
            }
        }
    }

    fn sections(&self) -> Markup {
        html! {
            (self.discuss())
            (self.glance())
            (self.story())
            (self.trust_section())
            (self.throughput_section())
            (self.asymmetry_section())
            (self.goals_section())
            (self.flags_section())
        }
    }

    fn proposal(&self) -> Option<&accord_domain::event::PartnershipProposed> {
        self.known.iter().find_map(|e| match &e.payload {
            Payload::PartnershipProposed(p) => Some(p),
            _ => None,
        })
    }

    fn parties_title(&self) -> String {
        match self.proposal() {
            Some(p) => p
                .parties
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>()
                .join(" & "),
            None => self.retro.partnership_id.to_string(),
        }
    }

    fn header(&self, title: &str) -> Markup {
        let status = self.summary.status.map_or("proposed", |s| s.as_str());
        html! {
            header {
                h1 { (title) }
                p.meta {
                    (self.retro.partnership_id.as_str()) " · " (status)
                    " · from " (self.from) " to " (self.to)
                    " · at " (rfc3339(self.retro.axes.valid_at))
                    " as the ledger knew it at " (rfc3339(self.retro.axes.as_of))
                }
                @if let Some(p) = self.proposal() {
                    p.vision { "\u{201c}" (p.vision) "\u{201d}" }
                    p.meta {
                        @for (i, party) in p.parties.iter().enumerate() {
                            @if i > 0 { " · " }
                            (party.name) " (" (party.org.as_str()) ", " (party.kind.as_str().replace('_', " ")) ")"
                        }
                    }
                }
            }
        }
    }

    /// The open flags as questions for the room, the critical ones first.
    fn discuss(&self) -> Markup {
        let mut open: Vec<&Flag> = self.flags.open.iter().collect();
        open.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.rule_id));
        html! {
            section #discuss {
                h2 { "What to discuss" }
                @if open.is_empty() {
                    p { "No red flag is open. Worth asking what keeps it that way, and what the next quarter should prove." }
                } @else {
                    ol.discuss {
                        @for f in &open {
                            li {
                                (badge(severity_name(f.severity), severity_name(f.severity)))
                                " "
                                span.q { (discuss::question(f)) }
                                br;
                                span.muted { (f.rule_id.name()) ": " (f.reason) }
                            }
                        }
                    }
                }
            }
        }
    }

    fn glance(&self) -> Markup {
        let s = &self.summary;
        let g = &s.goals;
        html! {
            section #glance {
                h2 { "At a glance" }
                div.cards {
                    div.card {
                        div.k { "status" }
                        div.v { (s.status.map_or("proposed", |s| s.as_str())) }
                    }
                    @for t in &s.trust {
                        div.card {
                            div.k { "trust in " (t.org.as_str()) }
                            div.v { (format!("{:.2}", t.score)) " " (badge(t.band.into(), <&str>::from(t.band))) }
                        }
                    }
                    @for b in &s.balance {
                        div.card {
                            div.k { "balance " (b.a.as_str()) " · " (b.b.as_str()) }
                            div.v { (b.balance_index.map_or_else(|| "not enough events".to_owned(), |v| format!("{v:.2}"))) }
                        }
                    }
                    div.card {
                        div.k { "goals" }
                        div.v { (g.achieved) " achieved · " (g.on_track) " on track · " (g.behind) " behind · " (g.missed) " missed" }
                    }
                    div.card {
                        div.k { "open red flags" }
                        div.v {
                            (s.open_flags.len())
                            @let critical = s.open_flags.iter().filter(|f| f.severity == Severity::Critical).count();
                            @if critical > 0 { " (" (critical) " critical)" }
                        }
                    }
                }
            }
        }
    }

    fn in_window(&self, t: OffsetDateTime) -> bool {
        t.date() >= self.from && t.date() <= self.to
    }

    /// Key events per quarter, with who acted; the rest counted by kind.
    fn story(&self) -> Markup {
        let mut shown: Vec<&Event> = self
            .known
            .iter()
            .filter(|e| self.in_window(e.occurred_at))
            .collect();
        shown.sort_by_key(|e| e.occurred_at);
        let mut quarters: BTreeMap<Date, Vec<&Event>> = BTreeMap::new();
        for e in shown {
            quarters
                .entry(quarter_start(e.occurred_at.date()))
                .or_default()
                .push(e);
        }
        html! {
            section #story {
                h2 { "The story" }
                p.lead { "What happened, in business time, with who acted. Meeting requests, scheduling, figures and tags are counted under each quarter." }
                @for (q, events) in &quarters {
                    h3 { (quarter_label(*q)) }
                    table.story {
                        thead { tr { th { "date" } th { "who" } th { "what happened" } } }
                        tbody {
                            @for e in events.iter().filter(|e| story::is_key(e)) {
                                tr id=(format!("e-{}", e.event_id)) {
                                    td { (day(e.occurred_at)) }
                                    td {
                                        (e.actor.org.as_str())
                                        @if let Some(person) = &e.actor.person { br; span.muted { (person) } }
                                    }
                                    td {
                                        (story::describe(e))
                                        @if let Some(note) = &e.note { br; span.muted { (note) } }
                                    }
                                }
                            }
                        }
                    }
                    @let others = other_counts(events);
                    @if !others.is_empty() {
                        p.other { "Also: " (others) "." }
                    }
                }
            }
        }
    }

    fn event_line(&self, id: &EventId) -> Markup {
        match self.by_id.get(id).map(|i| &self.known[*i]) {
            Some(e) => html! {
                (day(e.occurred_at)) " · " (e.actor.org.as_str()) " · " (story::describe(e))
            },
            None => html! { "event " (id.to_string()) },
        }
    }

    fn footer(&self) -> Markup {
        html! {
            footer {
                "Made by accord from the " (self.known.len()) " events in effect"
                @if let Some(r) = self.retro.revision { " (revision " (r) ")" }
                " as the ledger knew them at " (rfc3339(self.retro.axes.as_of))
                ", evaluated at " (rfc3339(self.retro.axes.valid_at))
                ". The same ledger, time and settings give the same page."
            }
        }
    }
}

/// Each id once, in their order (an event can be evidence twice, once per topic it decided).
fn unique(ids: &[EventId]) -> Vec<&EventId> {
    let mut seen = std::collections::BTreeSet::new();
    ids.iter().filter(|id| seen.insert(*id)).collect()
}

/// "3 meeting requests, 2 indicators" for the events not in the story's main line.
fn other_counts(events: &[&Event]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for e in events.iter().filter(|e| !story::is_key(e)) {
        *counts.entry(e.event_type().as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(t, n)| format!("{n} × {}", t.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A stretch of time a flag stood as `flag`.
struct Stretch<'a> {
    from: OffsetDateTime,
    to: OffsetDateTime,
    flag: &'a Flag,
}

/// One flag (rule and subject) over the history: the stretches it stood, and whether it is open.
struct Episode<'a> {
    rule: &'static str,
    subject: Option<&'a str>,
    stretches: Vec<Stretch<'a>>,
    open: bool,
}

impl Episode<'_> {
    fn name(&self) -> String {
        match self.subject {
            Some(s) => format!("{} {} ({s})", self.rule, self.rule_name()),
            None => format!("{} {}", self.rule, self.rule_name()),
        }
    }

    fn rule_name(&self) -> &'static str {
        self.stretches.first().map_or("", |s| s.flag.flag)
    }
}

/// The flags' history as episodes, in the order they were first raised.
fn flag_episodes(flags: &Flags, as_of: OffsetDateTime) -> Vec<Episode<'_>> {
    let mut episodes: Vec<Episode<'_>> = Vec::new();
    for change in &flags.history {
        let rule: &'static str = change.rule_id.into();
        let subject = change.subject.as_deref();
        let i = match episodes
            .iter()
            .position(|e| e.rule == rule && e.subject == subject)
        {
            Some(i) => i,
            None => {
                episodes.push(Episode {
                    rule,
                    subject,
                    stretches: Vec::new(),
                    open: false,
                });
                episodes.len() - 1
            }
        };
        let episode = &mut episodes[i];
        if episode.open {
            if let Some(last) = episode.stretches.last_mut() {
                last.to = change.at;
            }
        }
        episode.open = change.now.is_some();
        if let Some(flag) = &change.now {
            episode.stretches.push(Stretch {
                from: change.at,
                to: as_of,
                flag,
            });
        }
    }
    episodes.retain(|e| !e.stretches.is_empty());
    episodes
}

#[cfg(test)]
mod robustness_tests;

#[cfg(test)]
mod tests {
    use accord_domain::models::flags::{FlagChange, Rule};
    use time::macros::datetime;

    use super::*;

    fn flag(severity: Severity, reason: &str) -> Flag {
        Flag {
            rule_id: Rule::R1,
            flag: Rule::R1.name(),
            subject: Some("a>b".into()),
            severity,
            reason: reason.into(),
            evidence: Vec::new(),
        }
    }

    fn change(at: OffsetDateTime, now: Option<Flag>) -> FlagChange {
        FlagChange {
            at,
            rule_id: Rule::R1,
            subject: Some("a>b".into()),
            now,
        }
    }

    fn proposal() -> Vec<Event> {
        vec![
            serde_json::from_value(serde_json::json!({
                "event_id": "01990000-0000-7000-8000-000000000001",
                "partnership_id": "acme-stmary",
                "schema_version": 1,
                "occurred_at": "2026-01-05T09:00:00Z",
                "recorded_at": "2026-01-05T09:01:00Z",
                "actor": {"org": "acme"},
                "type": "partnership_proposed",
                "data": {"parties": [
                    {"org": "acme", "name": "Acme <Health>", "kind": "vendor"},
                    {"org": "stmary", "name": "St Mary's", "kind": "health_system"}],
                  "vision": "fewer readmissions"},
            }))
            .expect("an event"),
        ]
    }

    fn retro<'a>(
        p: &'a PartnershipId,
        events: &'a [Event],
        as_of: OffsetDateTime,
        settings: &'a ModelSettings,
    ) -> Retro<'a> {
        Retro {
            partnership_id: p,
            events,
            axes: Axes::at(as_of),
            from: None,
            to: None,
            settings,
            revision: Some(1),
        }
    }

    #[test]
    fn a_page_escapes_what_people_typed_and_is_the_same_every_time() {
        let (p, events, settings) = (
            PartnershipId::parse("acme-stmary").expect("id"),
            proposal(),
            ModelSettings::default(),
        );
        let r = retro(&p, &events, datetime!(2026-02-01 0:00 UTC), &settings);
        let page = render(&r).expect("a page");
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(
            page.contains("Acme &lt;Health&gt; &amp; St Mary"),
            "escaped"
        );
        assert!(!page.contains("<Health>"));
        assert_eq!(render(&r).expect("a page"), page);
    }

    #[test]
    fn a_window_backwards_or_nothing_known_is_refused() {
        let (p, events, settings) = (
            PartnershipId::parse("acme-stmary").expect("id"),
            proposal(),
            ModelSettings::default(),
        );
        let mut r = retro(&p, &events, datetime!(2026-02-01 0:00 UTC), &settings);
        r.from = Some(time::macros::date!(2026 - 03 - 01));
        r.to = Some(time::macros::date!(2026 - 02 - 01));
        assert!(matches!(render(&r), Err(RetroError::Window { .. })));
        let before = retro(&p, &events, datetime!(2026-01-05 9:00 UTC), &settings);
        assert!(matches!(
            render(&before),
            Err(RetroError::NothingKnown { .. })
        ));
    }

    /// Raised, made critical, cleared, raised again: one episode of three stretches, open
    /// until `as_of`.
    #[test]
    fn a_flags_history_makes_one_episode_per_flag() {
        let as_of = datetime!(2026-06-01 0:00 UTC);
        let flags = Flags {
            as_of,
            valid_at: as_of,
            open: vec![flag(Severity::Warn, "again")],
            history: vec![
                change(
                    datetime!(2026-01-01 0:00 UTC),
                    Some(flag(Severity::Warn, "one")),
                ),
                change(
                    datetime!(2026-02-01 0:00 UTC),
                    Some(flag(Severity::Critical, "two")),
                ),
                change(datetime!(2026-03-01 0:00 UTC), None),
                change(
                    datetime!(2026-04-01 0:00 UTC),
                    Some(flag(Severity::Warn, "again")),
                ),
            ],
            history_total: 4,
        };
        let episodes = flag_episodes(&flags, as_of);
        assert_eq!(episodes.len(), 1);
        let e = &episodes[0];
        assert!(e.open);
        assert_eq!(e.name(), "R1 unwilling_partner (a>b)");
        let stretches: Vec<(OffsetDateTime, OffsetDateTime, &str)> = e
            .stretches
            .iter()
            .map(|s| (s.from, s.to, s.flag.reason.as_str()))
            .collect();
        assert_eq!(
            stretches,
            vec![
                (
                    datetime!(2026-01-01 0:00 UTC),
                    datetime!(2026-02-01 0:00 UTC),
                    "one"
                ),
                (
                    datetime!(2026-02-01 0:00 UTC),
                    datetime!(2026-03-01 0:00 UTC),
                    "two"
                ),
                (datetime!(2026-04-01 0:00 UTC), as_of, "again"),
            ]
        );
    }
}
