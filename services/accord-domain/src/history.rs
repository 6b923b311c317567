//! Retractions and corrections: which events are in effect, and with what content.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use crate::event::{Event, Payload, Replacement};
use crate::ids::EventId;

/// The events still in effect, in log order: retracted events (and retracted corrections) are
/// left out, a corrected event is replaced by its latest correction's replacement (keeping its
/// own id and position), and the retractions and corrections themselves carry no other effect.
///
/// Several events may share one id: the parts of one recorded act that an older schema version
/// stored as one event (see `upcast`). A retraction of the id retracts every part; a correction
/// replaces all of them, at the place of the first, with its replacement's parts (a correction
/// whose replacement was upcast into parts is itself several events under one id).
pub fn effective_events(events: &[Event]) -> Vec<Event> {
    effective_of(events)
}

/// [`effective_events`] of events held in any way (owned, or borrowed from a larger log).
pub(crate) fn effective_of<E: Borrow<Event>>(events: &[E]) -> Vec<Event> {
    let events = || events.iter().map(Borrow::borrow);
    let retracted: BTreeSet<EventId> = events()
        .filter_map(|e: &Event| match &e.payload {
            Payload::EventRetracted(r) => Some(r.target_event_id),
            _ => None,
        })
        .collect();
    // For each corrected id: the latest correction's id and its replacement's parts.
    let mut replacements: BTreeMap<EventId, (EventId, Vec<&Replacement>)> = BTreeMap::new();
    for e in events() {
        if let Payload::EventCorrected(c) = &e.payload
            && !retracted.contains(&e.event_id)
        {
            let entry = replacements
                .entry(c.target_event_id)
                .or_insert_with(|| (e.event_id, Vec::new()));
            if entry.0 != e.event_id {
                *entry = (e.event_id, Vec::new());
            }
            entry.1.push(&c.replacement);
        }
    }
    let mut replaced = BTreeSet::new();
    events()
        .filter(|e| {
            !retracted.contains(&e.event_id)
                && !matches!(
                    e.payload,
                    Payload::EventRetracted(_) | Payload::EventCorrected(_)
                )
        })
        .flat_map(|e| match replacements.get(&e.event_id) {
            // The first part of a corrected act stands for all of them.
            Some((_, parts)) if replaced.insert(e.event_id) => parts
                .iter()
                .map(|r| Event {
                    occurred_at: r.occurred_at,
                    actor: r.actor.clone(),
                    note: r.note.clone(),
                    payload: r.payload.clone(),
                    ..e.clone()
                })
                .collect(),
            Some(_) => Vec::new(),
            None => vec![e.clone()],
        })
        .collect()
}
