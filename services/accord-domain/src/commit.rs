//! A commit: the unit of append, 1..N events of one partnership recorded atomically.

use time::OffsetDateTime;

use crate::chain::Hash;
use crate::event::Event;
use crate::ids::{CommitId, PartnershipId};
use crate::signing::Signed;

/// The content of a commit; its hash is computed over its canonical encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Commit {
    pub commit_id: CommitId,
    pub partnership_id: PartnershipId,
    pub prev_hash: Hash,
    pub recorded_at: OffsetDateTime,
    pub events: Vec<Event>,
    /// The acting org's signature, when it signs its acts in the partnership.
    pub signed: Option<Signed>,
}
