//! Receipts: the ledger's signed word that a partnership's chain reached a head.
//!
//! Every append answer carries a [`Receipt`]: the partnership, the revision and log position of
//! the commit, its hash (the partnership's head), when it was recorded, and the ledger's ed25519
//! signature over them. A client that keeps its receipts can later prove that the log still
//! holds every head it was given (`accord verify --receipts`): an operator who rewrites a chain,
//! even into one that verifies on its own, or cuts off its last commits, cannot make the
//! receipted heads appear again without the ledger's key.
//!
//! The signature covers the RFC 8785 (JCS) form of the receipt without its signature, with
//! `"type": "accord.receipt.v1"` added so that no other signed document reads as a receipt. The
//! ledger's key is a PKCS#8 PEM file; its id is the first 8 bytes of the SHA-256 of the public
//! key, in hex.

use std::path::Path;

use accord_domain::signing::KeyId;
use accord_domain::{Hash, PartnershipId};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::key_file::{self, KeyFileError};

/// What a receipt's signature is of, beside its fields.
const RECEIPT_TYPE: &str = "accord.receipt.v1";

/// A commit's receipt, as an append answer carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub partnership_id: PartnershipId,
    /// The partnership's revision after the commit, which is its log position.
    pub revision: u64,
    pub position: u64,
    /// The commit's hash: the partnership's head at that revision.
    pub head: Hash,
    #[serde(with = "accord_domain::values::rfc3339")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub recorded_at: OffsetDateTime,
    /// The id of the ledger key that signed it.
    pub key_id: String,
    /// The ed25519 signature, standard base64.
    pub signature: String,
}

/// What the signature covers.
#[derive(Serialize)]
struct Signed<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    partnership_id: &'a PartnershipId,
    revision: u64,
    position: u64,
    head: &'a Hash,
    #[serde(with = "accord_domain::values::rfc3339")]
    recorded_at: OffsetDateTime,
    key_id: &'a str,
}

impl Receipt {
    /// The bytes the signature covers.
    fn signed_bytes(&self) -> Vec<u8> {
        let signed = Signed {
            kind: RECEIPT_TYPE,
            partnership_id: &self.partnership_id,
            revision: self.revision,
            position: self.position,
            head: &self.head,
            recorded_at: self.recorded_at,
            key_id: &self.key_id,
        };
        // Serializing plain fields to JSON cannot fail.
        accord_domain::jcs::to_vec(&signed).unwrap_or_default()
    }
}

/// Why a key or a receipt does not hold.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error("the ledger key")]
    KeyFile(#[from] KeyFileError),
    #[error("signed by key {signed_by}, not by the ledger's key {ledger}")]
    OtherKey { signed_by: String, ledger: String },
    #[error("the signature is not standard base64 of 64 bytes")]
    MalformedSignature,
    #[error("the signature does not hold: the receipt was changed or not made by the ledger")]
    BadSignature,
    #[error("the public key is not standard base64 of 32 bytes of an ed25519 key")]
    MalformedPublicKey,
}

/// The ledger's signing key.
#[derive(Debug)]
pub struct LedgerKey {
    signing: SigningKey,
    key_id: String,
}

/// The ledger's public key, as `GET /v1/ledger/key` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LedgerPublicKey {
    /// Always `ed25519`.
    pub algorithm: String,
    pub key_id: String,
    /// The 32 bytes of the public key, standard base64.
    pub public_key: String,
}

fn key_id_of(key: &VerifyingKey) -> String {
    KeyId::of(key.as_bytes()).to_string()
}

impl LedgerKey {
    /// A new key from the system's random source.
    pub fn generate() -> Self {
        Self::from_signing(SigningKey::from_bytes(&rand::random::<[u8; 32]>()))
    }

    fn from_signing(signing: SigningKey) -> Self {
        let key_id = key_id_of(&signing.verifying_key());
        Self { signing, key_id }
    }

    /// Reads the key at `path`.
    pub fn load(path: &Path) -> Result<Self, ReceiptError> {
        Ok(Self::from_signing(key_file::read(path)?))
    }

