//! Every model read back from its JSON is the model written, and flattens into rows as wide as
//! its columns, with each column's type.

use proptest::prelude::*;
use serde_json::json;
use time::macros::datetime;

use super::table::{Cell, Kind, Row, columns};
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

/// The last row of a flag still open carries its reason and evidence at `valid_at`, though the
/// history records only its raise (the reason moved, the severity did not).
#[test]
fn an_open_flag_row_stands_at_valid_at() {
    let tag = |at: &'static str| {
        (
            at,
            "stmary",
            "communication_tagged",
            json!({"org": "stmary", "class": "us_them", "doc_ref": "d"}),
        )
    };
    let events = super::test_support::history(&[
        tag("2026-02-01T00:00:00Z"),
        tag("2026-02-01T00:00:00Z"),
        tag("2026-02-01T00:00:00Z"),
        tag("2026-02-01T00:00:00Z"),
        tag("2026-02-01T00:00:00Z"),
        tag("2026-02-03T00:00:00Z"),
    ]);
    let p = PartnershipId::parse("acme-stmary").expect("a slug");
    let flags = evaluate(
        Model::Flags,
        &events,
        Axes::at(datetime!(2026-02-04 00:00 UTC)),
        &ModelSettings::default(),
    );
    let r13: Vec<Row> = flags
        .rows(&p)
        .into_iter()
        .filter(|r| r[4] == Cell::Str("R13".into()))
        .collect();
    assert_eq!(r13.len(), 1, "raised once: {r13:?}");
    assert_eq!(r13[0][3], Cell::Time(datetime!(2026-02-01 00:00 UTC)));
    assert_eq!(r13[0][7], Cell::Bool(true));
    assert_eq!(
        r13[0][10],
        Cell::Str("6 of stmary's last 6 tagged communications say us and them".into())
    );
}
