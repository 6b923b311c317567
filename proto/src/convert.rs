//! Explicit conversions between the domain types and the protobuf types (the wire edge).
//! Encoding cannot fail; decoding checks every field again, so a stored commit that is no longer
//! valid domain data is reported rather than half-read.

use accord_domain::event as d;
use accord_domain::ids::{EventId, ItemId, OrgId, PartnershipId};
use accord_domain::personal::Unjoined;
use accord_domain::signing::{Base64, CommitSignature, Signed};
use accord_domain::upcast::{StoredEvent, UpcastError, upcast};
use accord_domain::values::{Amount, Currency, Period, iso_date};
use prost_types::Timestamp;
use time::{Date, OffsetDateTime};

use crate::pb;

mod decode;
mod encode;

use decode::stored_payload;
pub use encode::payload_pb;

/// A protobuf message that does not hold valid domain data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DecodeError {
    pub field: String,
    pub message: String,
}

fn err(field: &str, message: impl std::fmt::Display) -> DecodeError {
    DecodeError {
        field: field.to_owned(),
        message: message.to_string(),
    }
}

type Result<T> = std::result::Result<T, DecodeError>;

pub fn timestamp(t: OffsetDateTime) -> Timestamp {
    let nanos = t.unix_timestamp_nanos();
    Timestamp {
        seconds: nanos.div_euclid(1_000_000_000) as i64,
        nanos: nanos.rem_euclid(1_000_000_000) as i32,
    }
}

pub fn from_timestamp(field: &str, t: Option<Timestamp>) -> Result<OffsetDateTime> {
    let t = t.ok_or_else(|| err(field, "is required"))?;
    let nanos = i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|e| err(field, e))
}

fn slug<T: std::str::FromStr>(field: &str, s: String) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| err(field, e))
}

fn org(field: &str, s: String) -> Result<OrgId> {
    slug(field, s)
}

fn item(field: &str, s: String) -> Result<ItemId> {
    slug(field, s)
}

fn opt_org(field: &str, s: Option<String>) -> Result<Option<OrgId>> {
    s.map(|s| org(field, s)).transpose()
}

fn orgs(field: &str, v: Vec<String>) -> Result<Vec<OrgId>> {
    v.into_iter().map(|s| org(field, s)).collect()
}

pub(crate) fn strs<T: ToString>(v: &[T]) -> Vec<String> {
    v.iter().map(ToString::to_string).collect()
}

fn amount(field: &str, s: String) -> Result<Amount> {
    s.parse().map_err(|e: String| err(field, e))
}

fn currency(field: &str, s: String) -> Result<Currency> {
    Currency::parse(&s).map_err(|e| err(field, e))
}

fn date(field: &str, s: String) -> Result<Date> {
    iso_date::parse(&s).map_err(|e| err(field, e))
}

pub(crate) fn period_pb(p: &Period) -> pb::Period {
    pb::Period {
        start: iso_date::format(&p.start),
        end: iso_date::format(&p.end),
    }
}

fn period(field: &str, p: Option<pb::Period>) -> Result<Period> {
    let p = p.ok_or_else(|| err(field, "is required"))?;
    Ok(Period {
        start: date(field, p.start)?,
        end: date(field, p.end)?,
    })
}

/// Domain enums and protobuf enums list their values in the same order; protobuf's 0 is
/// "unspecified" and never valid.
fn enum_pb<T: PartialEq + Copy>(all: &[T], v: T) -> i32 {
    all.iter().position(|x| *x == v).map_or(0, |i| i as i32 + 1)
}

fn enum_domain<T: Copy>(field: &str, all: &[T], v: i32) -> Result<T> {
    usize::try_from(v - 1)
        .ok()
        .and_then(|i| all.get(i).copied())
        .ok_or_else(|| err(field, format!("unknown enum value {v}")))
}

fn actor_pb(a: &d::Actor) -> pb::Actor {
    pb::Actor {
        org: a.org.to_string(),
        person: a.person.clone(),
        role: a.role.clone(),
    }
}

fn actor(a: Option<pb::Actor>) -> Result<d::Actor> {
    let a = a.ok_or_else(|| err("actor", "is required"))?;
    Ok(d::Actor {
        org: org("actor.org", a.org)?,
        person: a.person,
        role: a.role,
    })
}

impl From<&d::Event> for pb::Envelope {
    fn from(e: &d::Event) -> Self {
        pb::Envelope {
            event_id: e.event_id.to_string(),
            partnership_id: e.partnership_id.to_string(),
            schema_version: e.schema_version,
            occurred_at: Some(timestamp(e.occurred_at)),
            recorded_at: Some(timestamp(e.recorded_at)),
            actor: Some(actor_pb(&e.actor)),
            causation_id: e.causation_id.clone(),
            correlation_id: e.correlation_id.clone(),
            note: e.note.clone(),
            payload: Some(payload_pb(&e.payload)),
        }
    }
}

/// The events a stored envelope reads as: the event it stores, in the version it was recorded
/// in, through the domain's upcaster chain (one event, or the parts of an older version's
/// event; see `accord_domain::upcast`), before the values of its personal fields are joined in.
pub fn events_of(e: pb::Envelope) -> Result<Vec<Unjoined>> {
    let version = e.schema_version;
    let stored = StoredEvent {
        event_id: e
            .event_id
            .parse::<EventId>()
            .map_err(|x| err("event_id", x))?,
        partnership_id: slug::<PartnershipId>("partnership_id", e.partnership_id)?,
        schema_version: version,
        occurred_at: from_timestamp("occurred_at", e.occurred_at)?,
        recorded_at: from_timestamp("recorded_at", e.recorded_at)?,
        actor: actor(e.actor)?,
        causation_id: e.causation_id,
        correlation_id: e.correlation_id,
        note: e.note,
        payload: stored_payload(version, e.payload)?,
    };
    let events = upcast(stored).map_err(|e| match e {
        UpcastError::Newer(_) | UpcastError::Zero => err("schema_version", e),
        UpcastError::Misplaced { .. } | UpcastError::NoOrg(_) => err("payload", e),
    })?;
    Ok(events
        .into_iter()
        .map(|e| Unjoined::new(e, version))
        .collect())
}

/// A commit's signature as its body stores it.
pub(crate) fn signature_pb(s: &Signed) -> pb::CommitSignature {
    pb::CommitSignature {
        org: s.signature.org.to_string(),
        key_id: s.signature.key_id.to_string(),
        sig: s.signature.sig.0.to_vec(),
        idempotency_key: s.idempotency_key.clone(),
    }
}

pub(crate) fn signature_of(s: pb::CommitSignature) -> Result<Signed> {
    let at = |f: &str| format!("commit.signature.{f}");
    Ok(Signed {
        signature: CommitSignature {
            org: org(&at("org"), s.org)?,
            key_id: s.key_id.parse().map_err(|e| err(&at("key_id"), e))?,
            sig: Base64(fixed(&at("sig"), &s.sig)?),
        },
        idempotency_key: s.idempotency_key,
    })
}

/// Bytes of a fixed length (a digest, a key, a signature).
fn fixed<const N: usize>(field: &str, bytes: &[u8]) -> Result<[u8; N]> {
    <[u8; N]>::try_from(bytes)
        .map_err(|_| err(field, format!("must be {N} bytes, got {}", bytes.len())))
}
