//! Read models as pure folds: functions of (events, axes, settings) that never read the clock.
//! The events given are everything recorded for one partnership, in log order. A model runs on
//! two time axes ([`Axes`]): it keeps the events recorded at or before `as_of` (what the ledger
//! knew then) that occurred at or before `valid_at`, and evaluates them at `valid_at`.

use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use time::OffsetDateTime;

use crate::event::Event;
use crate::history::effective_of;

pub use kept::Kept;

pub mod asymmetry;
mod flag_fold;
mod flag_rules;
pub mod flags;
mod goal_sums;
pub mod goals;
mod kept;
pub mod summary;
pub mod table;
pub mod throughput;
pub mod trust;
mod trust_fold;

#[cfg(test)]
mod asymmetry_tests;
#[cfg(test)]
mod axes_tests;
#[cfg(test)]
mod flags_oracle;
#[cfg(test)]
mod flags_tests;
#[cfg(test)]
mod fold_tests;
#[cfg(test)]
mod goals_tests;
#[cfg(test)]
mod kept_tests;
#[cfg(test)]
mod summary_tests;
#[cfg(test)]
mod table_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod throughput_tests;
#[cfg(test)]
mod trust_oracle;
#[cfg(test)]
mod trust_tests;

/// The two time axes of a read model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axes {
    /// Record time: the model reads what the ledger had recorded by then.
    pub as_of: OffsetDateTime,
    /// Business time: the instant the partnership is evaluated at.
    pub valid_at: OffsetDateTime,
}

impl Axes {
    /// Both axes at `at`: what the ledger knew then, evaluated then (a ledger asked live).
    pub fn at(at: OffsetDateTime) -> Self {
        Self {
            as_of: at,
            valid_at: at,
        }
    }

    /// `valid_at` defaults to `as_of`.
    pub fn new(as_of: OffsetDateTime, valid_at: Option<OffsetDateTime>) -> Self {
        Self {
            as_of,
            valid_at: valid_at.unwrap_or(as_of),
        }
    }
}

/// How much of the lists that grow with a history an answer holds: a trust timeline's points
/// and the flags' history. Each list's total stands beside it (`points_total`,
/// `history_total`), so that a capped answer still says how long the list is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lists {
    All,
    /// The last n entries of each (at least the list's end, however long the history).
    Last(usize),
}

impl Lists {
    /// Where a list of `total` entries starts.
    pub(crate) fn skip(self, total: usize) -> usize {
        match self {
            Lists::All => 0,
            Lists::Last(n) => total.saturating_sub(n),
        }
    }
}

/// The events a model at `axes` reads, in business-time order (of equal times, in log order):
/// those recorded by `as_of` that occurred by `valid_at`, with the retractions and corrections
/// among them applied (a retraction or correction counts from its own `occurred_at`, and a
/// corrected event stands at its corrected time).
pub fn known(events: &[impl Borrow<Event>], axes: Axes) -> Vec<Event> {
    let recorded: Vec<&Event> = events
        .iter()
        .map(Borrow::borrow)
        .filter(|e| e.recorded_at <= axes.as_of && e.occurred_at <= axes.valid_at)
        .collect();
    let mut effective = effective_of(&recorded);
    effective.retain(|e| e.occurred_at <= axes.valid_at);
    // Stable: events of the same instant stay in log order. The places are sorted, and each
    // event moved once.
    let mut order: Vec<usize> = (0..effective.len()).collect();
    order.sort_by_key(|i| effective[*i].occurred_at);
    let mut slots: Vec<Option<Event>> = effective.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// The nearest-rank percentile `p` (0 to 1) of sorted values; `None` when there are none.
pub fn nearest_rank<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// The read-model thresholds DOMAIN.md marks *(setting)*, which a deployment may change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default, deny_unknown_fields)]
pub struct ModelSettings {
    pub trust: trust::TrustSettings,
    pub throughput: throughput::ThroughputSettings,
    pub asymmetry: asymmetry::AsymmetrySettings,
}

/// The read models a query names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Model {
    Trust,
    Throughput,
    Asymmetry,
    Goals,
    Flags,
    Summary,
}

impl Model {
    pub const ALL: [Model; 6] = [
        Model::Trust,
        Model::Throughput,
        Model::Asymmetry,
        Model::Goals,
        Model::Flags,
        Model::Summary,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Model::Trust => "trust",
            Model::Throughput => "throughput",
            Model::Asymmetry => "asymmetry",
            Model::Goals => "goals",
            Model::Flags => "flags",
            Model::Summary => "summary",
        }
    }

    pub fn parse(s: &str) -> Option<Model> {
        Model::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// One read model's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum ReadModel {
    Trust(trust::TrustTimeline),
    Throughput(throughput::Throughput),
    Asymmetry(asymmetry::Asymmetry),
    Goals(goals::Goals),
    Flags(flags::Flags),
    Summary(summary::Summary),
}

