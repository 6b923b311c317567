//! `GET /v1/partnerships/{id}/events?as_of=&limit=&after=`: a partnership's audit history, a
//! page of commits at a time, in order. `after` is a revision (the `next` of the page before);
//! `limit` counts commits, so that a commit's events never straddle two pages. The answer's
//! `next`, and its `Link: <...>; rel="next"` header, say where the following page starts; the
//! last page has neither.

use accord_domain::Event;
use accord_ledger::LedgerError;
use accord_log::join_commits;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::{ApiError, AppState, instant, next_link, number, partnership};

/// Commits per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 1000;
/// Most commits per page.
pub const MAX_LIMIT: usize = 10_000;

#[derive(Debug, Deserialize)]
pub(crate) struct HistoryQuery {
    as_of: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

/// One event of the audit history: the event as recorded, and its commit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEvent {
    /// The partnership's revision after the commit (equal to its log position).
    revision: u64,
    position: u64,
    /// The commit's hash (64 hex digits).
    hash: String,
    commit_id: String,
    #[serde(flatten)]
    event: Event,
}

/// A page of the audit history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryPage {
    partnership_id: accord_domain::PartnershipId,
    /// The page's events, in order.
    events: Vec<HistoryEvent>,
    /// The revision the next page starts after; `null` on the last page.
    next: Option<u64>,
}

pub(crate) async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = state.caller(&headers)?;
    let p = partnership(&id)?;
    let as_of = instant("as_of", q.as_of.as_deref())?;
    let limit = number("limit", q.limit.as_deref(), 1..=MAX_LIMIT as u64)?
        .map_or(DEFAULT_LIMIT, |l| l as usize);
    let after = number("after", q.after.as_deref(), 0..=u64::MAX)?.unwrap_or(0);
    state.readable(caller, &p).await?;
    let head = state.log.head(&p).await.map_err(LedgerError::from)?;
    if head.revision == 0 {
        return Err(ApiError::NotFound(p));
    }
    let commits = state
        .log
        .read_partnership(&p, after)
        .await
        .map_err(LedgerError::from)?;
    let joined = join_commits(state.log.as_ref(), &commits)
        .await
        .map_err(LedgerError::from)?;
    let mut events = Vec::new();
    let mut next = None;
    for (taken, (stored, (sealed, commit))) in commits.iter().zip(joined).enumerate() {
        if as_of.is_some_and(|t| commit.recorded_at > t) {
            break;
        }
        if taken == limit {
            // More follow: the next page starts after the last commit of this one.
            next = events.last().map(|e: &HistoryEvent| e.revision);
            break;
        }
        for event in commit.events {
            events.push(HistoryEvent {
                revision: stored.position,
                position: stored.position,
                hash: sealed.hash.to_hex(),
                commit_id: commit.commit_id.to_string(),
                event,
            });
        }
    }
    let mut response = Json(HistoryPage {
        partnership_id: p.clone(),
        events,
        next,
    })
    .into_response();
    if let Some(next) = next {
        let mut query = vec![("after", next.to_string()), ("limit", limit.to_string())];
        query.extend(q.as_of.map(|t| ("as_of", t)));
        if let Some(link) = next_link(&format!("/v1/partnerships/{p}/events"), &query) {
            response.headers_mut().insert(header::LINK, link);
        }
    }
    Ok(response)
}
