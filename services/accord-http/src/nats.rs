//! The NATS front doors for programs already on NATS: the service `accord-ledger` with the
//! endpoint `accord.ledger.append`, and the service `accord-projector` with one endpoint per
//! read model, `accord.query.<model>`.
//!
//! A request carries the JSON of a POST with the partnership inside
//! (`{"partnership_id": ..., "events": [...]}` or one event with a `partnership_id` field), and
//! optionally the headers `If-Match`, `Idempotency-Key` and `Authorization: Bearer <token>`.
//! With a token file every request is checked exactly as over HTTP, through the same code path;
//! without one the doors are open, so `accord` serves them only on a loopback NATS server. The
//! reply is the same JSON the HTTP API answers; an error reply also carries
//! `Nats-Service-Error-Code` (the HTTP status) and `Nats-Service-Error` (the error kind), and a
//! replayed append `Idempotent-Replayed: true`.

use std::sync::Arc;

use async_nats::HeaderMap;
use async_nats::service::ServiceExt;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use accord_domain::models::Model;
use serde::Deserialize;

use crate::queries::{QueryState, query};
use crate::{ApiError, AppState, answer_of, append, caller_of, split_commit};

/// The service's name and the append endpoint's subject.
pub const SERVICE: &str = "accord-ledger";
pub const APPEND_SUBJECT: &str = "accord.ledger.append";
/// The projector's service name.
pub const QUERY_SERVICE: &str = "accord-projector";
/// Requests handled at once; more wait in the subscription.
const MAX_IN_FLIGHT: usize = 256;

/// The registered service, subscribed and ready for requests.
pub struct LedgerService {
    service: async_nats::service::Service,
    endpoint: async_nats::service::endpoint::Endpoint,
}

impl std::fmt::Debug for LedgerService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerService")
            .field("subject", &APPEND_SUBJECT)
            .finish_non_exhaustive()
    }
}

impl LedgerService {
    /// Registers the service and subscribes its endpoint; requests are answered once `serve`
    /// runs (until then they wait in the subscription).
    pub async fn start(client: &async_nats::Client) -> Result<Self, async_nats::Error> {
        let service = client
            .service_builder()
            .description("the accord ledger: append commits")
            .start(SERVICE, env!("CARGO_PKG_VERSION"))
            .await?;
        let endpoint = service.endpoint(APPEND_SUBJECT).await?;
        client.flush().await?;
        Ok(Self { service, endpoint })
    }

    /// Serves until `shutdown` is cancelled; requests in flight finish.
    pub async fn serve(
        self,
        state: AppState,
        shutdown: CancellationToken,
    ) -> Result<(), async_nats::Error> {
        let LedgerService { service, endpoint } = self;
        serve_requests(endpoint, shutdown, move |request| {
            let state = state.clone();
            async move {
                let (body, headers) = handle(&state, &request).await;
                respond(&request, body, headers).await;
            }
        })
        .await;
        service.stop().await?;
        Ok(())
    }
}

/// The projector's service `accord-projector`: one endpoint per read model,
/// `accord.query.<model>`, taking `{"partnership_id": ..., "as_of"?: RFC3339}` and answering the
/// same JSON as `GET /v1/partnerships/{id}/<model>`.
pub struct QueryService {
    service: async_nats::service::Service,
    endpoints: Vec<(Model, async_nats::service::endpoint::Endpoint)>,
}

impl std::fmt::Debug for QueryService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryService").finish_non_exhaustive()
    }
}

/// The subject of a read model's query endpoint.
pub fn query_subject(model: Model) -> String {
    format!("accord.query.{}", model.as_str())
}

impl QueryService {
    pub async fn start(client: &async_nats::Client) -> Result<Self, async_nats::Error> {
        let service = client
            .service_builder()
            .description("the accord projector: read models")
            .start(QUERY_SERVICE, env!("CARGO_PKG_VERSION"))
            .await?;
        let mut endpoints = Vec::new();
        for model in Model::ALL {
            endpoints.push((model, service.endpoint(query_subject(model)).await?));
        }
        client.flush().await?;
        Ok(Self { service, endpoints })
    }

