//! Schema evolution: every stored event is read through this chain, in this one place, before
//! any fold or read sees it. An event recorded in an older schema version is rewritten, one
//! version at a time, into the current one ([`SCHEMA_VERSION`]); its stored bytes never change,
//! so its hash and signature hold forever.
//!
//! The versions:
//! - **1**: `goal_agreed` lists the consenting orgs in `agreed_by_orgs`, and
//!   `business_plan_agreed` its signatories in `signed_by_orgs`: one event could carry the
//!   consent of several orgs (before per-org consent, docs/domain.md).
//! - **2**: each consent is one org's own, in `by_org`. A version 1 event of several orgs reads
//!   as one event per org, in the order listed (duplicates once), each keeping the stored event's
//!   id, time and actor: they are parts of one recorded act, so a retraction of that id
//!   retracts every part, and a correction replaces all of them with its replacement's parts.
//! - **3**: every personal field holds the digest of a disclosure kept beside the log, not the
//!   value (`personal`). The payloads read the same; a version 2 event keeps its values in the
//!   log, so the reader joins disclosures into version 3 events only (`personal::Unjoined`).
//!
//! To add version N + 1: add the payloads whose form changes to [`StoredPayload`] as version
//! N's, decode them where the stored form is read (`accord-proto`), write the step from N to
//! N + 1 and append it to [`STEPS`], raise [`SCHEMA_VERSION`], and commit golden fixtures of
//! version N + 1 beside the older ones (`tests/golden/`), which must still decode.

use time::OffsetDateTime;

use crate::event::{
    Actor, BusinessPlanAgreed, Event, EventCorrected, GoalAgreed, Payload, Replacement,
    SCHEMA_VERSION,
};
use crate::ids::{EventId, ItemId, OrgId, PartnershipId};

/// A payload as stored: in the current form, or in an older version's where that differs.
#[derive(Debug, Clone, PartialEq)]
pub enum StoredPayload {
    Current(Payload),
    /// Version 1's `goal_agreed`: the consent of every org listed.
    V1GoalAgreed {
        goal_id: ItemId,
        agreed_by_orgs: Vec<OrgId>,
    },
    /// Version 1's `business_plan_agreed`: the signature of every org listed.
    V1BusinessPlanAgreed {
        plan_id: ItemId,
        version: u32,
        goal_ids: Vec<ItemId>,
        signed_by_orgs: Vec<OrgId>,
    },
    /// A correction whose replacement is stored in an older form.
    Corrected {
        target_event_id: EventId,
        replacement: Box<StoredReplacement>,
        reason: String,
    },
}

/// A correction's replacement as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReplacement {
    pub occurred_at: OffsetDateTime,
    pub actor: Actor,
    pub note: Option<String>,
    pub payload: StoredPayload,
}

/// An event as stored, in the schema version it was recorded in.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub event_id: EventId,
    pub partnership_id: PartnershipId,
    pub schema_version: u32,
    pub occurred_at: OffsetDateTime,
    pub recorded_at: OffsetDateTime,
    pub actor: Actor,
    pub note: Option<String>,
    pub causation_id: Option<String>,
    pub correlation_id: Option<String>,
    pub payload: StoredPayload,
}

