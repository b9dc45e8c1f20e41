//! PagerDuty V3 webhooks (`POST /api/v1/integrations/pagerduty`).
//!
//! The tenant is the one whose signing secret verifies
//! `X-PagerDuty-Signature` (`v1=<hex HMAC-SHA256 of the body>`, several
//! comma-separated while PagerDuty rotates the secret). The payload is
//! decoded by `causeway_model::webhooks::pagerduty`: `incident.triggered`
//! starts an artifact; every other event type is acknowledged and ignored.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use causeway_model::webhooks::pagerduty;
use causeway_runtime::tenants::Tenant;

use super::signature::{any_matches, hex_decode};
use super::{ROUTE_PAGERDUTY, take_delivery};
use crate::alert_intake::new_alert_id;
use crate::error::IngestError;
use crate::http::{answer, read_body, require_json};
use crate::state::GatewayState;

pub const SIGNATURE_HEADER: &str = "X-PagerDuty-Signature";

pub(super) async fn webhook(State(state): State<GatewayState>, headers: HeaderMap, body: Body) -> Response {
    answer(ROUTE_PAGERDUTY, webhook_inner(&state, &headers, body).await)
}

async fn webhook_inner(state: &GatewayState, headers: &HeaderMap, body: Body) -> Result<Response, IngestError> {
    let signatures = signatures(headers)?;
    require_json(headers)?;
    let body = read_body(state, headers, body).await?;
    let bytes = &body.bytes[..];
    let tenant = verified_tenant(state, &signatures, bytes)?;
    let Some(integration) = tenant.integrations.pagerduty.as_ref() else {
        return Err(IngestError::internal("verified tenant lost its pagerduty integration"));
    };
    let delivery = pagerduty::decode(bytes, &tenant.id, &integration.mapping, new_alert_id())?;
    take_delivery(state, delivery).await
}

/// Every `v1=` signature of the header, decoded; the header is required.
fn signatures(headers: &HeaderMap) -> Result<Vec<Vec<u8>>, IngestError> {
    let refuse = |reason: &str| IngestError::BadSignature {
        header: SIGNATURE_HEADER,
        reason: reason.to_owned(),
    };
    let value = headers
        .get(SIGNATURE_HEADER)
        .ok_or_else(|| refuse("missing"))?
        .to_str()
        .map_err(|_| refuse("not text"))?;
    let signatures: Vec<Vec<u8>> = value
        .split(',')
        .filter_map(|entry| entry.trim().strip_prefix("v1="))
        .filter_map(hex_decode)
        .collect();
    if signatures.is_empty() {
        return Err(refuse("no v1= signature"));
    }
    Ok(signatures)
}

/// The tenant whose PagerDuty signing secret made one of the signatures.
fn verified_tenant(state: &GatewayState, signatures: &[Vec<u8>], body: &[u8]) -> Result<Arc<Tenant>, IngestError> {
    state
        .deps()
        .tenants
        .tenants()
        .into_iter()
        .find(|tenant| {
            tenant
                .integrations
                .pagerduty
                .as_ref()
                .is_some_and(|pd| any_matches(pd.secrets.iter().map(|secret| secret.expose()), signatures, &[body]))
        })
        .ok_or_else(|| IngestError::BadSignature {
            header: SIGNATURE_HEADER,
            reason: "no listed signature verifies with a configured signing secret".to_owned(),
        })
}
