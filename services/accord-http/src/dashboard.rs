//! The dashboard, for people: `GET /` lists the partnerships the caller may read with each one's
//! summary; `GET /partnerships/{id}` shows one (its summary and open red flags with links to
//! their evidence, its audit history a page at a time, the retrospective's charts), and
//! `GET /partnerships/{id}/retro` its printable retrospective. Both axes are controls on the
//! pages. Served by whatever serves the read models (`accord up`, `accord projector`), as HTML
//! from `accord_report::dashboard`, without script.
//!
//! With a token file, a browser signs in with a token (`/sign-in`): it is kept in an HttpOnly,
//! SameSite=Strict cookie (`Secure` when browsers come over HTTPS) and read like a bearer token, so the dashboard shows only what the
//! token may read. `Authorization: Bearer` works as well. Without a token file the dashboard is
//! open, like the API (which then listens on loopback only).

use std::collections::BTreeMap;

use accord_domain::models::summary::Summary;
use accord_domain::models::{Axes, Lists, Model, ReadModel, known};
use accord_domain::{Event, Overview, PartnershipId};
use accord_report::dashboard::{
    HistoryRow, ListControls, ListPage, ListRow, PartnershipPage, Sort, sign_in_page,
};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::queries::{QueryState, RetroQuery, readable_facts, retro_page};
use crate::{ApiError, When, caller_of, partnership};

/// The cookie that holds a signed-in browser's token.
const COOKIE: &str = "accord_token";
/// Partnerships on a page of the list.
const LIST_PAGE: usize = 50;
/// Partnerships looked at, at most, for one page of the list (filters may skip many).
const LIST_SCAN: usize = LIST_PAGE * 20;
/// Events on a page of a partnership's history.
const HISTORY_PAGE: usize = 50;

pub(crate) fn routes() -> Router<QueryState> {
    Router::new()
        .route("/", get(list))
        .route("/partnerships/{id}", get(one))
        .route("/partnerships/{id}/retro", get(retro))
        .route("/sign-in", get(sign_in_form).post(sign_in))
        .route("/sign-out", post(sign_out))
        // Browsers ask for an icon on every page (the printable retrospective names none).
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
}

/// The token a browser signed in with, from its cookie.
fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE).then(|| value.to_owned())
        })
}

/// Who is asking: the `Authorization` header, else the cookie; `None` without a good token (a
/// browser then goes to the sign-in page).
fn dashboard_caller<'a>(state: &'a QueryState, headers: &HeaderMap) -> Option<Caller<'a>> {
    let tokens = state.tokens.as_deref();
    let from_cookie = cookie_token(headers).map(|t| format!("Bearer {t}"));
    let authorization = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes)
        .or(from_cookie.as_deref().map(str::as_bytes));
    caller_of(tokens, authorization).ok()
}

fn to_sign_in() -> Response {
    Redirect::to("/sign-in").into_response()
}

/// The org a signed-in caller acts for (none on an open dashboard).
fn signed_in<'a>(caller: &Caller<'a>) -> Option<&'a str> {
    match caller {
        Caller::Granted(g) => Some(g.org.as_str()),
        Caller::Open => None,
    }
}

/// An error as a page a person reads: the problem's status and its detail.
fn error_page(e: &ApiError) -> Response {
    let body = e.body();
    let text = format!(
        "{}: {}",
        body["title"].as_str().unwrap_or("Error"),
        body["detail"].as_str().unwrap_or("")
    );
    (
        e.status(),
        Html(format!(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error</title></head><body><main><p role=\"alert\">{}</p><p><a href=\"/\">Partnerships</a></p></main></body></html>",
            maud::html! { (text) }.into_string()
        )),
    )
        .into_response()
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    as_of: Option<String>,
    valid_at: Option<String>,
    status: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    after: Option<String>,
}

/// The axes of the page's controls (empty fields are absent).
fn axes_of(as_of: Option<&str>, valid_at: Option<&str>) -> Result<Axes, ApiError> {
    let given = |s: Option<&str>| s.filter(|s| !s.trim().is_empty()).map(str::to_owned);
    When {
        as_of: given(as_of),
        valid_at: given(valid_at),
    }
    .axes(OffsetDateTime::now_utc())
}

/// The latest `occurred_at` among the events known at `axes`.
fn last_activity(events: &[impl std::borrow::Borrow<Event>], axes: Axes) -> Option<OffsetDateTime> {
    known(events, axes).iter().map(|e| e.occurred_at).max()
}

async fn list(
    State(state): State<QueryState>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = dashboard_caller(&state, &headers) else {
        return to_sign_in();
    };
    match list_page(&state, caller, &q).await {
        Ok(page) => Html(page).into_response(),
        Err(e) => error_page(&e),
    }
}

