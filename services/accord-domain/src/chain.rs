//! The tamper-evident hash chain of a partnership's commits.
//!
//! Each commit is stored as its canonical body bytes (the encoded commit body, which names the
//! previous commit's hash) and `hash = SHA-256(prev_hash ‖ body)`. The first commit's
//! `prev_hash` is 32 zero bytes. Hashing the stored bytes, not a re-encoding, keeps old commits
//! verifiable whatever the schema becomes.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The `prev_hash` of a partnership's first commit.
    pub const GENESIS: Hash = Hash([0; 32]);

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(&s)
            .ok()
            .and_then(|b| Self::from_slice(&b))
            .ok_or_else(|| serde::de::Error::custom("must be 64 hex digits"))
    }
}

/// `SHA-256(prev_hash ‖ body)`.
pub fn commit_hash(prev_hash: &Hash, body: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.0);
    hasher.update(body);
    Hash(hasher.finalize().into())
}

/// Why a link of the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokenLink {
    #[error("stored hash {stored} does not match the recomputed {computed}")]
    HashMismatch { stored: Hash, computed: Hash },
    #[error("prev_hash {found} does not name the previous commit's hash {expected}")]
    PrevHashMismatch { expected: Hash, found: Hash },
    #[error("the commit cannot be decoded: {0}")]
    Undecodable(String),
}

/// One commit as the chain sees it.
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    pub prev_hash: Hash,
    pub body: &'a [u8],
    pub hash: Hash,
}

/// Walks a partnership's chain one link at a time.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    last: Hash,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            last: Hash::GENESIS,
        }
    }
}

impl ChainVerifier {
    /// Resumes after a commit whose hash is known good.
    pub fn after(last: Hash) -> Self {
        Self { last }
    }

    /// The hash of the last verified commit.
    pub fn head(&self) -> Hash {
        self.last
    }

    /// Checks the next link; on success it becomes the head.
    pub fn check(&mut self, link: Link<'_>) -> Result<(), BrokenLink> {
        if link.prev_hash != self.last {
            return Err(BrokenLink::PrevHashMismatch {
                expected: self.last,
                found: link.prev_hash,
            });
        }
        let computed = commit_hash(&link.prev_hash, link.body);
        if computed != link.hash {
            return Err(BrokenLink::HashMismatch {
                stored: link.hash,
                computed,
            });
        }
        self.last = link.hash;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_verifies_and_any_flipped_byte_breaks_it() {
        let bodies: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 10]).collect();
        let mut prev = Hash::GENESIS;
        let mut links = Vec::new();
        for b in &bodies {
            let h = commit_hash(&prev, b);
            links.push((prev, b.clone(), h));
            prev = h;
        }
        let mut v = ChainVerifier::default();
        for (p, b, h) in &links {
            v.check(Link {
                prev_hash: *p,
                body: b,
                hash: *h,
            })
            .expect("valid chain");
        }
        assert_eq!(v.head(), prev);

        for (i, _) in links.iter().enumerate() {
            let mut tampered = links.clone();
            tampered[i].1[3] ^= 0x01;
            let mut v = ChainVerifier::default();
            let broken = tampered.iter().position(|(p, b, h)| {
                v.check(Link {
                    prev_hash: *p,
                    body: b,
                    hash: *h,
                })
                .is_err()
            });
            assert_eq!(broken, Some(i));
        }
    }
}
