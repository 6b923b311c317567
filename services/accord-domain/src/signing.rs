//! Acts signed by their org (docs/domain.md, "Signed acts").
//!
//! An org that registers an ed25519 key in a partnership (`org_key_registered`) signs every
//! commit it records there from then on. The signature covers [`message`]: the RFC 8785 (JCS)
//! JSON of `{"type": "accord.commit.v1", "partnership_id", "idempotency_key", "events"}`, the
//! events exactly as stored, as a client writes them (`type`, `occurred_at`, `actor`, `note`,
//! `causation_id`, `correlation_id`, `data`), each personal value as its digest. So an erasure,
//! which removes disclosures only, never breaks a signature, and any JCS and ed25519 library can
//! sign or check one. The idempotency key makes a signed commit single-use: sent again, it
//! answers the first commit.
//!
//! Keys and signatures are written in standard base64, as the ledger's receipts are.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::event::{Event, EventInput};
use crate::ids::{OrgId, PartnershipId};

/// The `type` member of the signed message.
pub const COMMIT_TYPE: &str = "accord.commit.v1";

/// Fixed-size bytes written as standard base64.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Base64<const N: usize>(pub [u8; N]);

/// Why a text is not base64 of the right length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be standard base64 of {len} bytes, got {got:?}")]
pub struct InvalidBase64 {
    len: usize,
    got: String,
}

impl<const N: usize> fmt::Display for Base64<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&STANDARD.encode(self.0))
    }
}

impl<const N: usize> fmt::Debug for Base64<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Base64({self})")
    }
}

impl<const N: usize> FromStr for Base64<N> {
    type Err = InvalidBase64;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidBase64 {
            len: N,
            got: s.chars().take(100).collect(),
        };
        let bytes = STANDARD.decode(s).map_err(|_| bad())?;
        <[u8; N]>::try_from(bytes).map(Self).map_err(|_| bad())
    }
}

impl<const N: usize> Serialize for Base64<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de, const N: usize> Deserialize<'de> for Base64<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An ed25519 public key (32 bytes).
pub type PublicKey = Base64<32>;
/// An ed25519 signature (64 bytes).
pub type SignatureBytes = Base64<64>;

/// A key's id: the first 8 bytes of the SHA-256 of its public key, in hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 8]);

impl KeyId {
    pub fn of(public: &[u8; 32]) -> Self {
        let digest = Sha256::digest(public);
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        Self(id)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// Why a text is not a key id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 16 lowercase hex digits (a key id), got {0:?}")]
pub struct InvalidKeyId(String);

impl FromStr for KeyId {
    type Err = InvalidKeyId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidKeyId(s.chars().take(40).collect());
        if s.len() != 16 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad());
        }
        let mut id = [0u8; 8];
        hex::decode_to_slice(s, &mut id).map_err(|_| bad())?;
        Ok(Self(id))
    }
}

impl Serialize for KeyId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The signature a commit carries: whose, with which key, over which idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CommitSignature {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub org: OrgId,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub key_id: KeyId,
    /// The ed25519 signature of [`message`], standard base64.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub sig: SignatureBytes,
}

/// The signed commit as stored: its signature and the idempotency key it was sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub signature: CommitSignature,
    pub idempotency_key: String,
}

/// A commit's signature as a client presents it, with the message it must be a signature of
/// (the edge builds it with [`message`] from the events in stored form), for `decide`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub signature: CommitSignature,
    pub message: Vec<u8>,
    /// The key the edge already verified `signature.sig` over `message` with (verifying many
    /// appends' signatures together); `decide` verifies again unless it is the key it expects.
    pub verified_with: Option<PublicKey>,
}

/// Whether the bytes are an ed25519 public key (a point of the curve).
pub fn is_key(key: &PublicKey) -> bool {
    VerifyingKey::from_bytes(&key.0).is_ok()
}

/// The bytes a commit's signature covers: the JCS form of the commit's events in stored form
/// (personal values as digests), its partnership and its idempotency key.
pub fn message(
    partnership_id: &PartnershipId,
    idempotency_key: &str,
    events: &[EventInput],
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Message<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        partnership_id: &'a PartnershipId,
        idempotency_key: &'a str,
        events: &'a [EventInput],
    }
    let message = Message {
        kind: COMMIT_TYPE,
        partnership_id,
        idempotency_key,
        events,
    };
    // Every field serializes to JSON: ids, times and payloads are plain data.
    crate::jcs::to_vec(&message).unwrap_or_default()
}

/// The message of stored events (the ledger's ids and times left out, as the client never
/// had them).
pub fn message_of_stored(
    partnership_id: &PartnershipId,
    idempotency_key: &str,
    events: &[Event],
) -> Vec<u8> {
    let inputs: Vec<EventInput> = events.iter().cloned().map(EventInput::from).collect();
    message(partnership_id, idempotency_key, &inputs)
}

/// Signs `message` with `key`.
pub fn sign(key: &SigningKey, message: &[u8]) -> SignatureBytes {
    Base64(key.sign(message).to_bytes())
}

/// Whether `sig` is `key`'s signature of `message` (a public key that is no curve point never
/// verifies).
pub fn verifies(key: &PublicKey, message: &[u8], sig: &SignatureBytes) -> bool {
    VerifyingKey::from_bytes(&key.0)
        .is_ok_and(|k| k.verify(message, &Signature::from_bytes(&sig.0)).is_ok())
}

/// Whether every signature verifies, checked together (ed25519 batch verification: one
/// multiscalar multiplication for the lot). When it says no, [`verifies`] finds which.
pub fn all_verify(items: &[(&PublicKey, &[u8], &SignatureBytes)]) -> bool {
    // A batch mostly holds one org's key many times: each is decompressed once.
    let mut points: HashMap<&PublicKey, VerifyingKey> = HashMap::new();
    let mut keys = Vec::with_capacity(items.len());
    for (key, _, _) in items {
        let point = match points.entry(key) {
            Entry::Occupied(known) => *known.get(),
            Entry::Vacant(new) => match VerifyingKey::from_bytes(&key.0) {
                Ok(k) => *new.insert(k),
                Err(_) => return false,
            },
        };
        keys.push(point);
    }
    let messages: Vec<&[u8]> = items.iter().map(|(_, m, _)| *m).collect();
    let sigs: Vec<Signature> = items
        .iter()
        .map(|(_, _, s)| Signature::from_bytes(&s.0))
        .collect();
    ed25519_dalek::verify_batch(&messages, &sigs, &keys).is_ok()
}

#[cfg(test)]
#[path = "signing_tests.rs"]
mod tests;
