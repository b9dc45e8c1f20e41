//! Authenticated, tenant-scoped reads: every lookup takes the tenant from
//! the API key, so another tenant's id finds nothing.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use causeway_assembly::coverage;
use causeway_model::TraceId;
use causeway_model::time_parse::parse_timestamp_text;
use serde::Deserialize;
use serde_json::json;

use super::ReadApiState;
use super::auth::authenticate;
use super::error::ApiError;
use crate::clock::now_unix_ns;

/// Most rows one listing returns.
const MAX_LIST_LIMIT: usize = 500;

pub async fn get_artifact(
    State(state): State<ReadApiState>,
    headers: HeaderMap,
    Path(artifact_id): Path<String>,
) -> Result<Response, ApiError> {
    let tenant = authenticate(&headers, &state.tenants)?;
    let stored = state
        .artifacts
        .get_artifact(&tenant.id, &artifact_id)
        .await?
        .ok_or_else(|| ApiError::not_found("artifact"))?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        [
            ("x-causeway-digest", stored.digest.clone()),
            ("x-causeway-share-url", state.config.share_url(&stored.share_token)),
        ],
        stored.canonical_json,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    service: Option<String>,
    since: Option<String>,
    limit: Option<usize>,
}

pub async fn list_artifacts(
    State(state): State<ReadApiState>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenant = authenticate(&headers, &state.tenants)?;
    let since = match query.since.as_deref() {
        None | Some("") => 0,
        Some(text) => parse_timestamp_text(text).map_err(|msg| ApiError::bad_request("since", msg))?,
    };
    let limit = query.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIST_LIMIT {
        return Err(ApiError::bad_request(
            "limit",
            format!("must be between 1 and {MAX_LIST_LIMIT}"),
        ));
    }
    let rows = state
        .artifacts
        .list_artifacts(
            &tenant.id,
            query.service.as_deref().filter(|s| !s.is_empty()),
            since,
            limit,
        )
        .await?;
    Ok(Json(json!({ "artifacts": rows })))
}

pub async fn get_alert(
    State(state): State<ReadApiState>,
    headers: HeaderMap,
    Path(alert_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenant = authenticate(&headers, &state.tenants)?;
    let alert = state
        .artifacts
        .get_alert_state(&tenant.id, &alert_id)
        .await?
        .ok_or_else(|| ApiError::not_found("alert"))?;
    let mut body = json!({ "alert_id": alert.alert_id, "state": alert.state });
    if let Some(artifact_id) = &alert.artifact_id {
        body["artifact_id"] = json!(artifact_id);
    }
    if let Some(token) = &alert.share_token {
        body["share_url"] = json!(state.config.share_url(token));
    }
    if let Some(error) = &alert.error {
        body["error"] = json!(error);
    }
    Ok(Json(body))
}

pub async fn get_trace(
    State(state): State<ReadApiState>,
    headers: HeaderMap,
    Path(trace_id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenant = authenticate(&headers, &state.tenants)?;
    let trace_id: TraceId = trace_id
        .parse()
        .map_err(|err| ApiError::bad_request("trace_id", format!("{err}")))?;
    let limit = state.config.max_trace_events;
    let mut events = state
        .window
        .trace_events(&tenant.id, trace_id, limit.saturating_add(1))
        .await?;
    let truncated = events.len() > limit;
    events.truncate(limit);
    Ok(Json(
        json!({ "trace_id": trace_id, "events": events, "truncated": truncated, "limit": limit }),
    ))
}

/// The tenant's window as the coverage functions see it: the last pre-arm,
/// up to `max_window_events` events (the oldest are left out past it, and
/// `truncated` says so).
pub(super) struct RecentWindow {
    pub events: Vec<causeway_model::CausalEvent>,
    pub limit: usize,
    pub truncated: bool,
}

impl RecentWindow {
    /// What was read, for JSON answers.
    pub fn summary(&self) -> serde_json::Value {
        json!({ "events_read": self.events.len(), "limit": self.limit, "truncated": self.truncated })
    }
}

pub(super) async fn recent_window(
    state: &ReadApiState,
    tenant_id: &str,
    pre_arm_seconds: Option<u64>,
) -> Result<RecentWindow, ApiError> {
    let now = now_unix_ns();
    let span = pre_arm_seconds
        .unwrap_or(state.config.pre_arm_seconds)
        .saturating_mul(1_000_000_000);
    let limit = state.config.max_window_events;
    let mut events = state
        .window
        .window_events(tenant_id, now.saturating_sub(span), now, limit.saturating_add(1))
        .await?;
    // The read keeps the latest, in start order: past the limit, the
    // oldest extra one goes.
    let truncated = events.len() > limit;
    if truncated {
        events.remove(0);
    }
    Ok(RecentWindow {
        events,
        limit,
        truncated,
    })
}

pub async fn get_coverage(
    State(state): State<ReadApiState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenant = authenticate(&headers, &state.tenants)?;
    let window = recent_window(&state, &tenant.id, tenant.pre_arm_seconds).await?;
    Ok(Json(
        json!({ "coverage": coverage(&window.events), "window": window.summary() }),
    ))
}

pub async fn get_topology(
    State(state): State<ReadApiState>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tenant = authenticate(&headers, &state.tenants)?;
    let window = recent_window(&state, &tenant.id, tenant.pre_arm_seconds).await?;
    let report = coverage(&window.events);
    Ok(Json(json!({
        "services": report.instrumented_services,
        "ghost_services": report.ghost_services.iter().map(|ghost| &ghost.peer).collect::<Vec<_>>(),
        "edges": report.edges,
        "window": window.summary(),
    })))
}
