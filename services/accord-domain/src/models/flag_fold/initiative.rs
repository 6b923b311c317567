//! R1's state: who initiates meetings and follow-ups, and what the other side did to the last
//! three meetings scheduled, kept as events come in.

use std::collections::{BTreeMap, VecDeque};

use imbl::OrdMap;

use crate::event::{Event, Payload};
use crate::ids::{EventId, ItemId, OrgId};
use crate::models::flag_rules as rules;
use crate::models::flags::Flag;

/// An org's initiations: how many, and the last three, each with its place among all.
#[derive(Clone, Default)]
struct Initiations {
    count: usize,
    last: VecDeque<(u64, EventId)>,
}

#[derive(Clone, Default)]
pub(super) struct Initiative {
    initiated: u64,
    initiations: BTreeMap<OrgId, Initiations>,
    /// The last three meetings scheduled.
    scheduled: VecDeque<ItemId>,
    /// Per meeting, what each org last did to it (cancelled or rescheduled it).
    moved: OrdMap<ItemId, BTreeMap<OrgId, EventId>>,
}

impl Initiative {
    /// An event applied, if it is one R1 reads.
    pub(super) fn apply(&mut self, e: &Event) {
        match &e.payload {
            Payload::MeetingRequested(m) => self.initiated(&m.requested_by_org, e.event_id),
            Payload::FollowUpProposed(f) => self.initiated(&f.by_org, e.event_id),
            Payload::MeetingScheduled(m) => {
                self.scheduled.push_back(m.meeting_id.clone());
                if self.scheduled.len() > 3 {
                    self.scheduled.pop_front();
                }
            }
            Payload::MeetingCancelled(c) => self.moved_by(&c.meeting_id, &c.by_org, e.event_id),
            Payload::MeetingRescheduled(r) => {
                self.moved_by(&r.meeting_id, &r.by_org, e.event_id);
            }
            _ => {}
        }
    }

    fn moved_by(&mut self, meeting: &ItemId, org: &OrgId, id: EventId) {
        let mut by = self.moved.get(meeting).cloned().unwrap_or_default();
        by.insert(org.clone(), id);
        self.moved.insert(meeting.clone(), by);
    }

    fn initiated(&mut self, org: &OrgId, id: EventId) {
        self.initiated += 1;
        let by = self.initiations.entry(org.clone()).or_default();
        by.count += 1;
        by.last.push_back((self.initiated, id));
        if by.last.len() > 3 {
            by.last.pop_front();
        }
    }

    /// R1 for every ordered pair of `parties`.
    pub(super) fn flags(&self, parties: &[OrgId], out: &mut Vec<Flag>) {
        for a in parties {
            for b in parties.iter().filter(|b| *b != a) {
                let by = |o: &'_ OrgId| self.initiations.get(o);
                let count = [a, b].into_iter().filter_map(by).map(|i| i.count).sum();
                // The last three of a's and b's together, in the order they came.
                let mut last: Vec<(u64, &OrgId, EventId)> = [a, b]
                    .into_iter()
                    .filter_map(|o| Some(by(o)?.last.iter().map(move |(n, id)| (*n, o, *id))))
                    .flatten()
                    .collect();
                last.sort_unstable_by_key(|(n, _, _)| *n);
                let last: Vec<(&OrgId, EventId)> = last
                    .iter()
                    .skip(last.len().saturating_sub(3))
                    .map(|(_, o, id)| (*o, *id))
                    .collect();
                let moved = self
                    .scheduled
                    .iter()
                    .filter_map(|m| self.moved.get(m)?.get(b).copied())
                    .collect();
                rules::unwilling_partner(a, b, (count, &last), (self.scheduled.len(), moved), out);
            }
        }
    }
}
