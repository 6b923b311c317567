//! Personal data kept out of the immutable log (docs/domain.md, "Personal data").
//!
//! From schema version 3 on, every personal field of a stored event holds the digest of a
//! *disclosure*, `SHA-256([salt, field path, value])` as the SD-JWT selective disclosures do,
//! never the value. The disclosures live in an erasable store beside the log, keyed by digest;
//! reads join them back in ([`join`]), and an erased one reads as [`ERASED`]. The chain hashes
//! the digests, so erasing a disclosure never breaks a chain (nor, later, a signature).
//!
//! [`each_field`] is the one list of the personal fields: a person's name (whose org is known
//! where the event says it) or prose a person writes. Everything else (ids, orgs, enums,
//! amounts, dates, the one-line labels of governance and exit procedures) stays in the log.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use time::OffsetDateTime;

use crate::error::FieldError;
use crate::event::{Actor, Event, EventInput, Payload};
use crate::ids::{EventId, OrgId, PartnershipId};

/// How a personal value reads once its disclosure is erased.
pub const ERASED: &str = "[erased]";

/// The schema version from which personal fields hold digests.
pub const SEALED_SINCE: u32 = 3;

/// The SHA-256 of a disclosure's bytes; base64url without padding (43 characters) in text.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// Why a text is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a SHA-256 digest in base64url without padding (43 characters), got {0:?}")]
pub struct InvalidDigest(pub String);

impl FromStr for Digest {
    type Err = InvalidDigest;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidDigest(s.chars().take(64).collect());
        if s.len() != 43 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(s).map_err(|_| bad())?;
        <[u8; 32]>::try_from(bytes).map(Self).map_err(|_| bad())
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// `[salt, path, value]` as compact JSON: the exact bytes whose SHA-256 the log holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    json: String,
    salt: String,
    path: String,
    value: String,
}

/// Why bytes are not a disclosure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a disclosure must be a JSON array of three strings [salt, path, value]: {0}")]
pub struct InvalidDisclosure(String);

impl Disclosure {
    pub fn new(salt: &str, path: &str, value: &str) -> Self {
        let json =
            serde_json::to_string(&(salt, path, value)).expect("three strings always serialize");
        Self {
            json,
            salt: salt.to_owned(),
            path: path.to_owned(),
            value: value.to_owned(),
        }
    }

    /// Reads stored bytes back, keeping them as they are (their digest is over these bytes).
    pub fn parse(json: &str) -> Result<Self, InvalidDisclosure> {
        let (salt, path, value): (String, String, String) =
            serde_json::from_str(json).map_err(|e| InvalidDisclosure(e.to_string()))?;
        Ok(Self {
            json: json.to_owned(),
            salt,
            path,
            value,
        })
    }

    pub fn digest(&self) -> Digest {
        Digest::of(self.json.as_bytes())
    }

    pub fn as_json(&self) -> &str {
        &self.json
    }

