//! Retractions and corrections: which events are in effect, and with what content.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use crate::event::{Event, Payload};
use crate::ids::EventId;

/// The events still in effect, in log order: retracted events (and retracted corrections) are
/// left out, a corrected event is replaced by its latest correction's replacement (keeping its
/// own id and position), and the retractions and corrections themselves carry no other effect.
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
    let mut replacements = BTreeMap::new();
    for e in events() {
        if let Payload::EventCorrected(c) = &e.payload
            && !retracted.contains(&e.event_id)
        {
            replacements.insert(c.target_event_id, &c.replacement);
        }
    }
    events()
        .filter(|e| {
            !retracted.contains(&e.event_id)
                && !matches!(
                    e.payload,
                    Payload::EventRetracted(_) | Payload::EventCorrected(_)
                )
        })
        .map(|e| match replacements.get(&e.event_id) {
            Some(r) => Event {
                occurred_at: r.occurred_at,
                actor: r.actor.clone(),
                note: r.note.clone(),
                payload: r.payload.clone(),
                ..e.clone()
            },
            None => e.clone(),
        })
        .collect()
}
