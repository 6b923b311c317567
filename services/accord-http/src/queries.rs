//! The read models over HTTP: `GET /v1/partnerships/{id}/{trust|throughput|asymmetry|goals|flags|summary}?as_of=&valid_at=`
//! (RFC 3339), answered from the projector's store. `as_of` (record time) defaults to now: with a
//! past `as_of` the answer is what the ledger knew then. `valid_at` (business time) defaults to
//! `as_of`: the partnership as it stood then. `GET /v1/partnerships/{id}/retro?as_of=&valid_at=&from=&to=`
//! serves the retrospective report (`accord_report`) of the same facts.

use std::sync::Arc;

use accord_domain::PartnershipId;
use accord_domain::models::{Axes, Lists, Model, ModelSettings, ReadModel};
use accord_domain::values::iso_date;
use accord_projector::{Facts, Projections, QueryError, Status};
use accord_report::{Retro, RetroError};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use time::{Date, OffsetDateTime};

use crate::auth::{Caller, Tokens};
use crate::{ApiError, Metrics, When, caller, number, partnership};

/// What the query handlers share.
#[derive(Debug, Clone)]
pub struct QueryState {
    pub projections: Projections,
    pub status: Arc<Status>,
    pub settings: Arc<ModelSettings>,
    /// The grants of the token file; `None` means the API is open (loopback only).
    pub tokens: Option<Arc<Tokens>>,
    /// Browsers reach the dashboard over HTTPS (TLS here, or a proxy in front that terminates
    /// it): its sign-in cookie is then `Secure`.
    pub https: bool,
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::ChainBroken { .. } => ApiError::ChainBroken(e.to_string()),
            QueryError::Fault { .. } => ApiError::ReadModelFault(e.to_string()),
            QueryError::Store(e) => ApiError::Internal(e.to_string()),
        }
    }
}

/// A partnership's facts, for a caller allowed to read them.
pub(crate) async fn readable_facts(
    state: &QueryState,
    caller: Caller<'_>,
    id: &str,
) -> Result<(PartnershipId, Facts), ApiError> {
    let p: PartnershipId = partnership(id)?;
    let projections = state.projections.clone();
    let facts = {
        let p = p.clone();
        tokio::task::spawn_blocking(move || projections.facts(&p))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(QueryError::from)?
    };
    let Some(facts) = facts else {
        return Err(ApiError::NotFound(p));
    };
    // Another org's partnership answers as if it did not exist (see `AppState::readable`).
    if !caller.may_read(&facts.parties()) {
        return Err(ApiError::NotFound(p));
    }
    Ok((p, facts))
}

