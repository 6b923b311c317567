//! The JetStream backend: stream `ACCORD_EVENTS`, subject `accord.events.<partnership_id>`, one
//! message per commit.
//!
//! - Concurrent commits to different partnerships travel in one atomic batch (`batcher`), on a
//!   server and stream that allow it (nats-server 2.12 and later, `allow_atomic`); otherwise each
//!   commit is published alone, and the log says so once.
//! - Optimistic concurrency is the server's: every publish carries
//!   `Nats-Expected-Last-Subject-Sequence` = the revision the commit links to.
//! - Idempotency: `Nats-Msg-Id` = the commit id. Servers differ when a publish is retried after
//!   it landed (2.9.10 answers with a duplicate ack, 2.15.1 checks the sequence first and answers
//!   10071), so on a conflict the backend looks at the commit that follows the expected
//!   revision: when it is the same commit id, the original answer is returned.
//! - Headers carry the partnership, the event types, the commit id and the schema, so that a
//!   consumer can filter without decoding.

pub mod atomic;
mod batcher;
mod disclosures;
mod load;
mod settings;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use accord_domain::personal::{Digest, Disclosure};
use accord_domain::{CommitId, PartnershipId};
use accord_proto::COMMIT_SCHEMA;
use async_nats::HeaderMap;
use async_nats::header::HeaderName;
use async_nats::jetstream::{
    self, consumer,
    context::PublishErrorKind,
    stream::{self, LastRawMessageErrorKind, RawMessageErrorKind},
};
use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

pub use batcher::Batching;
pub use settings::{StreamSettings, connect};

pub use disclosures::BUCKET as DISCLOSURE_BUCKET;

use self::atomic::Outbound;
use self::batcher::Batcher;
use self::disclosures::KvDisclosures;
use self::settings::{check_config, is_stream_not_found};
use crate::{
    AppendRequest, Appended, CommitStream, Disclosed, EventLog, Expected, Head, LogError, Position,
    StoredCommit, check_request, seal,
};

/// The stream every commit goes to.
pub const STREAM: &str = "ACCORD_EVENTS";
/// Subjects are `accord.events.<partnership_id>`.
pub const SUBJECT_PREFIX: &str = "accord.events.";

pub const HEADER_PARTNERSHIP: &str = "Accord-Partnership";
pub const HEADER_EVENT_TYPES: &str = "Accord-Event-Types";
pub const HEADER_COMMIT_ID: &str = "Accord-Commit-Id";
pub const HEADER_SCHEMA: &str = "Accord-Schema";

const MSG_ID: HeaderName = HeaderName::from_static("Nats-Msg-Id");
const EXPECTED_LAST_SUBJECT_SEQUENCE: HeaderName =
    HeaderName::from_static("Nats-Expected-Last-Subject-Sequence");
const PARTNERSHIP: HeaderName = HeaderName::from_static(HEADER_PARTNERSHIP);
const EVENT_TYPES: HeaderName = HeaderName::from_static(HEADER_EVENT_TYPES);
const COMMIT_ID: HeaderName = HeaderName::from_static(HEADER_COMMIT_ID);
const SCHEMA: HeaderName = HeaderName::from_static(HEADER_SCHEMA);

/// How long the server keeps the consumer of a partnership's read once its reader is gone.
const READER_IDLE: Duration = Duration::from_secs(10);

/// How often an `Expected::Any` append re-reads the head after another writer moved it.
const ANY_ATTEMPTS: usize = 8;

/// The JetStream-backed event log.
#[derive(Debug, Clone)]
pub struct JetStreamLog {
    js: jetstream::Context,
    stream: stream::Stream,
    disclosures: KvDisclosures,
    /// Present when commits travel in atomic batches.
    batcher: Option<Arc<Batcher>>,
}

