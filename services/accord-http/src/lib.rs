//! The HTTP API of the ledger: JSON over axum.
//!
//! - `POST /v1/partnerships/{id}/events`: one event or an array of events (one commit), with
//!   optional `If-Match: <revision>` and `Idempotency-Key`.
//! - `GET /v1/partnerships?limit=&after=` (a page at a time, see [`list`]),
//!   `GET /v1/partnerships/{id}/events?as_of=&limit=&after=` (a page of commits at a time, see
//!   [`history`]),
//!   `GET /v1/partnerships/{id}/verify`.
//! - With a projector: `GET /v1/partnerships/{id}/{trust|throughput|asymmetry|goals|flags|summary}`
//!   (see [`queries`]).
//! - `GET /v1/events/stream`, `GET /v1/partnerships/{id}/events/stream`: the ledger as
//!   Server-Sent Events, caught up from a position, then live (see `stream`).
//! - `GET /healthz`, `GET /metrics` (Prometheus).
//!
//! Every error answers with problem details naming what was wrong (see `error`), and appends
//! nothing.

pub mod auth;
pub mod body;
pub mod copy;
mod dashboard;
mod error;
pub mod forget;
pub mod history;
pub mod list;
mod metrics_setup;
pub mod nats;
pub mod openapi;
pub mod queries;
pub mod serve;
mod stream;

use std::sync::Arc;
use std::time::Instant;

use accord_domain::PartnershipId;
use accord_domain::models::Axes;
use accord_ledger::receipt::{LedgerKey, Receipt};
use accord_ledger::{Ledger, LedgerError, RecordRequest};
use accord_log::{EventLog, Verification, verify_partnership};
use auth::{Caller, Tokens};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

pub use body::{AppendBody, parse_body, parse_events, split_commit};
pub use error::ApiError;
pub use metrics_setup::Metrics;
pub use queries::QueryState;
pub use serve::{Tls, TlsError, serve};

/// Largest request body: 100 events with 4 KiB notes and their data fit well within it.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 200;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub ledger: Arc<Ledger>,
    pub log: Arc<dyn EventLog>,
    pub metrics: Metrics,
    /// `embedded` or `jetstream`, for `/healthz`.
    pub backend: &'static str,
    /// The grants of the token file; `None` means the API is open (loopback only).
    pub tokens: Option<Arc<Tokens>>,
    /// The projector running in the same process, whose read models the API then serves.
    pub queries: Option<QueryState>,
    /// Cancelled when the process shuts down: the event streams end then.
    pub shutdown: CancellationToken,
    /// Signs the receipt of every append.
    pub ledger_key: Arc<LedgerKey>,
}

/// Who is asking, from the `Authorization` header (401 if a token is needed and not good).
pub(crate) fn caller<'a>(
    tokens: Option<&'a Tokens>,
    headers: &HeaderMap,
) -> Result<Caller<'a>, ApiError> {
    caller_of(
        tokens,
        headers.get("Authorization").map(HeaderValue::as_bytes),
    )
}

/// Who is asking, from the value of an `Authorization` header (HTTP, or a NATS request's
/// header): every door checks the caller through this one path.
pub(crate) fn caller_of<'a>(
    tokens: Option<&'a Tokens>,
    authorization: Option<&[u8]>,
) -> Result<Caller<'a>, ApiError> {
    match tokens {
        None => Ok(Caller::Open),
        Some(tokens) => tokens.authenticate(authorization).map(Caller::Granted),
    }
}

impl AppState {
    fn caller(&self, headers: &HeaderMap) -> Result<Caller<'_>, ApiError> {
        caller(self.tokens.as_deref(), headers)
    }

    /// Whether the caller may read the partnership: 404 when it is not theirs, as when it does
    /// not exist, so that an answer never tells another org's partnerships apart from none.
    async fn readable(&self, caller: Caller<'_>, p: &PartnershipId) -> Result<(), ApiError> {
        if let Caller::Open = caller {
            return Ok(());
        }
        match self.ledger.parties(p).await? {
            Some(parties) if !caller.may_read(&parties) => Err(ApiError::NotFound(p.clone())),
            _ => Ok(()),
        }
    }
}

/// The routes of the API, with the queries when a projector runs in the process.
pub fn router(state: AppState) -> Router {
    let queries = state.queries.clone().map(queries::routes);
    let ledger = Router::new()
        .route("/v1/partnerships", get(list::from_ledger))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route(
            "/v1/partnerships/{id}/events",
            get(history::history).post(record_events),
        )
        .route("/v1/partnerships/{id}/verify", get(verify))
        .route("/v1/log", get(copy::copy))
        .route("/v1/log/disclosures", get(copy::disclosures))
        .route("/v1/forget", post(forget::forget))
        .route("/v1/ledger/key", get(ledger_key))
        .route("/v1/events/stream", get(stream::all))
        .route("/v1/openapi.json", get(openapi::serve))
        .route("/v1/partnerships/{id}/events/stream", get(stream::one))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);
    match queries {
        Some(queries) => ledger.merge(queries),
        None => ledger,
    }
}

