//! Signed requests (docs/domain.md, "Signed acts"). On the client's side, a commit sealed and
//! signed where its org records it: each personal value becomes the digest of a disclosure with
//! a fresh salt, and the JCS form of the events as the log will store them, the partnership and
//! the idempotency key is signed (what `accord record --key`, `accord import --key`, the demo and
//! the benchmark send). On the ledger's side, such a request opened for `decide` and the log.

use accord_domain::personal::{Disclosure, open_sealed, seal_inputs};
use accord_domain::signing::{self, CommitSignature, KeyId, Presented, Signed};
use accord_domain::{DomainError, Event, EventInput, FieldError, PartnershipId};
use ed25519_dalek::SigningKey;

use crate::RecordRequest;

/// What a client that signs its commits sends beside the events (docs/domain.md, "Signed
/// acts"): the disclosures of the digests its events hold, and its signature over them.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedRequest {
    pub disclosures: Vec<Disclosure>,
    pub signature: CommitSignature,
}

/// A signed request opened: what `decide` checks, and what the log stores.
pub(crate) struct Opened {
    pub(crate) presented: Presented,
    pub(crate) signed: Signed,
    /// The events as sent, digests in place of values.
    pub(crate) stored: Vec<EventInput>,
    pub(crate) disclosures: Vec<Disclosure>,
}

impl Opened {
    /// Opens a signed request: its values joined into `request.events`, its stored form kept.
    pub(crate) fn of(request: &mut RecordRequest) -> Result<Option<Self>, DomainError> {
        let Some(signed) = request.signed.take() else {
            return Ok(None);
        };
        let Some(key) = request.idempotency_key.clone() else {
            return Err(DomainError::Validation(vec![FieldError::new(
                "idempotency_key",
                "a signed commit carries an idempotency key: it is part of what is signed, so the commit cannot be recorded twice",
            )]));
        };
        let joined =
            open_sealed(&request.events, &signed.disclosures).map_err(DomainError::Validation)?;
        let stored = std::mem::replace(&mut request.events, joined);
        // What `verify` will read back: the events as the log stores them.
        let as_stored = accord_proto::as_stored(&stored)
            .map_err(|e| DomainError::Validation(vec![FieldError::new(e.field, e.message)]))?;
        let message = signing::message(&request.partnership_id, &key, &as_stored);
        Ok(Some(Self {
            presented: Presented {
                signature: signed.signature.clone(),
                message,
                verified_with: None,
            },
            signed: Signed {
                signature: signed.signature,
                idempotency_key: key,
            },
            stored,
            disclosures: signed.disclosures,
        }))
    }

    /// The decided events in stored form: each as sent (digests), under the ids `decide` gave.
    pub(crate) fn stored_events(&self, decided: &[Event]) -> Vec<Event> {
        decided
            .iter()
            .zip(&self.stored)
            .map(|(d, input)| {
                input
                    .clone()
                    .into_event(d.event_id, d.partnership_id.clone(), d.recorded_at)
            })
            .collect()
    }
}

/// Why a commit cannot be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("a commit holds at least one event")]
    Empty,
    #[error("a signed commit acts for one org: its events act for several")]
    SeveralOrgs,
    #[error("events[].{field}: {message}")]
    NotStorable { field: String, message: String },
}

impl SignedRequest {
    /// The body HTTP and NATS appends take for this signed commit of `events` (as
    /// [`SignedRequest::seal_and_sign`] gave them): `{"events", "disclosures", "signature"}`.
    pub fn body(&self, events: &[EventInput]) -> serde_json::Value {
        serde_json::json!({
            "events": events,
            "disclosures": self.disclosures.iter().map(Disclosure::as_json).collect::<Vec<_>>(),
            "signature": self.signature,
        })
    }

    /// Seals `events` (all acting for the key's org) and signs them for `partnership` under
    /// `idempotency_key`: the events to send, and what goes beside them.
    pub fn seal_and_sign(
        key: &SigningKey,
        partnership: &PartnershipId,
        idempotency_key: &str,
        events: Vec<EventInput>,
    ) -> Result<(Vec<EventInput>, Self), SignError> {
        let org = events.first().ok_or(SignError::Empty)?.actor.org.clone();
        if events.iter().any(|e| e.actor.org != org) {
            return Err(SignError::SeveralOrgs);
        }
        let (sealed, disclosures) = seal_inputs(events, &mut rand::random);
        // Signed as the log will store them (times in UTC): what the ledger checks.
        let stored = accord_proto::as_stored(&sealed).map_err(|e| SignError::NotStorable {
            field: e.field,
            message: e.message,
        })?;
        let message = signing::message(partnership, idempotency_key, &stored);
        let signature = CommitSignature {
            org,
            key_id: KeyId::of(key.verifying_key().as_bytes()),
            sig: signing::sign(key, &message),
        };
        Ok((
            stored,
            Self {
                disclosures,
                signature,
            },
        ))
    }
}