    /// Serves until `shutdown` is cancelled; requests in flight finish.
    pub async fn serve(
        self,
        state: QueryState,
        shutdown: CancellationToken,
    ) -> Result<(), async_nats::Error> {
        let QueryService { service, endpoints } = self;
        let requests = futures::stream::select_all(
            endpoints
                .into_iter()
                .map(|(model, endpoint)| endpoint.map(move |r| (model, r))),
        );
        serve_requests(requests, shutdown, move |(model, request)| {
            let state = state.clone();
            async move {
                let authorization = header(&request, "Authorization");
                let result = answer_query(
                    &state,
                    model,
                    authorization.as_deref(),
                    &request.message.payload,
                )
                .await;
                let (body, headers) = reply_of(result.and_then(|v| {
                    serde_json::to_vec(&v).map_err(|e| ApiError::Internal(e.to_string()))
                }));
                respond(&request, body, headers).await;
            }
        })
        .await;
        service.stop().await?;
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryRequest {
    partnership_id: String,
    #[serde(default)]
    as_of: Option<String>,
    #[serde(default)]
    valid_at: Option<String>,
}

async fn answer_query(
    state: &QueryState,
    model: Model,
    authorization: Option<&[u8]>,
    payload: &[u8],
) -> Result<Value, ApiError> {
    let caller = caller_of(state.tokens.as_deref(), authorization)?;
    let q: QueryRequest = serde_json::from_slice(payload).map_err(|e| ApiError::BadRequest {
        field: "body".into(),
        message: format!(
            "must be {{\"partnership_id\": ..., \"as_of\"?: RFC3339, \"valid_at\"?: RFC3339}}: {e}"
        ),
    })?;
    let when = crate::When {
        as_of: q.as_of,
        valid_at: q.valid_at,
    };
    let axes = when.axes(time::OffsetDateTime::now_utc())?;
    let answer = query(state, caller, &q.partnership_id, model, axes).await?;
    let mut body = serde_json::to_value(answer).map_err(|e| ApiError::Internal(e.to_string()))?;
    body["partnership_id"] = Value::String(q.partnership_id);
    Ok(body)
}

/// Takes requests until `shutdown`, at most [`MAX_IN_FLIGHT`] at once, then waits for those in
/// flight.
async fn serve_requests<R, F, Fut>(
    mut requests: impl futures::Stream<Item = R> + Unpin,
    shutdown: CancellationToken,
    handle: F,
) where
    F: Fn(R) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let tasks = tokio_util::task::TaskTracker::new();
    loop {
        let request = tokio::select! {
            () = shutdown.cancelled() => break,
            next = requests.next() => match next {
                Some(r) => r,
                None => break,
            },
        };
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        let handling = handle(request);
        tasks.spawn(async move {
            handling.await;
            drop(permit);
        });
    }
    tasks.close();
    tasks.wait().await;
}

async fn respond(request: &async_nats::service::Request, body: bytes::Bytes, headers: HeaderMap) {
    if let Err(e) = request.respond_with_headers(Ok(body), headers).await {
        tracing::warn!(error = %e, "cannot reply to a request");
    }
}

/// The reply to a request: the body, or the error's body with the service error headers.
fn reply_of(result: Result<Vec<u8>, ApiError>) -> (bytes::Bytes, HeaderMap) {
    let mut headers = HeaderMap::new();
    let body = match result {
        Ok(body) => body,
        Err(e) => {
            headers.insert("Nats-Service-Error-Code", e.status().as_u16().to_string());
            headers.insert("Nats-Service-Error", e.kind());
            serde_json::to_vec(&e.body()).unwrap_or_default()
        }
    };
    (body.into(), headers)
}

/// The value of a request's header, if it has one.
fn header(request: &async_nats::service::Request, name: &str) -> Option<Vec<u8>> {
    request
        .message
        .headers
        .as_ref()
        .and_then(|h| h.get(name))
        .map(|v| v.as_str().as_bytes().to_vec())
}

async fn handle(
    state: &AppState,
    request: &async_nats::service::Request,
) -> (bytes::Bytes, HeaderMap) {
    let header = |name: &str| header(request, name);
    let started = std::time::Instant::now();
    let result = async {
        let caller = caller_of(state.tokens.as_deref(), header("Authorization").as_deref())?;
        let value: Value =
            serde_json::from_slice(&request.message.payload).map_err(|e| ApiError::BadRequest {
                field: "body".into(),
                message: format!("malformed JSON: {e}"),
            })?;
        let (partnership_id, body) = split_commit(value)?;
        append(
            state,
            caller,
            &partnership_id,
            header("If-Match").as_deref(),
            header("Idempotency-Key").as_deref(),
            body.to_string().as_bytes(),
        )
        .await
    }
    .await;
    state.metrics.observe_append(started.elapsed(), &result);
    let replayed = result.as_ref().is_ok_and(|a| a.replayed);
    let (body, mut headers) = reply_of(result.and_then(|appended| {
        serde_json::to_vec(&answer_of(&state.ledger_key, &appended))
            .map_err(|e| ApiError::Internal(e.to_string()))
    }));
    if replayed {
        headers.insert("Idempotent-Replayed", "true");
    }
    (body, headers)
}
