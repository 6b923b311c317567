//! No input can poison the ledger: any JSON a client sends is refused or decided, and any
//! accepted history, extremes included, folds into every read model without a panic.

use crate::models::Axes;
use proptest::prelude::*;
use time::macros::datetime;

use crate::arbitrary::{any_json, event_json, instants, mutated, record, step};
use crate::models::{Model, ModelSettings, evaluate};
use crate::{Command, EventId, EventInput, PartnershipId, Settings, decide};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn accepted_histories_fold_into_every_model(steps in proptest::collection::vec(step(), 0..60)) {
        let events = record(&steps);
        let settings = ModelSettings::default();
        for as_of in instants(&events) {
            for model in Model::ALL {
                evaluate(model, &events, Axes::at(as_of), &settings);
            }
        }
    }

    #[test]
    fn any_json_commit_is_decided_or_refused(
        history in proptest::collection::vec(step(), 0..12),
        next in step(),
        path in proptest::collection::vec(0usize..8, 0..5),
        with in any_json(),
        untouched in any::<bool>(),
    ) {
        let events = record(&history);
        let state = events.iter().fold(crate::Partnership::default(), crate::evolve);
        let sent = event_json(&next, &events);
        let sent = if untouched { sent } else { mutated(sent, &path, with) };
        if let Ok(input) = serde_json::from_value::<EventInput>(sent) {
            let command = Command::Record {
                partnership_id: PartnershipId::parse("acme-stmary").expect("a slug"),
                recorded_at: datetime!(2200-01-01 00:00 UTC),
                events: vec![(EventId::from_uuid(uuid::Uuid::from_u128(u128::MAX)), input)],
                signed: None,
            };
            let _ = decide(&state, command, &Settings::default());
        }
    }
}