impl JetStreamLog {
    /// Provisions `ACCORD_EVENTS` on a connected client: creates it, or checks that the existing
    /// stream is configured as the ledger needs and says which setting differs if not. Opens
    /// (or creates) the disclosure bucket beside it.
    pub async fn open(
        client: async_nats::Client,
        settings: &StreamSettings,
    ) -> Result<Self, LogError> {
        let js = jetstream::new(client);
        let want = settings.config();
        let mut stream = match js.get_stream(STREAM).await {
            Ok(s) => s,
            Err(e) if is_stream_not_found(&e) => match js.create_stream(want.clone()).await {
                Ok(s) => s,
                // Another process created it meanwhile: check what it made.
                Err(_) => js.get_stream(STREAM).await.map_err(|e| unavailable(&e))?,
            },
            Err(e) => return Err(unavailable(&e)),
        };
        check_config(&want, &stream.cached_info().config)?;
        let batcher = if settings.batching.max_commits < 2 {
            None
        } else {
            let support = atomic::support(&js, &mut stream, settings.enable_atomic)
                .await
                .map_err(|e| {
                    LogError::Misconfigured(format!(
                        "cannot let stream {STREAM} take atomic batches: {e}"
                    ))
                })?;
            support.usable(STREAM, "the ledger").then(|| {
                Arc::new(Batcher::start(
                    js.clone(),
                    stream.clone(),
                    settings.batching,
                ))
            })
        };
        metrics::gauge!("accord_log_atomic_batches").set(f64::from(u8::from(batcher.is_some())));
        let disclosures = KvDisclosures::open(&js, settings.replicas).await?;
        Ok(Self {
            js,
            stream,
            disclosures,
            batcher,
        })
    }

    /// Whether commits travel in atomic batches.
    pub fn batching(&self) -> bool {
        self.batcher.is_some()
    }

    /// How many commits were stored as part of a batch of two or more so far.
    pub fn batched_commits(&self) -> u64 {
        self.batcher.as_ref().map_or(0, |b| b.batched_commits())
    }

    /// Connects to `urls` (plain, or TLS for `tls://` URLs) and provisions the stream.
    pub async fn connect(urls: &str, settings: &StreamSettings) -> Result<Self, LogError> {
        Self::open(connect(urls, None).await?, settings).await
    }

    fn subject(p: &PartnershipId) -> String {
        format!("{SUBJECT_PREFIX}{p}")
    }

    /// The last commit of a partnership, if any.
    async fn last_message(
        &self,
        p: &PartnershipId,
    ) -> Result<Option<jetstream::message::StreamMessage>, LogError> {
        match self
            .stream
            .get_last_raw_message_by_subject(&Self::subject(p))
            .await
        {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(unavailable(&e)),
        }
    }

    /// The first commit of a partnership after `revision`, if any.
    async fn next_message(
        &self,
        p: &PartnershipId,
        revision: Position,
    ) -> Result<Option<jetstream::message::StreamMessage>, LogError> {
        let got = self
            .stream
            .raw_message_builder()
            .sequence(revision + 1)
            .next_by_subject(Self::subject(p))
            .send()
            .await;
        match got {
            Ok(m) => Ok(Some(m)),
            Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(unavailable(&e)),
        }
    }

    /// The original answer when the commit that follows `revision` is this very commit.
    async fn landed_after(
        &self,
        request: &AppendRequest,
        revision: Position,
    ) -> Result<Option<Appended>, LogError> {
        let Some(m) = self.next_message(&request.partnership_id, revision).await? else {
            return Ok(None);
        };
        if commit_id_of(&m.headers) != Some(request.commit_id) {
            return Ok(None);
        }
        let stored = to_stored(&request.partnership_id, m.sequence, m.payload);
        Appended::from_stored(&stored, true).map(Some)
    }

    async fn head_message(&self, p: &PartnershipId) -> Result<(Head, Option<CommitId>), LogError> {
        let Some(m) = self.last_message(p).await? else {
            return Ok((Head::EMPTY, None));
        };
        let stored = to_stored(p, m.sequence, m.payload);
        let (sealed, _) = stored.decode()?;
        Ok((
            Head {
                revision: m.sequence,
                hash: sealed.hash,
            },
            commit_id_of(&m.headers),
        ))
    }

