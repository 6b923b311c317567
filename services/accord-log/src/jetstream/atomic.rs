//! Atomic batch publish (ADR-50, nats-server 2.12 and later, on a stream with `allow_atomic`):
//! the messages of a batch are stored together, at consecutive stream sequences, or none is.
//! Each message keeps its own headers, `Nats-Msg-Id` and `Nats-Expected-Last-Subject-Sequence`
//! included: any of them failing fails the whole batch.
//!
//! The NATS team's crate for this, `jetstream-extra`, is built on async-nats 0.48 (0.3.0
//! requires `^0.48`), and this workspace is on 0.51, whose client it cannot take. The protocol is
//! three headers, so it is written here: every message carries `Nats-Batch-Id` and
//! `Nats-Batch-Sequence` (1, 2, ...); the last one also carries `Nats-Batch-Commit: 1` and goes
//! as a request, whose answer acknowledges the whole batch or says why none of it was stored.
//! The messages before it go without a reply: the server reports their failure in that answer.
//!
//! Never send a batch to a stream whose configuration does not show `allow_atomic`: a server
//! before 2.12 ignores the headers and would store each message on its own.

use std::time::Duration;

use accord_domain::ids::Uuid;
use async_nats::jetstream::{self, response::Response};
use async_nats::{HeaderMap, HeaderValue, Request, header};
use bytes::Bytes;
use serde::Deserialize;

/// The most messages the server takes in one batch.
pub const MAX_MESSAGES: usize = 1000;
/// How long a batch's answer may take (as long as a single publish's, async-nats' default).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// One message of a batch.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub subject: String,
    pub headers: HeaderMap,
    pub payload: Bytes,
}

/// Where a batch was stored: its messages, in order, at `first..=last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub first: u64,
    pub last: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum AtomicError {
    /// The server answered: none of the batch was stored.
    #[error("the server stored none of the batch: {0}")]
    Refused(#[source] jetstream::Error),
    /// No answer, or one that does not match the batch: it may or may not have been stored.
    #[error("the outcome of the batch is unknown: {0}")]
    Unknown(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AtomicError {
    /// The server's error code, when it refused the batch.
    pub fn code(&self) -> Option<jetstream::ErrorCode> {
        match self {
            Self::Refused(e) => Some(e.error_code()),
            Self::Unknown(_) => None,
        }
    }
}

/// The commit's answer (only the fields checked).
#[derive(Debug, Deserialize)]
struct BatchAck {
    #[serde(rename = "seq")]
    last: u64,
    #[serde(rename = "batch")]
    batch_id: String,
    #[serde(rename = "count")]
    count: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Mismatch(String);

/// Publishes `messages` (1 to [`MAX_MESSAGES`]) as one atomic batch and waits for the server's
/// answer.
pub async fn publish(
    client: &async_nats::Client,
    messages: Vec<Outbound>,
) -> Result<Stored, AtomicError> {
    let count = messages.len();
    assert!(
        (1..=MAX_MESSAGES).contains(&count),
        "a batch holds 1 to {MAX_MESSAGES} messages, not {count}"
    );
    let batch_id = Uuid::new_v4().simple().to_string();
    let id = HeaderValue::from(batch_id.as_str());
    let unknown = |e: Box<dyn std::error::Error + Send + Sync>| AtomicError::Unknown(e);
    let mut answer = None;
    for (i, mut m) in messages.into_iter().enumerate() {
        m.headers.insert(header::NATS_BATCH_ID, id.clone());
        m.headers
            .insert(header::NATS_BATCH_SEQUENCE, (i + 1).to_string().as_str());
        if i + 1 < count {
            client
                .publish_with_headers(m.subject, m.headers, m.payload)
                .await
                .map_err(|e| unknown(e.into()))?;
        } else {
            m.headers.insert(header::NATS_BATCH_COMMIT, "1");
            let request = Request::new()
                .headers(m.headers)
                .payload(m.payload)
                .timeout(Some(ANSWER_TIMEOUT));
            answer = Some(
                client
                    .send_request(m.subject, request)
                    .await
                    .map_err(|e| unknown(e.into()))?,
            );
        }
    }
    let answer = answer.expect("a batch has a last message");
    match serde_json::from_slice::<Response<BatchAck>>(&answer.payload) {
        Ok(Response::Err { error }) => Err(AtomicError::Refused(error)),
        Ok(Response::Ok(ack))
            if ack.batch_id == batch_id && ack.count == count as u64 && ack.last >= ack.count =>
        {
            Ok(Stored {
                first: ack.last + 1 - ack.count,
                last: ack.last,
            })
        }
        Ok(Response::Ok(ack)) => Err(unknown(Box::new(Mismatch(format!(
            "the server acknowledged batch {} of {} messages ending at {}, not {batch_id} of {count}",
            ack.batch_id, ack.count, ack.last
        ))))),
        Err(e) => Err(unknown(e.into())),
    }
}

/// Whether a stream takes atomic batches, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    Yes,
    /// The server predates atomic batch publish (2.12).
    OldServer(String),
    /// The stream was made without `allow_atomic`, and the ledger was not told to change it.
    NotAllowed,
}

impl Support {
    /// Whether batches may go to `stream`; if not, says once in the log why `who` publishes
    /// each message alone.
    pub fn usable(&self, stream: &str, who: &str) -> bool {
        match self {
            Support::Yes => true,
            Support::OldServer(version) => {
                tracing::warn!(%version, "nats-server predates atomic batch publish (2.12): {who} publishes each message alone");
                false
            }
            Support::NotAllowed => {
                tracing::warn!(
                    "stream {stream} was made without allow_atomic: {who} publishes each message alone; start with --enable-atomic to update it"
                );
                false
            }
        }
    }
}

/// Whether `stream` takes atomic batches. A stream without `allow_atomic` on a server that has
/// the feature gets it only when `update` is set: an existing stream is never changed silently.
pub async fn support(
    js: &jetstream::Context,
    stream: &mut jetstream::stream::Stream,
    update: bool,
) -> Result<Support, jetstream::context::UpdateStreamError> {
    if stream.cached_info().config.allow_atomic_publish {
        return Ok(Support::Yes);
    }
    let version = js.client().server_info().version;
    if !has_atomic_publish(&version) {
        return Ok(Support::OldServer(version));
    }
    if !update {
        return Ok(Support::NotAllowed);
    }
    let config = jetstream::stream::Config {
        allow_atomic_publish: true,
        ..stream.cached_info().config.clone()
    };
    js.update_stream(&config).await?;
    Ok(Support::Yes)
}

/// Whether a nats-server of this version (`2.15.1`, `2.12.0-RC.1`) has atomic batch publish.
fn has_atomic_publish(version: &str) -> bool {
    let mut parts = version.split(['.', '-']).map(str::parse::<u64>);
    match (parts.next(), parts.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) >= (2, 12),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::has_atomic_publish;

    #[test]
    fn atomic_publish_came_with_2_12() {
        assert!(has_atomic_publish("2.12.0"));
        assert!(has_atomic_publish("2.15.1"));
        assert!(has_atomic_publish("2.12.0-RC.1"));
        assert!(has_atomic_publish("3.0.0"));
        assert!(!has_atomic_publish("2.11.9"));
        assert!(!has_atomic_publish("2.9.10"));
        assert!(!has_atomic_publish(""));
        assert!(!has_atomic_publish("v2.15.1"));
    }
}
