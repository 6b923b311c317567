//! The protobuf schema (`proto/accord/v1`), compiled at build time without a system `protoc`,
//! and the explicit conversions between it and the domain types.

pub mod analytics;
pub mod convert;

/// Generated protobuf types of package `accord.v1`.
#[allow(missing_debug_implementations, unreachable_pub, clippy::all)]
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/accord.v1.rs"));
}

use accord_domain::personal::{Digest, Lookup, Unjoined};
use accord_domain::signing::Signed;
use accord_domain::{Commit, CommitId, Event, EventId, Hash, PartnershipId, commit_hash};
use prost::Message;
use time::OffsetDateTime;

pub use convert::DecodeError;

/// The schema name carried in message headers.
pub const COMMIT_SCHEMA: &str = "accord.v1.Commit";

/// A commit as stored: its canonical body bytes and `hash = SHA-256(prev_hash ‖ body)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedCommit {
    pub body: Vec<u8>,
    pub hash: Hash,
}

impl SealedCommit {
    /// Encodes the commit's body once and hashes those exact bytes.
    pub fn seal(commit: &Commit) -> Self {
        Self::seal_parts(
            commit.commit_id,
            &commit.partnership_id,
            commit.prev_hash,
            commit.recorded_at,
            &commit.events,
            commit.signed.as_ref(),
        )
    }

    /// [`SealedCommit::seal`] from borrowed parts, for the append path.
    pub fn seal_parts(
        commit_id: CommitId,
        partnership_id: &PartnershipId,
        prev_hash: Hash,
        recorded_at: OffsetDateTime,
        events: &[Event],
        signed: Option<&Signed>,
    ) -> Self {
        let body = pb::CommitBody {
            commit_id: commit_id.to_string(),
            partnership_id: partnership_id.to_string(),
            prev_hash: prev_hash.0.to_vec(),
            recorded_at: Some(convert::timestamp(recorded_at)),
            events: events.iter().map(pb::Envelope::from).collect(),
            signature: signed.map(convert::signature_pb),
        }
        .encode_to_vec();
        let hash = commit_hash(&prev_hash, &body);
        Self { body, hash }
    }

    /// The bytes of one stream message (an encoded `accord.v1.Commit`).
    pub fn encode(&self) -> Vec<u8> {
        let hash = self.hash.0.to_vec();
        let mut buf = Vec::with_capacity(
            prost::encoding::bytes::encoded_len(1, &self.body)
                + prost::encoding::bytes::encoded_len(2, &hash),
        );
        prost::encoding::bytes::encode(1, &self.body, &mut buf);
        prost::encoding::bytes::encode(2, &hash, &mut buf);
        buf
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let c = pb::Commit::decode(bytes).map_err(|e| DecodeError {
            field: "commit".into(),
            message: e.to_string(),
        })?;
        let hash = Hash::from_slice(&c.hash).ok_or_else(|| DecodeError {
            field: "commit.hash".into(),
            message: format!("must be 32 bytes, got {}", c.hash.len()),
        })?;
        Ok(Self { body: c.body, hash })
    }

    /// Decodes the body: the commit with its events as stored, to be joined with their
    /// personal values.
    pub fn read(&self) -> Result<ReadCommit, DecodeError> {
        decode_body(&self.body)
    }

    /// Decodes what the body says before its events: enough to check the commit's link.
    pub fn head(&self) -> Result<CommitHead, DecodeError> {
        let h = pb::CommitBodyHead::decode(self.body.as_slice()).map_err(|e| DecodeError {
            field: "commit.body".into(),
            message: e.to_string(),
        })?;
        Ok(CommitHead {
            commit_id: parse_commit_id(&h.commit_id)?,
            partnership_id: parse_partnership(&h.partnership_id)?,
            prev_hash: parse_prev_hash(&h.prev_hash)?,
        })
    }
}

/// What a commit's events say, as a fingerprint: the SHA-256 of each event in its stored
/// (protobuf) form without what the ledger assigns (the event's id, its partnership, the
/// recording time and the schema version). The ledger compares it with a returning request's
/// [`request_fingerprint`] when an idempotency key comes back.
pub fn events_fingerprint(
    events: impl IntoIterator<Item = impl std::borrow::Borrow<Event>>,
) -> Hash {
    use sha2::{Digest, Sha256};
    let mut bytes = Vec::new();
    for event in events {
        let envelope = pb::Envelope {
            event_id: String::new(),
            partnership_id: String::new(),
            schema_version: 0,
            recorded_at: None,
            ..pb::Envelope::from(event.borrow())
        };
        envelope
            .encode_length_delimited(&mut bytes)
            .expect("a Vec grows as needed");
    }
    Hash(Sha256::digest(&bytes).into())
}

