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

    /// `abc` then `def` after the genesis, hashed by another SHA-256 (Python's hashlib).
    const ABC: &str = "365aa7d8f7f9402c4b9434502b4cc89ddb09fe50d7cd95b493b834c62d5a5370";
    const DEF: &str = "532f0131db1635cb105c9753e41e7908599aa4dd144658c92e50b60113ad993a";

    fn hash(hex: &str) -> Hash {
        Hash::from_slice(&hex::decode(hex).expect("hex")).expect("32 bytes")
    }

    #[test]
    fn a_commit_hash_is_sha256_of_the_previous_hash_then_the_body() {
        assert_eq!(commit_hash(&Hash::GENESIS, b"abc").to_hex(), ABC);
        assert_eq!(commit_hash(&hash(ABC), b"def").to_hex(), DEF);
        assert_eq!(Hash::GENESIS, Hash([0; 32]));
        assert_eq!(Hash::default(), Hash::GENESIS);
    }

    #[test]
    fn hashes_are_64_hex_digits_every_way_they_are_written() {
        let h = hash(ABC);
        assert_eq!(h.to_hex(), ABC);
        assert_eq!(h.to_string(), ABC);
        assert_eq!(format!("{h:?}"), format!("Hash({ABC})"));
        let json = serde_json::to_string(&h).expect("serialize");
        assert_eq!(json, format!("\"{ABC}\""));
        assert_eq!(serde_json::from_str::<Hash>(&json).expect("read back"), h);
        // Uppercase digits name the same bytes.
        let upper = format!("\"{}\"", ABC.to_uppercase());
        assert_eq!(serde_json::from_str::<Hash>(&upper).expect("uppercase"), h);
        for bad in [&ABC[..63], &format!("{ABC}0"), &ABC.replace('3', "g"), ""] {
            let err = serde_json::from_str::<Hash>(&format!("\"{bad}\"")).expect_err("not a hash");
            assert!(
                err.to_string().contains("must be 64 hex digits"),
                "{bad}: {err}"
            );
        }
        assert!(
            serde_json::from_str::<Hash>("42").is_err(),
            "a number is no hash"
        );
        assert_eq!(Hash::from_slice(&[7; 32]), Some(Hash([7; 32])));
        assert_eq!(Hash::from_slice(&[7; 31]), None);
        assert_eq!(Hash::from_slice(&[7; 33]), None);
    }

    #[test]
    fn a_resumed_verifier_goes_on_from_the_hash_it_was_given() {
        let first = hash(ABC);
        let mut v = ChainVerifier::after(first);
        assert_eq!(v.head(), first);
        v.check(Link {
            prev_hash: first,
            body: b"def",
            hash: hash(DEF),
        })
        .expect("the next link");
        assert_eq!(v.head(), hash(DEF));
        // Resumed elsewhere, the same link does not follow.
        let mut elsewhere = ChainVerifier::after(Hash([9; 32]));
        let err = elsewhere
            .check(Link {
                prev_hash: first,
                body: b"def",
                hash: hash(DEF),
            })
            .expect_err("another chain");
        assert_eq!(
            err,
            BrokenLink::PrevHashMismatch {
                expected: Hash([9; 32]),
                found: first,
            }
        );
        assert_eq!(
            elsewhere.head(),
            Hash([9; 32]),
            "a broken link moves nothing"
        );
    }

    #[test]
    fn a_wrong_prev_hash_or_a_wrong_hash_is_named() {
        let mut v = ChainVerifier::default();
        let wrong_prev = v
            .check(Link {
                prev_hash: hash(DEF),
                body: b"abc",
                hash: hash(ABC),
            })
            .expect_err("the first commit names the genesis");
        assert_eq!(
            wrong_prev.to_string(),
            format!(
                "prev_hash {DEF} does not name the previous commit's hash {}",
                Hash::GENESIS
            )
        );
        let wrong_hash = v
            .check(Link {
                prev_hash: Hash::GENESIS,
                body: b"abc",
                hash: hash(DEF),
            })
            .expect_err("the stored hash is not the body's");
        assert_eq!(
            wrong_hash,
            BrokenLink::HashMismatch {
                stored: hash(DEF),
                computed: hash(ABC),
            }
        );
        assert_eq!(
            wrong_hash.to_string(),
            format!("stored hash {DEF} does not match the recomputed {ABC}")
        );
        assert_eq!(v.head(), Hash::GENESIS);
    }
}
