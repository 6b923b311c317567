//! Following the ledger over HTTP, without NATS: `GET /v1/events/stream` (every partnership the
//! caller may read) and `GET /v1/partnerships/{id}/events/stream` (one), as Server-Sent Events.
//!
//! Each event is one commit: `id` is its log position, `event` is `commit`, `data` its JSON
//! (`partnership_id`, `position`, `revision`, `commit_id`, `recorded_at`, `prev_hash`, `hash`,
//! `events`). A stream first catches up, then follows new commits as they are appended, without
//! a gap or a repeat at the seam (the log's `subscribe`):
//! - after the position in `Last-Event-ID` (what an SSE client sends when it reconnects);
//! - else from the position `from` (inclusive);
//! - else from now: only commits appended after the request.
//!
//! A caller with a token sees only the partnerships it may read. Comments keep an idle stream
//! alive through proxies; the stream ends when the server shuts down, so that a client
//! reconnects to the next one with its `Last-Event-ID`.

use std::convert::Infallible;
use std::time::Duration;

use accord_domain::PartnershipId;
use accord_ledger::LedgerError;
use accord_log::{EventLog, LogError, Position, StoredCommit, join_commits};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Caller;
use crate::{ApiError, AppState, partnership};

/// How often an idle stream sends a comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Debug, Deserialize)]
pub(crate) struct StreamQuery {
    from: Option<String>,
}

/// Where a stream starts: after this position.
fn start(state_head: Position, q: &StreamQuery, headers: &HeaderMap) -> Result<Position, ApiError> {
    let number = |field: &str, v: &str| {
        v.trim().parse::<u64>().map_err(|_| ApiError::BadRequest {
            field: field.into(),
            message: format!("must be a log position (a whole number), got {v:?}"),
        })
    };
    if let Some(last) = headers.get("Last-Event-ID") {
        let last = last.to_str().map_err(|_| ApiError::BadRequest {
            field: "Last-Event-ID".into(),
            message: "must be a log position (a whole number)".into(),
        })?;
        return number("Last-Event-ID", last);
    }
    match &q.from {
        Some(from) => Ok(number("from", from)?.saturating_sub(1)),
        None => Ok(state_head),
    }
}

/// The SSE event of a commit, its personal values joined in.
async fn event_of(log: &dyn EventLog, stored: StoredCommit) -> Result<SseEvent, ApiError> {
    let (sealed, commit) = join_commits(log, std::slice::from_ref(&stored))
        .await
        .map_err(LedgerError::from)?
        .pop()
        .ok_or_else(|| LedgerError::Log(LogError::Invalid("no commit to read".into())))?;
    let data = json!({
        "partnership_id": stored.partnership_id,
        "position": stored.position,
        "revision": stored.position,
        "commit_id": commit.commit_id.to_string(),
        "recorded_at": accord_domain::values::rfc3339::format(commit.recorded_at),
        "prev_hash": commit.prev_hash.to_hex(),
        "hash": sealed.hash.to_hex(),
        "events": commit.events,
    });
    Ok(SseEvent::default()
        .id(stored.position.to_string())
        .event("commit")
        .data(data.to_string()))
}

/// The commits after `after` that `only` names (or any) and the caller may read, as SSE
/// events, until the server shuts down. A read that fails ends the stream (the client
/// reconnects with its `Last-Event-ID`).
async fn follow(
    state: AppState,
    headers: HeaderMap,
    after: Position,
    only: Option<PartnershipId>,
) -> Result<impl Stream<Item = Result<SseEvent, Infallible>>, ApiError> {
    let commits = state
        .log
        .subscribe(after)
        .await
        .map_err(LedgerError::from)?;
    let shutdown = state.shutdown.clone();
    let events = commits
        .take_until(shutdown.cancelled_owned())
        .then(move |commit| {
            let (state, headers, only) = (state.clone(), headers.clone(), only.clone());
            async move {
                let stored = commit.map_err(LedgerError::from)?;
                if only.as_ref().is_some_and(|p| *p != stored.partnership_id) {
                    return Ok(None);
                }
                // The caller's grant is read again for each commit: the token file is fixed
                // for the process, and a partnership's parties never change.
                let caller = state.caller(&headers)?;
                if !may_read(&state, caller, &stored.partnership_id).await? {
                    return Ok(None);
                }
                event_of(state.log.as_ref(), stored).await.map(Some)
            }
        })
        .take_while(|answer: &Result<Option<SseEvent>, ApiError>| {
            let go_on = answer.is_ok();
            if let Err(e) = answer {
                tracing::warn!(error = %e, "event stream ended by a failed read");
            }
            std::future::ready(go_on)
        })
        .filter_map(|answer| std::future::ready(answer.ok().flatten().map(Ok)));
    Ok(events)
}

/// Whether the caller may read the partnership.
async fn may_read(
    state: &AppState,
    caller: Caller<'_>,
    p: &PartnershipId,
) -> Result<bool, ApiError> {
    match state.readable(caller, p).await {
        Ok(()) => Ok(true),
        Err(ApiError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// `GET /v1/events/stream`: every partnership the caller may read.
pub(crate) async fn all(
    State(state): State<AppState>,
    Query(q): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    state.caller(&headers)?;
    let head = state.log.last_position().await.map_err(LedgerError::from)?;
    let after = start(head, &q, &headers)?;
    let events = follow(state, headers, after, None).await?;
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}

/// `GET /v1/partnerships/{id}/events/stream`: one partnership (404 when the caller may not read
/// it, or nobody proposed it).
pub(crate) async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = state.caller(&headers)?;
    let p = partnership(&id)?;
    state.readable(caller, &p).await?;
    if state
        .log
        .head(&p)
        .await
        .map_err(LedgerError::from)?
        .revision
        == 0
    {
        return Err(ApiError::NotFound(p));
    }
    let head = state.log.last_position().await.map_err(LedgerError::from)?;
    let after = start(head, &q, &headers)?;
    let events = follow(state, headers, after, Some(p)).await?;
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response())
}
