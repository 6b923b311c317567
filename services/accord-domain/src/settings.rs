//! Thresholds docs/domain.md marks *(setting)*: defaults a deployment may change in configuration.

use serde::{Deserialize, Serialize};
use time::Duration;

/// The write-side settings `decide` applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// How far in the future `occurred_at` may be, for clock skew between client and ledger.
    pub future_skew_seconds: i64,
    /// Longest `note`, in bytes.
    pub max_note_bytes: usize,
    /// Most events in one commit.
    pub max_events_per_commit: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            future_skew_seconds: 5 * 60,
            max_note_bytes: 4 * 1024,
            max_events_per_commit: 100,
        }
    }
}

impl Settings {
    pub fn future_skew(&self) -> Duration {
        Duration::seconds(self.future_skew_seconds)
    }
}
