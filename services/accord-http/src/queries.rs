//! The read models over HTTP: `GET /v1/partnerships/{id}/{trust|throughput|asymmetry|goals|flags|summary}?as_of=RFC3339`,
//! answered from the projector's store. `as_of` defaults to now; with a past `as_of` the answer
//! is what the ledger knew then.

use std::sync::Arc;

use accord_domain::PartnershipId;
use accord_domain::models::{Model, ModelSettings, ReadModel};
use accord_projector::{Projections, QueryError, Status};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use time::OffsetDateTime;

use crate::auth::{Caller, Tokens};
use crate::{ApiError, AsOf, Metrics, as_of, caller, partnership};

/// What the query handlers share.
#[derive(Debug, Clone)]
pub struct QueryState {
    pub projections: Projections,
    pub status: Arc<Status>,
    pub settings: Arc<ModelSettings>,
    /// The grants of the token file; `None` means the API is open (loopback only).
    pub tokens: Option<Arc<Tokens>>,
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::ChainBroken { .. } => ApiError::ChainBroken(e.to_string()),
            QueryError::Store(e) => ApiError::Internal(e.to_string()),
        }
    }
}

/// One read model of a partnership at `as_of` (now when `None`), for a caller allowed to read
/// it. HTTP and the NATS service both answer with this.
pub async fn query(
    state: &QueryState,
    caller: Caller<'_>,
    id: &str,
    model: Model,
    as_of: Option<OffsetDateTime>,
) -> Result<ReadModel, ApiError> {
    let p: PartnershipId = partnership(id)?;
    let as_of = as_of.unwrap_or_else(OffsetDateTime::now_utc);
    let projections = state.projections.clone();
    let settings = state.settings.clone();
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
    if !caller.may_read(&facts.parties()) {
        return Err(ApiError::Forbidden(format!(
            "{p} is not a partnership of your org"
        )));
    }
    let projections = state.projections.clone();
    tokio::task::spawn_blocking(move || projections.evaluate(&p, &facts, model, as_of, &settings))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(ApiError::from)
}

/// The query routes, one per model.
pub fn routes(state: QueryState) -> Router {
    Model::ALL
        .into_iter()
        .fold(Router::new(), |router, model| {
            router.route(
                &format!("/v1/partnerships/{{id}}/{}", model.as_str()),
                get(
                    move |State(state): State<QueryState>,
                          Path(id): Path<String>,
                          Query(q): Query<AsOf>,
                          headers: HeaderMap| async move {
                        answer(&state, model, &id, &q, &headers).await
                    },
                ),
            )
        })
        .with_state(state)
}

async fn answer(
    state: &QueryState,
    model: Model,
    id: &str,
    q: &AsOf,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let caller = caller(state.tokens.as_deref(), headers)?;
    let as_of = as_of(q)?;
    let answer = query(state, caller, id, model, as_of).await?;
    let mut body = serde_json::to_value(answer).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["partnership_id"] = json!(id);
    Ok(Json(body).into_response())
}

/// The routes of a projector running alone: the queries, `/healthz` and `/metrics`.
pub fn projector_router(state: QueryState, metrics: Metrics) -> Router {
    let status = state.status.clone();
    routes(state)
        .route(
            "/healthz",
            get(move || {
                let status = status.clone();
                async move { Json(health(&status)) }
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
