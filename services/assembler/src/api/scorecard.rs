//! `GET /coverage`: the tenant's coverage scorecard as a page. A tenant is
//! known by its API key, from `Authorization: Bearer` (scripts) or from the
//! cookie the sign-in page sets (browsers); without either, the sign-in
//! page answers 401.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use causeway_assembly::{EdgeHealth, call_edges, coverage, coverage_over_range};
use causeway_model::time_parse::format_rfc3339;
use causeway_runtime::tenants::Tenant;
use serde::Deserialize;
use std::sync::Arc;

use super::ReadApiState;
use super::error::ApiError;
use super::reads::recent_window;
use crate::clock::now_unix_ns;
use crate::page::{AlertRow, Period, ScoreRange, ScorecardView, scorecard_page, sign_in_page};
use crate::topology_rollup::SLOT_SECONDS;

/// The cookie that holds the key after sign-in, scoped to `/coverage`.
const SESSION_COOKIE: &str = "causeway_key";
/// How long a sign-in lasts.
const SESSION_SECONDS: u64 = 12 * 3_600;
/// Most alerts the scorecard reads per view.
const MAX_ALERTS: usize = 200;
/// Most topology slots summed per view: 7 days of 5-minute slots, and a
/// little more (a cut is shown).
const MAX_SLOTS: usize = 2_100;
const NS: u64 = 1_000_000_000;

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
    let now = now_unix_ns();
    let window = recent_window(&state, &tenant.id, Some(window_seconds)).await?;
    let events = window.events;
    let live = coverage(&events);
    // Calls come from the rolled-up slots of the range, then from the live
    // window after the newest slot: a call is in one or the other, never both.
    let (now_s, live_start) = (now / NS, now.saturating_sub(window_seconds.saturating_mul(NS)));
    let slots = state
        .topology
        .topology(&tenant.id, now_s.saturating_sub(range.nanos() / NS), now_s, MAX_SLOTS)
        .await?;
    let slots_end = slots
        .newest_slot_s
        .map(|start| start.saturating_add(SLOT_SECONDS).saturating_mul(NS));
    let live_from = slots_end.map_or(live_start, |end| end.max(live_start));
    let rolled: Vec<EdgeHealth> = slots
        .edges
        .iter()
        .map(|e| EdgeHealth::from_counts(e.caller.clone(), e.peer.clone(), e.calls, e.answered, e.errors))
        .collect();
    let report = coverage_over_range(&live, &[&rolled, &call_edges(&events, live_from, u64::MAX)]);
    let period = Period {
        slots: slots.slots,
        slots_from: slots
            .oldest_slot_s
            .map(|start| format_rfc3339(start.saturating_mul(NS))),
        slots_to: slots_end.map(format_rfc3339),
        slots_truncated: slots.truncated,
        live_from: format_rfc3339(live_from),
        gap: slots_end
            .filter(|end| *end < live_start)
            .map(|end| (format_rfc3339(end), format_rfc3339(live_start))),
        window_seconds,
        live_truncated: window.truncated.then_some(window.limit),
    };
    let since = now.saturating_sub(range.nanos());
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
        period: &period,
        coverage: &report,
        live: &live,
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