pub(crate) fn partnership(id: &str) -> Result<PartnershipId, ApiError> {
    PartnershipId::parse(id).map_err(|e| ApiError::BadRequest {
        field: "partnership_id".into(),
        message: e.to_string(),
    })
}

/// The answer to a successful append.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppendAnswer {
    pub partnership_id: String,
    pub revision: u64,
    pub position: u64,
    pub event_ids: Vec<String>,
    /// The ledger's signed word that the partnership reached this head: keep it, and
    /// `accord verify --receipts` proves later that the log still holds it.
    pub receipt: Receipt,
}

async fn record_events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let result = match state.caller(&headers) {
        Ok(caller) => {
            append(
                &state,
                caller,
                &id,
                headers.get("If-Match").map(HeaderValue::as_bytes),
                headers.get("Idempotency-Key").map(HeaderValue::as_bytes),
                &body,
            )
            .await
        }
        Err(e) => Err(e),
    };
    state.metrics.observe_append(started.elapsed(), &result);
    match result {
        Ok(appended) => {
            let mut response = (
                StatusCode::CREATED,
                Json(answer_of(&state.ledger_key, &appended)),
            )
                .into_response();
            if appended.replayed {
                response
                    .headers_mut()
                    .insert("Idempotent-Replayed", HeaderValue::from_static("true"));
            }
            response
        }
        Err(e) => e.into_response(),
    }
}

/// The append both front doors share (HTTP and the NATS service): the partnership, the
/// `If-Match` and `Idempotency-Key` values as received, and the JSON body.
pub async fn append(
    state: &AppState,
    caller: Caller<'_>,
    id: &str,
    if_match: Option<&[u8]>,
    idempotency_key: Option<&[u8]>,
    body: &[u8],
) -> Result<accord_log::Appended, ApiError> {
    let partnership_id = partnership(id)?;
    let if_match = if_match
        .map(|v| {
            std::str::from_utf8(v)
                .ok()
                .map(|s| s.trim().trim_matches('"'))
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| ApiError::BadRequest {
                    field: "If-Match".into(),
                    message: "must be a revision: a non-negative integer".into(),
                })
        })
        .transpose()?;
    let idempotency_key = idempotency_key
        .map(|v| {
            std::str::from_utf8(v)
                .ok()
                .filter(|s| {
                    !s.is_empty()
                        && s.len() <= MAX_IDEMPOTENCY_KEY_BYTES
                        && s.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
                })
                .map(str::to_owned)
                .ok_or_else(|| ApiError::BadRequest {
                    field: "Idempotency-Key".into(),
                    message: format!(
                        "must be 1 to {MAX_IDEMPOTENCY_KEY_BYTES} bytes of visible ASCII"
                    ),
                })
        })
        .transpose()?;
    let AppendBody { events, signed } = parse_body(body)?;
    if let Caller::Granted(_) = caller {
        let parties = state.ledger.parties(&partnership_id).await?;
        caller.check_write(&partnership_id, parties.as_deref(), &events)?;
    }
    Ok(state
        .ledger
        .record(RecordRequest {
            partnership_id,
            events,
            if_match,
            idempotency_key,
            signed,
        })
        .await?)
}

/// The answer body of a successful append, with its receipt signed by `key`.
pub fn answer_of(key: &LedgerKey, appended: &accord_log::Appended) -> AppendAnswer {
    AppendAnswer {
        partnership_id: appended.partnership_id.to_string(),
        revision: appended.position,
        position: appended.position,
        event_ids: appended.event_ids.iter().map(ToString::to_string).collect(),
        receipt: key.receipt(
            appended.partnership_id.clone(),
            appended.position,
            appended.hash,
            appended.recorded_at,
        ),
    }
}

/// `GET /v1/ledger/key`: the public key that signs the receipts, for anyone (a receipt is only
/// worth checking against a key one can get without the ledger's say-so on each request).
async fn ledger_key(State(state): State<AppState>) -> Response {
    Json(state.ledger_key.public()).into_response()
}

/// The time axes a read-model query asks for, each an RFC 3339 time: `as_of` (record time,
/// default now) and `valid_at` (business time, default `as_of`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct When {
    pub(crate) as_of: Option<String>,
    pub(crate) valid_at: Option<String>,
}