    pub fn salt(&self) -> &str {
        &self.salt
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn value(&self) -> &str {
        &self.value
    }
}

/// Where a personal field sits in an event, as error messages name fields:
/// `actor.person`, `data.attendees[2].person`, `data.replacement.note`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldPath {
    /// Inside a correction's replacement.
    replacement: bool,
    field: &'static str,
    index: Option<(usize, &'static str)>,
}

impl FieldPath {
    const fn plain(field: &'static str) -> Self {
        Self {
            replacement: false,
            field,
            index: None,
        }
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.replacement {
            f.write_str("data.replacement.")?;
        }
        f.write_str(self.field)?;
        if let Some((i, leaf)) = self.index {
            write!(f, "[{i}].{leaf}")?;
        }
        Ok(())
    }
}

/// What a personal field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    /// A person's name, and the org the event places them in when it says.
    Person(Option<&'a OrgId>),
    /// Prose or a label a person writes, which may mention anyone.
    Text,
}

/// Calls `f` with every personal field of the event that holds a value, in a fixed order.
pub fn each_field(event: &mut Event, f: &mut dyn FnMut(FieldPath, Kind<'_>, &mut String)) {
    envelope_fields(false, &mut event.actor, &mut event.note, f);
    payload_fields(false, &mut event.payload, f);
}

fn envelope_fields(
    replacement: bool,
    actor: &mut Actor,
    note: &mut Option<String>,
    f: &mut dyn FnMut(FieldPath, Kind<'_>, &mut String),
) {
    let at = |field| FieldPath {
        replacement,
        ..FieldPath::plain(field)
    };
    if let Some(person) = &mut actor.person {
        f(at("actor.person"), Kind::Person(Some(&actor.org)), person);
    }
    if let Some(note) = note {
        f(at("note"), Kind::Text, note);
    }
}

fn payload_fields(
    replacement: bool,
    payload: &mut Payload,
    f: &mut dyn FnMut(FieldPath, Kind<'_>, &mut String),
) {
    use Payload as P;
    let at = |field| FieldPath {
        replacement,
        ..FieldPath::plain(field)
    };
    let mut text = |field, value: &mut String| f(at(field), Kind::Text, value);
    match payload {
        P::PartnershipProposed(p) => text("data.vision", &mut p.vision),
        P::PartnershipStatusChanged(p) => text("data.reason", &mut p.reason),
        P::ExitProcedureDefined(p) => text("data.data_return_terms", &mut p.data_return_terms),
        P::RoleAssigned(p) => f(at("data.person"), Kind::Person(Some(&p.org)), &mut p.person),
        P::RoleUnassigned(p) => {
            f(at("data.person"), Kind::Person(Some(&p.org)), &mut p.person);
            f(at("data.reason"), Kind::Text, &mut p.reason);
        }
        P::MeetingRequested(p) => text("data.purpose", &mut p.purpose),
        P::MeetingCancelled(p) => text("data.reason", &mut p.reason),
        P::MeetingHeld(p) => {
            for (i, a) in p.attendees.iter_mut().enumerate() {
                let path = FieldPath {
                    index: Some((i, "person")),
                    ..at("data.attendees")
                };
                f(path, Kind::Person(Some(&a.org)), &mut a.person);
            }
        }
        P::IntroductionMade(p) => f(
            at("data.introduced_party"),
            Kind::Person(None),
            &mut p.introduced_party,
        ),
        P::GoalDropped(p) => text("data.reason", &mut p.reason),
        P::DeliverableCommitted(p) => {
            f(at("data.title"), Kind::Text, &mut p.title);
            if let Some(owner) = &mut p.owner_person {
                f(
                    at("data.owner_person"),
                    Kind::Person(Some(&p.owner_org)),
                    owner,
                );
            }
        }
        P::DeliverableDueDateChanged(p) => text("data.reason", &mut p.reason),
        P::DeliverableCancelled(p) => text("data.reason", &mut p.reason),
        P::DealRegistered(p) => text("data.account", &mut p.account),
        P::JointCustomerHighlighted(p) => text("data.customer", &mut p.customer),
        P::EventRetracted(p) => text("data.reason", &mut p.reason),
        P::EventCorrected(p) => {
            f(at("data.reason"), Kind::Text, &mut p.reason);
            // A replacement holds no replacement of its own that is read (a correction inside
            // one is refused), so one level is every level.
            let r = &mut *p.replacement;
            envelope_fields(true, &mut r.actor, &mut r.note, f);
            payload_fields(true, &mut r.payload, f);
        }
        P::BusinessPlanAgreed(_)
        | P::GovernanceDefined(_)
        | P::MeetingScheduled(_)
        | P::MeetingRescheduled(_)
        | P::FollowUpProposed(_)
        | P::GoalProposed(_)
        | P::GoalAgreed(_)
        | P::GoalRevised(_)
        | P::IndicatorRecorded(_)
        | P::DeliverableStarted(_)
        | P::DeliverableBlocked(_)
        | P::DeliverableUnblocked(_)
        | P::DeliverableCompleted(_)
        | P::DealClosed(_)
        | P::SalesIncentiveChanged(_)
        | P::RevenueReported(_)
        | P::CommunicationTagged(_)
        | P::HealthCheckResponded(_)
        | P::PersonalDataErased(_)
        | P::OrgKeyRegistered(_) => {}
    }
}

/// Events in their stored form, each personal value replaced by its digest, and the
/// disclosures that give the values back.
#[derive(Debug, Clone, PartialEq)]
pub struct Sealed {
    pub events: Vec<Event>,
    pub disclosures: Vec<Disclosure>,
}

/// Seals recorded events for the log: every personal value becomes the digest of a new
/// disclosure with a salt from `salt` (16 random bytes, drawn at the edge: this crate draws no
/// random numbers).
pub fn seal(events: Vec<Event>, salt: &mut dyn FnMut() -> [u8; 16]) -> Sealed {
    let mut disclosures = Vec::new();
    let events = events
        .into_iter()
        .map(|mut event| {
            each_field(&mut event, &mut |path, _, value| {
                let d = Disclosure::new(&URL_SAFE_NO_PAD.encode(salt()), &path.to_string(), value);
                *value = d.digest().to_string();
                disclosures.push(d);
            });
            event
        })
        .collect();
    Sealed {
        events,
        disclosures,
    }
}

/// Seals events a client is about to sign, as [`seal`] seals recorded ones.
pub fn seal_inputs(
    inputs: Vec<EventInput>,
    salt: &mut dyn FnMut() -> [u8; 16],
) -> (Vec<EventInput>, Vec<Disclosure>) {
    let sealed = seal(inputs.into_iter().map(unrecorded).collect(), salt);
    let events = sealed.events.into_iter().map(EventInput::from).collect();
    (events, sealed.disclosures)
}

/// An input as an event, with placeholders where the ledger's ids and times go: what
/// [`each_field`] walks.
fn unrecorded(input: EventInput) -> Event {
    let nowhere = PartnershipId::parse("unrecorded").unwrap_or_else(|_| unreachable!("a slug"));
    input.into_event(
        EventId::from_uuid(uuid::Uuid::nil()),
        nowhere,
        OffsetDateTime::UNIX_EPOCH,
    )
}

/// Opens events a client sealed itself (a signed commit: the signature covers the digests):
/// every personal field must hold the digest of one of `disclosures`, made for that field's
/// path, and every disclosure must be used. Gives the events with their values in; an error
/// names each field or disclosure that does not hold.
pub fn open_sealed(
    events: &[EventInput],
    disclosures: &[Disclosure],
) -> Result<Vec<EventInput>, Vec<FieldError>> {
    let by_digest: HashMap<Digest, (usize, &Disclosure)> = disclosures
        .iter()
        .enumerate()
        .map(|(i, d)| (d.digest(), (i, d)))
        .collect();
    let mut used = vec![false; disclosures.len()];
    let mut errors = Vec::new();
    let opened = events
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let mut event = unrecorded(input.clone());
            each_field(&mut event, &mut |path, _, value| {
                let field = format!("events[{i}].{path}");
                let found = value.parse::<Digest>().ok().and_then(|d| by_digest.get(&d));
                match found {
                    None => errors.push(FieldError::new(
                        field,
                        "must be the digest of one of the disclosures sent: a signed commit's personal values travel as digests",
                    )),
                    Some((j, d)) if d.path() != path.to_string() => {
                        used[*j] = true;
                        errors.push(FieldError::new(
                            format!("disclosures[{j}]"),
                            format!("is made for {}, but its digest is in {path}", d.path()),
                        ));
                    }
                    Some((j, d)) => {
                        used[*j] = true;
                        d.value().clone_into(value);
                    }
                }
            });
            EventInput::from(event)
        })
        .collect();
    for (j, _) in used.iter().enumerate().filter(|(_, u)| !**u) {
        errors.push(FieldError::new(
            format!("disclosures[{j}]"),
            "no personal field of the events holds its digest",
        ));
    }
    if errors.is_empty() {
        Ok(opened)
    } else {
        Err(errors)
    }
}

/// An event as read from the log, before its personal values are joined back in.
#[derive(Debug, Clone, PartialEq)]
pub struct Unjoined {
    event: Event,
    /// Recorded from [`SEALED_SINCE`] on: its personal fields hold digests. An older event
    /// holds its values in the log itself, where they stay.
    sealed: bool,
}

impl Unjoined {
    pub fn new(event: Event, stored_version: u32) -> Self {
        Self {
            event,
            sealed: stored_version >= SEALED_SINCE,
        }
    }

    /// The event as stored: digests in place of personal values when it is sealed.
    pub fn stored(&self) -> &Event {
        &self.event
    }

    pub fn is_sealed(&self) -> bool {
        self.sealed
    }

    /// The digests of its personal fields with their paths (none when it is not sealed); an
    /// error names the first field that holds no digest.
    pub fn digests(&mut self) -> Result<Vec<Digest>, (FieldPath, InvalidDigest)> {
        let mut out = Vec::new();
        let mut bad = None;
        if self.sealed {
            each_field(&mut self.event, &mut |path, _, value| match value.parse() {
                Ok(d) => out.push(d),
                Err(e) => {
                    bad.get_or_insert((path, e));
                }
            });
        }
        bad.map_or(Ok(out), Err)
    }

    /// The digests of its personal fields whose values `forget` matches, their values read
    /// from `lookup` (an erased value matches nothing).
    pub fn matching(&mut self, forget: &Forget, lookup: &dyn Lookup) -> Vec<Digest> {
        let mut out = Vec::new();
        if self.sealed {
            each_field(&mut self.event, &mut |_, kind, value| {
                if let Ok(d) = value.parse::<Digest>()
                    && lookup.value(&d).is_some_and(|v| forget.matches(kind, v))
                {
                    out.push(d);
                }
            });
        }
        out
    }

    /// The event with its values joined back in from `lookup` (see [`join`]).
    pub fn join(mut self, lookup: &dyn Lookup) -> Event {
        if self.sealed {
            join(&mut self.event, lookup);
        }
        self.event
    }
}

/// The values of disclosures, by digest: what a reader fetched from the store.
pub trait Lookup {
    fn value(&self, digest: &Digest) -> Option<&str>;
}

impl Lookup for HashMap<Digest, Disclosure> {
    fn value(&self, digest: &Digest) -> Option<&str> {
        self.get(digest).map(Disclosure::value)
    }
}

/// Joins the values back into a sealed event: each digest becomes its disclosure's value, or
/// [`ERASED`] when the store no longer has it.
pub fn join(event: &mut Event, lookup: &dyn Lookup) {
    each_field(event, &mut |_, _, value| {
        let joined = value
            .parse::<Digest>()
            .ok()
            .and_then(|d| lookup.value(&d))
            .unwrap_or(ERASED);
        joined.clone_into(value);
    });
}

/// Whom `accord forget` erases: a person's name, within one org when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forget {
    name: String,
    org: Option<OrgId>,
}

impl Forget {
    /// `None` when the name is blank: it would match every text.
    pub fn new(name: &str, org: Option<OrgId>) -> Option<Self> {
        let name = name.trim().to_lowercase();
        (!name.is_empty()).then_some(Self { name, org })
    }

    /// Whether a personal field's value is the person's: a person field that names them
    /// (ignoring case and surrounding spaces) in the org asked for, when the event says the org;
    /// or any text that mentions the name, whatever the org (a mention in prose has none).
    pub fn matches(&self, kind: Kind<'_>, value: &str) -> bool {
        match kind {
            Kind::Person(org) => {
                value.trim().to_lowercase() == self.name
                    && match (&self.org, org) {
                        (Some(asked), Some(org)) => asked == org,
                        _ => true,
                    }
            }
            Kind::Text => value.to_lowercase().contains(&self.name),
        }
    }
}

/// The digests that events of a partnership record as erased (`personal_data_erased`): a
/// reader never asks the store for them, so a disclosure that outlived its erasure (an old
/// backup restored) still reads as [`ERASED`].
pub fn erased<'a>(events: impl IntoIterator<Item = &'a Event>) -> BTreeSet<Digest> {
    events
        .into_iter()
        .filter_map(|e| match &e.payload {
            Payload::PersonalDataErased(p) => Some(p.digests.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[cfg(test)]
#[path = "personal_tests.rs"]
mod tests;