async fn list_page(
    state: &QueryState,
    caller: Caller<'_>,
    q: &ListQuery,
) -> Result<String, ApiError> {
    let axes = axes_of(q.as_of.as_deref(), q.valid_at.as_deref())?;
    let controls = ListControls {
        as_of: q.as_of.clone().unwrap_or_default(),
        valid_at: q.valid_at.clone().unwrap_or_default(),
        status: q.status.clone().unwrap_or_default(),
        text: q.q.clone().unwrap_or_default(),
        sort: q.sort.as_deref().and_then(Sort::parse).unwrap_or_default(),
    };
    let after = q
        .after
        .as_deref()
        .filter(|a| !a.is_empty())
        .map(partnership)
        .transpose()?;
    let store = state.projections.store();
    let scanned = tokio::task::spawn_blocking(move || {
        store
            .overviews_after(after.as_ref())
            .take(LIST_SCAN)
            .collect::<Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let looked_at = scanned.len();
    let text = controls.text.to_lowercase();
    let mut last_seen = None;
    let mut picked: Vec<Overview> = Vec::new();
    for o in scanned {
        last_seen = Some(o.partnership_id.clone());
        let status = o.status.map_or("proposed", |s| s.as_str());
        let matches = caller.may_read(&o.parties)
            && (controls.status.is_empty() || controls.status == status)
            && (text.is_empty()
                || o.partnership_id.as_str().contains(&text)
                || o.parties.iter().any(|p| p.as_str().contains(&text)));
        if matches {
            picked.push(o);
            if picked.len() == LIST_PAGE {
                break;
            }
        }
    }
    let more = picked.len() == LIST_PAGE || looked_at == LIST_SCAN;
    let mut rows = Vec::with_capacity(picked.len());
    for overview in picked {
        let (summary, last) = summary_of(state, &overview.partnership_id, axes).await?;
        rows.push(ListRow {
            overview,
            summary,
            last_activity: last,
        });
    }
    controls.sort.apply(&mut rows);
    let query_of = |extra: &[(&str, String)]| {
        let mut pairs = vec![
            ("as_of", controls.as_of.clone()),
            ("valid_at", controls.valid_at.clone()),
        ];
        pairs.extend(extra.iter().cloned());
        pairs.retain(|(_, v)| !v.is_empty());
        serde_urlencoded::to_string(&pairs).unwrap_or_default()
    };
    let next = last_seen.filter(|_| more).map(|last| {
        format!(
            "/?{}",
            query_of(&[
                ("status", controls.status.clone()),
                ("q", controls.text.clone()),
                ("sort", controls.sort.as_str().to_owned()),
                ("after", last.to_string()),
            ])
        )
    });
    let links: Vec<String> = rows
        .iter()
        .map(|r| {
            let query = query_of(&[]);
            let id = &r.overview.partnership_id;
            if query.is_empty() {
                format!("/partnerships/{id}")
            } else {
                format!("/partnerships/{id}?{query}")
            }
        })
        .collect();
    Ok(ListPage {
        rows: &rows,
        controls: &controls,
        next,
        links: &links,
        signed_in: signed_in(&caller),
    }
    .render())
}

/// A partnership's summary at `axes`, and its last activity, from its head.
async fn summary_of(
    state: &QueryState,
    p: &PartnershipId,
    axes: Axes,
) -> Result<(Summary, Option<OffsetDateTime>), ApiError> {
    let (projections, settings, p) = (state.projections.clone(), state.settings.clone(), p.clone());
    tokio::task::spawn_blocking(move || {
        projections
            .head(&p, &settings, |head| {
                let summary = head.evaluate(&p, Model::Summary, axes, &settings, Lists::All)?;
                Ok((summary, last_activity(head.events(), axes)))
            })?
            .unwrap_or_else(|| Err(ApiError::NotFound(p.clone())))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .and_then(|(summary, last)| match summary {
        ReadModel::Summary(s) => Ok((s, last)),
        _ => Err(ApiError::Internal("a summary was asked for".into())),
    })
}

#[derive(Debug, Default, Deserialize)]
struct OneQuery {
    as_of: Option<String>,
    valid_at: Option<String>,
    /// Where the page of the history starts (events before it).
    history_after: Option<usize>,
}

async fn one(
    State(state): State<QueryState>,
    Path(id): Path<String>,
    Query(q): Query<OneQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = dashboard_caller(&state, &headers) else {
        return to_sign_in();
    };
    match partnership_page(&state, caller, &id, &q).await {
        Ok(page) => Html(page).into_response(),
        Err(e) => error_page(&e),
    }
}

async fn partnership_page(
    state: &QueryState,
    caller: Caller<'_>,
    id: &str,
    q: &OneQuery,
) -> Result<String, ApiError> {
    let axes = axes_of(q.as_of.as_deref(), q.valid_at.as_deref())?;
    let signed_in = signed_in(&caller);
    let (p, facts) = readable_facts(state, caller, id).await?;
    facts.unbroken(&p)?;
    let (summary, _) = summary_of(state, &p, axes).await?;
    let overview = Overview {
        partnership_id: p.clone(),
        parties: facts.parties(),
        status: summary.status,
        revision: facts.position,
        event_count: facts.events.len(),
    };
    // The history as the ledger knew it at as_of.
    let recorded: Vec<&Event> = facts
        .events
        .iter()
        .filter(|e| e.recorded_at <= axes.as_of)
        .collect();
    let start = q.history_after.unwrap_or(0).min(recorded.len());
    let history: Vec<HistoryRow<'_>> = recorded
        .iter()
        .enumerate()
        .skip(start)
        .take(HISTORY_PAGE)
        .map(|(i, e)| HistoryRow {
            number: i + 1,
            event: e,
        })
        .collect();
    let axes_query: Vec<(&str, String)> =
        [("as_of", q.as_of.clone()), ("valid_at", q.valid_at.clone())]
            .into_iter()
            .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k, v)))
            .collect();
    let link = |history_after: usize, anchor: &str| {
        let mut pairs = axes_query.clone();
        pairs.push(("history_after", history_after.to_string()));
        format!(
            "/partnerships/{p}?{}{anchor}",
            serde_urlencoded::to_string(&pairs).unwrap_or_default()
        )
    };
    let history_previous =
        (start > 0).then(|| link(start.saturating_sub(HISTORY_PAGE), "#history"));
    let history_next =
        (start + HISTORY_PAGE < recorded.len()).then(|| link(start + HISTORY_PAGE, "#history"));
    let place: BTreeMap<_, usize> = recorded
        .iter()
        .enumerate()
        .map(|(i, e)| (e.event_id, i))
        .collect();
    let evidence_links: BTreeMap<_, String> = summary
        .open_flags
        .iter()
        .flat_map(|f| f.evidence.iter())
        .filter_map(|id| {
            let i = place.get(id)?;
            Some((
                *id,
                link(i / HISTORY_PAGE * HISTORY_PAGE, &format!("#e-{id}")),
            ))
        })
        .collect();
    let retro_link = {
        let query = serde_urlencoded::to_string(&axes_query).unwrap_or_default();
        if query.is_empty() {
            format!("/partnerships/{p}/retro")
        } else {
            format!("/partnerships/{p}/retro?{query}")
        }
    };
    let settings = state.settings.clone();
    let (events, pid) = (facts.events.clone(), p.clone());
    let sections = tokio::task::spawn_blocking(move || {
        accord_projector::guarded(&pid, "dashboard", || {
            accord_report::render_sections(&accord_report::Retro {
                partnership_id: &pid,
                events: &events,
                axes,
                from: None,
                to: None,
                settings: &settings,
                revision: None,
            })
            .map_err(|e| e.to_string())
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(PartnershipPage {
        overview: &overview,
        summary: &summary,
        as_of: q.as_of.as_deref().unwrap_or(""),
        valid_at: q.valid_at.as_deref().unwrap_or(""),
        history: &history,
        history_previous,
        history_next,
        evidence_links: &evidence_links,
        sections,
        retro_link,
        signed_in,
    }
    .render())
}

async fn retro(
    State(state): State<QueryState>,
    Path(id): Path<String>,
    Query(q): Query<RetroQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = dashboard_caller(&state, &headers) else {
        return to_sign_in();
    };
    retro_page(&state, caller, &id, q)
        .await
        .unwrap_or_else(|e| error_page(&e))
}

async fn sign_in_form() -> Html<String> {
    Html(sign_in_page(None))
}

#[derive(Debug, Deserialize)]
struct SignIn {
    token: String,
}

async fn sign_in(State(state): State<QueryState>, Form(form): Form<SignIn>) -> Response {
    let Some(tokens) = state.tokens.as_deref() else {
        // An open dashboard needs no token.
        return Redirect::to("/").into_response();
    };
    let token = form.token.trim();
    let authorization = format!("Bearer {token}");
    if tokens.authenticate(Some(authorization.as_bytes())).is_err()
        || !token
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
    {
        // The form again, saying why: a page to read, not a failed load.
        return Html(sign_in_page(Some(
            "That token is not one this ledger knows.",
        )))
        .into_response();
    }
    let mut response = Redirect::to("/").into_response();
    let secure = if state.https { "; Secure" } else { "" };
    if let Ok(cookie) = HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}"
    )) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

async fn sign_out() -> Response {
    let mut response = Redirect::to("/sign-in").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("accord_token=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}
