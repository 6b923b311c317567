//! The dashboard's pages, server-rendered HTML without script: the partnership list (which
//! partnerships are in trouble, at a glance) and one partnership's page (its summary, its audit
//! history a page at a time, and the retrospective's sections). Both are pure functions of what
//! they are given: the HTTP layer (`accord-http`'s `dashboard`) reads the read models and makes
//! the links.

use std::collections::BTreeMap;

use accord_domain::event::{Event, Status};
use accord_domain::models::flags::{Flag, Severity};
use accord_domain::models::summary::Summary;
use accord_domain::values::rfc3339::format as rfc3339;
use accord_domain::{EventId, Overview};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use time::OffsetDateTime;

use crate::{STYLE, badge};

/// What the dashboard's pages add to the retrospective's style sheet.
const DASHBOARD_STYLE: &str = r#"
main { max-width: 1200px; }
nav.top { display: flex; justify-content: space-between; align-items: center; gap: 16px; font-size: 14px; }
nav.top form { display: inline; }
form.controls { display: flex; flex-wrap: wrap; gap: 12px; align-items: end; margin: 16px 0; padding: 12px; background: var(--soft); border: 1px solid var(--line); border-radius: 8px; }
form.controls .field { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
form.controls input, form.controls select { font: inherit; font-size: 14px; padding: 4px 6px; }
button { font: inherit; font-size: 14px; padding: 4px 12px; cursor: pointer; }
table.list td { vertical-align: middle; }
a.next { display: inline-block; margin: 12px 0; }
p.error { color: #c62828; font-weight: 600; }
tr:target { background: #fff6d5; }
"#;

/// A row of the partnership list: the partnership at a glance and its summary at the axes.
#[derive(Debug, Clone)]
pub struct ListRow {
    pub overview: Overview,
    pub summary: Summary,
    /// When its latest event known at the axes occurred.
    pub last_activity: Option<OffsetDateTime>,
}

/// How the list is ordered (within the page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// By id, as the pages run.
    #[default]
    Partnership,
    Status,
    /// Most critical, then most warning flags first.
    Flags,
    /// Lowest trust score first.
    Trust,
    /// Most recent activity first.
    Activity,
}

impl Sort {
    pub const ALL: [Sort; 5] = [
        Sort::Partnership,
        Sort::Status,
        Sort::Flags,
        Sort::Trust,
        Sort::Activity,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Partnership => "partnership",
            Sort::Status => "status",
            Sort::Flags => "flags",
            Sort::Trust => "trust",
            Sort::Activity => "activity",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    fn label(self) -> &'static str {
        match self {
            Sort::Partnership => "partnership",
            Sort::Status => "status",
            Sort::Flags => "red flags, worst first",
            Sort::Trust => "lowest trust first",
            Sort::Activity => "latest activity first",
        }
    }

    /// Orders `rows` (a page) by this.
    pub fn apply(self, rows: &mut [ListRow]) {
        let critical = |r: &ListRow| count(&r.summary.open_flags, Severity::Critical);
        let warn = |r: &ListRow| count(&r.summary.open_flags, Severity::Warn);
        let lowest = |r: &ListRow| {
            r.summary
                .trust
                .iter()
                .map(|t| t.score)
                .fold(f64::INFINITY, f64::min)
        };
        match self {
            Sort::Partnership => {
                rows.sort_by(|a, b| a.overview.partnership_id.cmp(&b.overview.partnership_id))
            }
            Sort::Status => rows.sort_by_key(|r| status_name(r.overview.status)),
            Sort::Flags => rows.sort_by_key(|r| std::cmp::Reverse((critical(r), warn(r)))),
            Sort::Trust => rows.sort_by(|a, b| lowest(a).total_cmp(&lowest(b))),
            Sort::Activity => rows.sort_by_key(|r| std::cmp::Reverse(r.last_activity)),
        }
    }
}

fn count(flags: &[Flag], severity: Severity) -> usize {
    flags.iter().filter(|f| f.severity == severity).count()
}

fn status_name(status: Option<Status>) -> &'static str {
    status.map_or("proposed", |s| s.as_str())
}

/// What the list's controls hold: the axes as given, the filters and the order.
#[derive(Debug, Clone, Default)]
pub struct ListControls {
    pub as_of: String,
    pub valid_at: String,
    /// A status, or empty for any.
    pub status: String,
    /// Text the id or a party must contain, or empty.
    pub text: String,
    pub sort: Sort,
}

/// The partnership list's page.
#[derive(Debug)]
pub struct ListPage<'a> {
    pub rows: &'a [ListRow],
    pub controls: &'a ListControls,
    /// The URL of the next page, if any.
    pub next: Option<String>,
    /// The link of each partnership's page, by the row's index.
    pub links: &'a [String],
    /// Who is signed in (their org), when the dashboard asks for a token.
    pub signed_in: Option<&'a str>,
}

