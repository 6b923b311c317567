//! The two time axes: a history imported today and asked at `valid_at` = a business instant gives
//! exactly what a ledger recording it live would have said at that instant.

use proptest::prelude::*;
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

use super::test_support::worked_example;
use super::{Axes, Model, ModelSettings, evaluate};
use crate::Event;
use crate::arbitrary::{record, step};

/// When the history is imported: after all of it.
const IMPORTED: OffsetDateTime = datetime!(2199-12-31 00:00 UTC);

/// `history` as a live ledger would hold it: in business-time order, each event recorded when it
/// occurred.
fn live(history: &[Event]) -> Vec<Event> {
    let mut live = history.to_vec();
    live.sort_by_key(|e| e.occurred_at);
    for e in &mut live {
        e.recorded_at = e.occurred_at;
    }
    live
}

/// Every model at every instant of `history` (and a day after its last), asked of the live
/// ledger at `as_of` = the instant and of the imported one at `valid_at` = the instant, agrees
/// but for `as_of`.
fn live_and_imported_agree(history: &[Event]) {
    let live = live(history);
    let imported: Vec<Event> = live
        .iter()
        .map(|e| Event {
            recorded_at: IMPORTED,
            ..e.clone()
        })
        .collect();
    let settings = ModelSettings::default();
    let mut instants: Vec<OffsetDateTime> = live.iter().map(|e| e.occurred_at).collect();
    instants.extend(instants.last().map(|t| *t + time::Duration::DAY));
    instants.dedup();
    for t in instants {
        for model in Model::ALL {
            let said = evaluate(model, &live, Axes::at(t), &settings);
            let asked = evaluate(model, &imported, Axes::new(IMPORTED, Some(t)), &settings);
            let mut said = serde_json::to_value(said).expect("json");
            let asked = serde_json::to_value(asked).expect("json");
            assert_eq!(asked["as_of"], Value::from("2199-12-31T00:00:00Z"));
            said["as_of"] = asked["as_of"].clone();
            assert_eq!(said, asked, "{} at {t}", model.as_str());
        }
    }
}

#[test]
fn the_worked_example_imported_reads_as_it_was_recorded_live() {
    live_and_imported_agree(&worked_example());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Generated histories (retractions, corrections, backdated events, ties in time).
    #[test]
    fn a_generated_history_imported_reads_as_it_was_recorded_live(
        steps in proptest::collection::vec(step(), 0..40),
    ) {
        live_and_imported_agree(&record(&steps));
    }
}
