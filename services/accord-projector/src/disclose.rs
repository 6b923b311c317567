//! Where the read side reads personal values from: the log's disclosure store, asked for the
//! digests of the events it folds (queries and the feed run on blocking threads, so a fetch may
//! wait there for the log; the demo's summaries wait in place of a worker).

use std::sync::Arc;

use accord_domain::personal::Digest;
use accord_log::{Disclosed, EventLog};

use crate::StoreError;

/// Gives the disclosures of digests (an erased one is absent).
pub trait Disclose: Send + Sync + std::fmt::Debug {
    fn disclose(&self, digests: &[Digest]) -> Result<Disclosed, StoreError>;
}

/// The disclosures of a log, fetched on the runtime that runs it.
#[derive(Debug, Clone)]
pub struct FromLog {
    log: Arc<dyn EventLog>,
    runtime: tokio::runtime::Handle,
}

impl FromLog {
    /// Reads from `log` on the current runtime (a multi-threaded one). Call it from the runtime;
    /// `disclose` waits for the answer, on a blocking thread or in place of a task's worker.
    pub fn new(log: Arc<dyn EventLog>) -> Self {
        Self {
            log,
            runtime: tokio::runtime::Handle::current(),
        }
    }
}

impl Disclose for FromLog {
    fn disclose(&self, digests: &[Digest]) -> Result<Disclosed, StoreError> {
        if digests.is_empty() {
            return Ok(Disclosed::new());
        }
        tokio::task::block_in_place(|| self.runtime.block_on(self.log.disclosures(digests)))
            .map_err(StoreError::Disclosures)
    }
}

/// No values at all: for reads that need none (an overview: parties, status, counts).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Undisclosed;

impl Disclose for Undisclosed {
    fn disclose(&self, _: &[Digest]) -> Result<Disclosed, StoreError> {
        Ok(Disclosed::new())
    }
}