/// What a request asks to record, as a fingerprint: the [`events_fingerprint`] of the commit it
/// records. Two requests with the same events have the same fingerprint however their JSON was
/// written (key order, spaces, time offsets).
pub fn request_fingerprint<'a>(
    partnership_id: &PartnershipId,
    events: impl IntoIterator<Item = &'a accord_domain::EventInput>,
) -> Hash {
    let placeholder = accord_domain::EventId::from_uuid(accord_domain::ids::Uuid::nil());
    events_fingerprint(events.into_iter().map(|input| {
        input.clone().into_event(
            placeholder,
            partnership_id.clone(),
            OffsetDateTime::UNIX_EPOCH,
        )
    }))
}

/// Events as the log gives them back once stored (times in UTC, every value in its stored
/// form): what a signature covers, computed the same way when a commit is signed, when the
/// ledger checks it, and when `verify` reads it back (docs/domain.md, "Signed acts").
pub fn as_stored(
    inputs: &[accord_domain::EventInput],
) -> Result<Vec<accord_domain::EventInput>, DecodeError> {
    let placeholder = EventId::from_uuid(accord_domain::ids::Uuid::nil());
    let nowhere = PartnershipId::parse("unrecorded").map_err(|e| DecodeError {
        field: "partnership_id".into(),
        message: e.to_string(),
    })?;
    let mut out = Vec::with_capacity(inputs.len());
    for input in inputs {
        let event =
            input
                .clone()
                .into_event(placeholder, nowhere.clone(), OffsetDateTime::UNIX_EPOCH);
        for read in convert::events_of(pb::Envelope::from(&event))? {
            out.push(accord_domain::EventInput::from(read.stored().clone()));
        }
    }
    Ok(out)
}

/// A commit as read from the log: its events as stored, before the values of their personal
/// fields are joined in ([`ReadCommit::join`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ReadCommit {
    pub commit_id: CommitId,
    pub partnership_id: PartnershipId,
    pub prev_hash: Hash,
    pub recorded_at: OffsetDateTime,
    pub events: Vec<Unjoined>,
    pub signed: Option<Signed>,
}

impl ReadCommit {
    pub fn event_ids(&self) -> Vec<EventId> {
        self.events.iter().map(|e| e.stored().event_id).collect()
    }

    /// The digests its sealed events hold, for a reader to fetch their disclosures; an error
    /// names the first personal field that holds no digest.
    pub fn digests(&mut self) -> Result<Vec<Digest>, DecodeError> {
        let mut out = Vec::new();
        for (i, e) in self.events.iter_mut().enumerate() {
            out.extend(e.digests().map_err(|(path, bad)| DecodeError {
                field: format!("events[{i}].{path}"),
                message: bad.to_string(),
            })?);
        }
        Ok(out)
    }

    /// The commit with every personal value joined back in from `lookup` (an erased one
    /// reads as `[erased]`).
    pub fn join(self, lookup: &dyn Lookup) -> Commit {
        Commit {
            commit_id: self.commit_id,
            partnership_id: self.partnership_id,
            prev_hash: self.prev_hash,
            recorded_at: self.recorded_at,
            events: self.events.into_iter().map(|e| e.join(lookup)).collect(),
            signed: self.signed,
        }
    }
}

/// A commit's id, its partnership and the hash it links to, without its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitHead {
    pub commit_id: CommitId,
    pub partnership_id: PartnershipId,
    pub prev_hash: Hash,
}

fn parse_commit_id(s: &str) -> Result<CommitId, DecodeError> {
    s.parse::<CommitId>().map_err(|e| DecodeError {
        field: "commit.commit_id".into(),
        message: e.to_string(),
    })
}

fn parse_partnership(s: &str) -> Result<PartnershipId, DecodeError> {
    s.parse::<PartnershipId>().map_err(|e| DecodeError {
        field: "commit.partnership_id".into(),
        message: e.to_string(),
    })
}

fn parse_prev_hash(bytes: &[u8]) -> Result<Hash, DecodeError> {
    Hash::from_slice(bytes).ok_or_else(|| DecodeError {
        field: "commit.prev_hash".into(),
        message: format!("must be 32 bytes, got {}", bytes.len()),
    })
}

fn decode_body(bytes: &[u8]) -> Result<ReadCommit, DecodeError> {
    let field = |f: &str, m: String| DecodeError {
        field: f.into(),
        message: m,
    };
    let b = pb::CommitBody::decode(bytes).map_err(|e| field("commit.body", e.to_string()))?;
    Ok(ReadCommit {
        commit_id: parse_commit_id(&b.commit_id)?,
        partnership_id: parse_partnership(&b.partnership_id)?,
        prev_hash: parse_prev_hash(&b.prev_hash)?,
        recorded_at: convert::from_timestamp("commit.recorded_at", b.recorded_at)?,
        events: b
            .events
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                convert::events_of(e).map_err(|e| DecodeError {
                    field: format!("events[{i}].{}", e.field),
                    message: e.message,
                })
            })
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect(),
        signed: b.signature.map(convert::signature_of).transpose()?,
    })
}

#[cfg(test)]
mod decode_tests;
