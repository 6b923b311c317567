//! The analytics feed: after each batch, every read model of every partnership the batch
//! changed, as a protobuf message (`accord/v1/analytics.proto`) on the JetStream stream
//! `ACCORD_ANALYTICS`, subject `accord.analytics.<model>.<partnership_id>`.
//!
//! Each update is the read model at the partnership's head: as of its last commit's
//! `recorded_at`, at the latest business time of its events (so it is a function of the log
//! alone), answered from the state the projector keeps there (`heads`). It is published once per
//! position:
//! - the message id `<model>.<partnership_id>.<position>` makes the server drop a repeat within
//!   its duplicate window;
//! - the feed keeps, beside the projections, the checkpoint up to which every change is
//!   published (`analytics.published`); a restart publishes only what changed after it;
//! - what changed after it may have been published before a crash: those partnerships are
//!   checked against the last message of each subject, whose `Accord-Position` says where it
//!   stands, so even a repeat after the duplicate window is not published again.
//!
//! A rebuild does not publish again: the positions it folds are at or before the mark. The
//! stream keeps the latest `keep_per_subject` updates of each subject, so a consumer starting
//! with the policy "last per subject" gets the current state of every partnership, then the
//! updates as they come.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use accord_domain::PartnershipId;
use accord_domain::models::{Lists, Model, ModelSettings};
use accord_domain::values::rfc3339;
use accord_log::Position;
use accord_log::jetstream::HEADER_SCHEMA;
use accord_log::jetstream::atomic::{self, Outbound};
use accord_proto::analytics::LIST_LIMIT;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, message::PublishMessage, stream};
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::heads::Head;
use crate::projections::{Projections, QueryError, read_number, write_atomically};
use crate::run::{Projector, Status};
use crate::store::StoreError;

/// The stream the feed publishes to.
pub const STREAM: &str = "ACCORD_ANALYTICS";
/// Subjects are `accord.analytics.<model>.<partnership_id>`.
pub const SUBJECT_PREFIX: &str = "accord.analytics.";
/// The log position of the partnership's last commit the update reflects.
pub const HEADER_POSITION: &str = "Accord-Position";
/// The instant the read model was evaluated at (RFC 3339): that commit's `recorded_at`.
pub const HEADER_AS_OF: &str = "Accord-As-Of";
pub const HEADER_PARTNERSHIP: &str = "Accord-Partnership";
pub const HEADER_MODEL: &str = "Accord-Model";

/// Where the feed keeps its mark, beside the generations.
const MARK_FILE: &str = "analytics.published";
/// Partnerships evaluated in one blocking task.
const EVALUATE_CHUNK: usize = 256;
/// Updates in one atomic batch. The server takes up to 1000, but it stages a batch before
/// storing it, and batches of 1000 updates made `accord up` slower than batches of about 60.
const FEED_BATCH: usize = 100;
/// Longest wait before trying again after NATS failed.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("analytics stream {STREAM}: {0}")]
    Stream(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The feed's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedSettings {
    /// Updates kept per subject (per model and partnership); at least 1.
    pub keep_per_subject: i64,
    /// Stream replicas (1 on one server, 3 in a cluster).
    pub replicas: usize,
    /// Publish each round's updates in atomic batches, where the server and stream allow it.
    pub batched: bool,
    /// Let an existing stream made without `allow_atomic` take atomic batches (an update of its
    /// configuration).
    pub enable_atomic: bool,
}

impl Default for FeedSettings {
    fn default() -> Self {
        Self {
            keep_per_subject: 10,
            replicas: 1,
            batched: true,
            enable_atomic: false,
        }
    }
}

impl FeedSettings {
    pub fn config(&self) -> stream::Config {
        stream::Config {
            name: STREAM.into(),
            subjects: vec![format!("{SUBJECT_PREFIX}>")],
            storage: stream::StorageType::File,
            discard: stream::DiscardPolicy::Old,
            max_messages_per_subject: self.keep_per_subject,
            num_replicas: self.replicas,
            duplicate_window: Duration::from_secs(2 * 60),
            // A server before 2.12 ignores it (and never shows it back).
            allow_atomic_publish: true,
            ..Default::default()
        }
    }
}

/// What the projector's writer hands to the feed: the partnerships changed by the batches
/// applied since the feed last looked, and the checkpoint they reach.
#[derive(Debug, Default)]
pub struct Changes {
    pending: Mutex<Pending>,
    notify: Notify,
}

#[derive(Debug, Default)]
struct Pending {
    touched: HashSet<PartnershipId>,
    /// Every change up to here is in `touched` (or was taken before).
    checkpoint: Position,
    /// The generation was replaced: look at every partnership again.
    rescan: bool,
}

