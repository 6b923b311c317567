//! The deliverables as R5 (focus) and R6 (slippage) read them, with the counts those rules
//! judge by, kept as each deliverable changes.

use std::collections::BTreeMap;

use imbl::OrdMap;

use time::{Date, OffsetDateTime};

use crate::event::DeliverableCommitted;
use crate::ids::{EventId, ItemId, OrgId};
use crate::models::flag_rules as rules;
use crate::models::flags::{Flag, Rule};
use crate::models::throughput::quarter_of;

/// A deliverable as R5 and R6 read it.
#[derive(Clone)]
pub(super) struct Deliverable {
    owner: OrgId,
    top_priority: bool,
    owned: bool,
    committed_by: EventId,
    original_due: Date,
    pub(super) due: Date,
    pub(super) changes: u32,
    pub(super) completed: Option<OffsetDateTime>,
    pub(super) cancelled: bool,
    /// Completed or cancelled.
    pub(super) closed: bool,
}

impl Deliverable {
    fn slipped(&self) -> bool {
        let latest = (self.changes > 0).then_some(self.due);
        rules::slipped(self.changes, self.original_due, latest)
    }
}

/// Every deliverable committed, and the counts R5 and R6 read: open top-priority and unowned
/// items, slipped items, and per quarter and owner the items due (not cancelled) and those done
/// by their due date.
#[derive(Clone, Default)]
pub(super) struct Deliverables {
    items: OrdMap<ItemId, Deliverable>,
    open_top: i64,
    unowned: i64,
    slipped: i64,
    due: BTreeMap<(i32, u8), BTreeMap<OrgId, (i64, i64)>>,
}

impl Deliverables {
    /// A deliverable committed (again, it starts over).
    pub(super) fn commit(&mut self, d: &DeliverableCommitted, id: EventId) {
        self.weigh(&d.deliverable_id, -1);
        self.items.insert(
            d.deliverable_id.clone(),
            Deliverable {
                owner: d.owner_org.clone(),
                top_priority: d.top_priority,
                owned: d.owner_person.is_some(),
                committed_by: id,
                original_due: d.due_date,
                due: d.due_date,
                changes: 0,
                completed: None,
                cancelled: false,
                closed: false,
            },
        );
        self.weigh(&d.deliverable_id, 1);
    }

    /// Changes a committed deliverable, and its part in the counts.
    pub(super) fn change(&mut self, id: &ItemId, change: impl FnOnce(&mut Deliverable)) {
        self.weigh(id, -1);
        if let Some(item) = self.items.get_mut(id) {
            change(item);
        }
        self.weigh(id, 1);
    }

    /// Adds (`by` 1) or takes away (-1) a deliverable's part in the counts.
    fn weigh(&mut self, id: &ItemId, by: i64) {
        let Some(d) = self.items.get(id) else {
            return;
        };
        if !d.closed && d.top_priority {
            self.open_top += by;
        }
        if !d.closed && !d.owned {
            self.unowned += by;
        }
        if d.slipped() {
            self.slipped += by;
        }
        if !d.cancelled {
            let (due, on_time) = self
                .due
                .entry(quarter_of(d.due))
                .or_default()
                .entry(d.owner.clone())
                .or_default();
            *due += by;
            if d.completed.is_some_and(|c| c.date() <= d.due) {
                *on_time += by;
            }
        }
    }

    /// R5 and R6 at `t` from the counts; their evidence is left for [`Deliverables::evidence`].
    pub(super) fn flags(&self, t: OffsetDateTime, out: &mut Vec<Flag>) {
        rules::no_focus((self.open_top, self.unowned), Vec::new, out);
        let quarter = rules::last_quarter(t);
        let ppc: Vec<(OrgId, Option<f64>)> = self
            .due
            .get(&quarter)
            .into_iter()
            .flatten()
            .filter(|(_, (due, _))| *due > 0)
            .map(|(owner, (due, on_time))| (owner.clone(), Some(*on_time as f64 / *due as f64)))
            .collect();
        rules::slippage((self.slipped, Vec::new), quarter, &ppc, out);
    }

    /// The evidence of R5 (the open top-priority items, then the unowned ones) or R6 (the
    /// slipped items), by item.
    pub(super) fn evidence(&self, rule: Rule) -> Vec<EventId> {
        let open = || self.items.values().filter(|d| !d.closed);
        match rule {
            Rule::R5 => {
                let top: Vec<EventId> = open()
                    .filter(|d| d.top_priority)
                    .map(|d| d.committed_by)
                    .collect();
                let unowned: Vec<EventId> = open()
                    .filter(|d| !d.owned)
                    .map(|d| d.committed_by)
                    .collect();
                rules::focus_evidence(&top, &unowned)
            }
            _ => self
                .items
                .values()
                .filter(|d| d.slipped())
                .map(|d| d.committed_by)
                .collect(),
        }
    }
}
