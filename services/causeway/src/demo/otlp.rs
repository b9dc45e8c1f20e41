//! Steps of an OpenTelemetry-instrumented service as its OTLP/HTTP
//! exporter sends them: one `ExportTraceServiceRequest` (protobuf) per
//! export, SERVER and CLIENT spans with the stable HTTP semantic
//! conventions.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;

use super::sdk_json::ENVIRONMENT;
use super::topology::{Direction, Step};

fn text(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_owned())),
        }),
        ..Default::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue {
        key: key.to_owned(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(value)),
        }),
        ..Default::default()
    }
}

fn span(step: &Step) -> Span {
    let mut attributes = vec![
        text("http.request.method", step.method),
        int("http.response.status_code", i64::from(step.status)),
    ];
    let (kind, name) = match step.direction {
        Direction::Inbound => {
            attributes.push(text("http.route", step.route));
            (SpanKind::Server, format!("{} {}", step.method, step.route))
        }
        Direction::Outbound => {
            let peer = step.peer.unwrap_or("unknown");
            attributes.push(text("peer.service", peer));
            attributes.push(text("server.address", peer));
            attributes.push(int("server.port", 8080));
            attributes.push(text("url.full", &format!("http://{peer}:8080{}", step.route)));
            (SpanKind::Client, step.method.to_owned())
        }
    };
    // OpenTelemetry's HTTP conventions: a SERVER span is an error on 5xx,
    // a CLIENT span on 4xx and 5xx; successes stay UNSET.
    let error_from = if step.direction == Direction::Inbound { 500 } else { 400 };
    let status = (step.status >= error_from).then(|| Status {
        code: StatusCode::Error as i32,
        ..Default::default()
    });
    Span {
        trace_id: step.trace_id.to_vec(),
        span_id: step.id.to_vec(),
        parent_span_id: step.parent.map(|parent| parent.to_vec()).unwrap_or_default(),
        flags: 0x100,
        name,
        kind: kind as i32,
        start_time_unix_nano: step.start_ns,
        end_time_unix_nano: step.end_ns(),
        attributes,
        status,
        ..Default::default()
    }
}

/// One export of `service`, protobuf-encoded.
pub fn export(service: &str, steps: &[&Step]) -> Vec<u8> {
    let resource = Resource {
        attributes: vec![
            text("service.name", service),
            text("deployment.environment.name", ENVIRONMENT),
            text("telemetry.sdk.language", "python"),
            text("telemetry.sdk.name", "opentelemetry"),
        ],
        ..Default::default()
    };
    let scope = InstrumentationScope {
        name: "opentelemetry.instrumentation.http".to_owned(),
        ..Default::default()
    };
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(scope),
                spans: steps.iter().map(|step| span(step)).collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    request.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::rng::Rng;
    use crate::demo::topology::{WEB, request_steps};
    use causeway_model::{CeId, Kind, decode_otlp_protobuf};

    #[test]
    fn the_decoder_reads_every_field_the_demo_sends() {
        let steps = request_steps(&mut Rng::seeded(11), 1_800_000_000_000_000_000, true, 1_000);
        let web: Vec<&Step> = steps.iter().filter(|s| s.service.name == WEB.name).collect();
        let events = decode_otlp_protobuf(&export("web", &web), "tenant", u64::MAX).expect("valid export");
        assert_eq!(events.len(), 2);
        let server = events.iter().find(|e| e.kind == Kind::HttpIn).expect("server span");
        assert_eq!((server.status, server.parent_ce_id), (500, None));
        assert_eq!(server.operation.as_deref(), Some("POST /checkout"));
        assert_eq!(server.environment.as_deref(), Some(ENVIRONMENT));
        let client = events.iter().find(|e| e.kind == Kind::HttpOut).expect("client span");
        assert_eq!((client.status, client.peer.as_deref()), (502, Some("checkout")));
        assert_eq!(client.parent_ce_id, Some(server.ce_id));
        assert_eq!(client.ce_id, CeId::from_span_id(&web[1].id).expect("id"));
        assert_eq!(client.start_unix_ns + client.duration_ns, web[1].end_ns());
    }
}