impl Changes {
    /// A batch applied to the generation queries read, reaching `checkpoint`.
    pub(crate) fn applied(&self, touched: &[PartnershipId], checkpoint: Position) {
        let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        p.touched.extend(touched.iter().cloned());
        p.checkpoint = p.checkpoint.max(checkpoint);
        drop(p);
        self.notify.notify_one();
    }

    /// A rebuilt generation, at `checkpoint`, replaced the one queries read.
    pub(crate) fn swapped(&self, checkpoint: Position) {
        let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        p.rescan = true;
        p.checkpoint = p.checkpoint.max(checkpoint);
        drop(p);
        self.notify.notify_one();
    }

    fn take(&self) -> Pending {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Puts back what could not be published.
    fn restore(&self, mut back: Pending) {
        let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        back.touched.extend(p.touched.drain());
        p.touched = back.touched;
        p.checkpoint = p.checkpoint.max(back.checkpoint);
        p.rescan |= back.rescan;
    }
}

/// One update ready to publish.
struct Update {
    subject: String,
    /// `<model>.<partnership_id>.<position>`: the server drops a repeat.
    message_id: String,
    headers: HeaderMap,
    payload: Bytes,
    position: Position,
}

impl Update {
    /// The update as a message of an atomic batch, its message id in its headers.
    fn outbound(&self) -> Outbound {
        let mut headers = self.headers.clone();
        headers.insert(
            async_nats::header::NATS_MESSAGE_ID,
            self.message_id.as_str(),
        );
        Outbound {
            subject: self.subject.clone(),
            headers,
            payload: self.payload.clone(),
        }
    }
}

/// Publishes the read models the projector changes.
#[derive(Debug)]
pub struct Feed {
    js: jetstream::Context,
    stream: stream::Stream,
    projections: Projections,
    settings: Arc<ModelSettings>,
    changes: Arc<Changes>,
    status: Arc<Status>,
    mark: PathBuf,
    /// Partnerships published at a position past the mark: the writer may still hand them over
    /// at that position, and they need no evaluation then. Emptied as the mark passes them.
    ahead: HashMap<PartnershipId, Position>,
    /// The largest message the server takes.
    max_payload: usize,
    /// Updates go in atomic batches: one write (one flush on a server that syncs every write)
    /// per batch instead of one per update.
    batched: bool,
}

impl Feed {
    /// Provisions `ACCORD_ANALYTICS` (creating it, or updating how many updates it keeps per
    /// subject to `settings`), reads the feed's mark, and takes the changes of `projector`,
    /// whose read models it publishes.
    pub async fn open(
        client: async_nats::Client,
        settings: &FeedSettings,
        projector: &mut Projector,
        models: Arc<ModelSettings>,
    ) -> Result<Self, FeedError> {
        if settings.keep_per_subject < 1 {
            return Err(FeedError::Stream(format!(
                "updates kept per subject must be at least 1, not {}",
                settings.keep_per_subject
            )));
        }
        let max_payload = client.server_info().max_payload;
        let js = jetstream::new(client);
        let want = settings.config();
        let mut stream = match js.get_stream(STREAM).await {
            Ok(mut s) => {
                let have = s.info().await.map_err(|e| stream_error(&e))?.config.clone();
                if have.max_messages_per_subject != want.max_messages_per_subject
                    || have.subjects != want.subjects
                {
                    tracing::info!(
                        keep_per_subject = settings.keep_per_subject,
                        "updating the analytics stream's settings"
                    );
                    let config = stream::Config {
                        max_messages_per_subject: want.max_messages_per_subject,
                        subjects: want.subjects.clone(),
                        ..have
                    };
                    js.update_stream(config)
                        .await
                        .map_err(|e| stream_error(&e))?;
                }
                s
            }
            Err(_) => js
                .get_or_create_stream(want)
                .await
                .map_err(|e| stream_error(&e))?,
        };
        let batched = settings.batched
            && atomic::support(&js, &mut stream, settings.enable_atomic)
                .await
                .map_err(|e| stream_error(&e))?
                .usable(STREAM, "the analytics feed");
        let projections = projector.projections().clone();
        let mark = projections.dir().join(MARK_FILE);
        let status = projector.status();
        status.set_published(read_number(&mark, "a position")?.unwrap_or(0));
        Ok(Self {
            js,
            stream,
            projections,
            settings: models,
            changes: projector.changes(),
            status,
            mark,
            ahead: HashMap::new(),
            max_payload,
            batched,
        })
    }

