//! Read model E: red flags, raised with their evidence and cleared when their condition stops
//! holding; the history of raises and clears is itself a timeline.
//!
//! The conditions are evaluated at every instant something can change: each event's business
//! time, the days when an "active for N days" rule comes due, and `valid_at`. A flag is raised at
//! the first instant its condition holds and cleared at the first instant it does not.
//!
//! Every rule of docs/domain.md, R1 to R16 (`flag_rules`), folded once over the events in
//! business-time order (`flag_fold`): each instant costs what changed. Rules about one org name
//! it as the subject; rules comparing two name the pair `a>b`.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use imbl::Vector;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::flag_fold::FlagFold;
use super::flag_rules::{R3_DAYS, R7_DAYS, R8_VACANT_DAYS, R9_R12_DAYS, R15_DAYS};
use super::{Axes, Lists, ModelSettings, known};
use crate::event::{Event, Payload, Status};
use crate::ids::EventId;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = FlagRule))]
pub enum Rule {
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    R7,
    R8,
    R9,
    R10,
    R11,
    R12,
    R13,
    R14,
    R15,
    R16,
}

impl Rule {
    pub const fn name(self) -> &'static str {
        match self {
            Rule::R1 => "unwilling_partner",
            Rule::R2 => "over_reliance",
            Rule::R3 => "no_success_metrics",
            Rule::R4 => "incentives_misaligned",
            Rule::R5 => "no_focus",
            Rule::R6 => "slippage",
            Rule::R7 => "no_in_person",
            Rule::R8 => "liaison_gap",
            Rule::R9 => "silent_indicators",
            Rule::R10 => "imbalance",
            Rule::R11 => "governance_before_plan",
            Rule::R12 => "no_exit_procedure",
            Rule::R13 => "us_and_them",
            Rule::R14 => "fomo",
            Rule::R15 => "joint_customer_unsung",
            Rule::R16 => "trust_falling",
        }
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Severity {
    Warn,
    Critical,
}

/// A flag that holds: which rule, about whom (an org, or `a>b` for a pair), how bad, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Flag {
    pub rule_id: Rule,
    /// The rule's name (see [`Rule::name`]).
    #[serde(deserialize_with = "rule_name")]
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub flag: RuleName,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub severity: Severity,
    pub reason: String,
    pub evidence: Vec<EventId>,
}

/// A rule's name; read only as one of [`Rule::name`]'s (an alias, so that serde does not take it
/// for a string borrowed from the input).
pub type RuleName = &'static str;

/// A flag's name as a rule's: no other name is read.
fn rule_name<'de, D: serde::Deserializer<'de>>(d: D) -> Result<RuleName, D::Error> {
    use strum::VariantArray;
    let name = String::deserialize(d)?;
    Rule::VARIANTS
        .iter()
        .map(|r| r.name())
        .find(|n| *n == name)
        .ok_or_else(|| serde::de::Error::custom(format!("{name:?} is no rule's name")))
}

/// A raise, a change of severity, or a clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FlagChange {
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: OffsetDateTime,
    pub rule_id: Rule,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The flag as it now stands, or `None` when it cleared.
    pub now: Option<Flag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Flags {
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub as_of: OffsetDateTime,
    #[serde(with = "crate::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub valid_at: OffsetDateTime,
    pub open: Vec<Flag>,
    /// In time order: every change, or the last ones of a capped answer ([`super::Lists`]).
    pub history: Vec<FlagChange>,
    /// How many changes there are in all.
    pub history_total: usize,
}

/// Red flags at `axes` (see [`known`]).
pub fn flags(events: &[impl Borrow<Event>], axes: Axes, settings: &ModelSettings) -> Flags {
    let mut timeline = FlagTimeline::new(settings);
    for e in known(events, axes) {
        timeline.push(Arc::new(e));
    }
    timeline.at(axes, Lists::All)
}

/// The flags that hold at `t` over events in effect (in business-time order) that occurred by
/// then, without their history: what [`flags`] lists as open, in one evaluation.
pub(crate) fn open_at(
    effective: impl IntoIterator<Item = Arc<Event>>,
    t: OffsetDateTime,
    settings: &ModelSettings,
) -> Vec<Flag> {
    let mut fold = FlagFold::new(settings);
    for e in effective {
        fold.push(e);
    }
    open_of(&mut fold, t)
}

/// The flags of `fold` (its events all occurred by `t`) that hold at `t`, with their evidence;
/// `fold` then stands at `t`.
pub(crate) fn open_of(fold: &mut FlagFold, t: OffsetDateTime) -> Vec<Flag> {
    // One flag per rule and subject, in their order, as the flags model keeps them.
    let open: Open = fold
        .at(t)
        .into_iter()
        .map(|f| ((f.rule_id, f.subject.clone()), f))
        .collect();
    open.into_values()
        .map(|mut flag| {
            fold.complete(&mut flag);
            flag
        })
        .collect()
}

