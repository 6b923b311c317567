//! The NATS front door for programs already on NATS: the service `accord-ledger` with the
//! endpoint `accord.ledger.append`.
//!
//! A request carries the JSON of a POST with the partnership inside
//! (`{"partnership_id": ..., "events": [...]}` or one event with a `partnership_id` field), and
//! optionally the headers `If-Match` and `Idempotency-Key`. The reply is the same JSON the HTTP
//! API answers; an error reply also carries `Nats-Service-Error-Code` (the HTTP status) and
//! `Nats-Service-Error` (the error kind), and a replayed append `Idempotent-Replayed: true`.

use std::sync::Arc;

use async_nats::HeaderMap;
use async_nats::service::ServiceExt;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::{ApiError, AppState, answer_of, append, split_commit};

/// The service's name and the append endpoint's subject.
pub const SERVICE: &str = "accord-ledger";
pub const APPEND_SUBJECT: &str = "accord.ledger.append";
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
        serve(self, state, shutdown).await
    }
}

async fn serve(
    running: LedgerService,
    state: AppState,
    shutdown: CancellationToken,
) -> Result<(), async_nats::Error> {
    let LedgerService {
        service,
        mut endpoint,
    } = running;
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let tasks = tokio_util::task::TaskTracker::new();
    loop {
        let request = tokio::select! {
            () = shutdown.cancelled() => break,
            next = endpoint.next() => match next {
                Some(r) => r,
                None => break,
            },
        };
        let permit = Arc::clone(&permits).acquire_owned().await?;
        let state = state.clone();
        tasks.spawn(async move {
            let (body, headers) = handle(&state, &request).await;
            if let Err(e) = request.respond_with_headers(Ok(body), headers).await {
                tracing::warn!(error = %e, "cannot reply to an append request");
            }
            drop(permit);
        });
    }
    tasks.close();
    tasks.wait().await;
    service.stop().await?;
    Ok(())
}

async fn handle(
    state: &AppState,
    request: &async_nats::service::Request,
) -> (bytes::Bytes, HeaderMap) {
    let header = |name: &str| {
        request
            .message
            .headers
            .as_ref()
            .and_then(|h| h.get(name))
            .map(|v| v.as_str().as_bytes().to_vec())
    };
    let started = std::time::Instant::now();
    let result = async {
        let value: Value =
            serde_json::from_slice(&request.message.payload).map_err(|e| ApiError::BadRequest {
                field: "body".into(),
                message: format!("malformed JSON: {e}"),
            })?;
        let (partnership_id, body) = split_commit(value)?;
        // On NATS, the account's permissions say who may publish here.
        append(
            state,
            crate::auth::Caller::Open,
            &partnership_id,
            header("If-Match").as_deref(),
            header("Idempotency-Key").as_deref(),
            body.to_string().as_bytes(),
        )
        .await
    }
    .await;
    state.metrics.observe_append(started.elapsed(), &result);
    let mut headers = HeaderMap::new();
    let body = match result {
        Ok(appended) => {
            if appended.replayed {
                headers.insert("Idempotent-Replayed", "true");
            }
            serde_json::to_vec(&answer_of(&appended))
        }
        Err(e) => {
            headers.insert("Nats-Service-Error-Code", e.status().as_u16().to_string());
            headers.insert("Nats-Service-Error", e.kind());
            serde_json::to_vec(&e.body())
        }
    };
    (body.unwrap_or_default().into(), headers)
}
