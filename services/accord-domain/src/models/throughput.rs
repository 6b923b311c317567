//! Read model B: deliverable throughput, per owner org, by ISO week and by quarter.
//!
//! - Throughput: deliverables completed in the period. WIP: committed or started, not completed
//!   or cancelled, at the end of the period (at `as_of` for the current one).
//! - Work item age: `as_of − started` (else committed) of open items.
//! - Cycle time: days from started (else committed) to completed, at least 1; p50 and p85 by
//!   nearest rank over the completions of the trailing window; the SLE is the p85.
//! - On-time rates against the original and the latest due date; slips (due-date changes) and
//!   slip days (latest due − original due, when later).
//! - PPC per quarter: items due in the quarter (latest due date) completed by that date ÷ items
//!   due in the quarter. Focus: open top-priority items at the end of the quarter.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use imbl::{OrdMap, Vector};

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime, Time};

use super::{Axes, known, nearest_rank};
use crate::event::{Event, Payload};
use crate::ids::{EventId, ItemId, OrgId};

/// The window of the cycle-time percentiles *(setting)*.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ThroughputSettings {
    pub cycle_time_window_days: i64,
}

impl Default for ThroughputSettings {
    fn default() -> Self {
        Self {
            cycle_time_window_days: 90,
        }
    }
}

