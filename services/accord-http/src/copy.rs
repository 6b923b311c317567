//! `GET /v1/log`: a consistent copy of the whole log, for `accord backup`.
//!
//! The log only grows, so every commit up to one position is a consistent copy, whatever is
//! appended meanwhile. The answer names that position first (header `Accord-Last-Position`,
//! the log's last position when the request came), then streams every commit after `after` up
//! to it, one JSON line each (`{"position", "partnership_id", "commit"}`, the stored bytes in
//! base64; see [`accord_log::StoredCommit`]). A client knows it has the whole copy when its
//! last line is at that position.
//!
//! `GET /v1/log/disclosures`: every personal value the log holds now (docs/domain.md, "Personal
//! data"), one disclosure per line (`[salt, path, value]`, the exact bytes its digest hashes),
//! in digest order. `accord backup` keeps those its copy refers to. An erased value is gone, so
//! it is in no copy taken after its erasure.
//!
//! Only an auditor (or anyone, when the API is open) may copy either: they hold every
//! partnership.

use accord_ledger::LedgerError;
use accord_log::{LogError, Position};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;

use crate::auth::{Caller, Role};
use crate::{ApiError, AppState, number};

/// The header that names the copy's last position.
pub const LAST_POSITION: &str = "Accord-Last-Position";

#[derive(Debug, Deserialize)]
pub(crate) struct CopyQuery {
    after: Option<String>,
}

/// Lets an auditor through, or anyone when the API is open.
fn auditor_only(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    match state.caller(headers)? {
        Caller::Open => Ok(()),
        Caller::Granted(g) if g.role == Role::Auditor => Ok(()),
        Caller::Granted(_) => Err(ApiError::Forbidden(
            "a copy of the log holds every partnership: only an auditor may take it".into(),
        )),
    }
}

pub(crate) async fn copy(
    State(state): State<AppState>,
    Query(q): Query<CopyQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auditor_only(&state, &headers)?;
    let after: Position = number("after", q.after.as_deref(), 0..=u64::MAX)?.unwrap_or(0);
    let last = state.log.last_position().await.map_err(LedgerError::from)?;
    let commits = if after >= last {
        futures::stream::empty().boxed()
    } else {
        state
            .log
            .read_all(after)
            .await
            .map_err(LedgerError::from)?
            .take_while(move |c| {
                let more = c.as_ref().map_or(true, |c| c.position <= last);
                async move { more }
            })
            .boxed()
    };
    let lines = commits.map(|c| {
        let c = c?;
        let mut line = serde_json::to_vec(&c).map_err(|e| LogError::Corrupt {
            position: c.position,
            message: e.to_string(),
        })?;
        line.push(b'\n');
        Ok::<_, LogError>(Bytes::from(line))
    });
    let mut response = ndjson(Body::from_stream(lines));
    response
        .headers_mut()
        .insert(LAST_POSITION, HeaderValue::from(last));
    Ok(response)
}

pub(crate) async fn disclosures(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    auditor_only(&state, &headers)?;
    let all = state
        .log
        .all_disclosures()
        .await
        .map_err(LedgerError::from)?;
    let mut body = String::new();
    for d in &all {
        body.push_str(d.as_json());
        body.push('\n');
    }
    Ok(ndjson(Body::from(body)))
}

fn ndjson(body: Body) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    response
}
