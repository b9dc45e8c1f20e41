//! Every HTTP route of the gateway, as one router the binary can merge with
//! the assembler's on one port.

mod alerts;
pub(crate) mod body;
mod events;
mod notices;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::auth;
use crate::error::IngestError;
use crate::metrics;
use crate::state::GatewayState;

pub(crate) use body::{read_body, require_json};

pub const ROUTE_SDK_BATCH: &str = "/api/v1/ingest/batch";
pub const ROUTE_SERVICE_EVENTS: &str = "/api/v1/services/events";
pub const ROUTE_OTLP_TRACES: &str = "/v1/traces";
pub const ROUTE_ALERTS: &str = "/api/v1/alerts";

/// The gateway's HTTP routes: SDK batches, SDK notices, OTLP/HTTP traces and
/// generic alerts.
pub fn http_router(state: GatewayState) -> Router {
    Router::new()
        .route(ROUTE_SDK_BATCH, post(events::sdk_batch))
        .route(ROUTE_OTLP_TRACES, post(events::otlp_traces))
        .route(ROUTE_SERVICE_EVENTS, post(notices::service_notice))
        .route(ROUTE_ALERTS, post(alerts::alert_intake))
        .merge(crate::integrations::routes())
        // The handlers read bodies themselves within `max_body_bytes`,
        // before and after decompression.
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

/// The tenant named by the request's `Authorization` header.
fn tenant_of(
    state: &GatewayState,
    headers: &HeaderMap,
) -> Result<std::sync::Arc<causeway_runtime::tenants::Tenant>, IngestError> {
    let value = headers.get(axum::http::header::AUTHORIZATION).map(|v| v.as_bytes());
    auth::authenticate(&state.deps().tenants, value)
}

/// Turns a handler's outcome into the response and counts it once.
pub(crate) fn answer(route: &'static str, outcome: Result<Response, IngestError>) -> Response {
    let response = match outcome {
        Ok(response) => response,
        Err(err) => {
            // Internal and retryable failures were logged with their cause
            // and error id where they arose.
            if !matches!(err, IngestError::Internal { .. } | IngestError::Unavailable { .. }) {
                tracing::debug!(route, error = %err, "request refused");
            }
            err.into_response()
        }
    };
    metrics::record_request(route, response.status().as_u16().to_string());
    response
}