fn page(title: &str, signed_in: Option<&str>, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // No icon to fetch.
                link rel="icon" href="data:,";
                title { (title) }
                style { (PreEscaped(STYLE)) (PreEscaped(DASHBOARD_STYLE)) }
            }
            body {
                main {
                    nav.top aria-label="Dashboard" {
                        a href="/" { "accord: partnerships" }
                        @if let Some(org) = signed_in {
                            span {
                                "Signed in for " strong { (org) } " "
                                form method="post" action="/sign-out" {
                                    button type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                    (body)
                }
            }
        }
    }
    .into_string()
}

fn axes_inputs(as_of: &str, valid_at: &str) -> Markup {
    html! {
        div.field {
            label for="as_of" { "As the ledger knew it at (as_of, RFC 3339; empty: now)" }
            input #as_of type="text" name="as_of" value=(as_of) placeholder="2026-03-15T00:00:00Z";
        }
        div.field {
            label for="valid_at" { "How it stood at (valid_at, RFC 3339; empty: as_of)" }
            input #valid_at type="text" name="valid_at" value=(valid_at) placeholder="2025-12-31T00:00:00Z";
        }
    }
}

fn flag_counts(flags: &[Flag]) -> Markup {
    let (critical, warn) = (
        count(flags, Severity::Critical),
        count(flags, Severity::Warn),
    );
    html! {
        @if critical + warn == 0 { span.muted { "none" } }
        @if critical > 0 { (badge("critical", &format!("{critical} critical"))) " " }
        @if warn > 0 { (badge("warn", &format!("{warn} warn"))) }
    }
}

impl ListPage<'_> {
    pub fn render(&self) -> String {
        let c = self.controls;
        let statuses = ["proposed", "active", "paused", "renewed", "terminated"];
        let body = html! {
            h1 { "Partnerships" }
            p.lead { "Each partnership's summary: trust per org, the balance of effort, goal coverage and its open red flags." }
            form.controls method="get" action="/" {
                (axes_inputs(&c.as_of, &c.valid_at))
                div.field {
                    label for="status" { "Status" }
                    select #status name="status" {
                        option value="" selected[c.status.is_empty()] { "any" }
                        @for s in statuses {
                            option value=(s) selected[c.status == s] { (s) }
                        }
                    }
                }
                div.field {
                    label for="q" { "Partnership or party contains" }
                    input #q type="search" name="q" value=(c.text);
                }
                div.field {
                    label for="sort" { "Order" }
                    select #sort name="sort" {
                        @for s in Sort::ALL {
                            option value=(s.as_str()) selected[c.sort == s] { (s.label()) }
                        }
                    }
                }
                button type="submit" { "Show" }
            }
            @if self.rows.is_empty() {
                p.muted { "No partnership here." }
            } @else {
                table.list {
                    thead {
                        tr {
                            th scope="col" { "Partnership" }
                            th scope="col" { "Status" }
                            th scope="col" { "Trust" }
                            th scope="col" { "Balance index" }
                            th scope="col" { "Goal coverage" }
                            th scope="col" { "Open red flags" }
                            th scope="col" { "Last activity" }
                        }
                    }
                    tbody {
                        @for (row, link) in self.rows.iter().zip(self.links) {
                            tr {
                                td {
                                    a href=(link) { (row.overview.partnership_id) }
                                    br;
                                    span.muted { (row.overview.parties.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(", ")) }
                                }
                                td { (status_name(row.overview.status)) }
                                td {
                                    @for t in &row.summary.trust {
                                        div { (t.org) " " (format!("{:.2}", t.score)) " " (badge(t.band.into(), t.band.into())) }
                                    }
                                }
                                td.num {
                                    @for b in &row.summary.balance {
                                        div { (b.a) "/" (b.b) " " (b.balance_index.map_or_else(|| "–".to_owned(), |x| format!("{x:.2}"))) }
                                    }
                                }
                                td {
                                    @if row.summary.goal_coverage.complete { "complete" } @else {
                                        span.muted { "missing: " (missing(&row.summary)) }
                                    }
                                }
                                td { (flag_counts(&row.summary.open_flags)) }
                                td { (row.last_activity.map_or_else(|| "–".to_owned(), |t| rfc3339(t).get(..10).unwrap_or("–").to_owned())) }
                            }
                        }
                    }
                }
            }
            @if let Some(next) = &self.next {
                a.next href=(next) { "Next page" }
            }
        };
        page("Partnerships", self.signed_in, body)
    }
}

fn missing(summary: &Summary) -> String {
    let c = &summary.goal_coverage;
    let kinds: Vec<&str> = [
        (!c.qualitative).then_some("qualitative"),
        (!c.marketing).then_some("marketing"),
        (!c.sales).then_some("sales"),
    ]
    .into_iter()
    .flatten()
    .collect();
    kinds.join(", ")
}

/// One event of a partnership's history on its page.
#[derive(Debug, Clone)]
pub struct HistoryRow<'a> {
    /// Its place in the log (1 for the first event recorded).
    pub number: usize,
    pub event: &'a Event,
}

