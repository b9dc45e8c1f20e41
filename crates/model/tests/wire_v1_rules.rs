//! Mapping rules and error classes of the Incidentary v1 decoder, one by one.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use causeway_model::limits::{MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH, MAX_OPERATION_LEN, MAX_STATUS};
use causeway_model::{DecodeError, Kind, decode_sdk_batch};
use serde_json::{Value, json};

const NOW: u64 = 1_790_000_000_000_000_000;
const WALL: u64 = NOW - 1_000_000_000;

fn event() -> Value {
    json!({
        "ce_id": "5e2b7a43-6b0e-4e43-9f7c-0a6c3d8e9f10",
        "trace_id": "0c7d3f5a-1e2b-4c6d-8e9f-a0b1c2d3e4f5",
        "parent_ce_id": null,
        "service_id": "orders",
        "wall_ts_ns": WALL,
        "kind": "HTTP_IN",
        "status": 200,
        "duration_ns": 5_000_000,
        "sdk_version": "0.2.0",
        "captured_before_alert": null, "ring_buffer_seq": null, "event_type": "http_in",
        "event_class": "causal", "event_attrs": null, "detail": null
    })
}

fn batch(events: Vec<Value>) -> Value {
    json!({
        "schema_version": "1", "workspace_id": "", "service_id": "orders",
        "environment": "production", "flushed_at": NOW, "capture_mode": "SKELETON",
        "events": events,
        "sdk_telemetry": {"sdk_version": "0.2.0", "sdk_language": "python", "queue_depth": 0,
                          "dropped_ce_count": 3, "flush_latency_ms": 0}
    })
}

fn decode_one(event: Value) -> Result<causeway_model::CausalEvent, DecodeError> {
    let body = serde_json::to_vec(&batch(vec![event])).unwrap();
    decode_sdk_batch(&body, "acme", NOW).map(|mut batch| batch.events.remove(0))
}

fn with(mut event: Value, key: &str, value: Value) -> Value {
    event[key] = value;
    event
}

fn error_field(event: Value) -> String {
    decode_one(event)
        .expect_err("rejected")
        .field()
        .expect("names a field")
        .to_owned()
}

#[test]
fn start_is_wall_ts_minus_duration() {
    let decoded = decode_one(event()).unwrap();
    assert_eq!(decoded.start_unix_ns, WALL - 5_000_000);
    assert_eq!(decoded.end_unix_ns(), WALL);
    assert_eq!(decoded.tenant_id, "acme");
    assert_eq!(decoded.environment.as_deref(), Some("production"));
    let too_long = with(event(), "duration_ns", json!(WALL + 1));
    assert_eq!(error_field(too_long), "events[0].duration_ns");
}

#[test]
fn kind_table() {
    let cases = [
        ("HTTP_IN", "http_in", Kind::HttpIn),
        ("HTTP_OUT", "http_out", Kind::HttpOut),
        ("QUEUE_PUBLISH", "queue_publish", Kind::QueuePublish),
        ("QUEUE_CONSUME", "queue_consume", Kind::QueueConsume),
        ("HTTP_IN", "webhook_in", Kind::WebhookIn),
        ("HTTP_OUT", "webhook_out", Kind::WebhookOut),
        ("INTERNAL", "job_start", Kind::JobStart),
        ("INTERNAL", "job_end", Kind::JobEnd),
        ("INTERNAL", "grpc_in", Kind::HttpIn),
        ("INTERNAL", "grpc_out", Kind::HttpOut),
        ("INTERNAL", "db_query", Kind::Internal),
        ("INTERNAL", "internal_task", Kind::Internal),
        ("INTERNAL", "some_future_type", Kind::Internal),
        ("JOB_START", "", Kind::JobStart),
        ("JOB_END", "", Kind::JobEnd),
        ("WEBHOOK_IN", "", Kind::WebhookIn),
        ("WEBHOOK_OUT", "", Kind::WebhookOut),
    ];
    for (kind, event_type, expected) in cases {
        let raw = with(with(event(), "kind", json!(kind)), "event_type", json!(event_type));
        assert_eq!(decode_one(raw).unwrap().kind, expected, "{kind}/{event_type}");
    }
    let no_type = with(with(event(), "kind", json!("QUEUE_CONSUME")), "event_type", Value::Null);
    assert_eq!(decode_one(no_type).unwrap().kind, Kind::QueueConsume);
    assert_eq!(error_field(with(event(), "kind", json!("http_in"))), "events[0].kind");
    assert_eq!(error_field(with(event(), "kind", json!("GRPC"))), "events[0].kind");
}

