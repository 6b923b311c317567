//! Read models as pure folds: functions of (events, as_of, settings) that never read the clock.
//! The events given are everything recorded for one partnership, in log order; each model keeps
//! those recorded at or before `as_of` (what the ledger knew then) and evaluates them at `as_of`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::event::Event;
use crate::history::effective_events;

pub mod asymmetry;
pub mod flags;
pub mod goals;
pub mod summary;
pub mod throughput;
pub mod trust;

#[cfg(test)]
mod asymmetry_tests;
#[cfg(test)]
mod flags_tests;
#[cfg(test)]
mod goals_tests;
#[cfg(test)]
mod summary_tests;
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

/// The read-model thresholds DOMAIN.md marks *(setting)*, which a deployment may change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelSettings {
    pub trust: trust::TrustSettings,
    pub throughput: throughput::ThroughputSettings,
    pub asymmetry: asymmetry::AsymmetrySettings,
}

/// The read models a query names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[serde(untagged)]
pub enum ReadModel {
    Trust(trust::TrustTimeline),
    Throughput(throughput::Throughput),
    Asymmetry(asymmetry::Asymmetry),
    Goals(goals::Goals),
    Flags(flags::Flags),
    Summary(summary::Summary),
}

/// Evaluates one read model over a partnership's events (everything recorded for it, in log
/// order) as the ledger knew them at `as_of`.
pub fn evaluate(
    model: Model,
    events: &[Event],
    as_of: OffsetDateTime,
    settings: &ModelSettings,
) -> ReadModel {
    evaluate_resumed(model, events, as_of, settings, None).0
}

/// [`evaluate`], the red flags (of `flags` and `summary`) resumed from what an earlier query of
/// the same events left (see [`flags::flags_resumed`]); gives what the next one can resume from.
pub fn evaluate_resumed(
    model: Model,
    events: &[Event],
    as_of: OffsetDateTime,
    settings: &ModelSettings,
    so_far: Option<&flags::FlagsSoFar>,
) -> (ReadModel, Option<flags::FlagsSoFar>) {
    let alone = |m| (m, None);
    match model {
        Model::Trust => alone(ReadModel::Trust(trust::trust(
            events,
            as_of,
            &settings.trust,
        ))),
        Model::Throughput => alone(ReadModel::Throughput(throughput::throughput(
            events,
            as_of,
            &settings.throughput,
        ))),
        Model::Asymmetry => alone(ReadModel::Asymmetry(asymmetry::asymmetry(
            events,
            as_of,
            &settings.asymmetry,
        ))),
        Model::Goals => alone(ReadModel::Goals(goals::goals(events, as_of))),
        Model::Flags => {
            let (f, so_far) = flags::flags_resumed(events, as_of, settings, so_far);
            (ReadModel::Flags(f), so_far)
        }
        Model::Summary => {
            let (s, so_far) = summary::summary_resumed(events, as_of, settings, so_far);
            (ReadModel::Summary(s), so_far)
        }
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
}
