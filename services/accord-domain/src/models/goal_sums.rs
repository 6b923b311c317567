//! The actuals of many goals in one sweep: for each goal's period, the sum of the figures whose
//! period lies within it, in O((figures + goals) log figures) rather than one scan per goal.
//!
//! The read model sums a goal's figures one after another in the order they were recorded,
//! saturating at the end of the decimal range. Such a sum is exact, and so the same in any order,
//! when the figures are not negative and their total fits the decimal's 96-bit mantissa at the
//! largest scale among them: no partial sum then needs rounding, and its scale is the largest of
//! its terms'. The sweep sums exactly, as integers at that scale, and gives each sum the scale
//! the one-after-another sum would have. Where that cannot be guaranteed it answers `None`, and
//! the caller sums goal by goal.

use rust_decimal::Decimal;
use time::Date;

use crate::values::Period;

/// The largest mantissa a decimal holds (2^96 − 1).
const MAX_MANTISSA: i128 = (1 << 96) - 1;

/// For each of `goals`, the sum of the values of `figures` whose period lies within the goal's
/// (see the module): what summing them in any order gives, or `None` when the sweep cannot
/// promise that.
pub(crate) fn sums(figures: &[(Period, Decimal)], goals: &[Period]) -> Option<Vec<Decimal>> {
    let scale = figures.iter().map(|(_, v)| v.scale()).max().unwrap_or(0);
    let mut total: i128 = 0;
    let mut units = Vec::with_capacity(figures.len());
    for (_, v) in figures {
        if v.is_sign_negative() {
            return None;
        }
        let u = v
            .mantissa()
            .checked_mul(10i128.checked_pow(scale - v.scale())?)?;
        total = total.checked_add(u)?;
        units.push(u);
    }
    if total > MAX_MANTISSA {
        return None;
    }
    // Starts, latest first: the figures starting at or after a goal's start are a prefix.
    let mut starts: Vec<Date> = figures.iter().map(|(p, _)| p.start).collect();
    starts.sort_unstable_by(|a, b| b.cmp(a));
    starts.dedup();
    // A goal counts the figures starting at or after its start and both starting and ending by
    // its end (a period stored before periods were checked may end before it starts).
    let last_day = |p: &Period| p.start.max(p.end);
    let mut by_end: Vec<usize> = (0..figures.len()).collect();
    by_end.sort_unstable_by_key(|i| last_day(&figures[*i].0));
    let mut order: Vec<usize> = (0..goals.len()).collect();
    order.sort_unstable_by_key(|g| goals[*g].end);
    let mut tree = Fenwick::new(starts.len());
    let mut added = by_end.into_iter().peekable();
    let mut out = vec![Decimal::ZERO; goals.len()];
    for g in order {
        let goal = &goals[g];
        while let Some(i) = added.next_if(|i| last_day(&figures[*i].0) <= goal.end) {
            let start = figures[i].0.start;
            let rank = starts.partition_point(|s| *s > start);
            tree.add(rank, units[i], figures[i].1.scale());
        }
        let (sum, sum_scale) = tree.prefix(starts.partition_point(|s| *s >= goal.start));
        let mut d = Decimal::from_i128_with_scale(sum, scale);
        d.rescale(sum_scale);
        out[g] = d;
    }
    Some(out)
}

/// A Fenwick tree of sums and largest scales over ranks.
struct Fenwick {
    sum: Vec<i128>,
    scale: Vec<u32>,
}

impl Fenwick {
    fn new(n: usize) -> Self {
        Self {
            sum: vec![0; n + 1],
            scale: vec![0; n + 1],
        }
    }

    fn add(&mut self, rank: usize, units: i128, scale: u32) {
        let mut i = rank + 1;
        while i < self.sum.len() {
            self.sum[i] += units;
            self.scale[i] = self.scale[i].max(scale);
            i += i & i.wrapping_neg();
        }
    }

    /// The sum and largest scale of the first `n` ranks.
    fn prefix(&self, n: usize) -> (i128, u32) {
        let (mut sum, mut scale, mut i) = (0, 0, n);
        while i > 0 {
            sum += self.sum[i];
            scale = scale.max(self.scale[i]);
            i -= i & i.wrapping_neg();
        }
        (sum, scale)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use time::{Date, Duration};

    use super::sums;
    use crate::values::{Amount, Period};

    fn day(n: i64) -> Date {
        Date::from_ordinal_date(2025, 1).expect("a date") + Duration::days(n)
    }

    fn period() -> impl Strategy<Value = Period> {
        // Mostly ordered, sometimes (a history stored before periods were checked) not.
        (0..40i64, 0..40i64).prop_map(|(a, b)| Period {
            start: day(a),
            end: day(b),
        })
    }

    fn value() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            8 => (0..1_000_000i64, 0..4u32).prop_map(|(m, s)| Decimal::new(m, s)),
            1 => (-1_000i64..0, 0..3u32).prop_map(|(m, s)| Decimal::new(m, s)),
            1 => (0..3u32).prop_map(|s| Decimal::from_i128_with_scale(10i128.pow(27), s)),
        ]
    }

    /// What the read model does: each goal's figures summed in the order recorded.
    fn one_after_another(figures: &[(Period, Decimal)], goal: &Period) -> Decimal {
        Amount::total(
            figures
                .iter()
                .filter(|(p, _)| goal.start <= p.start && p.start <= goal.end && p.end <= goal.end)
                .map(|(_, v)| *v),
        )
    }

    /// The sweep's bound is the decimal's largest mantissa, 2^96 − 1: a total of exactly that
    /// is summed, one more is left to the goal-by-goal sum.
    #[test]
    fn the_sweep_takes_totals_up_to_the_largest_mantissa_and_no_further() {
        let whole = Period {
            start: day(0),
            end: day(30),
        };
        let at_most = [(whole, Decimal::MAX)];
        assert_eq!(sums(&at_most, &[whole]), Some(vec![Decimal::MAX]));
        let beyond = [(whole, Decimal::MAX), (whole, Decimal::ONE)];
        assert_eq!(sums(&beyond, &[whole]), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn the_sweep_sums_as_one_after_another_does(
            figures in proptest::collection::vec((period(), value()), 0..40),
            goals in proptest::collection::vec(period(), 0..12),
        ) {
            let ordinary = figures.iter().all(|(_, v)| !v.is_sign_negative() && *v < Decimal::from(1_000_000_000));
            let swept = sums(&figures, &goals);
            // Ordinary figures always take the sweep.
            prop_assert!(!ordinary || swept.is_some());
            if let Some(swept) = swept {
                prop_assert_eq!(swept.len(), goals.len());
                for (goal, sum) in goals.iter().zip(swept) {
                    // As printed: the same value and the same scale.
                    prop_assert_eq!(sum.to_string(), one_after_another(&figures, goal).to_string(), "{:?}", goal);
                }
            }
        }
    }
}
