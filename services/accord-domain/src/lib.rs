//! The pure domain of accord: the event catalogue, the partnership aggregate (`decide`,
//! `evolve`), retractions and corrections, and the hash chain.
//!
//! **Architecture invariant:** this crate does no IO, reads no clock, draws no random numbers
//! and knows nothing of NATS, sled or tokio. Ids and times come in with the command.

pub mod aggregate;
#[cfg(any(test, feature = "arbitrary"))]
pub mod arbitrary;
pub mod chain;
pub mod check;
pub mod commit;
pub mod error;
pub mod event;
pub mod history;
pub mod ids;
pub mod jcs;
pub mod models;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod personal;
mod rules;
pub mod settings;
pub mod signing;
pub mod signing_rules;
pub mod upcast;
pub mod values;

#[cfg(test)]
mod decide_tests;
#[cfg(test)]
mod robustness_tests;

pub use aggregate::{Command, Overview, Partnership, decide, evolve};
pub use chain::{BrokenLink, ChainVerifier, Hash, Link, commit_hash};
pub use commit::Commit;
pub use error::{DomainError, FieldError};
pub use event::{Actor, Event, EventInput, EventType, Payload, SCHEMA_VERSION};
pub use history::effective_events;
pub use ids::{CommitId, EventId, InvalidSlug, ItemId, OrgId, PartnershipId};
pub use settings::Settings;
pub use values::{Amount, Currency, Period};