/// One read model of a partnership at `axes`, for a caller allowed to read it. HTTP and the NATS
/// service both answer with this.
pub async fn query(
    state: &QueryState,
    caller: Caller<'_>,
    id: &str,
    model: Model,
    axes: Axes,
) -> Result<ReadModel, ApiError> {
    let p: PartnershipId = partnership(id)?;
    let (projections, settings) = (state.projections.clone(), state.settings.clone());
    let grant = caller.grant();
    tokio::task::spawn_blocking(move || {
        // Read from the partnership's head: kept read models, caught up with the store.
        projections
            .head(&p, &settings, |head| {
                // Another org's partnership answers as if it did not exist (see
                // `AppState::readable`).
                if !Caller::of(grant.as_ref()).may_read(&head.parties()) {
                    return Err(ApiError::NotFound(p.clone()));
                }
                Ok(head.evaluate(&p, model, axes, &settings, Lists::All)?)
            })?
            .unwrap_or_else(|| Err(ApiError::NotFound(p.clone())))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// `GET /v1/partnerships/{id}/retro?as_of=&valid_at=&from=&to=`: the query string of the
/// retrospective.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RetroQuery {
    pub(crate) as_of: Option<String>,
    pub(crate) valid_at: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
}

fn date(field: &str, s: Option<&str>) -> Result<Option<Date>, ApiError> {
    s.map(|s| {
        iso_date::parse(s)
            .and_then(|d| accord_domain::check::date_in_range(d).map(|()| d))
            .map_err(|message| ApiError::BadRequest {
                field: field.into(),
                message,
            })
    })
    .transpose()
}

/// The retrospective report of a partnership: one self-contained HTML page.
async fn retro(
    State(state): State<QueryState>,
    Path(id): Path<String>,
    Query(q): Query<RetroQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(state.tokens.as_deref(), &headers)?;
    retro_page(&state, caller, &id, q).await
}

/// The retrospective of the partnership `id` for `caller` (the API's and the dashboard's).
pub(crate) async fn retro_page(
    state: &QueryState,
    caller: Caller<'_>,
    id: &str,
    q: RetroQuery,
) -> Result<Response, ApiError> {
    let when = When {
        as_of: q.as_of,
        valid_at: q.valid_at,
    };
    let axes = when.axes(OffsetDateTime::now_utc())?;
    let (from, to) = (
        date("from", q.from.as_deref())?,
        date("to", q.to.as_deref())?,
    );
    let (p, facts) = readable_facts(state, caller, id).await?;
    facts.unbroken(&p)?;
    let settings = state.settings.clone();
    let page = tokio::task::spawn_blocking(move || {
        accord_projector::guarded(&p, "retro", || {
            accord_report::render(&Retro {
                partnership_id: &p,
                events: &facts.events,
                axes,
                from,
                to,
                settings: &settings,
                revision: Some(facts.position),
            })
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??
    .map_err(|e| match e {
        RetroError::Window { .. } => ApiError::BadRequest {
            field: "from".into(),
            message: e.to_string(),
        },
        RetroError::NothingKnown { .. } => ApiError::BadRequest {
            field: "as_of".into(),
            message: e.to_string(),
        },
    })?;
    Ok(Html(page).into_response())
}

/// The query routes: one per model, and the retrospective.
pub fn routes(state: QueryState) -> Router {
    Model::ALL
        .into_iter()
        .fold(Router::new(), |router, model| {
            router.route(
                &format!("/v1/partnerships/{{id}}/{}", model.as_str()),
                get(
                    move |State(state): State<QueryState>,
                          Path(id): Path<String>,
                          Query(q): Query<ModelQuery>,
                          headers: HeaderMap| async move {
                        answer(&state, model, &id, &q, &headers).await
                    },
                ),
            )
        })
        .route("/v1/partnerships/{id}/retro", get(retro))
        .merge(crate::dashboard::routes())
        .with_state(state)
}

/// The query string of a read model: its axes, and a page of the lists that grow with a
/// history (a trust timeline's points, the flags' history; see `ReadModel::page`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ModelQuery {
    as_of: Option<String>,
    valid_at: Option<String>,
    limit: Option<String>,
    after: Option<String>,
}

/// Most entries of a list on a page.
pub const MAX_LIST_LIMIT: usize = 10_000;
/// The largest `after` (entries of a list to skip).
const MAX_LIST_AFTER: u64 = u32::MAX as u64;

async fn answer(
    state: &QueryState,
    model: Model,
    id: &str,
    q: &ModelQuery,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(state.tokens.as_deref(), headers)?;
    let when = When {
        as_of: q.as_of.clone(),
        valid_at: q.valid_at.clone(),
    };
    let axes = when.axes(OffsetDateTime::now_utc())?;
    // Without `limit`, the lists come whole (as `accord show` and `accord export` read them).
    let limit = number("limit", q.limit.as_deref(), 1..=MAX_LIST_LIMIT as u64)?;
    let after = number("after", q.after.as_deref(), 0..=MAX_LIST_AFTER)?.map_or(0, |a| a as usize);
    let paged = limit.is_some() || after > 0;
    let limit = limit.map_or(usize::MAX - after, |l| l as usize);
    let mut answer = query(state, caller, id, model, axes).await?;
    let more = answer.page(after, limit);
    let mut body = serde_json::to_value(answer).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["partnership_id"] = json!(id);
    // A page says where the next one starts; a whole answer is the model as the NATS service
    // and the feed give it.
    let next = more.then(|| after + limit);
    if paged {
        body["next"] = json!(next);
    }
    let mut response = Json(body).into_response();
    if let Some(next) = next {
        let mut query = vec![("after", next.to_string()), ("limit", limit.to_string())];
        query.extend(q.as_of.clone().map(|t| ("as_of", t)));
        query.extend(q.valid_at.clone().map(|t| ("valid_at", t)));
        let path = format!("/v1/partnerships/{id}/{}", model.as_str());
        if let Some(link) = crate::next_link(&path, &query) {
            response
                .headers_mut()
                .insert(axum::http::header::LINK, link);
        }
    }
    Ok(response)
}

/// The routes of a projector running alone: the queries, `/healthz` and `/metrics`.
pub fn projector_router(state: QueryState, metrics: Metrics) -> Router {
    let status = state.status.clone();
    let tokens = state.tokens.clone();
    routes(state.clone())
        .route(
            "/v1/partnerships",
            get(crate::list::from_projector).with_state(state),
        )
        .route(
            "/healthz",
            get(move |headers: HeaderMap| {
                let status = status.clone();
                let tokens = tokens.clone();
                async move {
                    Json(crate::health_for(
                        tokens.as_deref(),
                        &headers,
                        health(&status),
                    ))
                }
            }),
        )
        .route("/metrics", get(move || async move { metrics.response() }))
}

/// The projector's part of `/healthz`: its checkpoint, the log's head, the lag, and every
/// partnership whose chain broke. `status` is `degraded` while any chain is broken.
pub fn health(status: &Status) -> serde_json::Value {
    let report = status.report();
    let state = if report.broken.is_empty() {
        "ok"
    } else {
        "degraded"
    };
    json!({"status": state, "projector": report})
}