/// The flags that hold at each instant, asked in order.
pub(crate) trait FlagSource {
    /// The flags that hold at `t` (no earlier than the instant asked before), by rule and
    /// subject; the evidence of some may be left for [`FlagSource::complete`].
    fn at(&mut self, t: OffsetDateTime) -> Vec<Flag>;

    /// Gives a flag of the last [`FlagSource::at`] its evidence, if it was left out.
    fn complete(&mut self, flag: &mut Flag);
}

pub(crate) type Open = BTreeMap<(Rule, Option<String>), Flag>;

/// Evaluates `source` at `t` and records in `history` what changed from `open`: raises,
/// changes of severity (each with the flag as it stands) and clears. `open` becomes the flags
/// at `t`.
pub(crate) fn step(
    source: &mut impl FlagSource,
    t: OffsetDateTime,
    open: &mut Open,
    history: &mut impl Extend<FlagChange>,
) {
    let now: Open = source
        .at(t)
        .into_iter()
        .map(|f| ((f.rule_id, f.subject.clone()), f))
        .collect();
    for (key, flag) in &now {
        // A raise or a change of severity; the reason and evidence of a flag that stays as it
        // was move on without an entry (the open flag shows them as they are).
        if open
            .get(key)
            .is_none_or(|was| was.severity != flag.severity)
        {
            let mut flag = flag.clone();
            source.complete(&mut flag);
            history.extend([FlagChange {
                at: t,
                rule_id: key.0,
                subject: key.1.clone(),
                now: Some(flag),
            }]);
        }
    }
    history.extend(
        open.keys()
            .filter(|k| !now.contains_key(*k))
            .map(|key| FlagChange {
                at: t,
                rule_id: key.0,
                subject: key.1.clone(),
                now: None,
            }),
    );
    *open = now;
}

/// The flags and their history, folded as events in effect are pushed in business-time order:
/// every instant something can change is evaluated once all the events of that instant are in
/// (each event's time, and the days an "active for N days", a vacancy or an unsung deal comes
/// due). Owned and cheap to copy relative to folding again, so that a partnership's state can be
/// kept at its last event and asked at any later instant.
#[derive(Clone)]
pub(crate) struct FlagTimeline {
    fold: FlagFold,
    open: Open,
    history: Vector<FlagChange>,
    /// Instants to evaluate, each after the last evaluated.
    pending: BTreeSet<OffsetDateTime>,
    activated: bool,
}

impl FlagTimeline {
    pub(crate) fn new(settings: &ModelSettings) -> Self {
        Self {
            fold: FlagFold::new(settings),
            open: Open::new(),
            history: Vector::new(),
            pending: BTreeSet::new(),
            activated: false,
        }
    }

    /// The rules' state at the last event pushed.
    pub(crate) fn fold(&self) -> &FlagFold {
        &self.fold
    }

    /// The next event in effect, no earlier than those pushed before.
    pub(crate) fn push(&mut self, e: Arc<Event>) {
        // Every instant before this one has all its events.
        self.evaluate(|t| t < e.occurred_at);
        let at = e.occurred_at;
        self.pending.insert(at);
        match &e.payload {
            Payload::PartnershipStatusChanged(s)
                if !self.activated && matches!(s.status, Status::Active | Status::Renewed) =>
            {
                self.activated = true;
                for days in [R3_DAYS, R9_R12_DAYS, R7_DAYS] {
                    self.pending.insert(at + Duration::days(days));
                }
                self.pending
                    .insert(at + Duration::days(R8_VACANT_DAYS) + Duration::SECOND);
            }
            Payload::RoleUnassigned(_) => {
                self.pending
                    .insert(at + Duration::days(R8_VACANT_DAYS) + Duration::SECOND);
            }
            Payload::DealClosed(d) if d.won && d.joint_customer => {
                self.pending
                    .insert(at + Duration::days(R15_DAYS) + Duration::SECOND);
            }
            _ => {}
        }
        self.fold.push(e);
    }

    /// Evaluates the pending instants that `due` accepts, in order.
    fn evaluate(&mut self, due: impl Fn(OffsetDateTime) -> bool) {
        while let Some(t) = self.pending.first().copied().filter(|t| due(*t)) {
            self.pending.pop_first();
            step(&mut self.fold, t, &mut self.open, &mut self.history);
        }
    }

    /// The flags at `axes.valid_at` (at or after every event pushed) and `lists` of their
    /// history.
    pub(crate) fn at(mut self, axes: Axes, lists: Lists) -> Flags {
        self.pending.insert(axes.valid_at);
        self.evaluate(|t| t <= axes.valid_at);
        for flag in self.open.values_mut() {
            self.fold.complete(flag);
        }
        Flags {
            as_of: axes.as_of,
            valid_at: axes.valid_at,
            open: self.open.into_values().collect(),
            history_total: self.history.len(),
            history: self
                .history
                .skip(lists.skip(self.history.len()))
                .into_iter()
                .collect(),
        }
    }
}
