//! Every model read back from its JSON is the model written, and flattens into rows as wide as
//! its columns, with each column's type.

use proptest::prelude::*;
use time::macros::datetime;

use super::table::{Cell, Kind, columns};
use super::test_support::worked_example;
use super::{Axes, Model, ModelSettings, ReadModel, evaluate};
use crate::arbitrary::{record, step};
use crate::{Event, PartnershipId};

fn round_trip_and_rows(events: &[Event], axes: Axes) {
    let p = PartnershipId::parse("acme-stmary").expect("a slug");
    for model in Model::ALL {
        let written = evaluate(model, events, axes, &ModelSettings::default());
        let json = serde_json::to_value(&written).expect("json");
        let read = ReadModel::read(model, &json).expect("read back");
        assert_eq!(read, written, "{}", model.as_str());
        let columns = columns(model);
        for row in read.rows(&p) {
            assert_eq!(row.len(), columns.len(), "{}: {row:?}", model.as_str());
            for (cell, column) in row.iter().zip(columns) {
                let fits = matches!(
                    (cell, column.kind),
                    (Cell::Null, _)
                        | (Cell::Str(_), Kind::Str)
                        | (Cell::Int(_), Kind::Int)
                        | (Cell::Float(_), Kind::Float)
                        | (Cell::Bool(_), Kind::Bool)
                        | (Cell::Time(_), Kind::Time)
                );
                assert!(fits, "{}.{}: {cell:?}", model.as_str(), column.name);
            }
            assert_eq!(row[0], Cell::Str("acme-stmary".into()));
        }
    }
}

#[test]
fn the_worked_example_reads_back_and_flattens() {
    let events = worked_example();
    round_trip_and_rows(&events, Axes::at(datetime!(2026-02-09 00:00 UTC)));
    // The flags' rows: m1's follow-up and m2 raise R1 (warn, then critical) by step 3.
    let flags = evaluate(
        Model::Flags,
        &events,
        Axes::at(datetime!(2026-02-09 00:00 UTC)),
        &ModelSettings::default(),
    );
    let p = PartnershipId::parse("acme-stmary").expect("a slug");
    let changes: Vec<(Cell, Cell, Cell)> = flags
        .rows(&p)
        .into_iter()
        .filter(|r| r[4] == Cell::Str("R1".into()))
        .map(|r| (r[6].clone(), r[7].clone(), r[9].clone()))
        .collect();
    assert_eq!(
        changes,
        [
            (
                Cell::Str("opened".into()),
                Cell::Bool(false),
                Cell::Str("warn".into())
            ),
            (
                Cell::Str("changed".into()),
                Cell::Bool(true),
                Cell::Str("critical".into())
            ),
        ]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn generated_histories_read_back_and_flatten(steps in proptest::collection::vec(step(), 0..40)) {
        let events = record(&steps);
        for at in crate::arbitrary::instants(&events) {
            round_trip_and_rows(&events, Axes::at(at));
        }
    }
}
