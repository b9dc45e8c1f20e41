//! Prometheus Alertmanager (`POST /api/v1/integrations/alertmanager?token=`,
//! webhook payload version 4) and Grafana unified alerting
//! (`POST /api/v1/integrations/grafana?token=`), which sends the same
//! `alerts[]` shape with a few fields of its own.
//!
//! The tenant is the one whose token the URL carries; the payload is
//! decoded by `causeway_model::webhooks::alertmanager`: one alert per
//! *firing* alert of the delivery, resolved ones ignored.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use causeway_model::webhooks::alertmanager::{self, Sender};
use causeway_runtime::integrations::Provider;

use super::{ROUTE_ALERTMANAGER, ROUTE_GRAFANA, take_delivery, tenant_by_token};
use crate::alert_intake::new_alert_id;
use crate::error::IngestError;
use crate::http::{answer, read_body, require_json};
use crate::state::GatewayState;

pub(super) async fn alertmanager_webhook(
    State(state): State<GatewayState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = webhook_inner(&state, Provider::Alertmanager, &uri, &headers, body).await;
    answer(ROUTE_ALERTMANAGER, outcome)
}

pub(super) async fn grafana_webhook(
    State(state): State<GatewayState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = webhook_inner(&state, Provider::Grafana, &uri, &headers, body).await;
    answer(ROUTE_GRAFANA, outcome)
}

async fn webhook_inner(
    state: &GatewayState,
    provider: Provider,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, IngestError> {
    let tenant = tenant_by_token(state, provider, uri, headers)?;
    let integration = match provider {
        Provider::Alertmanager => tenant.integrations.alertmanager.as_ref(),
        _ => tenant.integrations.grafana.as_ref(),
    };
    let Some(integration) = integration else {
        return Err(IngestError::internal("token tenant lost its integration"));
    };
    require_json(headers)?;
    let body = read_body(state, headers, body).await?;
    let bytes = &body.bytes[..];
    let sender = match provider {
        Provider::Alertmanager => Sender::Alertmanager,
        _ => Sender::Grafana,
    };
    let delivery = alertmanager::decode(
        bytes,
        sender,
        &tenant.id,
        &integration.service_label,
        &integration.mapping,
        new_alert_id,
    )?;
    take_delivery(state, delivery).await
}
