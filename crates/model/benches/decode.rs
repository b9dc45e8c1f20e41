//! The gateway's decode hot path on 500-event requests built from the real
//! SDK and OpenTelemetry recordings (`fixtures/`), each event with fresh
//! ids: the Incidentary SDK batch (JSON; owned events, and packed as the
//! gateway decodes it), OTLP/HTTP JSON, OTLP protobuf (owned, and packed
//! as the gateway decodes it), and
//! the `CeBatch` the windower decodes from every bus record.

use std::hint::black_box;

use causeway_model::ce_batch::{decode_ce_batch, encode_ce_batch};
use causeway_model::ce_batch_view::read_ce_batch;
use causeway_model::{
    decode_otlp_json, decode_otlp_protobuf, decode_otlp_protobuf_events, decode_sdk_batch, decode_sdk_events,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::{Value, json};

const EVENTS: usize = 500;
const SDK_FULL: &[u8] = include_bytes!("../fixtures/sdk_v1_checkout_full.json");
const OTLP_JSON: &[u8] = include_bytes!("../fixtures/otlp_checkout.json");
const OTLP_PB: &[u8] = include_bytes!("../fixtures/otlp_checkout.pb");

fn uuid(n: usize) -> String {
    format!("5f13e582-c5c9-4baa-8859-{:012x}", n + 1)
}

/// The recorded SDK batch, its events cycled to `EVENTS` with fresh ids.
fn sdk_batch() -> Vec<u8> {
    let mut batch: Value = serde_json::from_slice(SDK_FULL).expect("fixture");
    let template = batch["events"].as_array().expect("events").clone();
    let events: Vec<Value> = (0..EVENTS)
        .map(|n| {
            let mut event = template[n % template.len()].clone();
            event["ce_id"] = json!(uuid(n));
            event["parent_ce_id"] = if n % 10 == 0 { Value::Null } else { json!(uuid(n - 1)) };
            event
        })
        .collect();
    batch["events"] = Value::Array(events);
    serde_json::to_vec(&batch).expect("json")
}

fn span_id(n: usize) -> String {
    format!("{:016x}", n as u64 + 1)
}

/// The recorded OTLP/JSON export, its spans cycled to `EVENTS` with fresh span ids.
fn otlp_json() -> Vec<u8> {
    let mut export: Value = serde_json::from_slice(OTLP_JSON).expect("fixture");
    let spans_at = &mut export["resourceSpans"][0]["scopeSpans"][0]["spans"];
    let template = spans_at.as_array().expect("spans").clone();
    let spans: Vec<Value> = (0..EVENTS)
        .map(|n| {
            let mut span = template[n % template.len()].clone();
            span["spanId"] = json!(span_id(n));
            span["parentSpanId"] = if n % 10 == 0 { json!("") } else { json!(span_id(n - 1)) };
            span
        })
        .collect();
    *spans_at = Value::Array(spans);
    serde_json::to_vec(&export).expect("json")
}

/// The recorded OTLP protobuf export, its spans cycled the same way.
fn otlp_protobuf() -> Vec<u8> {
    let mut export = ExportTraceServiceRequest::decode(OTLP_PB).expect("fixture");
    let scope = &mut export.resource_spans[0].scope_spans[0];
    let template = scope.spans.clone();
    scope.spans = (0..EVENTS)
        .map(|n| {
            let mut span = template[n % template.len()].clone();
            span.span_id = (n as u64 + 1).to_be_bytes().to_vec();
            span.parent_span_id = if n % 10 == 0 {
                Vec::new()
            } else {
                (n as u64).to_be_bytes().to_vec()
            };
            span
        })
        .collect();
    export.encode_to_vec()
}

fn decode(c: &mut Criterion) {
    let sdk = sdk_batch();
    let otlp_json = otlp_json();
    let otlp_pb = otlp_protobuf();
    let events = decode_sdk_batch(&sdk, "acme", u64::MAX)
        .expect("valid sdk batch")
        .events;
    assert_eq!(events.len(), EVENTS);
    assert_eq!(
        decode_otlp_json(&otlp_json, "acme", u64::MAX)
            .expect("valid otlp json")
            .len(),
        EVENTS
    );
    assert_eq!(
        decode_otlp_protobuf(&otlp_pb, "acme", u64::MAX)
            .expect("valid otlp")
            .len(),
        EVENTS
    );
    let ce_batch = encode_ce_batch(&events);

    let mut group = c.benchmark_group("decode_500_events");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("sdk_json", |b| {
        b.iter(|| decode_sdk_batch(black_box(&sdk), "acme", u64::MAX))
    });
    // The gateway's path: the same decode, events packed rather than owned.
    group.bench_function("sdk_json_packed", |b| {
        b.iter(|| decode_sdk_events(black_box(&sdk), "acme", u64::MAX))
    });
    group.bench_function("otlp_json", |b| {
        b.iter(|| decode_otlp_json(black_box(&otlp_json), "acme", u64::MAX))
    });
    group.bench_function("otlp_protobuf", |b| {
        b.iter(|| decode_otlp_protobuf(black_box(&otlp_pb), "acme", u64::MAX))
    });
    group.bench_function("otlp_protobuf_packed", |b| {
        b.iter(|| decode_otlp_protobuf_events(black_box(&otlp_pb), "acme", u64::MAX))
    });
    group.bench_function("ce_batch", |b| {
        b.iter(|| decode_ce_batch(black_box(&ce_batch), None, u64::MAX))
    });
    group.bench_function("ce_batch_read_in_place", |b| {
        b.iter(|| read_ce_batch(black_box(&ce_batch), u64::MAX))
    });
    group.bench_function("ce_batch_encode", |b| b.iter(|| encode_ce_batch(black_box(&events))));
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
