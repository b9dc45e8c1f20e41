//! The protobuf fast pass against prost's decode and the same mapping: on
//! the recorded exports, on every single-byte change to them, and on the
//! shapes prost merges or skips, both give the same events or the fast
//! pass gives up (and the error is prost's).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, Span, Status};
use prost::Message;

use super::decode;
use crate::kind::Kind;
use crate::otlp::{KIND_ATTRIBUTE, decode_otlp_protobuf, events_from_otlp, protobuf_fast_pass_agrees};

const FIXTURES: [&[u8]; 2] = [
    include_bytes!("../../fixtures/otlp_checkout.pb"),
    include_bytes!("../../fixtures/otlp_payments.pb"),
];

fn agrees(body: &[u8]) {
    if let Err(diff) = protobuf_fast_pass_agrees(body) {
        panic!("{diff}");
    }
}

fn fast_reads(body: &[u8]) -> bool {
    decode(body, "tenant", u64::MAX).is_some()
}

fn fixture() -> ExportTraceServiceRequest {
    ExportTraceServiceRequest::decode(FIXTURES[0]).unwrap()
}

fn string(text: &str) -> Option<AnyValue> {
    Some(AnyValue {
        value: Some(any_value::Value::StringValue(text.to_owned())),
    })
}

fn attribute(key: &str, value: Option<AnyValue>) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value,
        ..Default::default()
    }
}

/// The fixture with `change` applied to every span.
fn each_span(change: impl Fn(&mut Span)) -> Vec<u8> {
    let mut request = fixture();
    for resource in &mut request.resource_spans {
        for scope in &mut resource.scope_spans {
            scope.spans.iter_mut().for_each(&change);
        }
    }
    request.encode_to_vec()
}

#[test]
fn the_recorded_exports_read_the_same() {
    for body in FIXTURES {
        assert!(fast_reads(body), "the fast pass reads the recording");
        agrees(body);
        let events = decode_otlp_protobuf(body, "tenant", u64::MAX).unwrap();
        let request = ExportTraceServiceRequest::decode(body).unwrap();
        assert_eq!(events, events_from_otlp(request, "tenant", u64::MAX).unwrap());
    }
}

/// Every byte of each recording changed, dropped, or the body cut there:
/// whatever the fast pass still reads, prost's path reads the same.
#[test]
fn every_single_byte_change_agrees() {
    let mut read = 0;
    for body in FIXTURES {
        for at in 0..body.len() {
            let mut variants = Vec::new();
            for byte in [0x00, 0x01, 0x7f, 0x80, 0xff, body[at].wrapping_add(1), body[at] ^ 0x08] {
                let mut changed = body.to_vec();
                changed[at] = byte;
                variants.push(changed);
            }
            let mut dropped = body.to_vec();
            dropped.remove(at);
            variants.push(dropped);
            variants.push(body[..at].to_vec());
            for variant in variants {
                agrees(&variant);
                read += usize::from(fast_reads(&variant));
            }
        }
    }
    // Many changes land in ids, times and text, which the fast pass reads.
    assert!(read > 1_000, "the fast pass read only {read} variants");
}

#[test]
fn values_of_every_type_and_nested_arrays_agree() {
    let values = [
        any_value::Value::BoolValue(true),
        any_value::Value::IntValue(-3),
        any_value::Value::DoubleValue(1.5),
        any_value::Value::BytesValue(vec![0xff, 0]),
        any_value::Value::ArrayValue(ArrayValue {
            values: vec![AnyValue {
                value: Some(any_value::Value::StringValue("x".into())),
            }],
        }),
    ];
    for value in values {
        let body = each_span(|span| {
            span.attributes.insert(
                0,
                attribute(
                    "http.route",
                    Some(AnyValue {
                        value: Some(value.clone()),
                    }),
                ),
            );
            span.attributes.push(attribute("x.other", None));
        });
        assert!(fast_reads(&body));
        agrees(&body);
    }
    // Deeper than the fast pass reads: prost's path decides, the same way.
    let mut deep = AnyValue::default();
    for _ in 0..40 {
        deep = AnyValue {
            value: Some(any_value::Value::ArrayValue(ArrayValue { values: vec![deep] })),
        };
    }
    let body = each_span(|span| span.attributes.push(attribute("x.deep", Some(deep.clone()))));
    assert!(!fast_reads(&body));
    assert!(decode_otlp_protobuf(&body, "tenant", u64::MAX).is_ok());
}

