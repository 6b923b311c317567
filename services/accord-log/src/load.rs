//! Checking a copy of a log (a backup) commit by commit: what both backends check before they
//! load a commit's bytes unchanged into an empty log, and what `accord backup` checks of the
//! copy it takes.

use std::collections::HashMap;

use accord_domain::{ChainVerifier, Hash, Link, PartnershipId};
use accord_proto::{ReadCommit, SealedCommit};

use crate::{Head, LogError, Position, StoredCommit};

/// Checks a copied log commit by commit: positions follow one another from 1, each commit
/// decodes, names the partnership it is filed under, and links to that partnership's last
/// commit with a hash that holds. A log loads only what passes, so a restored log seals the
/// same chains as the one it copies.
#[derive(Debug, Default)]
pub struct Loading {
    last: Position,
    chains: HashMap<PartnershipId, (ChainVerifier, Position)>,
}

/// A commit that passed, decoded.
#[derive(Debug)]
pub struct Checked {
    pub commit: ReadCommit,
    pub hash: Hash,
}

impl Loading {
    /// Starts on a log whose last position is `last`, which must be 0: a copy is loaded into
    /// an empty log only, so that every position and every chain is the copy's own.
    pub fn start(last: Position) -> Result<Self, LogError> {
        if last != 0 {
            return Err(LogError::Invalid(format!(
                "a copy loads into an empty log only; this one holds commits up to position {last}"
            )));
        }
        Ok(Self::default())
    }

    /// The last position checked (0 before the first).
    pub fn last(&self) -> Position {
        self.last
    }

    /// The head of every partnership checked so far.
    pub fn heads(&self) -> impl Iterator<Item = (&PartnershipId, Head)> {
        self.chains.iter().map(|(p, (chain, revision))| {
            (
                p,
                Head {
                    revision: *revision,
                    hash: chain.head(),
                },
            )
        })
    }

    /// Checks the next commit of the copy.
    pub fn check(&mut self, stored: &StoredCommit) -> Result<Checked, LogError> {
        if stored.position != self.last + 1 {
            return Err(LogError::Invalid(format!(
                "the copy goes from position {} to {}: a log's positions follow one another",
                self.last, stored.position
            )));
        }
        let (sealed, commit) = stored.decode()?;
        let corrupt = |message: String| LogError::Corrupt {
            position: stored.position,
            message,
        };
        if commit.partnership_id != stored.partnership_id {
            return Err(corrupt(format!(
                "filed under partnership {}, the commit names {}",
                stored.partnership_id, commit.partnership_id
            )));
        }
        let SealedCommit { body, hash } = sealed;
        let (chain, revision) = self
            .chains
            .entry(commit.partnership_id.clone())
            .or_default();
        chain
            .check(Link {
                prev_hash: commit.prev_hash,
                body: &body,
                hash,
            })
            .map_err(|e| corrupt(e.to_string()))?;
        *revision = stored.position;
        self.last = stored.position;
        Ok(Checked { commit, hash })
    }
}
