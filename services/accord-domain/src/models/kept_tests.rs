//! The kept state against a fold from scratch: random histories (backfills, retractions,
//! corrections, ties in time; those of `fold_tests`) applied in commits of random sizes, with a
//! checkpoint every few events, asked after each commit at its head and at a later instant.
//! Every model must be exactly what [`evaluate`] gives over the log so far, asked alone or all at
//! once, and a capped answer ([`Lists::Last`]) must be that answer's lists cut to their end.

use proptest::prelude::*;
use time::Duration;

use super::fold_tests::{history, make};
use super::{Axes, Kept, Lists, Model, ModelSettings, ReadModel, evaluate};

/// `model` with the lists that grow cut to their last `n` entries (their totals stay).
fn cut(model: ReadModel, n: usize) -> ReadModel {
    fn last<T>(list: &mut Vec<T>, n: usize) {
        list.drain(..list.len().saturating_sub(n));
    }
    match model {
        ReadModel::Trust(mut t) => {
            for o in &mut t.orgs {
                last(&mut o.points, n);
            }
            ReadModel::Trust(t)
        }
        ReadModel::Flags(mut f) => {
            last(&mut f.history, n);
            ReadModel::Flags(f)
        }
        other => other,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_kept_state_answers_what_a_fold_from_scratch_answers(
        proposal in make(),
        makes in proptest::collection::vec(make(), 0..60),
        commits in proptest::collection::vec(1..5usize, 1..20),
        checkpoint_every in 1..6usize,
        later in 0..400i64,
        cap in 0..4usize,
    ) {
        let events = history(&proposal, &makes);
        let settings = ModelSettings::default();
        let mut kept = Kept::new(&settings, checkpoint_every);
        prop_assert!(kept.answer(Model::Summary, Axes::at(events[0].recorded_at), Lists::All).is_none());
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
                let all = kept.answer_all(axes, Lists::All).expect("at or after the head");
                let capped = kept.answer_all(axes, Lists::Last(cap)).expect("at or after the head");
                prop_assert_eq!(all.len(), Model::ALL.len());
                for ((model, all), capped) in Model::ALL.into_iter().zip(all).zip(capped) {
                    let alone = kept.answer(model, axes, Lists::All).expect("at or after the head");
                    let scratch = evaluate(model, log, axes, &settings);
                    prop_assert_eq!(&alone, &scratch, "{:?} at {:?} after {} events", model, axes, done);
                    prop_assert_eq!(&all, &scratch, "{:?} of all at {:?} after {} events", model, axes, done);
                    let alone = kept.answer(model, axes, Lists::Last(cap)).expect("at or after the head");
                    prop_assert_eq!(&alone, &cut(scratch.clone(), cap), "{:?} capped at {:?} after {} events", model, axes, done);
                    prop_assert_eq!(&capped, &cut(scratch, cap), "{:?} of all capped at {:?} after {} events", model, axes, done);
                }
            }
            // Before the head, the state does not answer.
            let before = Axes::at(head.as_of - Duration::SECOND);
            prop_assert!(kept.answer(Model::Trust, before, Lists::All).is_none());
            prop_assert!(kept.answer_all(before, Lists::All).is_none());
        }
    }
}
