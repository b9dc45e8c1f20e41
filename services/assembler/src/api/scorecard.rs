//! `GET /coverage`: the tenant's coverage scorecard as a page. A tenant is
//! known by its API key, from `Authorization: Bearer` (scripts) or from the
//! cookie the sign-in page sets (browsers); without either, the sign-in
//! page answers 401.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_assembly::coverage;
use causeway_model::time_parse::format_rfc3339;
use causeway_runtime::tenants::Tenant;
use serde::Deserialize;
use std::sync::Arc;

use super::ReadApiState;
use super::error::ApiError;
use super::reads::recent_window;
use crate::clock::now_unix_ns;
use crate::page::{AlertRow, ScoreRange, ScorecardView, scorecard_page, sign_in_page};

/// The cookie that holds the key after sign-in, scoped to `/coverage`.
const SESSION_COOKIE: &str = "causeway_key";
/// How long a sign-in lasts.
const SESSION_SECONDS: u64 = 12 * 3_600;
/// Most alerts the scorecard reads per view.
const MAX_ALERTS: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScorecardQuery {
    range: Option<String>,
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

fn cookie_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, key)| key.to_owned())
}

/// The tenant of the header key, else of the cookie; and whether the
/// cookie was what signed in.
fn tenant_of(state: &ReadApiState, headers: &HeaderMap) -> Option<(Arc<Tenant>, bool)> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        return causeway_runtime::auth::authenticate(&state.tenants, Some(value.as_bytes()))
            .ok()
            .map(|tenant| (tenant, false));
    }
    let key = cookie_key(headers)?;
    state.tenants.authenticate(&key).map(|tenant| (tenant, true))
}

pub async fn get_scorecard(
    State(state): State<ReadApiState>,
    headers: HeaderMap,
    Query(query): Query<ScorecardQuery>,
) -> Result<Response, ApiError> {
    let range = match query.range.as_deref() {
        None | Some("") => ScoreRange::Day,
        Some(text) => ScoreRange::parse(text)
            .ok_or_else(|| ApiError::bad_request("range", format!("{text:?} is not one of 1h, 24h, 7d")))?,
    };
    let Some((tenant, cookie_session)) = tenant_of(&state, &headers) else {
        return Ok(html(StatusCode::UNAUTHORIZED, sign_in_page(None)));
    };
    let window_seconds = tenant.pre_arm_seconds.unwrap_or(state.config.pre_arm_seconds);
    let events = recent_window(&state, &tenant.id, Some(window_seconds)).await?;
    let report = coverage(&events);
    let since = now_unix_ns().saturating_sub(range.nanos());
    let listed = state
        .artifacts
        .list_artifacts(&tenant.id, None, since, MAX_ALERTS + 1)
        .await?;
    let alerts_truncated = listed.len() > MAX_ALERTS;
    let mut alerts = Vec::with_capacity(listed.len().min(MAX_ALERTS));
    for row in listed.into_iter().take(MAX_ALERTS) {
        let Some(stored) = state.artifacts.get_artifact(&tenant.id, &row.artifact_id).await? else {
            continue; // expired between the listing and the read
        };
        alerts.push(AlertRow {
            service: row.service,
            created_at: format_rfc3339(row.created_at_unix_ns),
            label: completeness_label(&stored.canonical_json),
            share_path: format!("/a/{}", stored.share_token),
        });
    }
    let view = ScorecardView {
        tenant_id: &tenant.id,
        range,
        window_seconds,
        coverage: &report,
        alerts: &alerts,
        alerts_truncated,
        cookie_session,
    };
    Ok(html(StatusCode::OK, scorecard_page(&view)))
}

/// The label of a stored artifact, read from its canonical JSON.
fn completeness_label(canonical_json: &[u8]) -> Option<&'static str> {
    let value: serde_json::Value = serde_json::from_slice(canonical_json).ok()?;
    match value.pointer("/completeness/label")?.as_str()? {
        "full" => Some("full"),
        "partial" => Some("partial"),
        "low" => Some("low"),
        _ => None,
    }
}

pub async fn sign_in_form() -> Response {
    html(StatusCode::OK, sign_in_page(None))
}

#[derive(Debug, Deserialize)]
pub struct SignIn {
    key: String,
}

pub async fn sign_in(State(state): State<ReadApiState>, Form(form): Form<SignIn>) -> Response {
    let key = form.key.trim();
    // A cookie value cannot hold separators; no valid key has them.
    let cookie_safe = key.bytes().all(|c| c.is_ascii_graphic() && c != b';' && c != b',');
    if !cookie_safe || state.tenants.authenticate(key).is_none() {
        return html(
            StatusCode::UNAUTHORIZED,
            sign_in_page(Some("key: not the API key of any workspace")),
        );
    }
    let cookie =
        format!("{SESSION_COOKIE}={key}; Path=/coverage; Max-Age={SESSION_SECONDS}; HttpOnly; SameSite=Strict");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/coverage")).into_response()
}

pub async fn sign_out() -> Response {
    let cookie = format!("{SESSION_COOKIE}=; Path=/coverage; Max-Age=0; HttpOnly; SameSite=Strict");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/coverage/sign-in")).into_response()
}
