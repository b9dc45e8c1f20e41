//! Invariants shared by the fuzz targets: what every decoded event and
//! alert must satisfy whatever the input was.

use causeway_model::limits::{
    MAX_ALERT_FIELD_LEN, MAX_ALERT_TITLE_LEN, MAX_EVENTS_PER_BATCH, MAX_SERVICE_LEN, MIN_TIMESTAMP_UNIX_NS,
};
use causeway_model::validate::{check_text, validate_event};
use causeway_model::{Alert, CausalEvent, DecodeError, decode_ce_batch, encode_ce_batch};

/// The receiver's clock in every target: just after the recorded fixtures
/// (2026-11-21), so the seeds decode.
pub const NOW: u64 = 1_795_300_000_000_000_000;
/// The tenant the credential would name.
pub const TENANT: &str = "fuzz-tenant";

/// A decoded batch: within the count limit, every event valid under the
/// same clock, the credential's tenant on each, and lossless through
/// `CeBatch` (what the gateway publishes and the windower reads back).
pub fn check_events(events: &[CausalEvent], tenant: Option<&str>) {
    assert!(events.len() <= MAX_EVENTS_PER_BATCH, "{} events", events.len());
    for event in events {
        if let Some(tenant) = tenant {
            assert_eq!(event.tenant_id, tenant);
        }
        if let Err(err) = validate_event(event, NOW) {
            panic!("decoded event fails validation: {err}: {event:?}");
        }
        assert!(
            event.trace_id.0 != [0; 16] && event.ce_id.0 != [0; 16],
            "zero id: {event:?}"
        );
    }
    let encoded = encode_ce_batch(events);
    match decode_ce_batch(&encoded, None, NOW) {
        Ok(back) => assert_eq!(back, events, "CeBatch round trip"),
        Err(err) => panic!("a valid batch does not decode after encoding: {err}"),
    }
}

/// A refusal is typed: a field error names a field, a limit error carries
/// its limit, and every error prints a message.
pub fn check_error(err: &DecodeError) {
    assert!(!err.to_string().is_empty());
    match err {
        DecodeError::Malformed { detail, .. } => assert!(err.field().is_none() && !detail.is_empty()),
        DecodeError::Field(field) => assert!(!field.field.is_empty() && !field.message.is_empty(), "{field:?}"),
        DecodeError::TooManyEvents { actual, limit } => assert!(actual > limit),
    }
}

/// An alert as any intake path must produce it: the limits of the generic
/// alert JSON (docs/wire-formats.md) hold on every field.
pub fn check_alert(alert: &Alert) {
    let ok = |field: &str, value: &str, max: usize, required: bool| {
        if let Err(err) = check_text(field, value, max, required) {
            panic!("alert field out of its limits: {err}: {alert:?}");
        }
    };
    ok("service", &alert.service, MAX_SERVICE_LEN, true);
    ok("title", &alert.title, MAX_ALERT_TITLE_LEN, false);
    for (field, value) in [
        ("source_label", &alert.source_label),
        ("dedup_key", &alert.dedup_key),
        ("severity", &alert.severity),
    ] {
        if let Some(value) = value {
            ok(field, value, MAX_ALERT_FIELD_LEN, false);
            assert!(!value.is_empty(), "{field} is Some(\"\"): {alert:?}");
        }
    }
    assert!(alert.fired_at_unix_ns >= MIN_TIMESTAMP_UNIX_NS, "{alert:?}");
    assert!(alert.trace_id.is_none_or(|id| id.0 != [0; 16]), "{alert:?}");
}

/// The two mappings every webhook target decodes with: none (provider
/// names used as they are) and a required map that knows a few names.
pub fn mappings() -> [causeway_model::webhooks::ServiceMapping; 2] {
    let known = ["Checkout API", "PXXXXXX", "checkout-svc", "checkout"]
        .map(|name| (name.to_owned(), "checkout".to_owned()))
        .into_iter()
        .collect();
    [
        causeway_model::webhooks::ServiceMapping::default(),
        causeway_model::webhooks::ServiceMapping {
            services: known,
            require_mapping: true,
        },
    ]
}

/// A webhook delivery: its alerts are valid alerts of the provider, and
/// a refusal is typed.
pub fn check_delivery(
    outcome: &Result<causeway_model::webhooks::Delivery, causeway_model::webhooks::WebhookError>,
    source: causeway_model::AlertSource,
    mapping: &causeway_model::webhooks::ServiceMapping,
) {
    use causeway_model::webhooks::{Delivery, WebhookError};
    match outcome {
        Ok(Delivery::Ignored(reason)) => assert!(!reason.is_empty()),
        Ok(Delivery::Alerts { alerts, .. }) => {
            assert!(!alerts.is_empty(), "a delivery of no alerts is ignored, not taken");
            for alert in alerts {
                check_alert(alert);
                assert_eq!(alert.tenant_id, TENANT);
                assert_eq!(alert.source, source);
                if mapping.require_mapping {
                    assert!(mapping.services.values().any(|s| s == &alert.service), "{alert:?}");
                }
            }
        }
        Err(WebhookError::Decode(err)) => check_error(err),
        Err(WebhookError::UnknownService { .. }) => assert!(mapping.require_mapping),
    }
}
