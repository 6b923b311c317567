//! `GET /v1/partnerships?limit=&after=`: the partnerships the caller may read, in id order, a
//! page at a time. `after` is the `next` cursor of the page before (a partnership id). The
//! ledger (`accord up`, `accord ledger`) answers with what the log holds now, folding the
//! page's partnerships into its bounded cache; `accord projector` answers from its store, where
//! each partnership's overview is kept at its revision.
//!
//! A request looks at no more than [`SCANNED_PER_ITEM`] partnerships per item asked for: a
//! caller who may read few of many partnerships gets short pages and a `next` cursor, never a
//! request that walks the whole ledger. A page that has a `next` also links it in a
//! `Link: <...>; rel="next"` header.

use accord_domain::{Overview, PartnershipId};
use accord_ledger::LedgerError;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::queries::QueryState;
use crate::{ApiError, AppState, caller, next_link, partnership};

/// Partnerships per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 100;
/// Most partnerships per page.
pub const MAX_LIMIT: usize = 1000;
/// Partnerships looked at per item of `limit`, at most, in one request.
pub const SCANNED_PER_ITEM: usize = 10;

#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    limit: Option<String>,
    after: Option<String>,
}

/// What a page asks for, checked.
struct Wanted {
    limit: usize,
    after: Option<PartnershipId>,
}

impl ListQuery {
    fn checked(&self) -> Result<Wanted, ApiError> {
        let limit = match &self.limit {
            None => DEFAULT_LIMIT,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| ApiError::BadRequest {
                    field: "limit".into(),
                    message: format!("must be 1 to {MAX_LIMIT}, got {l:?}"),
                })?,
        };
        let after = self
            .after
            .as_deref()
            .map(|a| {
                partnership(a).map_err(|_| ApiError::BadRequest {
                    field: "after".into(),
                    message: format!(
                        "must be the next cursor of a page (a partnership id), got {a:?}"
                    ),
                })
            })
            .transpose()?;
        Ok(Wanted { limit, after })
    }
}

/// One page of the list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = PartnershipPage)]
pub struct Page {
    partnerships: Vec<Overview>,
    /// Where the next page starts; `null` on the last page.
    next: Option<PartnershipId>,
}

impl Page {
    /// The page of the overviews that follow the cursor, in id order (at most the scan bound
    /// of them), that the caller may read.
    fn of(overviews: Vec<Overview>, looked_at: usize, caller: Caller<'_>, wanted: &Wanted) -> Self {
        let mut last = None;
        let mut partnerships = Vec::new();
        for o in overviews {
            last = Some(o.partnership_id.clone());
            if caller.may_read(&o.parties) {
                partnerships.push(o);
                if partnerships.len() == wanted.limit {
                    break;
                }
            }
        }
        // Stopped by the page or by the scan bound: more may follow.
        let more = partnerships.len() == wanted.limit || looked_at == scan_bound(wanted);
        Page {
            partnerships,
            next: last.filter(|_| more),
        }
    }
}

impl Page {
    /// The page as JSON, with a `Link: <...>; rel="next"` header when another page follows.
    fn answer(self, wanted: &Wanted) -> Response {
        let link = self.next.as_ref().and_then(|next| {
            next_link(
                "/v1/partnerships",
                &[
                    ("after", next.to_string()),
                    ("limit", wanted.limit.to_string()),
                ],
            )
        });
        let mut response = Json(self).into_response();
        if let Some(link) = link {
            response.headers_mut().insert(header::LINK, link);
        }
        response
    }
}

fn scan_bound(wanted: &Wanted) -> usize {
    wanted.limit * SCANNED_PER_ITEM
}

/// The list, from the ledger: the page's partnerships folded (or found in its cache).
pub(crate) async fn from_ledger(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = state.caller(&headers)?;
    let wanted = q.checked()?;
    let mut ids = state.log.partnerships().await.map_err(LedgerError::from)?;
    ids.sort();
    let ids: Vec<PartnershipId> = ids
        .into_iter()
        .filter(|p| wanted.after.as_ref().is_none_or(|a| p > a))
        .take(scan_bound(&wanted))
        .collect();
    let mut overviews = Vec::with_capacity(ids.len());
    for p in &ids {
        overviews.extend(state.ledger.overview(p).await?);
    }
    Ok(Page::of(overviews, ids.len(), caller, &wanted).answer(&wanted))
}

/// The list, from the projector's stored overviews.
pub(crate) async fn from_projector(
    State(state): State<QueryState>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(state.tokens.as_deref(), &headers)?;
    let wanted = q.checked()?;
    let store = state.projections.store();
    let (after, bound) = (wanted.after.clone(), scan_bound(&wanted));
    let overviews = tokio::task::spawn_blocking(move || {
        store
            .overviews_after(after.as_ref())
            .take(bound)
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let looked_at = overviews.len();
    Ok(Page::of(overviews, looked_at, caller, &wanted).answer(&wanted))
}
