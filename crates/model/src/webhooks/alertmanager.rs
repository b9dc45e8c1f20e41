//! Prometheus Alertmanager webhook payloads (version 4) and Grafana
//! unified alerting's, which has the same `alerts[]` shape with a few
//! fields of its own.
//!
//! One alert per *firing* alert of the delivery; resolved ones are skipped.
//! The service is the configured label (default `service`), `fired_at` is
//! `startsAt`, and the dedup key is the alert's fingerprint with its
//! `startsAt`, so Alertmanager's repeats (every `repeat_interval`, or a
//! retried delivery) are one alert. Payloads:
//! <https://prometheus.io/docs/alerting/latest/configuration/#webhook_config>,
//! <https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/>.

use serde_json::Value;

use super::fields::{field, parse_json, required_text, text, time_at};
use super::{Delivery, Draft, ServiceMapping, WebhookError, build_alert};
use crate::alert::AlertSource;
use crate::error::{DecodeError, FieldError};

/// Most alerts taken from one delivery (Alertmanager's own `max_alerts`
/// truncates the same way).
pub const MAX_ALERTS_PER_DELIVERY: usize = 100;

/// Which of the two senders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    Alertmanager,
    Grafana,
}

impl Sender {
    fn source(self) -> AlertSource {
        match self {
            Sender::Alertmanager => AlertSource::Alertmanager,
            Sender::Grafana => AlertSource::Grafana,
        }
    }
}

/// Decodes one delivery for `tenant_id`. `service_label` names the label
/// that carries the service; `new_alert_id` mints the id of each alert.
pub fn decode(
    body: &[u8],
    sender: Sender,
    tenant_id: &str,
    service_label: &str,
    mapping: &ServiceMapping,
    mut new_alert_id: impl FnMut() -> String,
) -> Result<Delivery, WebhookError> {
    let payload = parse_json(body, "alert webhook JSON")?;
    if sender == Sender::Alertmanager {
        let version = required_text(&payload, "version")?;
        if version != "4" {
            return Err(field(
                "version",
                "must be \"4\" (the Alertmanager webhook payload version)",
            ));
        }
    }
    let entries = payload
        .get("alerts")
        .and_then(Value::as_array)
        .ok_or_else(|| field("alerts", "must be a list"))?;
    if entries.len() > MAX_ALERTS_PER_DELIVERY {
        return Err(DecodeError::from(FieldError::over_limit(
            "alerts",
            entries.len() as u64,
            MAX_ALERTS_PER_DELIVERY as u64,
            "alerts",
        ))
        .into());
    }
    let source = sender.source();
    let mut alerts = Vec::new();
    let mut skipped = 0;
    for (index, entry) in entries.iter().enumerate() {
        let path = |name: &str| format!("alerts[{index}].{name}");
        let status = required_text(entry, "status").map_err(|_| field(&path("status"), "is missing"))?;
        if status != "firing" {
            skipped += 1;
            continue;
        }
        let service_field = path(&format!("labels.{service_label}"));
        let service = entry
            .get("labels")
            .and_then(|labels| labels.get(service_label))
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
            WebhookError::Decode(inner) => field(&fired_at_field, &inner.to_string()),
            other => other,
        })?;
        let starts_at = text(entry, "startsAt").unwrap_or_default();
        let prefix = source.as_str();
        let dedup_key = text(entry, "fingerprint")
            .filter(|fingerprint| !fingerprint.is_empty())
            .map(|fingerprint| format!("{prefix}:{fingerprint}:{starts_at}"));
        let title = text(entry, "annotations.summary")
            .or_else(|| text(entry, "labels.alertname"))
            .or_else(|| text(&payload, "title"));
        alerts.push(build_alert(
            tenant_id,
            new_alert_id(),
            mapping,
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
    if alerts.is_empty() {
        return Ok(Delivery::Ignored(format!("{skipped} resolved alert(s), none firing")));
    }
    Ok(Delivery::Alerts {
        alerts,
        ignored: skipped,
    })
}
