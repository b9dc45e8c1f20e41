//! PagerDuty V3 webhook payloads. `incident.triggered` starts an artifact;
//! every other event type is ignored. The gateway verifies
//! `X-PagerDuty-Signature` before this runs.
//! Payload: <https://developer.pagerduty.com/docs/webhooks-v3-overview>.

use super::fields::{parse_json, required_text, text, time_at};
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
    let payload = parse_json(body, "pagerduty webhook JSON")?;
    let event_type = required_text(&payload, "event.event_type")?;
    if event_type != "incident.triggered" {
        return Ok(Delivery::Ignored(format!(
            "event type {event_type} does not start an artifact"
        )));
    }
    let incident_id = required_text(&payload, "event.data.id")?;
    let service_name = required_text(&payload, "event.data.service.summary")?;
    let service_id = text(&payload, "event.data.service.id").unwrap_or_default();
    // The map may name the service by its PagerDuty id or by its name.
    let provider_service = if mapping.services.contains_key(service_id) {
        service_id
    } else {
        service_name
    };
    let (fired_at_unix_ns, fired_at_field) = match time_at(&payload, "event.data.created_at") {
        Ok(at) => (at, "event.data.created_at"),
        Err(_) => (time_at(&payload, "event.occurred_at")?, "event.occurred_at"),
    };
    let alert = build_alert(
        tenant_id,
        alert_id,
        mapping,
        Draft {
            source: AlertSource::Pagerduty,
            provider_service,
            service_field: "event.data.service.summary",
            fired_at_unix_ns,
            fired_at_field,
            title: text(&payload, "event.data.title"),
            dedup_key: Some(format!("pagerduty:{incident_id}")),
            severity: text(&payload, "event.data.urgency"),
        },
    )?;
    Ok(Delivery::Alerts {
        alerts: vec![alert],
        ignored: 0,
    })
}