    async fn publish(
        &self,
        request: &AppendRequest,
        head: Head,
    ) -> Result<Result<Appended, PublishErrorKind>, LogError> {
        let sealed = seal(request, head);
        let mut headers = commit_headers(
            &request.partnership_id,
            request.commit_id,
            request.events.iter().map(accord_domain::Event::event_type),
        );
        headers.insert(EXPECTED_LAST_SUBJECT_SEQUENCE, head.revision.to_string());
        let message = Outbound {
            subject: Self::subject(&request.partnership_id),
            headers,
            payload: sealed.encode().into(),
        };
        let acked = match &self.batcher {
            Some(batcher) => batcher.publish(message, head.revision).await?,
            None => publish_alone(&self.js, message).await?,
        };
        match acked {
            Acked::Stored {
                sequence,
                duplicate: true,
            } => {
                // The same commit id landed before: answer with what was stored then.
                let m = self
                    .stream
                    .get_raw_message(sequence)
                    .await
                    .map_err(|e| unavailable(&e))?;
                let stored = to_stored(&request.partnership_id, m.sequence, m.payload);
                let original = Appended::from_stored(&stored, true)?;
                if original.commit_id != request.commit_id {
                    return Err(LogError::Invalid(format!(
                        "commit id {} was already used for another commit",
                        request.commit_id
                    )));
                }
                Ok(Ok(original))
            }
            Acked::Stored { sequence, .. } => Ok(Ok(request.appended(sequence, sealed.hash))),
            Acked::WrongLastSequence => Ok(Err(PublishErrorKind::WrongLastSequence)),
        }
    }

    /// An ordered consumer over `filter` from `after + 1`.
    async fn ordered(
        &self,
        filter: String,
        after: Position,
        headers_only: bool,
    ) -> Result<BoxStream<'static, Result<Delivered, LogError>>, LogError> {
        let consumer = self
            .stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: filter,
                headers_only,
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: after + 1,
                },
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable(&e))?;
        let messages = consumer.messages().await.map_err(|e| unavailable(&e))?;
        Ok(messages
            .map(|m| delivered(&m.map_err(|e| unavailable(&e))?))
            .boxed())
    }
}

/// What the server said to one commit's publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acked {
    /// Stored at `sequence`, or stored there before when `duplicate`.
    Stored { sequence: Position, duplicate: bool },
    /// The partnership is not at the revision the commit links to.
    WrongLastSequence,
}

/// Publishes one message on its own and waits for its acknowledgement.
pub(crate) async fn publish_alone(
    js: &jetstream::Context,
    message: Outbound,
) -> Result<Acked, LogError> {
    let ack = js
        .publish_with_headers(message.subject, message.headers, message.payload)
        .await
        .map_err(|e| unavailable(&e))?
        .await;
    match ack {
        Ok(ack) => Ok(Acked::Stored {
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        }),
        Err(e) if is_wrong_last_sequence(&e) => Ok(Acked::WrongLastSequence),
        Err(e) => Err(unavailable(&e)),
    }
}

/// Whether the server said the subject is not at the expected sequence: 10071, or 10164 (its
/// words on a clustered stream, seen on 2.15.1 with R3), which async-nats does not name.
fn is_wrong_last_sequence(e: &jetstream::context::PublishError) -> bool {
    e.kind() == PublishErrorKind::WrongLastSequence
        || std::error::Error::source(e)
            .and_then(|s| s.downcast_ref::<jetstream::Error>())
            .is_some_and(|j| {
                j.error_code() == jetstream::ErrorCode::STREAM_WRONG_LAST_SEQUENCE_CONSTANT
            })
}

/// A commit from a consumer, and how many more the server holds for that consumer right now.
struct Delivered {
    commit: StoredCommit,
    pending: u64,
}

/// A commit as a consumer delivers it, with how many more it has pending.
fn delivered(m: &jetstream::Message) -> Result<Delivered, LogError> {
    let info = m.info().map_err(|e| unavailable(&*e))?;
    let (seq, pending) = (info.stream_sequence, info.pending);
    let p = m
        .subject
        .strip_prefix(SUBJECT_PREFIX)
        .and_then(|s| PartnershipId::parse(s).ok())
        .ok_or_else(|| LogError::Corrupt {
            position: seq,
            message: format!("subject {} names no partnership", m.subject),
        })?;
    Ok(Delivered {
        commit: to_stored(&p, seq, m.payload.clone()),
        pending,
    })
}