    /// Reads the key at `path`, or makes one there (readable by its owner only) when there is
    /// none. Says whether it made it.
    pub fn load_or_generate(path: &Path) -> Result<(Self, bool), ReceiptError> {
        if path.exists() {
            return Ok((Self::load(path)?, false));
        }
        Ok((Self::from_signing(key_file::create(path)?), true))
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn public(&self) -> LedgerPublicKey {
        LedgerPublicKey {
            algorithm: "ed25519".into(),
            key_id: self.key_id.clone(),
            public_key: STANDARD.encode(self.signing.verifying_key().as_bytes()),
        }
    }

    /// The signed receipt of a commit.
    pub fn receipt(
        &self,
        partnership_id: PartnershipId,
        position: u64,
        head: Hash,
        recorded_at: OffsetDateTime,
    ) -> Receipt {
        let mut receipt = Receipt {
            partnership_id,
            revision: position,
            position,
            head,
            recorded_at,
            key_id: self.key_id.clone(),
            signature: String::new(),
        };
        let signature = self.signing.sign(&receipt.signed_bytes());
        receipt.signature = STANDARD.encode(signature.to_bytes());
        receipt
    }
}

/// Why the log does not hold a receipt's head.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotHeld {
    #[error("the log holds another commit there (hash {0})")]
    Another(Hash),
    #[error("the log holds no commit at that revision")]
    Missing,
}

impl Receipt {
    /// Whether the log still holds this receipt's head, given the hash of the partnership's
    /// commit at the receipt's revision (`None` when there is none).
    pub fn held_by(&self, at_revision: Option<Hash>) -> Result<(), NotHeld> {
        match at_revision {
            Some(h) if h == self.head => Ok(()),
            Some(h) => Err(NotHeld::Another(h)),
            None => Err(NotHeld::Missing),
        }
    }
}

impl LedgerPublicKey {
    /// Checks that `receipt` was signed by this key, as it stands.
    pub fn verify(&self, receipt: &Receipt) -> Result<(), ReceiptError> {
        let bytes: [u8; 32] = STANDARD
            .decode(&self.public_key)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(ReceiptError::MalformedPublicKey)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| ReceiptError::MalformedPublicKey)?;
        if receipt.key_id != self.key_id || key_id_of(&key) != self.key_id {
            return Err(ReceiptError::OtherKey {
                signed_by: receipt.key_id.clone(),
                ledger: key_id_of(&key),
            });
        }
        let signature: [u8; 64] = STANDARD
            .decode(&receipt.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(ReceiptError::MalformedSignature)?;
        key.verify(&receipt.signed_bytes(), &Signature::from_bytes(&signature))
            .map_err(|_| ReceiptError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn receipt(key: &LedgerKey) -> Receipt {
        key.receipt(
            PartnershipId::parse("acme-stmary").expect("slug"),
            42,
            Hash([7; 32]),
            datetime!(2026-12-02 10:00:00.123456789 UTC),
        )
    }

    #[test]
    fn a_receipt_verifies_with_its_key_and_nothing_else() {
        let key = LedgerKey::generate();
        let public = key.public();
        let r = receipt(&key);
        public.verify(&r).expect("verifies");
        let json: Receipt =
            serde_json::from_str(&serde_json::to_string(&r).expect("json")).expect("reads");
        public
            .verify(&json)
            .expect("a receipt read back from JSON still verifies");

        let changed = Receipt {
            revision: 41,
            position: 41,
            ..r.clone()
        };
        assert!(matches!(
            public.verify(&changed),
            Err(ReceiptError::BadSignature)
        ));
        let other = LedgerKey::generate();
        assert!(matches!(
            other.public().verify(&r),
            Err(ReceiptError::OtherKey { .. })
        ));
        let forged = Receipt {
            key_id: key.key_id().into(),
            ..receipt(&other)
        };
        assert!(matches!(
            public.verify(&forged),
            Err(ReceiptError::BadSignature)
        ));
    }

    #[test]
    fn the_signature_covers_the_canonical_form_with_its_type() {
        let key = LedgerKey::generate();
        let r = receipt(&key);
        let text = String::from_utf8(r.signed_bytes()).expect("utf-8");
        assert_eq!(
            text,
            format!(
                r#"{{"head":"{}","key_id":"{}","partnership_id":"acme-stmary","position":42,"recorded_at":"2026-12-02T10:00:00.123456789Z","revision":42,"type":"accord.receipt.v1"}}"#,
                Hash([7; 32]),
                key.key_id()
            )
        );
    }

    #[test]
    fn a_key_is_written_once_for_its_owner_and_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("ledger.pem");
        let (made, created) = LedgerKey::load_or_generate(&path).expect("made");
        assert!(created);
        let (read, created) = LedgerKey::load_or_generate(&path).expect("read");
        assert!(!created);
        assert_eq!(read.public(), made.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "not a key").expect("write");
        assert!(matches!(
            LedgerKey::load(&path),
            Err(ReceiptError::KeyFile(KeyFileError::NotAKey { .. }))
        ));
    }
}
