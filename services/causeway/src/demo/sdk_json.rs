//! Steps of an SDK service as the Incidentary SDK 0.2.0 sends them: one
//! wire format v1 batch (`POST /api/v1/ingest/batch`), FULL capture mode so
//! each event carries its method, route and downstream service.

use serde_json::{Value, json};

use super::topology::{Direction, Step};

const SDK_VERSION: &str = "0.2.0";
pub const ENVIRONMENT: &str = "demo";

/// `8 id bytes + 8 zero bytes` as UUID text (see [`Step`] on ids).
pub fn ce_uuid(id: &[u8; 8]) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(id);
    uuid::Uuid::from_bytes(bytes).hyphenated().to_string()
}

/// The SDK's normalized route key: `{sku}` becomes `:sku`.
fn route_key(route: &str) -> String {
    route
        .split('/')
        .map(|part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) => format!(":{name}"),
            None => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn detail(step: &Step) -> Value {
    let downstream = step.peer.map(|peer| {
        json!({
            "edge_key": format!("{peer}:8080"),
            "service": peer,
            "operation_name": null,
            "key_quality": "normalized_url",
        })
    });
    let error_class = if step.status >= 500 { "server_error" } else { "none" };
    json!({
        "method": step.method,
        "route_key": route_key(step.route),
        "route_template": step.route,
        "request_bytes": null,
        "response_bytes": null,
        "request_headers": null,
        "response_headers": null,
        "retry": null,
        "downstream": downstream,
        "local_error_classification": error_class,
        "payload_snippet": null,
    })
}

fn event(step: &Step) -> Value {
    let (kind, event_type) = match step.direction {
        Direction::Inbound => ("HTTP_IN", "http_in"),
        Direction::Outbound => ("HTTP_OUT", "http_out"),
    };
    json!({
        "ce_id": ce_uuid(&step.id),
        "trace_id": uuid::Uuid::from_bytes(step.trace_id).hyphenated().to_string(),
        "parent_ce_id": step.parent.as_ref().map(ce_uuid),
        "service_id": step.service.name,
        // The SDK stamps an event when the operation completes.
        "wall_ts_ns": step.end_ns(),
        "kind": kind,
        "status": step.status,
        "duration_ns": step.duration_ns,
        "sdk_version": SDK_VERSION,
        "captured_before_alert": null,
        "ring_buffer_seq": null,
        "event_type": event_type,
        "event_class": "causal",
        "event_attrs": null,
        "detail": detail(step),
    })
}

/// One flush of `service`: `steps` are that service's, `flushed_at_ns`
/// when the SDK sent them.
pub fn batch(service: &str, steps: &[&Step], flushed_at_ns: u64) -> Value {
    json!({
        "schema_version": "1",
        "workspace_id": "ws_demo",
        "service_id": service,
        "environment": ENVIRONMENT,
        "flushed_at": flushed_at_ns,
        "capture_mode": "FULL",
        "events": steps.iter().map(|step| event(step)).collect::<Vec<_>>(),
        "sdk_telemetry": {
            "sdk_version": SDK_VERSION,
            "sdk_language": "python",
            "queue_depth": 0,
            "dropped_ce_count": 0,
            "flush_latency_ms": 1,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::rng::Rng;
    use crate::demo::topology::{CHECKOUT, GHOST, request_steps};
    use causeway_model::{Kind, decode_sdk_batch};

    #[test]
    fn the_decoder_reads_every_field_the_demo_sends() {
        let steps = request_steps(&mut Rng::seeded(5), 1_800_000_000_000_000_000, true, 1_000);
        let checkout: Vec<&Step> = steps.iter().filter(|s| s.service.name == CHECKOUT.name).collect();
        let body = serde_json::to_vec(&batch("checkout", &checkout, 1_800_000_000_200_000_000)).expect("json");
        let decoded = decode_sdk_batch(&body, "tenant", u64::MAX).expect("valid batch");
        assert_eq!(decoded.events.len(), checkout.len());
        for (event, step) in decoded.events.iter().zip(&checkout) {
            assert_eq!(event.start_unix_ns, step.start_ns);
            assert_eq!(event.duration_ns, step.duration_ns);
            assert_eq!(event.status, step.status);
            assert_eq!(event.ce_id, causeway_model::CeId::from_span_id(&step.id).expect("id"));
            assert_eq!(event.peer.as_deref(), step.peer);
            assert_eq!(event.environment.as_deref(), Some(ENVIRONMENT));
        }
        let call = decoded
            .events
            .iter()
            .find(|e| e.kind == Kind::HttpOut)
            .expect("an outbound call");
        assert_eq!(call.operation.as_deref(), Some("GET /stock/{sku}"));
        assert!(route_key("/stock/{sku}") == "/stock/:sku");
        assert!(!decoded.events.iter().any(|e| e.peer.as_deref() == Some(GHOST)));
    }
}
