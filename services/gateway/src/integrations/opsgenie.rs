//! OpsGenie outgoing webhooks (`POST /api/v1/integrations/opsgenie?token=`).
//!
//! The tenant is the one whose OpsGenie token the URL carries. The payload
//! is decoded by `causeway_model::webhooks::opsgenie`: only the `Create`
//! action starts an artifact; others are acknowledged and ignored.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use causeway_model::webhooks::opsgenie;
use causeway_runtime::integrations::Provider;

use super::{ROUTE_OPSGENIE, take_delivery, tenant_by_token};
use crate::alert_intake::new_alert_id;
use crate::error::IngestError;
use crate::http::{answer, read_body, require_json};
use crate::state::GatewayState;

pub(super) async fn webhook(State(state): State<GatewayState>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    answer(ROUTE_OPSGENIE, webhook_inner(&state, &uri, &headers, body).await)
}

async fn webhook_inner(
    state: &GatewayState,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, IngestError> {
    let tenant = tenant_by_token(state, Provider::Opsgenie, uri, headers)?;
    let Some(integration) = tenant.integrations.opsgenie.as_ref() else {
        return Err(IngestError::internal("token tenant lost its opsgenie integration"));
    };
    require_json(headers)?;
    let body = read_body(state, headers, body).await?;
    let bytes = &body.bytes[..];
    let delivery = opsgenie::decode(bytes, &tenant.id, &integration.mapping, new_alert_id())?;
    take_delivery(state, delivery).await
}