#[async_trait]
impl EventLog for JetStreamLog {
    async fn append(&self, request: AppendRequest) -> Result<Appended, LogError> {
        check_request(&request)?;
        // The values first: a commit is never stored without its disclosures.
        self.disclosures.put(&request.disclosures).await?;
        let p = &request.partnership_id;
        let mut head = match request.expected {
            Expected::Exact(h) => h,
            Expected::NoStream => Head::EMPTY,
            Expected::Any => {
                let (head, last_id) = self.head_message(p).await?;
                if last_id == Some(request.commit_id) {
                    return self
                        .landed_after(&request, 0)
                        .await?
                        .ok_or_else(|| LogError::Unavailable("head vanished".into()));
                }
                head
            }
        };
        for _ in 0..ANY_ATTEMPTS {
            match self.publish(&request, head).await? {
                Ok(appended) => return Ok(appended),
                Err(_wrong_last_sequence) => {
                    if let Some(original) = self.landed_after(&request, head.revision).await? {
                        return Ok(original);
                    }
                    let (actual, _) = self.head_message(p).await?;
                    if request.expected != Expected::Any {
                        return Err(LogError::Conflict {
                            partnership_id: p.clone(),
                            expected: head.revision,
                            actual: actual.revision,
                        });
                    }
                    head = actual;
                }
            }
        }
        let (actual, _) = self.head_message(p).await?;
        Err(LogError::Conflict {
            partnership_id: p.clone(),
            expected: head.revision,
            actual: actual.revision,
        })
    }

    async fn head(&self, partnership: &PartnershipId) -> Result<Head, LogError> {
        Ok(self.head_message(partnership).await?.0)
    }

    async fn read_partnership(
        &self,
        partnership: &PartnershipId,
        after: Position,
    ) -> Result<Vec<StoredCommit>, LogError> {
        let Some(last) = self.last_message(partnership).await? else {
            return Ok(Vec::new());
        };
        if last.sequence <= after {
            return Ok(Vec::new());
        }
        // A plain pull consumer, deleted once read: an ordered one would stay on the server for
        // its 30-second idle time, and a reader of many partnerships (an export, `verify`) would
        // pile up thousands of them.
        let consumer = self
            .stream
            .create_consumer(consumer::pull::Config {
                filter_subject: Self::subject(partnership),
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: after + 1,
                },
                ack_policy: consumer::AckPolicy::None,
                inactive_threshold: READER_IDLE,
                memory_storage: true,
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable(&e))?;
        let read = async {
            let messages = consumer
                .messages()
                .await
                .map_err(|e| unavailable(&e))?
                .map(|m| delivered(&m.map_err(|e| unavailable(&e))?))
                .boxed();
            up_to(messages, last.sequence).try_collect().await
        }
        .await;
        // Best effort: one that cannot be deleted now goes after READER_IDLE.
        let _ = self
            .stream
            .delete_consumer(&consumer.cached_info().name)
            .await;
        read
    }

    async fn read_all(&self, after: Position) -> Result<CommitStream, LogError> {
        let until = self.last_position().await?;
        if until <= after {
            return Ok(futures::stream::empty().boxed());
        }
        Ok(up_to(
            self.ordered(format!("{SUBJECT_PREFIX}*"), after, false)
                .await?,
            until,
        ))
    }

    async fn subscribe(&self, after: Position) -> Result<CommitStream, LogError> {
        Ok(self
            .ordered(format!("{SUBJECT_PREFIX}*"), after, false)
            .await?
            .map_ok(|d| d.commit)
            .boxed())
    }

    async fn last_position(&self) -> Result<Position, LogError> {
        let info = self.stream.get_info().await.map_err(|e| unavailable(&e))?;
        Ok(info.state.last_sequence)
    }

