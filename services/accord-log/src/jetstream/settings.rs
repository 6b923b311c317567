//! The event stream's settings, how the ledger checks an existing stream against them, and how
//! it reaches the server (one, or a cluster, with TLS when asked).

use std::time::Duration;

use async_nats::jetstream::{
    self,
    context::GetStreamErrorKind,
    stream::{self, DiscardPolicy, StorageType},
};

use super::batcher::Batching;
use super::{STREAM, SUBJECT_PREFIX};
use crate::LogError;

/// Settings of the event stream that differ between deployments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSettings {
    /// 1 on a single server, 3 in a cluster.
    pub replicas: usize,
    /// How long the server remembers a `Nats-Msg-Id` to drop a repeated publish.
    pub duplicate_window: Duration,
    /// How concurrent commits are grouped into atomic batches.
    pub batching: Batching,
    /// Let an existing stream made without `allow_atomic` take atomic batches (an update of its
    /// configuration). Without it such a stream gets one message per commit.
    pub enable_atomic: bool,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            replicas: 1,
            duplicate_window: Duration::from_secs(2 * 60),
            batching: Batching::default(),
            enable_atomic: false,
        }
    }
}

impl StreamSettings {
    /// The full stream configuration the ledger relies on.
    pub fn config(&self) -> stream::Config {
        stream::Config {
            name: STREAM.into(),
            subjects: vec![format!("{SUBJECT_PREFIX}*")],
            storage: StorageType::File,
            discard: DiscardPolicy::New,
            deny_delete: true,
            deny_purge: true,
            allow_rollup: false,
            max_age: Duration::ZERO,
            max_bytes: -1,
            max_messages: -1,
            max_messages_per_subject: -1,
            num_replicas: self.replicas,
            duplicate_window: self.duplicate_window,
            // A server before 2.12 ignores it (and never shows it back).
            allow_atomic_publish: true,
            ..Default::default()
        }
    }
}

/// Connects to one server or to a cluster: `urls` is a comma-separated list, credentials may be
/// in each URL (`nats://user:password@host:4222`). The client fails over between them. With
/// `ca` (a PEM file of the servers' certificate authority) TLS is required and only that CA is
/// trusted beside the system's roots; `tls://` URLs require TLS too.
pub async fn connect(
    urls: &str,
    ca: Option<&std::path::Path>,
) -> Result<async_nats::Client, LogError> {
    let addrs = urls
        .split(',')
        .map(|u| u.trim().parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| LogError::Misconfigured(format!("bad NATS URL: {e}")))?;
    // The client does not read credentials from the URLs; hand them over explicitly.
    let mut options = async_nats::ConnectOptions::new();
    if let Some((user, password)) = addrs.iter().find_map(|a| a.username().zip(a.password())) {
        options = options.user_and_password(user.to_owned(), password.to_owned());
    }
    if let Some(ca) = ca {
        options = options
            .add_root_certificates(ca.to_owned())
            .require_tls(true);
    }
    options
        .connect(addrs)
        .await
        .map_err(|e| LogError::Unavailable(format!("cannot connect to NATS: {e}")))
}

pub(super) fn is_stream_not_found(e: &jetstream::context::GetStreamError) -> bool {
    matches!(e.kind(), GetStreamErrorKind::JetStream(j)
        if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND)
}

/// Says which settings of an existing stream differ from what the ledger relies on.
pub(super) fn check_config(want: &stream::Config, have: &stream::Config) -> Result<(), LogError> {
    let mut diffs = Vec::new();
    let mut diff = |name: &str, want: String, have: String| {
        if want != have {
            diffs.push(format!("{name} is {have}, expected {want}"));
        }
    };
    diff(
        "subjects",
        format!("{:?}", want.subjects),
        format!("{:?}", have.subjects),
    );
    diff(
        "storage",
        format!("{:?}", want.storage),
        format!("{:?}", have.storage),
    );
    diff(
        "discard",
        format!("{:?}", want.discard),
        format!("{:?}", have.discard),
    );
    diff(
        "deny_delete",
        want.deny_delete.to_string(),
        have.deny_delete.to_string(),
    );
    diff(
        "deny_purge",
        want.deny_purge.to_string(),
        have.deny_purge.to_string(),
    );
    diff(
        "allow_rollup",
        want.allow_rollup.to_string(),
        have.allow_rollup.to_string(),
    );
    diff(
        "max_age",
        format!("{:?}", want.max_age),
        format!("{:?}", have.max_age),
    );
    diff(
        "max_bytes",
        want.max_bytes.to_string(),
        have.max_bytes.to_string(),
    );
    diff(
        "max_msgs",
        want.max_messages.to_string(),
        have.max_messages.to_string(),
    );
    diff(
        "max_msgs_per_subject",
        want.max_messages_per_subject.to_string(),
        have.max_messages_per_subject.to_string(),
    );
    diff(
        "num_replicas",
        want.num_replicas.to_string(),
        have.num_replicas.to_string(),
    );
    diff(
        "duplicate_window",
        format!("{:?}", want.duplicate_window),
        format!("{:?}", have.duplicate_window),
    );
    if diffs.is_empty() {
        Ok(())
    } else {
        Err(LogError::Misconfigured(format!(
            "stream {STREAM} exists with other settings: {}; fix or recreate the stream",
            diffs.join("; ")
        )))
    }
}
