//! Prometheus Alertmanager (`POST /api/v1/integrations/alertmanager?token=`,
//! webhook payload version 4) and Grafana unified alerting
//! (`POST /api/v1/integrations/grafana?token=`), which sends the same
//! `alerts[]` shape with a few fields of its own.
//!
//! One alert per *firing* alert of the delivery; resolved ones are ignored.
//! The service is the configured label (default `service`), `fired_at` is
//! `startsAt`, and the dedup key is the alert's fingerprint with its
//! `startsAt`, so Alertmanager's repeats (every `repeat_interval`, or a
//! retried delivery) are one alert. Payloads:
//! <https://prometheus.io/docs/alerting/latest/configuration/#webhook_config>,
//! <https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/>.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use causeway_model::{Alert, AlertSource};
use causeway_runtime::integrations::{Provider, ResolvedIntegration};
use serde_json::Value;

use super::normalise::{Draft, build_alert, field, parse_json, required_text, text, time_at};
use super::{ROUTE_ALERTMANAGER, ROUTE_GRAFANA, answer_taken, ignored, take_all, tenant_by_token};
use crate::error::IngestError;
use crate::http::{answer, read_body, require_json};
use crate::state::GatewayState;

/// Most alerts taken from one delivery (Alertmanager's own `max_alerts`
/// truncates the same way).
const MAX_ALERTS_PER_DELIVERY: usize = 100;

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
    let payload = parse_json(bytes, "alert webhook JSON")?;
    if provider == Provider::Alertmanager {
        let version = required_text(&payload, "version")?;
        if version != "4" {
            return Err(field(
                "version",
                "must be \"4\" (the Alertmanager webhook payload version)",
            ));
        }
    }
    let (alerts, resolved) = decode(&tenant.id, provider, integration, &payload)?;
    if alerts.is_empty() {
        return Ok(ignored(format!("{resolved} resolved alert(s), none firing")));
    }
    let taken = take_all(state, &alerts).await?;
    Ok(answer_taken(state, &taken, resolved))
}

/// The firing alerts of a delivery as `Alert`s, and how many were skipped.
fn decode(
    tenant_id: &str,
    provider: Provider,
    integration: &ResolvedIntegration,
    payload: &Value,
) -> Result<(Vec<Alert>, usize), IngestError> {
    let entries = payload
        .get("alerts")
        .and_then(Value::as_array)
        .ok_or_else(|| field("alerts", "must be a list"))?;
    if entries.len() > MAX_ALERTS_PER_DELIVERY {
        return Err(IngestError::Decode(causeway_model::DecodeError::from(
            causeway_model::FieldError::over_limit(
                "alerts",
                entries.len() as u64,
                MAX_ALERTS_PER_DELIVERY as u64,
                "alerts",
            ),
        )));
    }
    let source = match provider {
        Provider::Alertmanager => AlertSource::Alertmanager,
        _ => AlertSource::Grafana,
    };
    let label = integration.service_label.as_str();
    let mut alerts = Vec::new();
    let mut skipped = 0;
    for (index, entry) in entries.iter().enumerate() {
        let path = |name: &str| format!("alerts[{index}].{name}");
        let status = required_text(entry, "status").map_err(|_| field(&path("status"), "is missing"))?;
        if status != "firing" {
            skipped += 1;
            continue;
        }
        let service_field = path(&format!("labels.{label}"));
        let service = entry
            .get("labels")
            .and_then(|labels| labels.get(label))
            .and_then(Value::as_str)
            .filter(|service| !service.is_empty())
            .ok_or_else(|| {
                field(
                    &service_field,
                    "is missing: the service label names the alerting service",
                )
            })?;
        let fired_at_field = path("startsAt");
        let fired_at = time_at(entry, "startsAt").map_err(|err| match err {
            IngestError::Decode(inner) => field(&fired_at_field, &inner.to_string()),
            other => other,
        })?;
        let starts_at = text(entry, "startsAt").unwrap_or_default();
        let dedup_key = text(entry, "fingerprint")
            .filter(|fingerprint| !fingerprint.is_empty())
            .map(|fingerprint| format!("{}:{fingerprint}:{starts_at}", provider.as_str()));
        let title = text(entry, "annotations.summary")
            .or_else(|| text(entry, "labels.alertname"))
            .or_else(|| text(payload, "title"));
        alerts.push(build_alert(
            tenant_id,
            &integration.mapping,
            Draft {
                source,
                provider_service: service,
                service_field: &service_field,
                fired_at_unix_ns: fired_at,
                fired_at_field: &fired_at_field,
                title,
                dedup_key,
                severity: text(entry, "labels.severity"),
            },
        )?);
    }
    Ok((alerts, skipped))
}
