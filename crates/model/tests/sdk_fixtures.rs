//! The real `incidentary` 0.2.0 SDK's batches (recorded by
//! fixtures/record_sdk.py) decode to the expected causal events.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use causeway_model::{CausalEvent, CeId, Kind, SdkBatch, TraceId, decode_sdk_batch};
use serde_json::Value;

const SKELETON: &[u8] = include_bytes!("../fixtures/sdk_v1_checkout_skeleton.json");
const FULL: &[u8] = include_bytes!("../fixtures/sdk_v1_checkout_full.json");
const PAYMENTS: &[u8] = include_bytes!("../fixtures/sdk_v1_payments.json");

fn decode(body: &[u8]) -> SdkBatch {
    decode_sdk_batch(body, "tenant-a", u64::MAX).expect("the real SDK's batch decodes")
}

fn raw_events(body: &[u8]) -> Vec<Value> {
    let root: Value = serde_json::from_slice(body).expect("json");
    root["events"].as_array().expect("events").clone()
}

fn by_type<'a>(batch: &'a SdkBatch, raw: &[Value], event_type: &str) -> Vec<&'a CausalEvent> {
    raw.iter()
        .zip(&batch.events)
        .filter(|(raw, _)| raw["event_type"] == event_type)
        .map(|(_, event)| event)
        .collect()
}

#[test]
fn every_event_keeps_ids_and_normalizes_time() {
    for body in [SKELETON, FULL, PAYMENTS] {
        let batch = decode(body);
        let raw = raw_events(body);
        assert_eq!(batch.events.len(), raw.len());
        for (raw, event) in raw.iter().zip(&batch.events) {
            assert_eq!(event.tenant_id, "tenant-a");
            assert_eq!(event.ce_id, raw["ce_id"].as_str().unwrap().parse::<CeId>().unwrap());
            assert_eq!(
                event.trace_id,
                raw["trace_id"].as_str().unwrap().parse::<TraceId>().unwrap()
            );
            assert_eq!(
                event.parent_ce_id,
                raw["parent_ce_id"].as_str().map(|id| id.parse().unwrap())
            );
            let wall = raw["wall_ts_ns"].as_u64().unwrap();
            let duration = raw["duration_ns"].as_u64().unwrap();
            assert_eq!(event.start_unix_ns, wall - duration, "start = wall_ts_ns - duration_ns");
            assert_eq!(event.end_unix_ns(), wall);
            assert_eq!(event.duration_ns, duration);
            assert_eq!(event.service, raw["service_id"].as_str().unwrap());
            assert_eq!(event.environment.as_deref(), Some("staging"));
        }
    }
}

#[test]
fn envelope_is_read() {
    let skeleton = decode(SKELETON).envelope;
    assert_eq!(skeleton.schema_version, "1");
    assert_eq!(skeleton.workspace_id, "ws_demo");
    assert_eq!(skeleton.service_id, "checkout");
    assert_eq!(skeleton.environment.as_deref(), Some("staging"));
    assert_eq!(skeleton.capture_mode.as_deref(), Some("SKELETON"));
    assert_eq!(skeleton.sdk_version.as_deref(), Some("0.2.0"));
    assert_eq!(skeleton.sdk_language.as_deref(), Some("python"));
    assert_eq!(skeleton.dropped_ce_count, Some(0));
    assert!(skeleton.flushed_at_unix_ns.unwrap() > causeway_model::limits::MIN_TIMESTAMP_UNIX_NS);
    assert_eq!(decode(FULL).envelope.capture_mode.as_deref(), Some("FULL"));
}

#[test]
fn event_types_refine_kinds() {
    let batch = decode(SKELETON);
    let raw = raw_events(SKELETON);
    let one = |event_type: &str| {
        let found = by_type(&batch, &raw, event_type);
        assert_eq!(found.len(), 1, "one {event_type} event");
        found[0].clone()
    };
    let job_start = one("job_start");
    assert_eq!((job_start.kind, job_start.status), (Kind::JobStart, 0));
    assert!(!job_start.is_non_success(), "0 on a job means not recorded");
    let job_end = one("job_end");
    assert_eq!((job_end.kind, job_end.status), (Kind::JobEnd, 500));
    assert!(job_end.is_non_success());
    assert_eq!(one("webhook_in").kind, Kind::WebhookIn);
    let grpc = one("grpc_out");
    assert_eq!(
        (grpc.kind, grpc.status),
        (Kind::HttpOut, 200),
        "the SDK's gRPC status 0 is OK"
    );
    let db = one("db_query");
    assert_eq!((db.kind, db.status), (Kind::Internal, 0));
    assert_eq!(db.operation.as_deref(), Some("execute"), "event_attrs.operation");
    let publish = one("queue_publish");
    assert_eq!((publish.kind, publish.status), (Kind::QueuePublish, 0));
    assert!(!publish.is_non_success());
}