    /// Publishes until `shutdown`: first what changed since the mark, then each batch.
    pub async fn run(mut self, shutdown: CancellationToken) -> Result<(), FeedError> {
        let mut pending = Pending {
            rescan: true,
            ..Pending::default()
        };
        let mut backoff = Duration::from_millis(100);
        loop {
            if pending.rescan || !pending.touched.is_empty() {
                match self.publish(&pending).await {
                    Ok(()) => backoff = Duration::from_millis(100),
                    Err(e) => {
                        tracing::warn!(error = %e, "analytics feed: publishing failed; retrying");
                        self.changes.restore(pending);
                        tokio::select! {
                            () = shutdown.cancelled() => return Ok(()),
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                        pending = self.changes.take();
                        continue;
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = self.changes.notify.notified() => {}
            }
            pending = self.changes.take();
        }
    }

    /// Publishes the updates of `pending` and moves the mark to its checkpoint.
    async fn publish(&mut self, pending: &Pending) -> Result<(), FeedError> {
        let mark = self.status.report().analytics_published.unwrap_or(0);
        let store = self.projections.store();
        let (ids, checkpoint, check_last) = if pending.rescan {
            // Everything after the mark; some of it may have gone out before a crash.
            let checkpoint = store.checkpoint()?.max(pending.checkpoint);
            let mut ids = Vec::new();
            // No partnership's revision is past the checkpoint: with the mark there (a clean
            // restart), there is nothing to look at.
            if checkpoint > mark {
                for p in store.partnerships()? {
                    if store.meta(&p)?.is_some_and(|m| m.revision > mark) {
                        ids.push(p);
                    }
                }
            }
            (ids, checkpoint, true)
        } else {
            let ids = pending.touched.iter().cloned().collect::<Vec<_>>();
            (ids, pending.checkpoint, false)
        };
        for chunk in ids.chunks(EVALUATE_CHUNK) {
            let projections = self.projections.clone();
            let settings = self.settings.clone();
            let chunk: Vec<(PartnershipId, Position)> = chunk
                .iter()
                .map(|p| (p.clone(), self.ahead.get(p).copied().unwrap_or(0)))
                .collect();
            let evaluated =
                tokio::task::spawn_blocking(move || updates(&projections, &settings, &chunk))
                    .await
                    .map_err(|e| FeedError::Stream(e.to_string()))??;
            let positions: Vec<(PartnershipId, Position)> = evaluated
                .iter()
                .map(|e| (e.partnership.clone(), e.position))
                .collect();
            self.send(evaluated.into_iter().flat_map(|e| e.updates), check_last)
                .await?;
            self.ahead
                .extend(positions.into_iter().filter(|(_, p)| *p > checkpoint));
        }
        if checkpoint > mark {
            write_mark(&self.mark, checkpoint)?;
            self.status.set_published(checkpoint);
        }
        self.ahead.retain(|_, p| *p > checkpoint);
        Ok(())
    }

    /// Publishes `updates`, awaiting every acknowledgement; with `check_last`, skips those whose
    /// subject already holds this position or a later one.
    async fn send(
        &mut self,
        updates: impl IntoIterator<Item = Update>,
        check_last: bool,
    ) -> Result<(), FeedError> {
        let mut ready = Vec::new();
        for u in updates {
            if check_last && self.last_position(&u.subject).await? >= Some(u.position) {
                continue;
            }
            // The lists that grow with a history are capped (see `accord_proto::analytics`), so
            // this takes a server with a tiny `max_payload`; the update is left out rather than
            // stopping the feed.
            if u.payload.len() > self.max_payload {
                tracing::error!(subject = %u.subject, bytes = u.payload.len(), max_payload = self.max_payload, "analytics update larger than the server takes; left out");
                metrics::counter!("accord_analytics_oversized_total").increment(1);
                continue;
            }
            ready.push(u);
        }
        if !self.batched {
            return self.send_each(ready).await;
        }
        let mut ready = ready.into_iter().peekable();
        while ready.peek().is_some() {
            let batch: Vec<Update> = ready.by_ref().take(FEED_BATCH).collect();
            let messages = batch.iter().map(Update::outbound).collect();
            match atomic::publish(&self.js.client(), messages).await {
                Ok(_) => {
                    metrics::counter!("accord_analytics_published_total")
                        .increment(batch.len() as u64);
                }
                Err(e) => {
                    // A repeat of an update sent before a crash fails the whole batch (10201),
                    // as does anything else; sent one by one, each repeat is dropped alone.
                    if e.code() == Some(jetstream::ErrorCode::ATOMIC_PUBLISH_DISABLED) {
                        tracing::warn!(error = %e, "analytics stream refuses atomic batches: publishing each update alone from now on");
                        self.batched = false;
                    }
                    tracing::debug!(error = %e, updates = batch.len(), "analytics batch not stored; publishing its updates one by one");
                    self.send_each(batch).await?;
                }
            }
        }
        Ok(())
    }

    /// Publishes each of `updates` on its own, all at once, awaiting every acknowledgement.
    async fn send_each(&self, updates: Vec<Update>) -> Result<(), FeedError> {
        let mut acks = FuturesUnordered::new();
        for u in updates {
            let publish = PublishMessage::build()
                .payload(u.payload)
                .headers(u.headers)
                .message_id(u.message_id);
            let ack = self
                .js
                .send_publish(u.subject, publish)
                .await
                .map_err(|e| stream_error(&e))?;
            acks.push(ack.into_future());
        }
        while let Some(ack) = acks.next().await {
            let ack = ack.map_err(|e| stream_error(&e))?;
            if ack.duplicate {
                metrics::counter!("accord_analytics_duplicates_total").increment(1);
            } else {
                metrics::counter!("accord_analytics_published_total").increment(1);
            }
        }
        Ok(())
    }

    /// The position of the last update on `subject`, if any.
    async fn last_position(&self, subject: &str) -> Result<Option<Position>, FeedError> {
        match self.stream.get_last_raw_message_by_subject(subject).await {
            Ok(m) => Ok(m
                .headers
                .get(HEADER_POSITION)
                .and_then(|v| v.as_str().parse().ok())),
            Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => Ok(None),
            Err(e) => Err(stream_error(&e)),
        }
    }
}

/// A partnership's updates, at its last commit.
struct Evaluated {
    partnership: PartnershipId,
    position: Position,
    updates: Vec<Update>,
}

/// The updates of each partnership of `ids` not yet published at its last commit (the second of
/// each pair is the position it was last published at, or 0): each read model as of that commit.
/// A partnership whose chain broke has none (its read models stop answering).
fn updates(
    projections: &Projections,
    settings: &ModelSettings,
    ids: &[(PartnershipId, Position)],
) -> Result<Vec<Evaluated>, FeedError> {
    let mut out = Vec::with_capacity(ids.len());
    for (p, published) in ids {
        match projections.head(p, settings, |head| {
            evaluate_head(p, head, *published, settings)
        }) {
            Ok(evaluated) => out.extend(evaluated.flatten()),
            Err(QueryError::Store(e)) => return Err(e.into()),
            // A fault in folding the partnership's new events (logged and counted where it
            // happened) leaves it out until its next commit.
            Err(_) => {}
        }
    }
    Ok(out)
}

/// The updates of a partnership's head, unless it was published at that position already: each
/// read model at the axes of its last commit.
fn evaluate_head(
    p: &PartnershipId,
    head: &Head,
    published: Position,
    settings: &ModelSettings,
) -> Option<Evaluated> {
    let position = head.position();
    if position <= published {
        return None;
    }
    // Every event in: one may occur a little after it was recorded (the clock skew allowed).
    let axes = head.axes()?;
    let at = rfc3339::format(axes.as_of);
    let mut updates = Vec::with_capacity(Model::ALL.len());
    // A broken chain has no answer, and a fault in one model's fold (logged and counted where it
    // happened) leaves that model out until the partnership's next commit. Only the end of each
    // list that grows is published, so it is all that is built.
    for (model, answer) in head.evaluate_all(p, axes, settings, Lists::Last(LIST_LIMIT)) {
        let (schema, payload) = accord_proto::analytics::encode(p, &answer);
        let mut headers = HeaderMap::new();
        headers.insert(HEADER_SCHEMA, schema);
        headers.insert(HEADER_POSITION, position.to_string());
        headers.insert(HEADER_AS_OF, at.as_str());
        headers.insert(HEADER_PARTNERSHIP, p.as_str());
        headers.insert(HEADER_MODEL, model.as_str());
        updates.push(Update {
            subject: format!("{SUBJECT_PREFIX}{}.{p}", model.as_str()),
            message_id: format!("{}.{p}.{position}", model.as_str()),
            headers,
            payload: payload.into(),
            position,
        });
    }
    Some(Evaluated {
        partnership: p.clone(),
        position,
        updates,
    })
}

fn stream_error(e: &dyn std::fmt::Display) -> FeedError {
    FeedError::Stream(e.to_string())
}

fn write_mark(path: &std::path::Path, checkpoint: Position) -> Result<(), StoreError> {
    write_atomically(path, &format!("{checkpoint}\n"))
}