#[test]
fn span_events_links_scopes_and_status_agree() {
    let body = each_span(|span| {
        span.events.push(Event {
            name: "exception".into(),
            attributes: vec![attribute("exception.type", string("KeyError"))],
            ..Default::default()
        });
        span.links.push(Link {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            trace_state: "k=v".into(),
            ..Default::default()
        });
        span.status = Some(Status {
            message: "boom".into(),
            code: 2,
        });
    });
    assert!(fast_reads(&body));
    agrees(&body);
    let mut request = fixture();
    request.resource_spans[0].scope_spans[0].scope = Some(InstrumentationScope {
        name: "opentelemetry.instrumentation.flask".into(),
        attributes: vec![attribute("k", string("v"))],
        ..Default::default()
    });
    let body = request.encode_to_vec();
    assert!(fast_reads(&body));
    agrees(&body);
}

/// Bad UTF-8 in a string the mapping never reads is still refused by both.
#[test]
fn bad_text_in_skipped_strings_is_refused_by_both() {
    for name in ["exception", "link-state", "scope"] {
        let marker = format!("@{name}@");
        let body = each_span(|span| match name {
            "exception" => span.events.push(Event {
                name: marker.clone(),
                ..Default::default()
            }),
            "link-state" => span.links.push(Link {
                trace_state: marker.clone(),
                ..Default::default()
            }),
            _ => span.trace_state = marker.clone(),
        });
        let at = body.windows(marker.len()).position(|w| w == marker.as_bytes()).unwrap();
        let mut bad = body.clone();
        bad[at] = 0xff;
        assert!(!fast_reads(&bad));
        assert!(decode_otlp_protobuf(&bad, "tenant", u64::MAX).is_err());
        agrees(&body);
    }
}

/// What prost merges: a `ResourceSpans` given as two pieces (its resource
/// after its spans, the resource twice), a status given twice, an
/// attribute's value given twice, and fields it does not know.
#[test]
fn merged_and_unknown_fields_agree() {
    let request = fixture();
    let resource_spans = &request.resource_spans[0];
    let spans_only = ResourceSpans {
        resource: None,
        ..resource_spans.clone()
    }
    .encode_to_vec();
    let resource_only = ResourceSpans {
        scope_spans: Vec::new(),
        ..resource_spans.clone()
    }
    .encode_to_vec();
    let mut extra = resource_spans.resource.clone().unwrap();
    extra.attributes = vec![attribute("deployment.environment.name", string("staging"))];
    let extra_resource = ResourceSpans {
        resource: Some(extra),
        ..Default::default()
    }
    .encode_to_vec();
    let wrap = |pieces: &[&[u8]]| {
        let mut body = Vec::new();
        delimited(1, &pieces.concat(), &mut body);
        body
    };
    for body in [
        wrap(&[&spans_only, &resource_only]),
        wrap(&[&resource_only, &spans_only, &extra_resource]),
        wrap(&[&extra_resource, &resource_only, &spans_only]),
    ] {
        assert!(fast_reads(&body));
        agrees(&body);
    }

    // Each span given a second status (code only), an attribute whose
    // value comes in two pieces, and fields prost does not know; done on
    // the encoded spans, which prost would merge.
    let mut request = each_span(|span| {
        span.status = Some(Status {
            message: "a".into(),
            code: 2,
        })
    });
    let mut request = ExportTraceServiceRequest::decode(&request.split_off(0)[..]).unwrap();
    let mut resource = request.resource_spans.remove(0);
    let mut scope_bytes = Vec::new();
    for span in &resource.scope_spans[0].spans {
        let mut bytes = span.encode_to_vec();
        let status = Status {
            message: String::new(),
            code: 1,
        }
        .encode_to_vec();
        delimited(15, &status, &mut bytes);
        let first = attribute(KIND_ATTRIBUTE, string(Kind::JobStart.as_str())).encode_to_vec();
        let second = attribute(KIND_ATTRIBUTE, Some(AnyValue { value: None })).encode_to_vec();
        delimited(9, &[first, second].concat(), &mut bytes);
        // An unknown varint field (99) and an unknown length-delimited one (100).
        bytes.extend_from_slice(&[0x98, 0x06, 0x01, 0xa2, 0x06, 0x01, 0x00]);
        delimited(2, &bytes, &mut scope_bytes);
    }
    resource.scope_spans.clear();
    let mut resource_bytes = resource.encode_to_vec();
    delimited(2, &scope_bytes, &mut resource_bytes);
    let mut body = Vec::new();
    delimited(1, &resource_bytes, &mut body);
    assert!(fast_reads(&body));
    agrees(&body);
    let events = decode_otlp_protobuf(&body, "tenant", u64::MAX).unwrap();
    // The kind came from the attribute's first piece: the second set none.
    assert!(events.iter().all(|event| event.kind == Kind::JobStart));
}

/// Appends field `number` holding `bytes`, length-delimited.
fn delimited(number: u32, bytes: &[u8], out: &mut Vec<u8>) {
    prost::encoding::encode_key(number, prost::encoding::WireType::LengthDelimited, out);
    prost::encoding::encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}