#[test]
fn skeleton_http_events_have_no_detail_so_no_operation_or_peer() {
    let batch = decode(SKELETON);
    let raw = raw_events(SKELETON);
    let http: Vec<_> = ["http_in", "http_out"]
        .iter()
        .flat_map(|t| by_type(&batch, &raw, t))
        .collect();
    assert!(http.len() >= 8);
    for event in &http {
        assert_eq!(event.operation, None);
        assert_eq!(event.peer, None);
    }
    let inbound = by_type(&batch, &raw, "http_in");
    assert_eq!(inbound.len(), 1);
    assert_eq!(
        (inbound[0].kind, inbound[0].status, inbound[0].parent_ce_id),
        (Kind::HttpIn, 200, None)
    );
    let outbound = by_type(&batch, &raw, "http_out");
    assert!(
        outbound
            .iter()
            .any(|event| event.status == 503 && event.is_non_success())
    );
    let no_response: Vec<_> = outbound.iter().filter(|event| event.status == 0).collect();
    assert_eq!(no_response.len(), 1, "the refused connection");
    assert!(no_response[0].is_non_success(), "0 on HTTP_OUT means no response");
}

#[test]
fn full_mode_detail_gives_operation_and_peer() {
    let batch = decode(FULL);
    let inbound = batch
        .events
        .iter()
        .find(|event| event.kind == Kind::HttpIn)
        .expect("inbound");
    assert_eq!(inbound.operation.as_deref(), Some("GET /checkout/:id"));
    assert_eq!(inbound.peer, None);
    let helper = batch
        .events
        .iter()
        .find(|event| event.peer.as_deref() == Some("payments"))
        .expect("the call with downstream_service");
    assert_eq!((helper.kind, helper.status), (Kind::HttpOut, 200));
    assert_eq!(
        helper.operation.as_deref(),
        Some("POST /pay/{order_id}"),
        "method + route_template"
    );
    let refused = batch
        .events
        .iter()
        .find(|event| event.kind == Kind::HttpOut && event.status == 0)
        .expect("refused call");
    assert_eq!(
        refused.operation.as_deref(),
        Some("GET /inventory/:id"),
        "method + route_key"
    );
    let peer = refused.peer.as_deref().expect("edge key as peer");
    assert!(peer.starts_with("127.0.0.1:"), "{peer}");
}

#[test]
fn both_linkage_conventions_link_callee_to_caller() {
    let checkout = decode(SKELETON);
    let payments = decode(PAYMENTS);
    let inbound = checkout.events.iter().find(|event| event.kind == Kind::HttpIn).unwrap();
    let children_of_inbound = payments
        .events
        .iter()
        .filter(|event| event.parent_ce_id == Some(inbound.ce_id))
        .count();
    assert_eq!(
        children_of_inbound, 3,
        "patched urllib/httpx: callee is a child of the caller's HTTP_IN"
    );
    let helper_children: Vec<_> = payments
        .events
        .iter()
        .filter(|callee| {
            checkout
                .events
                .iter()
                .any(|caller| caller.kind == Kind::HttpOut && Some(caller.ce_id) == callee.parent_ce_id)
        })
        .collect();
    assert_eq!(
        helper_children.len(),
        1,
        "instrumented_urlopen outside a request: callee is a child of the HTTP_OUT"
    );
    let caller = checkout
        .events
        .iter()
        .find(|event| Some(event.ce_id) == helper_children[0].parent_ce_id)
        .unwrap();
    assert_eq!(caller.trace_id, helper_children[0].trace_id);
    assert_eq!(caller.parent_ce_id, None);
}

#[test]
fn skew_check_applies_against_the_flush_time() {
    let batch = decode(SKELETON);
    let flushed_at = batch.envelope.flushed_at_unix_ns.unwrap();
    assert!(decode_sdk_batch(SKELETON, "t", flushed_at).is_ok());
    let long_before = flushed_at - 3600 * 1_000_000_000;
    let err = decode_sdk_batch(SKELETON, "t", long_before).expect_err("an hour in the future");
    assert!(err.field().unwrap().ends_with(".timestamp"), "{err}");
}
