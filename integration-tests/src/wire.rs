//! Incidentary wire format v1 batches built from simple specs, shaped like
//! the real SDK's (see crates/model/fixtures/sdk_v1_*.json).

use serde_json::{Value, json};
use uuid::Uuid;

/// One event of a batch. `wall_ts_ns` is the completion time, as the SDK
/// sends it.
#[derive(Debug, Clone)]
pub struct EventSpec {
    pub trace_id: Uuid,
    pub ce_id: Uuid,
    pub parent_ce_id: Option<Uuid>,
    pub service: String,
    pub kind: &'static str,
    pub status: u16,
    pub wall_ts_ns: u64,
    pub duration_ns: u64,
}

impl EventSpec {
    /// A root `HTTP_IN` of `service` that completed at `wall_ts_ns`.
    pub fn root(service: &str, status: u16, wall_ts_ns: u64) -> Self {
        EventSpec {
            trace_id: Uuid::new_v4(),
            ce_id: Uuid::new_v4(),
            parent_ce_id: None,
            service: service.to_owned(),
            kind: "HTTP_IN",
            status,
            wall_ts_ns,
            duration_ns: 10_000_000,
        }
    }

    /// A child of `self` in the same trace.
    pub fn child(&self, service: &str, kind: &'static str, status: u16, wall_ts_ns: u64) -> Self {
        EventSpec {
            trace_id: self.trace_id,
            ce_id: Uuid::new_v4(),
            parent_ce_id: Some(self.ce_id),
            service: service.to_owned(),
            kind,
            status,
            wall_ts_ns,
            duration_ns: 1_000_000,
        }
    }

    /// The event as the SDK serializes it.
    pub fn to_json(&self) -> Value {
        json!({
            "ce_id": self.ce_id.to_string(),
            "trace_id": self.trace_id.to_string(),
            "parent_ce_id": self.parent_ce_id.map(|id| id.to_string()),
            "service_id": self.service,
            "wall_ts_ns": self.wall_ts_ns,
            "kind": self.kind,
            "status": self.status,
            "duration_ns": self.duration_ns,
            "sdk_version": "0.2.0",
            "captured_before_alert": null,
            "ring_buffer_seq": null,
            "event_type": self.kind.to_ascii_lowercase(),
            "event_class": "causal",
            "event_attrs": null,
            "detail": null,
        })
    }
}

/// A whole batch envelope from `service` holding `events`.
pub fn sdk_batch(service: &str, events: &[EventSpec]) -> Value {
    json!({
        "schema_version": "1",
        "workspace_id": "ws_it",
        "service_id": service,
        "environment": "test",
        "flushed_at": crate::now_unix_ns(),
        "capture_mode": "SKELETON",
        "events": events.iter().map(EventSpec::to_json).collect::<Vec<_>>(),
        "sdk_telemetry": {
            "sdk_version": "0.2.0",
            "sdk_language": "python",
            "queue_depth": 0,
            "dropped_ce_count": 0,
            "flush_latency_ms": 0,
        },
    })
}