#[test]
fn status_rules() {
    let zero = decode_one(with(with(event(), "kind", json!("HTTP_OUT")), "status", json!(0))).unwrap();
    assert_eq!(zero.status, 0);
    assert!(zero.is_non_success());
    let queue = with(
        with(
            with(event(), "kind", json!("QUEUE_PUBLISH")),
            "event_type",
            json!("queue_publish"),
        ),
        "status",
        json!(0),
    );
    assert!(!decode_one(queue).unwrap().is_non_success());
    let grpc = |status: u64| {
        let raw = with(
            with(
                with(event(), "kind", json!("INTERNAL")),
                "event_type",
                json!("grpc_out"),
            ),
            "status",
            json!(status),
        );
        decode_one(raw).unwrap().status
    };
    assert_eq!(grpc(0), 200, "gRPC OK");
    assert_eq!(grpc(14), 503, "gRPC UNAVAILABLE");
    assert_eq!(grpc(500), 500, "the SDK's failure status");
    assert_eq!(
        error_field(with(event(), "status", json!(u64::from(MAX_STATUS) + 1))),
        "events[0].status"
    );
    assert_eq!(error_field(with(event(), "status", json!(-1))), "events[0].status");
}

#[test]
fn wrong_types_name_the_field() {
    let cases = [
        ("status", json!("200"), "events[0].status"),
        ("status", json!(200.5), "events[0].status"),
        ("wall_ts_ns", json!("1"), "events[0].wall_ts_ns"),
        ("ce_id", json!(7), "events[0].ce_id"),
        ("kind", json!(["HTTP_IN"]), "events[0].kind"),
        ("detail", json!("x"), "events[0].detail"),
        ("event_attrs", json!(1), "events[0].event_attrs"),
        ("captured_before_alert", json!("yes"), "events[0].captured_before_alert"),
        ("sdk_version", json!(2), "events[0].sdk_version"),
    ];
    for (key, value, field) in cases {
        let err = decode_one(with(event(), key, value)).expect_err(key);
        assert_eq!(err.field(), Some(field), "{err}");
        assert!(matches!(err, DecodeError::Field(_)));
    }
    let bad_detail = with(event(), "detail", json!({"method": 5}));
    assert_eq!(error_field(bad_detail), "events[0].detail.method");
    let mut not_an_object = batch(vec![]);
    not_an_object["events"] = json!([1]);
    let err = decode_sdk_batch(not_an_object.to_string().as_bytes(), "acme", NOW).unwrap_err();
    assert_eq!(err.field(), Some("events[0]"));
}

#[test]
fn missing_fields_and_bad_ids() {
    for key in ["ce_id", "trace_id", "kind", "status", "wall_ts_ns", "duration_ns"] {
        let mut raw = event();
        raw.as_object_mut().unwrap().remove(key);
        assert_eq!(error_field(raw), format!("events[0].{key}"));
    }
    assert_eq!(error_field(with(event(), "ce_id", json!("nope"))), "events[0].ce_id");
    assert_eq!(
        error_field(with(
            event(),
            "parent_ce_id",
            json!("00000000-0000-0000-0000-000000000000")
        )),
        "events[0].parent_ce_id"
    );
    let empty_parent = decode_one(with(event(), "parent_ce_id", json!(""))).unwrap();
    assert_eq!(empty_parent.parent_ce_id, None);
}

#[test]
fn unknown_fields_are_tolerated() {
    let mut raw = with(event(), "future_field", json!({"nested": [1, 2]}));
    raw["detail"] = json!({"method": "GET", "route_template": "/a", "new_detail_field": true});
    let mut body = batch(vec![raw]);
    body["future_envelope_field"] = json!("x");
    let decoded = decode_sdk_batch(body.to_string().as_bytes(), "acme", NOW).unwrap();
    assert_eq!(decoded.events[0].operation.as_deref(), Some("GET /a"));
    assert_eq!(decoded.envelope.dropped_ce_count, Some(3));
}

