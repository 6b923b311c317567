//! Any accepted history, extremes included, renders as a page or a named refusal, never a panic.

use accord_domain::PartnershipId;
use accord_domain::arbitrary::{instants, record, step};
use accord_domain::models::{Axes, ModelSettings};
use proptest::prelude::*;

use crate::{Retro, render};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn accepted_histories_render(
        steps in proptest::collection::vec(step(), 0..40),
        window in proptest::option::of((0usize..4, 0usize..4)),
    ) {
        let events = record(&steps);
        let p = PartnershipId::parse("acme-stmary").expect("a slug");
        let settings = ModelSettings::default();
        let at = instants(&events);
        for &as_of in &at {
            let (from, to) = match window {
                Some((a, b)) => (Some(at[a % at.len()].date()), Some(at[b % at.len()].date())),
                None => (None, None),
            };
            let _ = render(&Retro {
                partnership_id: &p,
                events: &events,
                axes: Axes::at(as_of),
                from,
                to,
                settings: &settings,
                revision: Some(events.len() as u64),
            });
        }
    }
}
