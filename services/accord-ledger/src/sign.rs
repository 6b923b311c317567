//! A commit sealed and signed where its org records it (docs/domain.md, "Signed acts"): each
//! personal value becomes the digest of a disclosure with a fresh salt, and the JCS form of the
//! events as the log will store them, the partnership and the idempotency key is signed. What
//! `accord record --key`, `accord import --key`, the demo and the benchmark send.

use accord_domain::personal::seal_inputs;
use accord_domain::signing::{self, CommitSignature, KeyId};
use accord_domain::{EventInput, PartnershipId};
use ed25519_dalek::SigningKey;

use crate::SignedRequest;

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
