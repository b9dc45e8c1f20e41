//! Alerts from paging tools: PagerDuty, OpsGenie, Slack, Alertmanager and
//! Grafana webhooks, each per tenant (found from the integration's own
//! credential), each decoded to the one `Alert` by
//! `causeway_model::webhooks` and taken through the same intake as the
//! generic alert (window check, dedup, `pending` state, publish).
//! docs/integrations.md shows each provider's setup.

mod alertmanager;
mod opsgenie;
mod pagerduty;
pub mod signature;
mod slack;
mod slack_followup;

use axum::Json;
use axum::Router;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use causeway_model::Alert;
use causeway_model::webhooks::Delivery;
use causeway_runtime::integrations::Provider;
use causeway_runtime::tenants::Tenant;
use serde_json::json;
use std::sync::Arc;

use crate::alert_intake::{Accepted, accept, check_window};
use crate::error::IngestError;
use crate::state::GatewayState;

pub const ROUTE_PAGERDUTY: &str = "/api/v1/integrations/pagerduty";
pub const ROUTE_OPSGENIE: &str = "/api/v1/integrations/opsgenie";
pub const ROUTE_SLACK: &str = "/api/v1/integrations/slack";
pub const ROUTE_ALERTMANAGER: &str = "/api/v1/integrations/alertmanager";
pub const ROUTE_GRAFANA: &str = "/api/v1/integrations/grafana";

/// The integration routes, merged into the gateway's router.
pub(crate) fn routes() -> Router<GatewayState> {
    Router::new()
        .route(ROUTE_PAGERDUTY, post(pagerduty::webhook))
        .route(ROUTE_OPSGENIE, post(opsgenie::webhook))
        .route(ROUTE_SLACK, post(slack::slash_command))
        .route(ROUTE_ALERTMANAGER, post(alertmanager::alertmanager_webhook))
        .route(ROUTE_GRAFANA, post(alertmanager::grafana_webhook))
}

/// The tenant of a token-authenticated integration: `?token=` in the URL
/// (what every provider can send) or `Authorization: Bearer`.
fn tenant_by_token(
    state: &GatewayState,
    provider: Provider,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Arc<Tenant>, IngestError> {
    let from_query = uri.query().and_then(|query| {
        form_urlencoded_pairs(query)
            .into_iter()
            .find(|(key, _)| key == "token")
            .map(|(_, value)| value)
    });
    let from_header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(|token| token.trim().to_owned());
    let Some(token) = from_query.or(from_header) else {
        return Err(IngestError::Unauthorized(
            "no integration token: add ?token=<token> to the webhook URL",
        ));
    };
    state
        .deps()
        .tenants
        .by_integration_token(provider, &token)
        .ok_or(IngestError::Unauthorized("unknown integration token"))
}

fn form_urlencoded_pairs(text: &str) -> Vec<(String, String)> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(text).unwrap_or_default()
}

/// Checks every alert of a delivery first (nothing is published when one is
/// refused), then takes each. A provider retry after a partial failure is
/// safe: the taken ones answer as duplicates.
async fn take_all(state: &GatewayState, alerts: &[Alert]) -> Result<Vec<Accepted>, IngestError> {
    for alert in alerts {
        check_window(state, alert)?;
    }
    let mut taken = Vec::with_capacity(alerts.len());
    for alert in alerts {
        taken.push(accept(state, alert).await?);
    }
    Ok(taken)
}

/// 202 with the alert ids when something new was published, else 200.
fn answer_taken(state: &GatewayState, taken: &[Accepted], ignored: usize) -> Response {
    let any_new = taken.iter().any(|accepted| matches!(accepted, Accepted::New { .. }));
    let status = if any_new { StatusCode::ACCEPTED } else { StatusCode::OK };
    let alerts: Vec<_> = taken.iter().map(|accepted| accepted.body(state)).collect();
    (status, Json(json!({"alerts": alerts, "ignored": ignored}))).into_response()
}

/// The answer to a decoded delivery: its alerts taken, or acknowledged.
async fn take_delivery(state: &GatewayState, delivery: Delivery) -> Result<Response, IngestError> {
    match delivery {
        Delivery::Ignored(reason) => Ok(ignored(reason)),
        Delivery::Alerts { alerts, ignored } => {
            let taken = take_all(state, &alerts).await?;
            Ok(answer_taken(state, &taken, ignored))
        }
    }
}

/// 200 for a delivery that carries nothing to start an artifact (another
/// event type, a resolved alert): acknowledged so the provider stops retrying.
fn ignored(reason: String) -> Response {
    tracing::debug!(reason = %reason, "integration delivery ignored");
    (
        StatusCode::OK,
        Json(json!({"alerts": [], "ignored": 1, "reason": reason})),
    )
        .into_response()
}