/// One ISO week or one quarter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Flow {
    /// `2026-W05` or `2026-Q1`.
    pub period: String,
    pub throughput: u32,
    pub wip: u32,
    /// Quarters only: items due in the quarter, those done by their due date, and PPC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ppc: Option<f64>,
    /// Quarters only: open top-priority items at the quarter's end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub focus: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenItem {
    pub deliverable_id: ItemId,
    pub age_days: i64,
    pub started: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OwnerThroughput {
    pub owner_org: OrgId,
    pub weeks: Vec<Flow>,
    pub quarters: Vec<Flow>,
    pub open_items: Vec<OpenItem>,
    pub cycle_time_p50: Option<i64>,
    /// The service level expectation: the p85 of the cycle time.
    pub cycle_time_p85: Option<i64>,
    pub on_time_original: Option<f64>,
    pub on_time_latest: Option<f64>,
    pub slips: u32,
    pub slip_days: i64,
    pub evidence: Vec<EventId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Throughput {
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub as_of: OffsetDateTime,
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub valid_at: OffsetDateTime,
    pub owners: Vec<OwnerThroughput>,
}

#[derive(Clone)]
struct Item {
    committed: OffsetDateTime,
    started: Option<OffsetDateTime>,
    completed: Option<OffsetDateTime>,
    cancelled: Option<OffsetDateTime>,
    original_due: Date,
    due: Date,
    slips: u32,
    top_priority: bool,
}

impl Item {
    fn open_at(&self, t: OffsetDateTime) -> bool {
        self.committed <= t
            && self.completed.is_none_or(|c| c > t)
            && self.cancelled.is_none_or(|c| c > t)
    }
}

fn end_of(d: Date) -> OffsetDateTime {
    d.with_time(Time::MIDNIGHT).assume_utc() + Duration::days(1)
}

pub(crate) fn quarter_of(d: Date) -> (i32, u8) {
    (d.year(), (u8::from(d.month()) - 1) / 3 + 1)
}

pub(crate) fn quarter_bounds(year: i32, q: u8) -> (Date, Date) {
    let month = |m: u8| Month::try_from(m).unwrap_or(Month::January);
    let start = Date::from_calendar_date(year, month((q - 1) * 3 + 1), 1).unwrap_or(Date::MIN);
    let next = if q == 4 {
        Date::from_calendar_date(year + 1, Month::January, 1)
    } else {
        Date::from_calendar_date(year, month(q * 3 + 1), 1)
    }
    .unwrap_or(Date::MAX);
    (start, next.previous_day().unwrap_or(next))
}

/// Throughput at `axes` (see [`known`]).
pub fn throughput(
    events: &[impl Borrow<Event>],
    axes: Axes,
    settings: &ThroughputSettings,
) -> Throughput {
    let mut fold = ThroughputFold::default();
    for e in &known(events, axes) {
        fold.apply(e);
    }
    fold.at(axes, settings)
}

/// PPC per owner org for the quarter `(year, q)`, of events already in effect (the oracle of R6
/// reads it); `None` for an owner with nothing due in the quarter.
#[cfg(test)]
pub(crate) fn quarter_ppc(effective: &[Event], year: i32, q: u8) -> Vec<(OrgId, Option<f64>)> {
    let (start, end) = quarter_bounds(year, q);
    let mut fold = ThroughputFold::default();
    for e in effective {
        fold.apply(e);
    }
    fold.by_owner()
        .into_iter()
        .map(|(owner, items)| (owner, due_in(&items, start, end).1))
        .collect()
}

/// Items due between `start` and `end` (by their latest due date, not cancelled), and the share
/// of them completed by that date.
fn due_in(items: &[(ItemId, Item)], start: Date, end: Date) -> (u32, Option<f64>) {
    let due: Vec<&Item> = items
        .iter()
        .map(|(_, i)| i)
        .filter(|i| i.cancelled.is_none() && i.due >= start && i.due <= end)
        .collect();
    let on_time = due
        .iter()
        .filter(|i| i.completed.is_some_and(|c| c.date() <= i.due))
        .count();
    (
        due.len() as u32,
        (!due.is_empty()).then(|| on_time as f64 / due.len() as f64),
    )
}

type ByOwner = BTreeMap<OrgId, Vec<(ItemId, Item)>>;

/// Every deliverable as the events in effect leave it, and each owner's evidence, kept as the
/// events are applied.
#[derive(Clone, Default)]
pub(crate) struct ThroughputFold {
    items: OrdMap<ItemId, (OrgId, Item)>,
    evidence: BTreeMap<OrgId, Vector<EventId>>,
}

impl ThroughputFold {
    /// Applies the next event in effect.
    pub(crate) fn apply(&mut self, e: &Event) {
        let at = e.occurred_at;
        let id = match &e.payload {
            Payload::DeliverableCommitted(p) => {
                let item = Item {
                    committed: at,
                    started: None,
                    completed: None,
                    cancelled: None,
                    original_due: p.due_date,
                    due: p.due_date,
                    slips: 0,
                    top_priority: p.top_priority,
                };
                self.items
                    .insert(p.deliverable_id.clone(), (p.owner_org.clone(), item));
                &p.deliverable_id
            }
            Payload::DeliverableStarted(p) => &p.deliverable_id,
            Payload::DeliverableDueDateChanged(p) => &p.deliverable_id,
            Payload::DeliverableCompleted(p) => &p.deliverable_id,
            Payload::DeliverableCancelled(p) => &p.deliverable_id,
            _ => return,
        };
        let Some((owner, item)) = self.items.get_mut(id) else {
            return;
        };
        match &e.payload {
            Payload::DeliverableStarted(_) => item.started = Some(at),
            Payload::DeliverableDueDateChanged(p) => {
                item.due = p.new_due;
                item.slips += 1;
            }
            Payload::DeliverableCompleted(_) => item.completed = Some(at),
            Payload::DeliverableCancelled(_) => item.cancelled = Some(at),
            _ => {}
        }
        self.evidence
            .entry(owner.clone())
            .or_default()
            .push_back(e.event_id);
    }

    /// The deliverables by owner org.
    fn by_owner(&self) -> ByOwner {
        let mut by_owner: ByOwner = BTreeMap::new();
        for (id, (owner, item)) in &self.items {
            by_owner
                .entry(owner.clone())
                .or_default()
                .push((id.clone(), item.clone()));
        }
        by_owner
    }

    /// Throughput at `axes.valid_at` (at or after every event applied).
    pub(crate) fn at(&self, axes: Axes, settings: &ThroughputSettings) -> Throughput {
        let owners = self
            .by_owner()
            .into_iter()
            .map(|(owner, items)| {
                let evidence = self
                    .evidence
                    .get(&owner)
                    .map(|e| e.iter().copied().collect())
                    .unwrap_or_default();
                owner_throughput(owner, &items, axes.valid_at, settings, evidence)
            })
            .collect();
        Throughput {
            as_of: axes.as_of,
            valid_at: axes.valid_at,
            owners,
        }
    }
}

fn owner_throughput(
    owner_org: OrgId,
    items: &[(ItemId, Item)],
    as_of: OffsetDateTime,
    settings: &ThroughputSettings,
    evidence: Vec<EventId>,
) -> OwnerThroughput {
    let first = items
        .iter()
        .map(|(_, i)| i.committed.date())
        .min()
        .unwrap_or(as_of.date());
    let last = as_of.date();
    let flow = |start: Date, end: Date, label: String| {
        let period_end = end_of(end).min(as_of);
        let throughput = items
            .iter()
            .filter(|(_, i)| {
                i.completed
                    .is_some_and(|c| c.date() >= start && c.date() <= end)
            })
            .count() as u32;
        let wip = items.iter().filter(|(_, i)| i.open_at(period_end)).count() as u32;
        (label, throughput, wip, period_end)
    };
    // ISO weeks from the first commitment to `as_of`.
    let mut weeks = Vec::new();
    let mut monday = first - Duration::days(i64::from(first.weekday().number_days_from_monday()));
    while monday <= last {
        let (year, week, _) = monday.to_iso_week_date();
        let (period, throughput, wip, _) = flow(
            monday,
            monday + Duration::days(6),
            format!("{year}-W{week:02}"),
        );
        weeks.push(Flow {
            period,
            throughput,
            wip,
            due: None,
            ppc: None,
            focus: None,
        });
        monday += Duration::weeks(1);
    }
    let mut quarters = Vec::new();
    let (mut year, mut q) = quarter_of(first);
    while quarter_bounds(year, q).0 <= last {
        let (start, end) = quarter_bounds(year, q);
        let (period, throughput, wip, period_end) = flow(start, end, format!("{year}-Q{q}"));
        let (due, ppc) = due_in(items, start, end);
        let focus = items
            .iter()
            .filter(|(_, i)| i.top_priority && i.open_at(period_end))
            .count() as u32;
        quarters.push(Flow {
            period,
            throughput,
            wip,
            due: Some(due),
            ppc,
            focus: Some(focus),
        });
        (year, q) = if q == 4 { (year + 1, 1) } else { (year, q + 1) };
    }
    let open_items = items
        .iter()
        .filter(|(_, i)| i.open_at(as_of))
        .map(|(id, i)| OpenItem {
            deliverable_id: id.clone(),
            age_days: (as_of - i.started.unwrap_or(i.committed)).whole_days(),
            started: i.started.is_some(),
        })
        .collect();
    let since = as_of - Duration::days(settings.cycle_time_window_days);
    let mut cycle_times: Vec<i64> = items
        .iter()
        .filter_map(|(_, i)| {
            let done = i.completed.filter(|c| *c > since && *c <= as_of)?;
            Some(
                (done - i.started.unwrap_or(i.committed))
                    .whole_days()
                    .max(1),
            )
        })
        .collect();
    cycle_times.sort_unstable();
    let completed: Vec<&Item> = items
        .iter()
        .map(|(_, i)| i)
        .filter(|i| i.completed.is_some_and(|c| c <= as_of))
        .collect();
    let rate = |due: &dyn Fn(&Item) -> Date| {
        (!completed.is_empty()).then(|| {
            let on_time = completed
                .iter()
                .filter(|i| i.completed.is_some_and(|c| c.date() <= due(i)))
                .count();
            on_time as f64 / completed.len() as f64
        })
    };
    OwnerThroughput {
        cycle_time_p50: nearest_rank(&cycle_times, 0.50),
        cycle_time_p85: nearest_rank(&cycle_times, 0.85),
        on_time_original: rate(&|i| i.original_due),
        on_time_latest: rate(&|i| i.due),
        slips: items.iter().map(|(_, i)| i.slips).sum(),
        slip_days: items
            .iter()
            .map(|(_, i)| (i.due - i.original_due).whole_days().max(0))
            .sum(),
        owner_org,
        weeks,
        quarters,
        open_items,
        evidence,
    }
}
