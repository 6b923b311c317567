//! The read side: the projector follows the log from its checkpoint, verifies each commit's hash
//! link, and writes each partnership's verified facts with the checkpoint in one atomic sled
//! batch; queries evaluate the read models of `accord_domain::models` over those facts at the
//! axes they ask for, and the read models at a partnership's head are kept between reads
//! (`heads`).
//!
//! **Architecture invariants:**
//! - Only commits whose link verifies are folded in; a broken link stops that partnership's
//!   projection, never the others'.
//! - The checkpoint moves in the same atomic batch as the facts it covers, so a crash anywhere
//!   replays at most the batches not yet on disk, and applying a commit again changes nothing.
//! - Read models are disposable: a rebuild makes them again from position 0.
//! - What depends on time is evaluated at query time: the store holds facts, not conclusions; the
//!   kept read models are fold state in memory, caught up from the facts when read.

mod bulk;
mod codec;
pub mod disclose;
pub mod feed;
pub mod heads;
pub mod projections;
pub mod run;
pub mod store;

pub use disclose::{Disclose, FromLog};
pub use feed::{Feed, FeedError, FeedSettings};
pub use heads::{Head, KeptSettings};
pub use projections::{NextGeneration, Projections, QueryError, guarded};
pub use run::{Projector, ProjectorError, Report, Status};
pub use store::{Applied, BreakFound, Broken, Facts, Meta, Store, StoreError};

#[cfg(test)]
mod tests;
