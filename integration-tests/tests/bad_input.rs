//! Every class of bad input is answered precisely — the status, the error
//! code, the field and the limit — and nothing of a refused request is
//! stored: after a valid control batch sent last has arrived, the trace ids
//! of every refused request are absent.

use causeway_integration_tests::refusal::{assert_nothing_stored, assert_refused, spoiled_batch, two_events};
use causeway_integration_tests::{Api, DEV_KEY, EventSpec, now_unix_ns, sdk_batch, start_standalone};
use causeway_model::limits::{MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH};
use causeway_model::proto::v1::ingest_service_client::IngestServiceClient;
use causeway_model::proto::v1::{CeBatch, IngestRequest};
use causeway_model::{CausalEvent, CeId, Kind, TraceId};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::json;

const BATCH: &str = "/api/v1/ingest/batch";

fn otlp_span(trace_id: [u8; 16]) -> Span {
    let start = now_unix_ns() - 1_000_000;
    Span {
        trace_id: trace_id.to_vec(),
        span_id: vec![7; 8],
        name: "GET /x".to_owned(),
        kind: 2,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 500_000,
        ..Default::default()
    }
}

/// An OTLP export whose resource has no `service.name`.
fn otlp_without_service(trace_id: [u8; 16]) -> ExportTraceServiceRequest {
    let other = KeyValue {
        key: "host.name".to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue("web-1".to_owned())),
        }),
        ..Default::default()
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![other],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans: vec![otlp_span(trace_id)],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn random_trace() -> [u8; 16] {
    *uuid::Uuid::new_v4().as_bytes()
}

