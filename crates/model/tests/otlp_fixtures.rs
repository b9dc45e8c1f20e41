//! Real OpenTelemetry Python SDK exports (recorded by
//! fixtures/record_otlp.py) decode, protobuf and OTLP/JSON alike.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use causeway_model::{CausalEvent, CeId, Kind, decode_otlp_json, decode_otlp_protobuf};

const CHECKOUT_PB: &[u8] = include_bytes!("../fixtures/otlp_checkout.pb");
const CHECKOUT_JSON: &[u8] = include_bytes!("../fixtures/otlp_checkout.json");
const PAYMENTS_PB: &[u8] = include_bytes!("../fixtures/otlp_payments.pb");
const PAYMENTS_JSON: &[u8] = include_bytes!("../fixtures/otlp_payments.json");

fn named<'a>(events: &'a [CausalEvent], operation: &str) -> &'a CausalEvent {
    events
        .iter()
        .find(|event| event.operation.as_deref() == Some(operation))
        .unwrap_or_else(|| panic!("no event with operation {operation}"))
}

#[test]
fn json_and_protobuf_decode_to_the_same_events() {
    let from_pb = decode_otlp_protobuf(CHECKOUT_PB, "t", u64::MAX).expect("protobuf");
    let from_json = decode_otlp_json(CHECKOUT_JSON, "t", u64::MAX).expect("json");
    assert_eq!(from_pb, from_json);
    assert_eq!(from_pb.len(), 7);
    let payments_pb = decode_otlp_protobuf(PAYMENTS_PB, "t", u64::MAX).expect("protobuf");
    assert_eq!(
        payments_pb,
        decode_otlp_json(PAYMENTS_JSON, "t", u64::MAX).expect("json")
    );
}

#[test]
fn checkout_spans_map_to_ces() {
    let events = decode_otlp_protobuf(CHECKOUT_PB, "tenant-a", u64::MAX).unwrap();
    for event in &events {
        assert_eq!(event.tenant_id, "tenant-a");
        assert_eq!(event.service, "checkout");
        assert_eq!(event.environment.as_deref(), Some("staging"));
        assert_eq!(event.ce_id.0[8..], [0; 8], "span ids are zero-extended");
        assert!(event.duration_ns < 10_000_000_000);
    }
    let root = named(&events, "GET /checkout/{order_id}");
    assert_eq!(
        (root.kind, root.status, root.parent_ce_id, root.peer.as_deref()),
        (Kind::HttpIn, 200, None, None)
    );
    for event in events.iter().filter(|event| event.ce_id != root.ce_id) {
        assert_eq!(event.parent_ce_id, Some(root.ce_id));
        assert_eq!(event.trace_id, root.trace_id);
        assert!(event.start_unix_ns >= root.start_unix_ns && event.end_unix_ns() <= root.end_unix_ns());
    }
    let pay = named(&events, "POST");
    assert_eq!(
        (pay.kind, pay.status, pay.peer.as_deref()),
        (Kind::HttpOut, 503, Some("payments.internal"))
    );
    let legacy = named(&events, "GET");
    assert_eq!(
        (legacy.kind, legacy.status, legacy.peer.as_deref()),
        (Kind::HttpOut, 200, Some("inventory.internal"))
    );
    let grpc = named(&events, "inventory.Inventory/Reserve");
    assert_eq!(
        (grpc.kind, grpc.status, grpc.peer.as_deref()),
        (Kind::HttpOut, 503, Some("inventory"))
    );
    let publish = named(&events, "orders publish");
    assert_eq!(
        (publish.kind, publish.status, publish.peer.as_deref()),
        (Kind::QueuePublish, 0, Some("kafka.internal"))
    );
    let job = named(&events, "send-receipt");
    assert_eq!((job.kind, job.status), (Kind::JobStart, 0));
    let failed = named(&events, "render-receipt");
    assert_eq!((failed.kind, failed.status), (Kind::Internal, 500));
    assert!(failed.is_non_success());
}

#[test]
fn callee_server_span_is_the_child_of_the_client_span() {
    let checkout = decode_otlp_protobuf(CHECKOUT_PB, "t", u64::MAX).unwrap();
    let payments = decode_otlp_protobuf(PAYMENTS_PB, "t", u64::MAX).unwrap();
    assert_eq!(payments.len(), 1);
    let server = &payments[0];
    assert_eq!(
        (server.kind, server.status, server.service.as_str()),
        (Kind::HttpIn, 503, "payments")
    );
    assert_eq!(server.operation.as_deref(), Some("POST /pay/{order_id}"));
    let client = named(&checkout, "POST");
    assert_eq!(server.parent_ce_id, Some(client.ce_id));
    assert_eq!(server.trace_id, client.trace_id);
    assert_ne!(server.ce_id, CeId([0; 16]));
}
