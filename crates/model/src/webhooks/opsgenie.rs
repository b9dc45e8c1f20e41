//! OpsGenie outgoing webhook payloads. Only the `Create` action starts an
//! artifact; others are ignored. The service is the alert's
//! `details.service`, else a `service:<name>` tag, else its `entity`.
//! Payload:
//! <https://support.atlassian.com/opsgenie/docs/integrate-opsgenie-with-outgoing-webhooks/>.

use serde_json::Value;

use super::fields::{field, parse_json, required_text, text};
use super::{Delivery, Draft, ServiceMapping, WebhookError, build_alert};
use crate::alert::AlertSource;

/// Decodes one delivery for `tenant_id`; `alert_id` is the id the alert
/// gets when there is one.
pub fn decode(
    body: &[u8],
    tenant_id: &str,
    mapping: &ServiceMapping,
    alert_id: String,
) -> Result<Delivery, WebhookError> {
    let payload = parse_json(body, "opsgenie webhook JSON")?;
    let action = required_text(&payload, "action")?;
    if action != "Create" {
        return Ok(Delivery::Ignored(format!("action {action} does not start an artifact")));
    }
    let opsgenie_id = required_text(&payload, "alert.alertId")?;
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
        .unwrap_or(opsgenie_id);
    let alert = build_alert(
        tenant_id,
        alert_id,
        mapping,
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
    Ok(Delivery::Alerts {
        alerts: vec![alert],
        ignored: 0,
    })
}

fn service_of(payload: &Value) -> Result<(&str, &'static str), WebhookError> {
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
