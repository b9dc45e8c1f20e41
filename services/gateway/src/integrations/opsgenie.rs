//! OpsGenie outgoing webhooks (`POST /api/v1/integrations/opsgenie?token=`).
//!
//! The tenant is the one whose OpsGenie token the URL carries. Only the
//! `Create` action starts an artifact; others are acknowledged and ignored.
//! The service is the alert's `details.service`, else a `service:<name>`
//! tag, else its `entity`. Payload:
//! <https://support.atlassian.com/opsgenie/docs/integrate-opsgenie-with-outgoing-webhooks/>.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use causeway_model::AlertSource;
use causeway_runtime::integrations::Provider;
use serde_json::Value;

use super::normalise::{Draft, build_alert, field, parse_json, required_text, text};
use super::{ROUTE_OPSGENIE, answer_taken, ignored, take_all, tenant_by_token};
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
    let payload = parse_json(bytes, "opsgenie webhook JSON")?;
    let action = required_text(&payload, "action")?;
    if action != "Create" {
        return Ok(ignored(format!("action {action} does not start an artifact")));
    }
    let alert_id = required_text(&payload, "alert.alertId")?;
    let (provider_service, service_field) = service_of(&payload)?;
    // `createdAt` is epoch milliseconds.
    let created_ms = payload
        .get("alert")
        .and_then(|alert| alert.get("createdAt"))
        .and_then(Value::as_u64)
        .ok_or_else(|| field("alert.createdAt", "must be epoch milliseconds"))?;
    // OpsGenie itself deduplicates by alias: a repeat keeps its alias.
    let dedup = text(&payload, "alert.alias")
        .filter(|alias| !alias.is_empty())
        .unwrap_or(alert_id);
    let alert = build_alert(
        &tenant.id,
        &integration.mapping,
        Draft {
            source: AlertSource::Opsgenie,
            provider_service,
            service_field,
            fired_at_unix_ns: created_ms.saturating_mul(1_000_000),
            fired_at_field: "alert.createdAt",
            title: text(&payload, "alert.message"),
            dedup_key: Some(format!("opsgenie:{dedup}")),
            severity: text(&payload, "alert.priority"),
        },
    )?;
    let taken = take_all(state, std::slice::from_ref(&alert)).await?;
    Ok(answer_taken(state, &taken, 0))
}

fn service_of(payload: &Value) -> Result<(&str, &'static str), IngestError> {
    if let Some(service) = text(payload, "alert.details.service").filter(|s| !s.is_empty()) {
        return Ok((service, "alert.details.service"));
    }
    let tagged = payload
        .get("alert")
        .and_then(|alert| alert.get("tags"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .find_map(|tag| tag.strip_prefix("service:"))
        .filter(|s| !s.is_empty());
    if let Some(service) = tagged {
        return Ok((service, "alert.tags"));
    }
    match text(payload, "alert.entity").filter(|s| !s.is_empty()) {
        Some(entity) => Ok((entity, "alert.entity")),
        None => Err(field(
            "alert.details.service",
            "is missing: set details.service, a service:<name> tag or the entity",
        )),
    }
}