fn trace_text(bytes: [u8; 16]) -> String {
    uuid::Uuid::from_bytes(bytes).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_precisely_and_nothing_is_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One CE partition: the control batch seen stored means every earlier
    // record was processed, so the absences below are conclusive.
    let standalone = start_standalone(dir.path(), |config| config.topics.ce_partitions = Some(1)).await;
    let api = Api::new(standalone.http_url(), DEV_KEY);
    let mut refused_traces: Vec<String> = Vec::new();

    // Malformed JSON: a valid batch cut short.
    let events = two_events();
    let text = sdk_batch("checkout", &events).to_string();
    let answer = api
        .post_raw(
            BATCH,
            Some("application/json"),
            text.as_bytes()[..text.len() - 3].to_vec(),
        )
        .await;
    assert_refused(&answer, 400, "malformed", None, None);
    refused_traces.push(events[0].trace_id.to_string());

    // A known field of the wrong type.
    let (batch, trace) = spoiled_batch(|event| {
        event.insert("status".into(), json!("503"));
    });
    assert_refused(
        &api.post_batch(&batch).await,
        400,
        "invalid_field",
        Some("events[1].status"),
        None,
    );
    refused_traces.push(trace);

    // A bad UUID.
    let (batch, trace) = spoiled_batch(|event| {
        event.insert("ce_id".into(), json!("not-a-uuid"));
    });
    assert_refused(
        &api.post_batch(&batch).await,
        400,
        "invalid_field",
        Some("events[1].ce_id"),
        None,
    );
    refused_traces.push(trace);

    // A missing required field.
    let (batch, trace) = spoiled_batch(|event| {
        event.remove("wall_ts_ns");
    });
    let body = assert_refused(
        &api.post_batch(&batch).await,
        400,
        "invalid_field",
        Some("events[1].wall_ts_ns"),
        None,
    );
    assert!(
        body["message"].as_str().unwrap_or_default().contains("required"),
        "{body}"
    );
    refused_traces.push(trace);

    // A field over its limit names the limit.
    let (batch, trace) = spoiled_batch(|event| {
        event.insert("service_id".into(), json!("s".repeat(200)));
    });
    assert_refused(
        &api.post_batch(&batch).await,
        400,
        "invalid_field",
        Some("events[1].service_id"),
        Some(128),
    );
    refused_traces.push(trace);

    // Too many events, within the body limit.
    let root = EventSpec::root("checkout", 200, now_unix_ns());
    let mut many = vec![root.clone()];
    many.extend((0..MAX_EVENTS_PER_BATCH).map(|_| root.child("checkout", "HTTP_OUT", 200, now_unix_ns())));
    let answer = api.post_batch(&sdk_batch("checkout", &many)).await;
    assert_refused(
        &answer,
        400,
        "invalid_field",
        Some("events"),
        Some(MAX_EVENTS_PER_BATCH as u64),
    );
    refused_traces.push(root.trace_id.to_string());

    // A body over the limit, otherwise valid: 413.
    let events = two_events();
    let mut oversized = sdk_batch("checkout", &events);
    oversized["padding"] = json!("x".repeat(MAX_BODY_BYTES));
    let answer = api.post_batch(&oversized).await;
    assert_refused(&answer, 413, "body_too_large", None, Some(MAX_BODY_BYTES as u64));
    // The unread body makes the server drop the connection: it must say so,
    // or the client's next request goes out on the dead pooled connection.
    assert_eq!(answer.header("connection").as_deref(), Some("close"));
    refused_traces.push(events[0].trace_id.to_string());

    // An unknown content type on a valid batch: 415 (SDK route and OTLP route).
    let events = two_events();
    let valid = serde_json::to_vec(&sdk_batch("checkout", &events)).expect("json");
    let answer = api.post_raw(BATCH, Some("text/plain"), valid.clone()).await;
    assert_refused(&answer, 415, "unsupported_media_type", None, None);
    let answer = api
        .post_raw("/v1/traces", Some("application/xml"), b"<spans/>".to_vec())
        .await;
    assert_refused(&answer, 415, "unsupported_media_type", None, None);
    refused_traces.push(events[0].trace_id.to_string());

    // No key and a wrong key on a valid batch: 401.
    let events = two_events();
    let valid = serde_json::to_vec(&sdk_batch("checkout", &events)).expect("json");
    for key in [None, Some("not-a-key-of-any-tenant")] {
        let answer = api
            .with_key(key)
            .post_raw(BATCH, Some("application/json"), valid.clone())
            .await;
        assert_refused(&answer, 401, "unauthorized", None, None);
    }
    refused_traces.push(events[0].trace_id.to_string());

    // OTLP/HTTP: protobuf garbage, and a valid export missing service.name.
    let answer = api
        .post_raw(
            "/v1/traces",
            Some("application/x-protobuf"),
            vec![0xff, 0xff, 0xff, 0x0f, 0x42],
        )
        .await;
    assert_refused(&answer, 400, "malformed", None, None);
    let trace = random_trace();
    let answer = api
        .post_raw(
            "/v1/traces",
            Some("application/x-protobuf"),
            otlp_without_service(trace).encode_to_vec(),
        )
        .await;
    assert_refused(
        &answer,
        400,
        "invalid_field",
        Some("resource_spans[0].resource.attributes.service.name"),
        None,
    );
    refused_traces.push(trace_text(trace));

    // gRPC IngestService: a batch with one bad event is INVALID_ARGUMENT
    // naming the field; no key is UNAUTHENTICATED.
    let grpc_url = format!("http://{}", standalone.grpc);
    let mut ingest = IngestServiceClient::connect(grpc_url.clone())
        .await
        .expect("grpc connect");
    let trace = random_trace();
    let good = CausalEvent {
        tenant_id: String::new(),
        trace_id: TraceId(trace),
        ce_id: CeId(random_trace()),
        parent_ce_id: None,
        service: "checkout".to_owned(),
        kind: Kind::HttpIn,
        status: 200,
        start_unix_ns: now_unix_ns() - 1_000_000,
        duration_ns: 1_000,
        operation: None,
        peer: None,
        environment: None,
    };
    let mut bad = causeway_model::proto::v1::CausalEvent::from(&good);
    bad.ce_id = vec![1, 2, 3];
    let batch = CeBatch {
        events: vec![(&good).into(), bad],
    };
    let mut request = tonic::Request::new(IngestRequest {
        batch: Some(batch.clone()),
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {DEV_KEY}").parse().expect("metadata"));
    let status = ingest.ingest(request).await.expect_err("a bad event is refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("events[1].ce_id"),
        "names the field: {status:?}"
    );
    let valid_batch = CeBatch {
        events: vec![(&good).into()],
    };
    let status = ingest
        .ingest(IngestRequest {
            batch: Some(valid_batch),
        })
        .await
        .expect_err("no key");
    assert_eq!(status.code(), tonic::Code::Unauthenticated, "{status:?}");
    refused_traces.push(trace_text(trace));

    // OTLP gRPC: the export missing service.name.
    let mut otlp = TraceServiceClient::connect(grpc_url).await.expect("grpc connect");
    let trace = random_trace();
    let mut request = tonic::Request::new(otlp_without_service(trace));
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {DEV_KEY}").parse().expect("metadata"));
    let status = otlp.export(request).await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("service.name"), "names the field: {status:?}");
    refused_traces.push(trace_text(trace));

    // A control batch sent last arrives, and nothing refused is there.
    assert_nothing_stored(&api, &refused_traces).await;

    standalone.stop().await.expect("graceful stop");
}
