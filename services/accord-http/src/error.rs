//! How errors answer: the status says what the caller does next, the body says what was wrong,
//! as RFC 9457 problem details (`application/problem+json`).
//!
//! A problem has the standard members `type` (`urn:accord:problem:<kind>`), `title` (the same
//! for every problem of a kind), `status` and `detail` (this occurrence, in words), and these
//! extension members: `error` (the kind), `details` (each field and its rule) and, by kind,
//! `expected` and `actual` (a conflict) or `partnership_id`. Answers the router makes itself
//! (no such route, a method it does not serve, a body over the limit) are problems too
//! (`problems`).

use accord_domain::{DomainError, FieldError, PartnershipId};
use accord_ledger::LedgerError;
use accord_log::LogError;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An error answer of the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be read (malformed JSON, a bad header or path).
    #[error("{field}: {message}")]
    BadRequest { field: String, message: String },
    /// 401: no token, or one the server does not know.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// 403: the token does not allow this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404: no such partnership.
    #[error("unknown partnership {0}")]
    NotFound(PartnershipId),
    /// 409: the partnership moved on.
    #[error("conflict: expected revision {expected}, the partnership is at {actual}")]
    Conflict { expected: u64, actual: u64 },
    /// 422: the request is readable but breaks a rule.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 422: the idempotency key already recorded another request.
    #[error("{0}")]
    IdempotencyKeyReused(String),
    /// 503: the event log cannot be reached.
    #[error("event log unavailable: {0}")]
    Unavailable(String),
    /// 500: the partnership's hash chain is broken, so its projection stopped.
    #[error("{0}")]
    ChainBroken(String),
    /// 500: a read model of this partnership cannot be evaluated (a fault in its fold); the
    /// other partnerships answer as usual.
    #[error("{0}")]
    ReadModelFault(String),
    /// 500: the stored history does not hold (corruption, misconfiguration).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn validation(field: &str, message: &str) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// The HTTP status of this answer (also the error code of the NATS service).
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Validation(_) | ApiError::IdempotencyKeyReused(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::ChainBroken(_) | ApiError::ReadModelFault(_) | ApiError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The problem details of this answer (see the module).
    pub fn body(&self) -> serde_json::Value {
        let mut body = problem(self.status(), self.kind(), &self.detail());
        let extra = match self {
            ApiError::BadRequest { field, message } => {
                json!({"details": [{"field": field, "message": message}]})
            }
            ApiError::NotFound(p) => json!({"partnership_id": p}),
            ApiError::Conflict { expected, actual } => {
                json!({"expected": expected, "actual": actual})
            }
            ApiError::Validation(details) => json!({"details": details}),
            ApiError::IdempotencyKeyReused(m) => {
                json!({"details": [{"field": "Idempotency-Key", "message": m}]})
            }
            _ => json!({}),
        };
        if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
            body.extend(extra);
        }
        body
    }

    /// This occurrence in words.
    fn detail(&self) -> String {
        match self {
            ApiError::Unauthorized(m) => (*m).to_owned(),
            ApiError::Forbidden(m)
            | ApiError::Unavailable(m)
            | ApiError::ChainBroken(m)
            | ApiError::ReadModelFault(m)
            | ApiError::Internal(m)
            | ApiError::IdempotencyKeyReused(m) => m.clone(),
            ApiError::Validation(details) => {
                let each: Vec<String> = details.iter().map(ToString::to_string).collect();
                format!("validation failed: {}", each.join("; "))
            }
            other => other.to_string(),
        }
    }

    /// The kind, as counted in the metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict { .. } => "conflict",
            ApiError::Validation(_) => "validation",
            ApiError::IdempotencyKeyReused(_) => "idempotency_key_reused",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::ChainBroken(_) => "chain_broken",
            ApiError::ReadModelFault(_) => "read_model_fault",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::Domain(DomainError::UnknownPartnership(p)) => ApiError::NotFound(p),
            LedgerError::Domain(DomainError::Validation(details)) => ApiError::Validation(details),
            e @ LedgerError::IdempotencyKeyReused { .. } => {
                ApiError::IdempotencyKeyReused(e.to_string())
            }
            LedgerError::Conflict {
                expected, actual, ..
            } => ApiError::Conflict { expected, actual },
            LedgerError::Log(LogError::Unavailable(m)) => ApiError::Unavailable(m),
            LedgerError::Log(LogError::Invalid(m)) => ApiError::validation("events", &m),
            LedgerError::Log(other) => ApiError::Internal(other.to_string()),
        }
    }
}

/// The media type of a problem (RFC 9457).
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// The title of each kind of problem: the same for every occurrence.
fn title(kind: &str) -> &'static str {
    match kind {
        "bad_request" => "The request cannot be read",
        "unauthorized" => "No valid token",
        "forbidden" => "The token does not allow this",
        "not_found" => "Not found",
        "conflict" => "The partnership moved on",
        "validation" => "The request breaks a rule",
        "idempotency_key_reused" => "The idempotency key recorded another request",
        "unavailable" => "The event log is unavailable",
        "chain_broken" => "The partnership's hash chain is broken",
        "read_model_fault" => "A read model cannot be evaluated",
        "method_not_allowed" => "The path does not take this method",
        "payload_too_large" => "The body is too large",
        "unsupported_media_type" => "The body is not of a type this path takes",
        "request_timeout" => "The request took too long",
        _ => "Internal error",
    }
}

/// A problem's standard members and its kind (the `error` extension member).
fn problem(status: StatusCode, kind: &str, detail: &str) -> Value {
    json!({
        "type": format!("urn:accord:problem:{kind}"),
        "title": title(kind),
        "status": status.as_u16(),
        "detail": detail,
        "error": kind,
    })
}

/// A problem answer.
fn respond(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, PROBLEM_JSON)],
        body.to_string(),
    )
        .into_response()
}

/// Makes every error the server answers by itself a problem: a path it does not know (404), a
/// method a path does not take (405), a body over the limit (413), a request that took too long
/// (408), and any other rejection of a request before it reaches a handler (axum answers those in plain text, or with no body).
/// JSON and HTML answers pass unchanged: problems, `/healthz`'s report of an unhealthy service,
/// and the dashboard's pages, which explain an error to a person.
pub(crate) async fn problems(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let written = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().ends_with(b"json") || t.as_bytes().starts_with(b"text/html"));
    if !(status.is_client_error() || status.is_server_error()) || written {
        return response;
    }
    let kind = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    };
    let (parts, body) = response.into_parts();
    // What the router said, in words (a rejection's text is short).
    let said = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let said = String::from_utf8_lossy(&said);
    let detail = if said.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        said.trim().to_owned()
    };
    let mut answer = respond(status, &problem(status, kind, &detail));
    // Keep what the caller needs to act on, such as `Allow` on a 405.
    for (name, value) in &parts.headers {
        if name != axum::http::header::CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = respond(self.status(), &self.body());
        if matches!(self, ApiError::Unauthorized(_)) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