impl When {
    /// The axes asked for, `now` standing in for a missing `as_of`.
    pub(crate) fn axes(&self, now: OffsetDateTime) -> Result<Axes, ApiError> {
        let as_of = instant("as_of", self.as_of.as_deref())?.unwrap_or(now);
        Ok(Axes::new(
            as_of,
            instant("valid_at", self.valid_at.as_deref())?,
        ))
    }
}

/// The `Link` header value of the next page: `path` with `query`, `rel="next"` (RFC 8288).
pub(crate) fn next_link(path: &str, query: &[(&str, String)]) -> Option<HeaderValue> {
    let query = serde_urlencoded::to_string(query).ok()?;
    HeaderValue::from_str(&format!("<{path}?{query}>; rel=\"next\"")).ok()
}

/// A whole number of the query within `range`, or 400 naming the field and the range.
pub(crate) fn number(
    field: &str,
    given: Option<&str>,
    range: std::ops::RangeInclusive<u64>,
) -> Result<Option<u64>, ApiError> {
    given
        .map(|g| {
            g.parse::<u64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| ApiError::BadRequest {
                    field: field.into(),
                    message: format!(
                        "must be a whole number from {} to {}, got {g:?}",
                        range.start(),
                        range.end()
                    ),
                })
        })
        .transpose()
}

/// An instant from a query string: an RFC 3339 time within the range the ledger records
/// (docs/domain.md), so that no query makes a read model span millennia.
pub(crate) fn instant(field: &str, s: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    s.map(|s| {
        accord_domain::values::rfc3339::parse(s)
            .and_then(|t| accord_domain::check::instant_in_range(t).map(|()| t))
            .map_err(|message| ApiError::BadRequest {
                field: field.into(),
                message,
            })
    })
    .transpose()
}

/// The answer of `GET /v1/partnerships/{id}/verify`: every link holds, or where the chain broke.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Verified {
    Ok {
        partnership_id: PartnershipId,
        /// `true` unless a commit of an org with a key is unsigned or badly signed.
        ok: bool,
        commits: u64,
        revision: u64,
        /// The last commit's hash.
        head: accord_domain::chain::Hash,
        /// Commits whose signature holds.
        signed: u64,
        /// Revisions of commits of an org with a key that carry no signature.
        unsigned: Vec<u64>,
        /// Revisions of commits whose signature does not hold.
        badly_signed: Vec<u64>,
    },
    Broken {
        partnership_id: PartnershipId,
        /// `false`.
        ok: bool,
        /// The first position whose link does not hold.
        position: u64,
        /// The last position that does.
        last_good: u64,
        reason: String,
    },
}

async fn verify(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let caller = state.caller(&headers)?;
    let p = partnership(&id)?;
    state.readable(caller, &p).await?;
    let verified = match verify_partnership(&*state.log, &p)
        .await
        .map_err(LedgerError::from)?
    {
        Verification::Ok { commits: 0, .. } => return Err(ApiError::NotFound(p)),
        Verification::Ok {
            commits,
            head,
            signatures,
        } => Verified::Ok {
            partnership_id: p,
            ok: signatures.holds(),
            commits: commits as u64,
            revision: head.revision,
            head: head.hash,
            signed: signatures.signed as u64,
            unsigned: signatures.unsigned,
            badly_signed: signatures.badly_signed,
        },
        Verification::Broken(b) => Verified::Broken {
            partnership_id: p,
            ok: false,
            position: b.position,
            last_good: b.last_good,
            reason: b.reason.to_string(),
        },
    };
    Ok(Json(verified).into_response())
}

/// `GET /healthz`: `ok`, `degraded` or `unavailable` for anyone (load balancers carry no
/// token); the details (backend, positions, lag, broken partnerships) only for an auditor, or
/// anyone when the API is open.
async fn healthz(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (code, body) = match state.log.last_position().await {
        Ok(last) => {
            let mut body = json!({"status": "ok", "backend": state.backend, "last_position": last});
            if let Some(q) = &state.queries {
                let projector = queries::health(&q.status);
                body["status"] = projector["status"].clone();
                body["projector"] = projector["projector"].clone();
            }
            (StatusCode::OK, body)
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "unavailable", "backend": state.backend, "error": e.to_string()}),
        ),
    };
    let body = health_for(state.tokens.as_deref(), &headers, body);
    (code, Json(body)).into_response()
}

/// The `/healthz` answer a caller sees: all of it for an auditor, or anyone on an open API;
/// only its `status` for anyone else.
pub(crate) fn health_for(tokens: Option<&Tokens>, headers: &HeaderMap, body: Value) -> Value {
    match caller(tokens, headers) {
        Ok(Caller::Open) => body,
        Ok(Caller::Granted(g)) if g.role == auth::Role::Auditor => body,
        _ => json!({"status": body["status"]}),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    state.metrics.response()
}
