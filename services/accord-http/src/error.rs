//! How errors answer: the status says what the caller does next, the body says what was wrong.

use accord_domain::{DomainError, FieldError, PartnershipId};
use accord_ledger::LedgerError;
use accord_log::LogError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

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

    /// The JSON body of this answer.
    pub fn body(&self) -> serde_json::Value {
        match self {
            ApiError::BadRequest { field, message } => {
                json!({"error": "bad_request", "details": [{"field": field, "message": message}]})
            }
            ApiError::Unauthorized(m) => json!({"error": "unauthorized", "message": m}),
            ApiError::Forbidden(m) => json!({"error": "forbidden", "message": m}),
            ApiError::NotFound(p) => {
                json!({"error": "not_found", "message": self.to_string(), "partnership_id": p})
            }
            ApiError::Conflict { expected, actual } => {
                json!({"error": "conflict", "expected": expected, "actual": actual})
            }
            ApiError::Validation(details) => json!({"error": "validation", "details": details}),
            ApiError::IdempotencyKeyReused(m) => json!({
                "error": "idempotency_key_reused",
                "details": [{"field": "Idempotency-Key", "message": m}],
            }),
            ApiError::Unavailable(m) => json!({"error": "unavailable", "message": m}),
            ApiError::ChainBroken(m) => json!({"error": "chain_broken", "message": m}),
            ApiError::ReadModelFault(m) => json!({"error": "read_model_fault", "message": m}),
            ApiError::Internal(m) => json!({"error": "internal", "message": m}),
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        if matches!(self, ApiError::Unauthorized(_)) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
