//! Read models as pure folds: functions of (events, as_of, settings) that never read the clock.
//! The events given are everything recorded for one partnership, in log order; each model keeps
//! those recorded at or before `as_of` (what the ledger knew then) and evaluates them at `as_of`.

use time::OffsetDateTime;

use crate::event::Event;
use crate::history::effective_events;

pub mod asymmetry;
pub mod flags;
pub mod goals;
pub mod throughput;
pub mod trust;

#[cfg(test)]
mod asymmetry_tests;
#[cfg(test)]
mod flags_tests;
#[cfg(test)]
mod goals_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod throughput_tests;
#[cfg(test)]
mod trust_tests;

/// What the ledger knew at `as_of`: the events recorded at or before it, with retractions and
/// corrections applied.
pub fn known_at(events: &[Event], as_of: OffsetDateTime) -> Vec<Event> {
    let recorded: Vec<Event> = events
        .iter()
        .filter(|e| e.recorded_at <= as_of)
        .cloned()
        .collect();
    effective_events(&recorded)
}

/// The nearest-rank percentile `p` (0 to 1) of sorted values; `None` when there are none.
pub fn nearest_rank<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}