/// Why a stored event cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpcastError {
    #[error(
        "schema_version {0} is newer than this accord knows ({SCHEMA_VERSION}): read it with a newer accord"
    )]
    Newer(u32),
    #[error("schema_version must be at least 1, got 0")]
    Zero,
    #[error("a version {version} event cannot hold {what}")]
    Misplaced { version: u32, what: &'static str },
    #[error("a version 1 {0} lists no org")]
    NoOrg(&'static str),
}

/// One step of the chain: an event of version N as events of version N + 1.
type Step = fn(StoredEvent) -> Result<Vec<StoredEvent>, UpcastError>;

/// `STEPS[n - 1]` upcasts version n to n + 1.
const STEPS: [Step; SCHEMA_VERSION as usize - 1] = [v1_to_v2, v2_to_v3];

/// Reads a stored event as events of the current version: itself when it is current, else
/// what the chain makes of it.
pub fn upcast(event: StoredEvent) -> Result<Vec<Event>, UpcastError> {
    let version = event.schema_version;
    if version == 0 {
        return Err(UpcastError::Zero);
    }
    if version > SCHEMA_VERSION {
        return Err(UpcastError::Newer(version));
    }
    // Nearly every stored event is current: read it without the chain's intermediate lists.
    if version == SCHEMA_VERSION {
        return current(event).map(|e| vec![e]);
    }
    let mut events = vec![event];
    for step in &STEPS[version as usize - 1..] {
        events = events
            .into_iter()
            .map(step)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
    }
    events
        .into_iter()
        .map(current)
        .collect::<Result<_, _>>()
        .map_err(|e| match e {
            // Named by the version it was stored in, not the one the chain brought it to.
            UpcastError::Misplaced { what, .. } => UpcastError::Misplaced { version, what },
            other => other,
        })
}

/// An event whose payload is in the current form.
fn current(e: StoredEvent) -> Result<Event, UpcastError> {
    let misplaced = |what| UpcastError::Misplaced {
        version: e.schema_version,
        what,
    };
    let payload = match e.payload {
        StoredPayload::Current(p) => p,
        StoredPayload::V1GoalAgreed { .. } => return Err(misplaced("version 1's goal_agreed")),
        StoredPayload::V1BusinessPlanAgreed { .. } => {
            return Err(misplaced("version 1's business_plan_agreed"));
        }
        StoredPayload::Corrected { .. } => {
            return Err(misplaced("a replacement of an older version"));
        }
    };
    Ok(Event {
        event_id: e.event_id,
        partnership_id: e.partnership_id,
        schema_version: e.schema_version,
        occurred_at: e.occurred_at,
        recorded_at: e.recorded_at,
        actor: e.actor,
        note: e.note,
        causation_id: e.causation_id,
        correlation_id: e.correlation_id,
        payload,
    })
}

/// Version 1 to 2: a consent of several orgs becomes one consent per org.
fn v1_to_v2(event: StoredEvent) -> Result<Vec<StoredEvent>, UpcastError> {
    let parts = consents_v1(event.payload.clone())?;
    Ok(parts
        .into_iter()
        .map(|payload| StoredEvent {
            schema_version: 2,
            payload,
            ..event.clone()
        })
        .collect())
}

/// Version 2 to 3: the payloads are the same; only where personal values are kept changed.
fn v2_to_v3(event: StoredEvent) -> Result<Vec<StoredEvent>, UpcastError> {
    Ok(vec![StoredEvent {
        schema_version: 3,
        ..event
    }])
}

/// The version 2 payloads of a version 1 payload: one per consenting org.
fn consents_v1(payload: StoredPayload) -> Result<Vec<StoredPayload>, UpcastError> {
    let per_org = |orgs: Vec<OrgId>, what| {
        let mut seen = Vec::with_capacity(orgs.len());
        for org in orgs {
            if !seen.contains(&org) {
                seen.push(org);
            }
        }
        if seen.is_empty() {
            Err(UpcastError::NoOrg(what))
        } else {
            Ok(seen)
        }
    };
    let current = |p| StoredPayload::Current(p);
    Ok(match payload {
        StoredPayload::Current(p) => vec![current(p)],
        StoredPayload::V1GoalAgreed {
            goal_id,
            agreed_by_orgs,
        } => per_org(agreed_by_orgs, "goal_agreed")?
            .into_iter()
            .map(|by_org| {
                current(Payload::GoalAgreed(GoalAgreed {
                    goal_id: goal_id.clone(),
                    by_org,
                }))
            })
            .collect(),
        StoredPayload::V1BusinessPlanAgreed {
            plan_id,
            version,
            goal_ids,
            signed_by_orgs,
        } => per_org(signed_by_orgs, "business_plan_agreed")?
            .into_iter()
            .map(|by_org| {
                current(Payload::BusinessPlanAgreed(BusinessPlanAgreed {
                    plan_id: plan_id.clone(),
                    version,
                    goal_ids: goal_ids.clone(),
                    by_org,
                }))
            })
            .collect(),
        StoredPayload::Corrected {
            target_event_id,
            replacement,
            reason,
        } => {
            let StoredReplacement {
                occurred_at,
                actor,
                note,
                payload,
            } = *replacement;
            consents_v1(payload)?
                .into_iter()
                .map(|part| match part {
                    StoredPayload::Current(payload) => {
                        Ok(current(Payload::EventCorrected(EventCorrected {
                            target_event_id,
                            replacement: Box::new(Replacement {
                                occurred_at,
                                actor: actor.clone(),
                                note: note.clone(),
                                payload,
                            }),
                            reason: reason.clone(),
                        })))
                    }
                    _ => Err(UpcastError::Misplaced {
                        version: 1,
                        what: "a correction inside a replacement",
                    }),
                })
                .collect::<Result<_, _>>()?
        }
    })
}

#[cfg(test)]
#[path = "upcast_tests.rs"]
mod tests;