/// One partnership's page.
#[derive(Debug)]
pub struct PartnershipPage<'a> {
    pub overview: &'a Overview,
    pub summary: &'a Summary,
    pub as_of: &'a str,
    pub valid_at: &'a str,
    /// This page of the history.
    pub history: &'a [HistoryRow<'a>],
    /// The URLs of the history's previous and next pages, if any.
    pub history_previous: Option<String>,
    pub history_next: Option<String>,
    /// Where each open flag's evidence is in the history (by event id).
    pub evidence_links: &'a BTreeMap<EventId, String>,
    /// The retrospective's sections (see [`crate::render_sections`]), or why there are none.
    pub sections: Result<String, String>,
    /// The printable retrospective.
    pub retro_link: String,
    pub signed_in: Option<&'a str>,
}

impl PartnershipPage<'_> {
    pub fn render(&self) -> String {
        let o = self.overview;
        let s = self.summary;
        let body = html! {
            h1 { (o.partnership_id) }
            p.meta {
                (o.parties.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(", "))
                " · " (status_name(o.status))
                " · last commit at log position " (o.revision)
                " · " a href=(self.retro_link) { "Printable retrospective" }
            }
            form.controls method="get" {
                (axes_inputs(self.as_of, self.valid_at))
                button type="submit" { "Show" }
            }
            section #summary aria-labelledby="summary-title" {
                h2 #summary-title { "Summary" }
                div.cards {
                    @for t in &s.trust {
                        div.card { div.k { "Trust: " (t.org) } div.v { (format!("{:.2}", t.score)) " " (badge(t.band.into(), t.band.into())) } }
                    }
                    @for b in &s.balance {
                        div.card { div.k { "Balance " (b.a) "/" (b.b) } div.v { (b.balance_index.map_or_else(|| "–".to_owned(), |x| format!("{x:.2}"))) } }
                    }
                    div.card { div.k { "Goal coverage" } div.v { @if s.goal_coverage.complete { "complete" } @else { "missing " (missing(s)) } } }
                    div.card { div.k { "Open red flags" } div.v { (flag_counts(&s.open_flags)) } }
                }
                @if !s.open_flags.is_empty() {
                    h3 { "Open red flags" }
                    ul {
                        @for f in &s.open_flags {
                            li {
                                (badge(severity(f.severity), severity(f.severity))) " "
                                strong { (f.flag) } (f.subject.as_ref().map(|x| format!(" ({x})")).unwrap_or_default())
                                ": " (f.reason)
                                @if !f.evidence.is_empty() {
                                    " (evidence: "
                                    @for (i, id) in f.evidence.iter().enumerate() {
                                        @if i > 0 { ", " }
                                        @match self.evidence_links.get(id) {
                                            Some(link) => a href=(link) { (short(*id)) },
                                            None => span { (short(*id)) },
                                        }
                                    }
                                    ")"
                                }
                            }
                        }
                    }
                }
            }
            section #history aria-labelledby="history-title" {
                h2 #history-title { "Audit history" }
                table {
                    thead {
                        tr {
                            th scope="col" { "#" }
                            th scope="col" { "Occurred" }
                            th scope="col" { "Recorded" }
                            th scope="col" { "Org" }
                            th scope="col" { "Event" }
                            th scope="col" { "Id" }
                        }
                    }
                    tbody {
                        @for h in self.history {
                            tr id=(format!("e-{}", h.event.event_id)) {
                                td.num { (h.number) }
                                td { (rfc3339(h.event.occurred_at).get(..16).unwrap_or("")) }
                                td { (rfc3339(h.event.recorded_at).get(..16).unwrap_or("")) }
                                td { (h.event.actor.org) }
                                td { (h.event.event_type().as_str()) }
                                td.muted { (short(h.event.event_id)) }
                            }
                        }
                    }
                }
                nav aria-label="History pages" {
                    @if let Some(previous) = &self.history_previous { a href=(previous) { "Earlier events" } " " }
                    @if let Some(next) = &self.history_next { a href=(next) { "Later events" } }
                }
            }
            @match &self.sections {
                Ok(sections) => (PreEscaped(sections)),
                Err(why) => p.muted { (why) },
            }
        };
        page(o.partnership_id.as_str(), self.signed_in, body)
    }
}

fn severity(s: Severity) -> &'static str {
    s.into()
}

/// The end of an event id, as the history shows it (its start is a time, the same for events
/// recorded together).
fn short(id: EventId) -> String {
    let id = id.to_string();
    id[id.len().saturating_sub(8)..].to_owned()
}

/// The sign-in page: a token, and why the last one was refused.
pub fn sign_in_page(refused: Option<&str>) -> String {
    let body = html! {
        h1 { "Sign in" }
        p.lead { "This ledger asks for a token (made with accord token new). The dashboard shows the partnerships it may read." }
        @if let Some(why) = refused {
            p.error role="alert" { (why) }
        }
        form.controls method="post" action="/sign-in" {
            div.field {
                label for="token" { "Token" }
                input #token type="password" name="token" autocomplete="current-password" required;
            }
            button type="submit" { "Sign in" }
        }
    };
    page("Sign in", None, body)
}
