//! The kept state against a fold from scratch: random histories (backfills, retractions,
//! corrections, ties in time; those of `fold_tests`) applied in commits of random sizes, with a
//! checkpoint every few events, asked after each commit at its head and at a later instant.
//! Every model must be exactly what [`evaluate`] gives over the log so far.

use proptest::prelude::*;
use time::Duration;

use super::fold_tests::{history, make};
use super::{Axes, Kept, Model, ModelSettings, evaluate};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_kept_state_answers_what_a_fold_from_scratch_answers(
        proposal in make(),
        makes in proptest::collection::vec(make(), 0..60),
        commits in proptest::collection::vec(1..5usize, 1..20),
        checkpoint_every in 1..6usize,
        later in 0..400i64,
    ) {
        let events = history(&proposal, &makes);
        let settings = ModelSettings::default();
        let mut kept = Kept::new(&settings, checkpoint_every);
        prop_assert!(kept.answer(Model::Summary, Axes::at(events[0].recorded_at)).is_none());
        let mut done = 0;
        for size in commits.into_iter().cycle() {
            if done == events.len() {
                break;
            }
            let size = size.min(events.len() - done);
            kept.apply(events[done..done + size].iter().cloned());
            done += size;
            let log = &events[..done];
            let head = kept.head().expect("events applied");
            let after = Axes::new(
                head.as_of + Duration::days(later),
                Some(head.valid_at + Duration::days(later)),
            );
            for axes in [head, after] {
                for model in Model::ALL {
                    let kept = kept.answer(model, axes).expect("at or after the head");
                    prop_assert_eq!(kept, evaluate(model, log, axes, &settings), "{:?} at {:?} after {} events", model, axes, done);
                }
            }
            // Before the head, the state does not answer.
            let before = Axes::at(head.as_of - Duration::SECOND);
            prop_assert!(kept.answer(Model::Trust, before).is_none());
        }
    }
}