#[test]
fn operation_and_peer_rules() {
    let detail = |detail: Value| decode_one(with(with(event(), "kind", json!("HTTP_OUT")), "detail", detail)).unwrap();
    let both = detail(json!({"method": "POST", "route_template": "/pay/{id}", "route_key": "/pay/:id"}));
    assert_eq!(both.operation.as_deref(), Some("POST /pay/{id}"));
    assert_eq!(
        detail(json!({"method": "POST", "route_key": "/pay/:id"}))
            .operation
            .as_deref(),
        Some("POST /pay/:id")
    );
    assert_eq!(detail(json!({"method": "DELETE"})).operation.as_deref(), Some("DELETE"));
    assert_eq!(
        detail(json!({"downstream": {"operation_name": "charge"}}))
            .operation
            .as_deref(),
        Some("charge")
    );
    assert_eq!(
        detail(json!({"downstream": {"service": "payments", "edge_key": "pay:80"}}))
            .peer
            .as_deref(),
        Some("payments")
    );
    assert_eq!(
        detail(json!({"downstream": {"service": null, "edge_key": "pay:80"}}))
            .peer
            .as_deref(),
        Some("pay:80")
    );
    assert_eq!(detail(json!({"downstream": {"edge_key": "unknown"}})).peer, None);
    assert_eq!(detail(json!({"downstream": {"edge_key": "local"}})).peer, None);
    let attrs = with(
        event(),
        "event_attrs",
        json!({"operation": "fetch", "statement": "SELECT 1"}),
    );
    assert_eq!(decode_one(attrs).unwrap().operation.as_deref(), Some("fetch"));
    let odd_attrs = with(event(), "event_attrs", json!({"operation": 3}));
    assert_eq!(
        decode_one(odd_attrs).unwrap().operation,
        None,
        "free-form attrs: only a string counts"
    );
    let plain = decode_one(event()).unwrap();
    assert_eq!((plain.operation, plain.peer), (None, None), "never invented");
    let err = decode_one(with(
        event(),
        "detail",
        json!({"method": "GET", "route_template": "/".repeat(MAX_OPERATION_LEN)}),
    ))
    .unwrap_err();
    assert_eq!(err.field(), Some("events[0].operation"));
    assert_eq!(err.limit(), Some(MAX_OPERATION_LEN as u64));
}

#[test]
fn service_falls_back_to_the_envelope() {
    let decoded = decode_one(with(event(), "service_id", Value::Null)).unwrap();
    assert_eq!(decoded.service, "orders");
    let mut body = batch(vec![with(event(), "service_id", json!(""))]);
    body["service_id"] = json!("");
    let err = decode_sdk_batch(body.to_string().as_bytes(), "acme", NOW).unwrap_err();
    assert_eq!(err.field(), Some("events[0].service_id"));
}

#[test]
fn envelope_errors() {
    let mut body = batch(vec![event()]);
    body["schema_version"] = json!("2");
    assert_eq!(
        decode_sdk_batch(body.to_string().as_bytes(), "a", NOW)
            .unwrap_err()
            .field(),
        Some("schema_version")
    );
    body["schema_version"] = json!(1);
    assert_eq!(
        decode_sdk_batch(body.to_string().as_bytes(), "a", NOW)
            .unwrap_err()
            .field(),
        Some("schema_version")
    );
    let mut body = batch(vec![event()]);
    body["sdk_telemetry"]["dropped_ce_count"] = json!("many");
    assert_eq!(
        decode_sdk_batch(body.to_string().as_bytes(), "a", NOW)
            .unwrap_err()
            .field(),
        Some("sdk_telemetry.dropped_ce_count")
    );
    let mut body = batch(vec![]);
    body.as_object_mut().unwrap().remove("events");
    assert_eq!(
        decode_sdk_batch(body.to_string().as_bytes(), "a", NOW)
            .unwrap_err()
            .field(),
        Some("events")
    );
    let mut body = batch(vec![event()]);
    body["environment"] = json!("");
    let decoded = decode_sdk_batch(body.to_string().as_bytes(), "a", NOW).unwrap();
    assert_eq!(decoded.events[0].environment, None, "empty environment is absent");
}

#[test]
fn malformed_and_limits() {
    assert!(matches!(
        decode_sdk_batch(b"{not json", "a", NOW),
        Err(DecodeError::Malformed { .. })
    ));
    assert!(matches!(
        decode_sdk_batch(b"[1,2]", "a", NOW),
        Err(DecodeError::Malformed { .. })
    ));
    let huge = vec![b' '; MAX_BODY_BYTES + 1];
    let err = decode_sdk_batch(&huge, "a", NOW).unwrap_err();
    assert_eq!((err.field(), err.limit()), (Some("body"), Some(MAX_BODY_BYTES as u64)));
    let body = batch(vec![event(); MAX_EVENTS_PER_BATCH + 1]);
    let err = decode_sdk_batch(body.to_string().as_bytes(), "a", NOW).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::TooManyEvents {
            limit: MAX_EVENTS_PER_BATCH,
            ..
        }
    ));
}

#[test]
fn all_or_nothing_and_skew() {
    let body = batch(vec![event(), with(event(), "status", json!("x"))]);
    let err = decode_sdk_batch(body.to_string().as_bytes(), "a", NOW).unwrap_err();
    assert_eq!(err.field(), Some("events[1].status"));
    let future = with(event(), "wall_ts_ns", json!(NOW + 3600 * 1_000_000_000));
    assert_eq!(error_field(future.clone()), "events[0].timestamp");
    let body = batch(vec![future]);
    assert!(
        decode_sdk_batch(body.to_string().as_bytes(), "a", u64::MAX).is_ok(),
        "u64::MAX disables the skew check"
    );
    let ms_as_ns = with(
        with(event(), "wall_ts_ns", json!(1_700_000_000_000u64)),
        "duration_ns",
        json!(0),
    );
    assert_eq!(error_field(ms_as_ns), "events[0].timestamp");
}