    async fn partnerships(&self) -> Result<Vec<PartnershipId>, LogError> {
        let info = self.stream.clone();
        let subjects = info
            .info_with_subjects(format!("{SUBJECT_PREFIX}*"))
            .await
            .map_err(|e| unavailable(&e))?;
        let mut ids: Vec<PartnershipId> = subjects
            .map_ok(|(subject, _count)| subject)
            .try_collect::<Vec<String>>()
            .await
            .map_err(|e| unavailable(&e))?
            .iter()
            .filter_map(|s| s.strip_prefix(SUBJECT_PREFIX))
            .filter_map(|s| PartnershipId::parse(s).ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    async fn load(&self, commits: CommitStream) -> Result<Position, LogError> {
        load::load(self, commits).await
    }

    async fn disclosures(&self, digests: &[Digest]) -> Result<Disclosed, LogError> {
        self.disclosures.get(digests).await
    }

    async fn erase(&self, digests: &BTreeSet<Digest>) -> Result<(), LogError> {
        self.disclosures.erase(digests).await
    }

    async fn all_disclosures(&self) -> Result<Vec<Disclosure>, LogError> {
        self.disclosures.all().await
    }

    async fn load_disclosures(&self, disclosures: &[Disclosure]) -> Result<(), LogError> {
        self.disclosures.put(disclosures).await
    }

    async fn missing_positions(&self) -> Result<Vec<Position>, LogError> {
        // The server's own counts do not show a message it dropped for a failed checksum (it
        // still counts it), so walk the headers of the whole stream for the gaps.
        let last = self.last_position().await?;
        if last == 0 {
            return Ok(Vec::new());
        }
        let mut missing = Vec::new();
        let mut expected = 1;
        let mut positions = up_to(
            self.ordered(format!("{SUBJECT_PREFIX}*"), 0, true).await?,
            last,
        );
        while let Some(c) = positions.next().await {
            let position = c?.position;
            missing.extend(expected..position);
            expected = position + 1;
        }
        Ok(missing)
    }
}

/// Ends a consumer's stream with the commit at `until`, with the last commit the server has
/// (when a commit at `until` cannot be read, it never comes) or with the first error: an
/// ordered consumer never ends by itself.
fn up_to(
    delivered: BoxStream<'static, Result<Delivered, LogError>>,
    until: Position,
) -> CommitStream {
    futures::stream::unfold(
        (delivered, false),
        move |(mut delivered, done)| async move {
            if done {
                return None;
            }
            let item = delivered.next().await?;
            let done = item
                .as_ref()
                .map_or(true, |d| d.commit.position >= until || d.pending == 0);
            Some((item.map(|d| d.commit), (delivered, done)))
        },
    )
    .boxed()
}

fn to_stored(p: &PartnershipId, position: Position, bytes: bytes::Bytes) -> StoredCommit {
    StoredCommit {
        position,
        partnership_id: p.clone(),
        bytes,
    }
}

/// The headers of a commit's message: its message id (the commit id, which the server's
/// duplicate window checks) and what a consumer can filter on without decoding it.
fn commit_headers(
    p: &PartnershipId,
    commit_id: CommitId,
    types: impl IntoIterator<Item = accord_domain::EventType>,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(MSG_ID, commit_id.to_string());
    headers.insert(PARTNERSHIP, p.as_str());
    headers.insert(EVENT_TYPES, event_types(types));
    headers.insert(COMMIT_ID, commit_id.to_string());
    headers.insert(SCHEMA, COMMIT_SCHEMA);
    headers
}

/// The distinct event types of a commit, comma-separated, in first-seen order.
fn event_types(types: impl IntoIterator<Item = accord_domain::EventType>) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for t in types {
        if !seen.contains(&t.as_str()) {
            seen.push(t.as_str());
        }
    }
    seen.join(",")
}

fn commit_id_of(headers: &HeaderMap) -> Option<CommitId> {
    headers.get(HEADER_COMMIT_ID)?.as_str().parse().ok()
}

fn unavailable(e: &dyn std::fmt::Display) -> LogError {
    LogError::Unavailable(e.to_string())
}

#[cfg(test)]
mod tests {
    use async_nats::jetstream::{self, context::PublishError};

    use super::{PublishErrorKind, is_wrong_last_sequence};

    fn server_error(code: u32) -> jetstream::Error {
        serde_json::from_str(&format!(
            r#"{{"code": 400, "err_code": {code}, "description": "wrong last sequence"}}"#
        ))
        .expect("a JetStream error")
    }

    #[test]
    fn both_words_for_a_wrong_last_sequence_are_a_conflict() {
        let named =
            PublishError::with_source(PublishErrorKind::WrongLastSequence, server_error(10071));
        let clustered = PublishError::with_source(PublishErrorKind::Other, server_error(10164));
        let other = PublishError::with_source(PublishErrorKind::Other, server_error(10060));
        assert!(is_wrong_last_sequence(&named));
        assert!(is_wrong_last_sequence(&clustered));
        assert!(!is_wrong_last_sequence(&other));
        assert!(!is_wrong_last_sequence(&PublishError::new(
            PublishErrorKind::TimedOut
        )));
    }
}