impl ReadModel {
    /// Keeps a page of the lists that grow with a history: the entries `after + 1` to
    /// `after + limit` (oldest first) of each trust timeline's points (per org) and of the flags'
    /// history; their totals stay. Says whether any of those lists goes on past the page.
    pub fn page(&mut self, after: usize, limit: usize) -> bool {
        fn keep<T>(list: &mut Vec<T>, after: usize, limit: usize) -> bool {
            let more = list.len() > after.saturating_add(limit);
            list.truncate(after.saturating_add(limit));
            list.drain(..after.min(list.len()));
            more
        }
        match self {
            ReadModel::Trust(t) => {
                // Every org's points are cut, whatever the others hold.
                let mut more = false;
                for o in &mut t.orgs {
                    more |= keep(&mut o.points, after, limit);
                }
                more
            }
            ReadModel::Flags(f) => keep(&mut f.history, after, limit),
            _ => false,
        }
    }

    /// A model's answer read back from what it was written as (the API's JSON), as `model`.
    pub fn read<'de, D: serde::Deserializer<'de>>(model: Model, d: D) -> Result<Self, D::Error> {
        Ok(match model {
            Model::Trust => ReadModel::Trust(Deserialize::deserialize(d)?),
            Model::Throughput => ReadModel::Throughput(Deserialize::deserialize(d)?),
            Model::Asymmetry => ReadModel::Asymmetry(Deserialize::deserialize(d)?),
            Model::Goals => ReadModel::Goals(Deserialize::deserialize(d)?),
            Model::Flags => ReadModel::Flags(Deserialize::deserialize(d)?),
            Model::Summary => ReadModel::Summary(Deserialize::deserialize(d)?),
        })
    }
}

/// Evaluates one read model over a partnership's events (everything recorded for it, in log
/// order) at `axes`.
pub fn evaluate(
    model: Model,
    events: &[impl Borrow<Event>],
    axes: Axes,
    settings: &ModelSettings,
) -> ReadModel {
    match model {
        Model::Trust => ReadModel::Trust(trust::trust(events, axes, &settings.trust)),
        Model::Throughput => {
            ReadModel::Throughput(throughput::throughput(events, axes, &settings.throughput))
        }
        Model::Asymmetry => {
            ReadModel::Asymmetry(asymmetry::asymmetry(events, axes, &settings.asymmetry))
        }
        Model::Goals => ReadModel::Goals(goals::goals(events, axes)),
        Model::Flags => ReadModel::Flags(flags::flags(events, axes, settings)),
        Model::Summary => ReadModel::Summary(summary::summary(events, axes, settings)),
    }
}

#[cfg(test)]
mod tests {
    use strum::VariantArray;

    /// The names `Into<&'static str>` gives (the analytics feed, exports, the retro report) are
    /// those of the JSON API.
    fn same_names<T: VariantArray + serde::Serialize + Into<&'static str> + Copy>() {
        for v in T::VARIANTS {
            let json = serde_json::to_value(v).unwrap();
            let name: &'static str = (*v).into();
            assert_eq!(json.as_str(), Some(name));
        }
    }

    #[test]
    fn enumeration_names_are_the_json_names() {
        same_names::<super::trust::Rule>();
        same_names::<super::trust::Band>();
        same_names::<super::asymmetry::Indicator>();
        same_names::<super::goals::GoalStatus>();
        same_names::<super::flags::Rule>();
        same_names::<super::flags::Severity>();
    }

    /// A page of the lists that grow: entries after..after+limit, the totals kept, and whether
    /// more follow in any list.
    #[test]
    fn a_page_keeps_the_entries_after_the_cursor() {
        use super::ReadModel;
        use super::flags::{FlagChange, Flags, Rule};
        use time::macros::datetime;

        let change = |day: u8| FlagChange {
            at: datetime!(2026-01-01 0:00 UTC) + time::Duration::days(i64::from(day)),
            rule_id: Rule::R1,
            subject: None,
            now: None,
        };
        let flags = |n: u8| {
            ReadModel::Flags(Flags {
                as_of: datetime!(2026-06-01 0:00 UTC),
                valid_at: datetime!(2026-06-01 0:00 UTC),
                open: Vec::new(),
                history: (0..n).map(change).collect(),
                history_total: usize::from(n),
            })
        };
        let days = |m: &ReadModel| match m {
            ReadModel::Flags(f) => (
                f.history.iter().map(|c| c.at.day()).collect::<Vec<_>>(),
                f.history_total,
            ),
            _ => unreachable!("flags"),
        };
        let mut m = flags(5);
        assert!(m.page(1, 2), "entries 4 and 5 follow");
        assert_eq!(days(&m), (vec![2, 3], 5));
        let mut m = flags(5);
        assert!(!m.page(3, 2), "the last page");
        assert_eq!(days(&m), (vec![4, 5], 5));
        let mut m = flags(5);
        assert!(!m.page(9, 2), "past the end");
        assert_eq!(days(&m), (vec![], 5));
    }
}
