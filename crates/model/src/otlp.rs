//! OTLP traces (`ExportTraceServiceRequest`, protobuf or OTLP/JSON) to
//! causal events: one span is one CE. Lossless where OTLP has the field,
//! nothing invented where it lacks one (docs/wire-formats.md).

mod attributes;
pub(crate) mod grpc_status;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

pub use attributes::KIND_ATTRIBUTE;
pub use grpc_status::grpc_to_http;

use crate::error::{DecodeError, FieldError};
use crate::event::CausalEvent;
use crate::ids::{CeId, TraceId};
use crate::limits::{MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH};
use crate::validate::validate_event;

/// What a resource contributes to each of its spans.
struct ResourceContext<'a> {
    tenant_id: &'a str,
    service: &'a str,
    environment: Option<&'a str>,
}

fn resource_context<'a>(
    attributes: &'a [KeyValue],
    tenant_id: &'a str,
    path: &str,
) -> Result<ResourceContext<'a>, FieldError> {
    let service = attributes::string(attributes, "service.name").ok_or_else(|| {
        FieldError::new(
            format!("{path}.resource.attributes.service.name"),
            "is required (a string)",
        )
    })?;
    Ok(ResourceContext {
        tenant_id,
        service,
        environment: attributes::first_string(attributes, &["deployment.environment.name", "deployment.environment"]),
    })
}

fn span_to_event(span: &Span, resource: &ResourceContext<'_>, path: &str) -> Result<CausalEvent, FieldError> {
    let field = |name: &str| format!("{path}.{name}");
    let trace_id =
        TraceId::from_bytes(&span.trace_id).map_err(|err| FieldError::new(field("trace_id"), err.to_string()))?;
    let ce_id = CeId::from_span_id(&span.span_id).map_err(|err| FieldError::new(field("span_id"), err.to_string()))?;
    let parent_ce_id = if span.parent_span_id.is_empty() {
        None
    } else {
        Some(
            CeId::from_span_id(&span.parent_span_id)
                .map_err(|err| FieldError::new(field("parent_span_id"), err.to_string()))?,
        )
    };
    let duration_ns = span
        .end_time_unix_nano
        .checked_sub(span.start_time_unix_nano)
        .ok_or_else(|| {
            FieldError::new(
                field("end_time_unix_nano"),
                format!(
                    "ends ({}) before it starts ({})",
                    span.end_time_unix_nano, span.start_time_unix_nano
                ),
            )
        })?;
    let kind = attributes::kind_of(span.kind, &span.attributes, path)?;
    let status = attributes::status_of(
        kind,
        &span.attributes,
        span.status.as_ref().map(|status| status.code),
        path,
    )?;
    Ok(CausalEvent {
        tenant_id: resource.tenant_id.to_owned(),
        trace_id,
        ce_id,
        parent_ce_id,
        service: resource.service.to_owned(),
        kind,
        status,
        start_unix_ns: span.start_time_unix_nano,
        duration_ns,
        operation: attributes::operation_of(&span.attributes, &span.name),
        peer: attributes::peer_of(kind, &span.attributes),
        environment: resource.environment.map(str::to_owned),
    })
}

/// Maps and validates every span of an export request. `tenant_id` comes
/// from the credential; `now_unix_ns = u64::MAX` disables the future-skew
/// check. All or nothing; errors are named like
/// `resource_spans[0].scope_spans[1].spans[3].span_id`.
pub fn events_from_otlp(
    request: ExportTraceServiceRequest,
    tenant_id: &str,
    now_unix_ns: u64,
) -> Result<Vec<CausalEvent>, DecodeError> {
    let span_count: usize = request
        .resource_spans
        .iter()
        .flat_map(|resource_spans| &resource_spans.scope_spans)
        .map(|scope_spans| scope_spans.spans.len())
        .sum();
    if span_count > MAX_EVENTS_PER_BATCH {
        return Err(DecodeError::TooManyEvents {
            actual: span_count,
            limit: MAX_EVENTS_PER_BATCH,
        });
    }
    let mut events = Vec::with_capacity(span_count);
    for (r, resource_spans) in request.resource_spans.iter().enumerate() {
        let resource_path = format!("resource_spans[{r}]");
        let resource_attributes = resource_spans
            .resource
            .as_ref()
            .map(|resource| resource.attributes.as_slice())
            .unwrap_or_default();
        let mut resource = None;
        for (s, scope_spans) in resource_spans.scope_spans.iter().enumerate() {
            for (k, span) in scope_spans.spans.iter().enumerate() {
                // Resolved lazily: a resource without spans needs no service.
                let context = match &resource {
                    Some(context) => context,
                    None => resource.insert(resource_context(resource_attributes, tenant_id, &resource_path)?),
                };
                let path = format!("{resource_path}.scope_spans[{s}].spans[{k}]");
                let event = span_to_event(span, context, &path)?;
                validate_event(&event, now_unix_ns).map_err(|err| err.within(&path))?;
                events.push(event);
            }
        }
    }
    Ok(events)
}

fn check_body_size(body: &[u8]) -> Result<(), DecodeError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(FieldError::over_limit("body", body.len() as u64, MAX_BODY_BYTES as u64, "bytes").into());
    }
    Ok(())
}

/// OTLP/HTTP or gRPC protobuf body (`application/x-protobuf`).
pub fn decode_otlp_protobuf(body: &[u8], tenant_id: &str, now_unix_ns: u64) -> Result<Vec<CausalEvent>, DecodeError> {
    check_body_size(body)?;
    let request =
        ExportTraceServiceRequest::decode(body).map_err(|err| DecodeError::malformed("otlp protobuf", err))?;
    events_from_otlp(request, tenant_id, now_unix_ns)
}

/// OTLP/JSON body (`application/json`): lowerCamelCase field names, trace
/// and span ids as hex, enums as integers, 64-bit integers as numbers or
/// decimal strings, as the OTLP specification requires.
pub fn decode_otlp_json(body: &[u8], tenant_id: &str, now_unix_ns: u64) -> Result<Vec<CausalEvent>, DecodeError> {
    check_body_size(body)?;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let request: ExportTraceServiceRequest =
        serde_path_to_error::deserialize(&mut deserializer).map_err(otlp_json_error)?;
    deserializer
        .end()
        .map_err(|err| DecodeError::malformed("otlp json", err))?;
    events_from_otlp(request, tenant_id, now_unix_ns)
}

/// A wrong value in well-formed JSON names its field
/// (`resourceSpans[0].scopeSpans[0].spans[0].traceId`); broken JSON is
/// malformed as a whole.
fn otlp_json_error(err: serde_path_to_error::Error<serde_json::Error>) -> DecodeError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    if inner.is_data() && path != "." {
        FieldError::new(path, inner.to_string()).into()
    } else {
        DecodeError::malformed("otlp json", inner)
    }
}
