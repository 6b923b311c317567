//! `POST /v1/forget`: erases a person's personal values (`accord forget`; see
//! `accord_ledger::forget`). A writer asks on behalf of its own org only; the answer names the
//! commit that records the erasure in each partnership touched.

use accord_ledger::{ForgetRequest, Forgotten};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use crate::auth::{Caller, Role};
use crate::{ApiError, AppState};

/// What an erasure did.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ForgetAnswer {
    /// The values erased, in all.
    pub values: usize,
    /// One entry per partnership where the person left a value.
    pub erased: Vec<ErasedAnswer>,
}

/// The erasure in one partnership.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ErasedAnswer {
    pub partnership_id: String,
    /// The revision of the commit that records the erasure.
    pub revision: u64,
    pub commit_id: String,
    pub values: usize,
}

impl From<Forgotten> for ForgetAnswer {
    fn from(f: Forgotten) -> Self {
        Self {
            values: f.erased.iter().map(|e| e.values).sum(),
            erased: f
                .erased
                .into_iter()
                .map(|e| ErasedAnswer {
                    partnership_id: e.appended.partnership_id.to_string(),
                    revision: e.appended.position,
                    commit_id: e.appended.commit_id.to_string(),
                    values: e.values,
                })
                .collect(),
        }
    }
}

pub(crate) async fn forget(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ForgetAnswer>, ApiError> {
    let caller = state.caller(&headers)?;
    let request: ForgetRequest =
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(&body))
            .map_err(|e| {
                let field = e.path().to_string();
                let inner = e.into_inner();
                if inner.is_syntax() || inner.is_eof() {
                    ApiError::BadRequest {
                        field: "body".into(),
                        message: format!("malformed JSON: {inner}"),
                    }
                } else {
                    let field = if field == "." { "body".into() } else { field };
                    ApiError::validation(&field, &inner.to_string())
                }
            })?;
    if let Caller::Granted(g) = caller
        && !(g.role == Role::Writer && g.org == request.requested_by_org)
    {
        return Err(ApiError::Forbidden(format!(
            "only a writer of {} may ask for an erasure on its behalf",
            request.requested_by_org
        )));
    }
    let forgotten = state.ledger.forget(&request).await?;
    Ok(Json(forgotten.into()))
}
