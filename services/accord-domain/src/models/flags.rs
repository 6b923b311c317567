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

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use super::flag_fold::FlagFold;
use super::flag_rules::{R3_DAYS, R7_DAYS, R8_VACANT_DAYS, R9_R12_DAYS, R15_DAYS};
use super::{Axes, ModelSettings, known};
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
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Severity {
    Warn,
    Critical,
}

/// A flag that holds: which rule, about whom (an org, or `a>b` for a pair), how bad, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub rule_id: Rule,
    /// The rule's name (see [`Rule::name`]).
    #[serde(deserialize_with = "rule_name")]
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
pub struct FlagChange {
    #[serde(with = "crate::values::rfc3339")]
    pub at: OffsetDateTime,
    pub rule_id: Rule,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The flag as it now stands, or `None` when it cleared.
    pub now: Option<Flag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    #[serde(with = "crate::values::rfc3339")]
    pub as_of: OffsetDateTime,
    #[serde(with = "crate::values::rfc3339")]
    pub valid_at: OffsetDateTime,
    pub open: Vec<Flag>,
    pub history: Vec<FlagChange>,
}

/// Red flags at `axes` (see [`known`]).
pub fn flags(events: &[Event], axes: Axes, settings: &ModelSettings) -> Flags {
    let effective = by_business_time(known(events, axes));
    let mut fold = FlagFold::new(&effective, settings);
    let (open, history) = timeline(&effective, axes.valid_at, &mut fold);
    Flags {
        as_of: axes.as_of,
        valid_at: axes.valid_at,
        open: open.into_values().collect(),
        history,
    }
}

/// The flags that hold at `t` over events in effect that occurred by then, without their history:
/// what [`flags`] lists as open, in one evaluation.
pub(crate) fn open_at(
    effective: &[Event],
    t: OffsetDateTime,
    settings: &ModelSettings,
) -> Vec<Flag> {
    let effective = by_business_time(effective.to_vec());
    let mut fold = FlagFold::new(&effective, settings);
    let mut open = fold.at(t);
    for flag in &mut open {
        fold.complete(flag);
    }
    open
}

/// The flags that hold at each instant, asked in order.
pub(crate) trait FlagSource {
    /// The flags that hold at `t` (no earlier than the instant asked before), by rule and
    /// subject; the evidence of some may be left for [`FlagSource::complete`].
    fn at(&mut self, t: OffsetDateTime) -> Vec<Flag>;

    /// Gives a flag of the last [`FlagSource::at`] its evidence, if it was left out.
    fn complete(&mut self, flag: &mut Flag);
}

/// Events in business-time order (stable, so log order breaks ties): those occurred by an instant
/// are then a prefix.
pub(crate) fn by_business_time(mut events: Vec<Event>) -> Vec<Event> {
    events.sort_by_key(|e| e.occurred_at);
    events
}

pub(crate) type Open = BTreeMap<(Rule, Option<String>), Flag>;

/// The flags at each instant something can change up to `valid_at` (as `source` gives them at
/// an instant, over `effective` in business-time order), and the history of their raises,
/// changes of severity and clears, each with the flag as it stood then.
pub(crate) fn timeline(
    effective: &[Event],
    valid_at: OffsetDateTime,
    source: &mut impl FlagSource,
) -> (Open, Vec<FlagChange>) {
    let mut instants: BTreeSet<OffsetDateTime> = effective.iter().map(|e| e.occurred_at).collect();
    let activation = effective.iter().find(|e| {
        matches!(&e.payload, Payload::PartnershipStatusChanged(s)
            if matches!(s.status, Status::Active | Status::Renewed))
    });
    if let Some(first) = activation.map(|e| e.occurred_at) {
        for days in [R3_DAYS, R9_R12_DAYS, R7_DAYS] {
            instants.insert(first + Duration::days(days));
        }
        instants.insert(first + Duration::days(R8_VACANT_DAYS) + Duration::SECOND);
    }
    for e in effective {
        match &e.payload {
            Payload::RoleUnassigned(_) => {
                instants.insert(e.occurred_at + Duration::days(R8_VACANT_DAYS) + Duration::SECOND);
            }
            Payload::DealClosed(d) if d.won && d.joint_customer => {
                instants.insert(e.occurred_at + Duration::days(R15_DAYS) + Duration::SECOND);
            }
            _ => {}
        }
    }
    instants.insert(valid_at);
    let mut open = Open::new();
    let mut history = Vec::new();
    for t in instants.range(..=valid_at).copied() {
        let now: Open = source
            .at(t)
            .into_iter()
            .map(|f| ((f.rule_id, f.subject.clone()), f))
            .collect();
        for (key, flag) in &now {
            // A raise or a change of severity; the reason and evidence of a flag that stays
            // as it was move on without an entry (the open flag shows them as they are).
            if open
                .get(key)
                .is_none_or(|was| was.severity != flag.severity)
            {
                let mut flag = flag.clone();
                source.complete(&mut flag);
                history.push(FlagChange {
                    at: t,
                    rule_id: key.0,
                    subject: key.1.clone(),
                    now: Some(flag),
                });
            }
        }
        for key in open.keys().filter(|k| !now.contains_key(*k)) {
            history.push(FlagChange {
                at: t,
                rule_id: key.0,
                subject: key.1.clone(),
                now: None,
            });
        }
        open = now;
    }
    for flag in open.values_mut() {
        source.complete(flag);
    }
    (open, history)
}
