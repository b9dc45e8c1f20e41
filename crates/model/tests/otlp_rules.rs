//! Mapping rules and error classes of the OTLP decoders.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use causeway_model::limits::{MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH};
use causeway_model::{DecodeError, Kind, decode_otlp_json, decode_otlp_protobuf, events_from_otlp};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

const NOW: u64 = 1_790_000_000_000_000_000;
const START: u64 = NOW - 2_000_000_000;

fn attr(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn text(key: &str, value: &str) -> KeyValue {
    attr(key, Value::StringValue(value.into()))
}

fn span(kind: i32, attributes: Vec<KeyValue>, status: Option<i32>) -> Span {
    Span {
        trace_id: vec![7; 16],
        span_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
        parent_span_id: vec![],
        name: "do-work".into(),
        kind,
        start_time_unix_nano: START,
        end_time_unix_nano: START + 3_000_000,
        attributes,
        status: status.map(|code| Status {
            message: String::new(),
            code,
        }),
        ..Default::default()
    }
}

fn request(resource: Vec<KeyValue>, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn one(span: Span) -> Result<causeway_model::CausalEvent, DecodeError> {
    let resource = vec![text("service.name", "orders"), text("deployment.environment", "prod")];
    events_from_otlp(request(resource, vec![span]), "acme", NOW).map(|mut events| events.remove(0))
}

#[test]
fn span_kinds_and_job_attribute() {
    for (kind, expected) in [
        (0, Kind::Internal),
        (1, Kind::Internal),
        (2, Kind::HttpIn),
        (3, Kind::HttpOut),
        (4, Kind::QueuePublish),
        (5, Kind::QueueConsume),
    ] {
        assert_eq!(
            one(span(kind, vec![], None)).unwrap().kind,
            expected,
            "span kind {kind}"
        );
    }
    let job = one(span(1, vec![text("causeway.kind", "JOB_END")], Some(2))).unwrap();
    assert_eq!((job.kind, job.status), (Kind::JobEnd, 500));
    let err = one(span(1, vec![text("causeway.kind", "BATCH")], None)).unwrap_err();
    assert_eq!(
        err.field(),
        Some("resource_spans[0].scope_spans[0].spans[0].attributes.causeway.kind")
    );
    assert_eq!(
        one(span(9, vec![], None)).unwrap_err().field(),
        Some("resource_spans[0].scope_spans[0].spans[0].kind")
    );
}

#[test]
fn status_precedence() {
    let http = one(span(
        2,
        vec![attr("http.response.status_code", Value::IntValue(404))],
        Some(1),
    ))
    .unwrap();
    assert_eq!(http.status, 404, "the HTTP attribute wins over the span status");
    let legacy = one(span(3, vec![text("http.status_code", "502")], None)).unwrap();
    assert_eq!(legacy.status, 502, "decimal text accepted");
    for (code, expected) in [
        (0, 200),
        (1, 499),
        (2, 500),
        (3, 400),
        (4, 504),
        (5, 404),
        (6, 409),
        (7, 403),
        (8, 429),
        (9, 400),
        (10, 409),
        (11, 400),
        (12, 501),
        (13, 500),
        (14, 503),
        (15, 500),
        (16, 401),
    ] {
        let grpc = one(span(3, vec![attr("rpc.grpc.status_code", Value::IntValue(code))], None)).unwrap();
        assert_eq!(grpc.status, expected, "gRPC {code}");
    }
    assert_eq!(one(span(2, vec![], Some(2))).unwrap().status, 500, "ERROR");
    assert_eq!(one(span(1, vec![], Some(1))).unwrap().status, 200, "OK");
    let unset_server = one(span(2, vec![], Some(0))).unwrap();
    assert_eq!(unset_server.status, 200, "UNSET on a request/response kind is success");
    assert!(!unset_server.is_non_success());
    assert_eq!(
        one(span(4, vec![], None)).unwrap().status,
        0,
        "UNSET elsewhere: not recorded"
    );
    assert_eq!(one(span(1, vec![], Some(0))).unwrap().status, 0);
    let path = "resource_spans[0].scope_spans[0].spans[0]";
    let cases = [
        (
            attr("http.response.status_code", Value::IntValue(1000)),
            "attributes.http.response.status_code",
        ),
        (
            attr("http.response.status_code", Value::BoolValue(true)),
            "attributes.http.response.status_code",
        ),
        (
            attr("rpc.grpc.status_code", Value::IntValue(17)),
            "attributes.rpc.grpc.status_code",
        ),
    ];
    for (attribute, field) in cases {
        assert_eq!(
            one(span(3, vec![attribute], None)).unwrap_err().field(),
            Some(format!("{path}.{field}").as_str())
        );
    }
    assert_eq!(
        one(span(3, vec![], Some(9))).unwrap_err().field(),
        Some(format!("{path}.status.code").as_str())
    );
}

#[test]
fn operation_peer_environment() {
    let new = one(span(
        2,
        vec![
            text("http.request.method", "GET"),
            text("http.route", "/o/{id}"),
            text("server.address", "me"),
        ],
        None,
    ))
    .unwrap();
    assert_eq!(new.operation.as_deref(), Some("GET /o/{id}"));
    assert_eq!(new.peer, None, "an inbound span's server.address is itself");
    assert_eq!(new.environment.as_deref(), Some("prod"));
    let legacy = one(span(
        3,
        vec![
            text("http.method", "PUT"),
            text("http.target", "/o/7?x=1"),
            text("net.peer.name", "db"),
        ],
        None,
    ))
    .unwrap();
    assert_eq!(
        (legacy.operation.as_deref(), legacy.peer.as_deref()),
        (Some("PUT /o/7"), Some("db"))
    );
    let named = one(span(
        3,
        vec![text("peer.service", "payments"), text("server.address", "10.0.0.1")],
        None,
    ))
    .unwrap();
    assert_eq!(
        (named.operation.as_deref(), named.peer.as_deref()),
        (Some("do-work"), Some("payments"))
    );
    let mut nameless = span(4, vec![], None);
    nameless.name = String::new();
    assert_eq!(one(nameless).unwrap().operation, None);
    let events = events_from_otlp(
        request(vec![text("service.name", "x")], vec![span(1, vec![], None)]),
        "a",
        NOW,
    )
    .unwrap();
    assert_eq!(events[0].environment, None);
}

#[test]
fn ids_and_time() {
    let mut child = span(3, vec![], None);
    child.parent_span_id = vec![9; 8];
    let event = one(child).unwrap();
    assert_eq!(
        event.parent_ce_id.unwrap().0,
        [9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(event.trace_id.0, [7; 16]);
    assert_eq!((event.start_unix_ns, event.duration_ns), (START, 3_000_000));
    let path = "resource_spans[0].scope_spans[0].spans[0]";
    let mut bad = span(1, vec![], None);
    bad.span_id = vec![1; 16];
    assert_eq!(one(bad).unwrap_err().field(), Some(format!("{path}.span_id").as_str()));
    let mut bad = span(1, vec![], None);
    bad.trace_id = vec![0; 16];
    assert_eq!(one(bad).unwrap_err().field(), Some(format!("{path}.trace_id").as_str()));
    let mut bad = span(1, vec![], None);
    bad.parent_span_id = vec![1; 3];
    assert_eq!(
        one(bad).unwrap_err().field(),
        Some(format!("{path}.parent_span_id").as_str())
    );
    let mut bad = span(1, vec![], None);
    bad.end_time_unix_nano = START - 1;
    assert_eq!(
        one(bad).unwrap_err().field(),
        Some(format!("{path}.end_time_unix_nano").as_str())
    );
    let mut future = span(1, vec![], None);
    future.start_time_unix_nano = NOW + 3_600_000_000_000;
    future.end_time_unix_nano = future.start_time_unix_nano;
    assert_eq!(
        one(future.clone()).unwrap_err().field(),
        Some(format!("{path}.timestamp").as_str())
    );
    assert!(events_from_otlp(request(vec![text("service.name", "x")], vec![future]), "a", u64::MAX).is_ok());
}

#[test]
fn resource_and_batch_errors() {
    let err = events_from_otlp(request(vec![], vec![span(1, vec![], None)]), "a", NOW).unwrap_err();
    assert_eq!(err.field(), Some("resource_spans[0].resource.attributes.service.name"));
    assert!(
        events_from_otlp(request(vec![], vec![]), "a", NOW).unwrap().is_empty(),
        "no spans, no service needed"
    );
    let mut second = request(
        vec![text("service.name", "x")],
        vec![span(1, vec![], None), span(1, vec![], None)],
    );
    second.resource_spans[0].scope_spans[0].spans[1].span_id = vec![];
    let err = events_from_otlp(second, "a", NOW).unwrap_err();
    assert_eq!(
        err.field(),
        Some("resource_spans[0].scope_spans[0].spans[1].span_id"),
        "all or nothing"
    );
    let many = request(
        vec![text("service.name", "x")],
        vec![span(1, vec![], None); MAX_EVENTS_PER_BATCH + 1],
    );
    assert!(matches!(
        events_from_otlp(many, "a", NOW),
        Err(DecodeError::TooManyEvents { .. })
    ));
    let long = "s".repeat(200);
    let err = events_from_otlp(
        request(vec![text("service.name", &long)], vec![span(1, vec![], None)]),
        "a",
        NOW,
    )
    .unwrap_err();
    assert_eq!(
        err.field(),
        Some("resource_spans[0].scope_spans[0].spans[0].service_id")
    );
}

#[test]
fn protobuf_and_json_bodies() {
    let req = request(vec![text("service.name", "orders")], vec![span(2, vec![], None)]);
    let events = decode_otlp_protobuf(&req.encode_to_vec(), "a", NOW).unwrap();
    assert_eq!(events.len(), 1);
    assert!(matches!(
        decode_otlp_protobuf(&[0xff, 0xff, 0xff], "a", NOW),
        Err(DecodeError::Malformed { .. })
    ));
    // A wrong type in well-formed JSON names the field; broken JSON is
    // malformed as a whole.
    assert_eq!(
        decode_otlp_json(b"{\"resourceSpans\": 5}", "a", NOW)
            .unwrap_err()
            .field(),
        Some("resourceSpans")
    );
    assert!(matches!(
        decode_otlp_json(b"{\"resourceSpans\": [", "a", NOW),
        Err(DecodeError::Malformed { .. })
    ));
    let huge = vec![0u8; MAX_BODY_BYTES + 1];
    assert_eq!(decode_otlp_protobuf(&huge, "a", NOW).unwrap_err().field(), Some("body"));
    assert_eq!(decode_otlp_json(&huge, "a", NOW).unwrap_err().field(), Some("body"));
    let json = format!(
        r#"{{"resourceSpans":[{{"resource":{{"attributes":[{{"key":"service.name","value":{{"stringValue":"orders"}}}}]}},
        "scopeSpans":[{{"spans":[{{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
        "name":"GET","kind":3,"startTimeUnixNano":"{START}","endTimeUnixNano":{end},
        "attributes":[{{"key":"http.response.status_code","value":{{"intValue":"201"}}}}]}}]}}]}}]}}"#,
        end = START + 10
    );
    let events = decode_otlp_json(json.as_bytes(), "a", NOW).expect("hex ids, string and number int64");
    assert_eq!(events[0].trace_id.to_hex(), "5b8efff798038103d269b633813fc60c");
    assert_eq!(
        (events[0].kind, events[0].status, events[0].duration_ns),
        (Kind::HttpOut, 201, 10)
    );
}
