//! OTLP traces (`ExportTraceServiceRequest`, protobuf or OTLP/JSON) to
//! causal events: one span is one CE. Lossless where OTLP has the field,
//! nothing invented where it lacks one (docs/wire-formats.md).

mod attributes;
pub(crate) mod grpc_status;
mod json;
mod protobuf;
mod span;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

pub use attributes::KIND_ATTRIBUTE;
use attributes::Picked;
pub use grpc_status::grpc_to_http;
use span::{SpanPath, SpanView, resource_context, span_to_event};

use crate::error::{DecodeError, FieldError};
use crate::event::CausalEvent;
use crate::event_batch::EventBatch;
use crate::limits::{MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH};
use crate::typed_json::{self, MapOnly};
use crate::validate::validate_event;

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
        let resource_attributes = Picked::from_proto(
            resource_spans
                .resource
                .as_ref()
                .map(|resource| resource.attributes.as_slice())
                .unwrap_or_default(),
        );
        let mut resource = None;
        for (s, scope_spans) in resource_spans.scope_spans.iter().enumerate() {
            for (k, span) in scope_spans.spans.iter().enumerate() {
                // Resolved lazily: a resource without spans needs no service.
                let context = match &resource {
                    Some(context) => context,
                    None => resource.insert(resource_context(&resource_attributes, tenant_id, r)?),
                };
                let path = SpanPath {
                    resource: r,
                    scope: s,
                    span: k,
                };
                let attributes = Picked::from_proto(&span.attributes);
                let view = SpanView {
                    trace_id: &span.trace_id,
                    span_id: &span.span_id,
                    parent_span_id: &span.parent_span_id,
                    name: &span.name,
                    kind: span.kind,
                    start_time_unix_nano: span.start_time_unix_nano,
                    end_time_unix_nano: span.end_time_unix_nano,
                    status_code: span.status.as_ref().map(|status| status.code),
                    attributes: &attributes,
                };
                let event = span_to_event(&view, context, path)?;
                validate_event(&event, now_unix_ns).map_err(|err| err.within(&path.to_string()))?;
                events.push(event);
            }
        }
    }
    Ok(events)
}

/// Whether the fast pass reads `body` (the tests check it is the usual path).
#[cfg(test)]
pub(crate) fn fast_pass_reads(body: &[u8]) -> bool {
    typed_json::from_body::<MapOnly<json::Request<'_>>>(body).is_some()
}

/// [`events_from_otlp`] over the fast pass's spans, already mapped: same
/// order, so the same first error.
fn events_from_json(
    request: json::Request<'_>,
    tenant_id: &str,
    now_unix_ns: u64,
) -> Result<Vec<CausalEvent>, DecodeError> {
    let span_count: usize = request
        .resource_spans
        .iter()
        .flat_map(|resource_spans| &resource_spans.0.scope_spans)
        .map(|scope_spans| scope_spans.0.spans.0.len())
        .sum();
    if span_count > MAX_EVENTS_PER_BATCH {
        return Err(DecodeError::TooManyEvents {
            actual: span_count,
            limit: MAX_EVENTS_PER_BATCH,
        });
    }
    let no_attributes = Picked::default();
    let mut events = Vec::with_capacity(span_count);
    for (r, MapOnly(resource_spans)) in request.resource_spans.into_iter().enumerate() {
        let resource_attributes = match &resource_spans.resource {
            Some(MapOnly(resource)) => &resource.attributes.0,
            None => &no_attributes,
        };
        let mut resource = None;
        for (s, MapOnly(scope_spans)) in resource_spans.scope_spans.into_iter().enumerate() {
            for (k, mapped) in scope_spans.spans.0.into_iter().enumerate() {
                let context = match &resource {
                    Some(context) => context,
                    None => resource.insert(resource_context(resource_attributes, tenant_id, r)?),
                };
                let event = mapped.into_event(context);
                validate_event(&event, now_unix_ns).map_err(|err| {
                    let path = SpanPath {
                        resource: r,
                        scope: s,
                        span: k,
                    };
                    err.within(&path.to_string())
                })?;
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
    decode_otlp_protobuf_events(body, tenant_id, now_unix_ns).map(|events| events.to_events())
}

/// [`decode_otlp_protobuf`] with the events packed rather than owned one
/// by one: the gateway's path. The fast pass reads the usual request in
/// place; whatever it refuses, prost decodes, and the same rules name the
/// problem (or accept the request, for the odd one the fast pass is
/// stricter about).
pub fn decode_otlp_protobuf_events(body: &[u8], tenant_id: &str, now_unix_ns: u64) -> Result<EventBatch, DecodeError> {
    check_body_size(body)?;
    if let Some(events) = protobuf::decode(body, tenant_id, now_unix_ns) {
        return Ok(events);
    }
    let events = events_from_otlp(decode_with_prost(body)?, tenant_id, now_unix_ns)?;
    Ok(EventBatch::from_events(tenant_id, &events))
}

fn decode_with_prost(body: &[u8]) -> Result<ExportTraceServiceRequest, DecodeError> {
    ExportTraceServiceRequest::decode(body).map_err(|err| DecodeError::malformed("otlp protobuf", err))
}

/// Checks that the protobuf fast pass, where it reads `body` at all, reads
/// what prost's decode and the mapping read: the same events, or an error
/// where prost's path has one. For tests and fuzzing; returns what differs.
pub fn protobuf_fast_pass_agrees(body: &[u8]) -> Result<(), String> {
    let Some(fast) = protobuf::decode(body, "tenant", u64::MAX) else {
        return Ok(());
    };
    let fast = fast.to_events();
    match decode_with_prost(body).and_then(|request| events_from_otlp(request, "tenant", u64::MAX)) {
        Ok(events) if events == fast => Ok(()),
        other => Err(format!("fast pass {fast:?}, prost {other:?}")),
    }
}

/// OTLP/JSON body (`application/json`): lowerCamelCase field names, trace
/// and span ids as hex, enums as integers, 64-bit integers as numbers or
/// decimal strings, as the OTLP specification requires.
pub fn decode_otlp_json(body: &[u8], tenant_id: &str, now_unix_ns: u64) -> Result<Vec<CausalEvent>, DecodeError> {
    check_body_size(body)?;
    // The fast pass reads borrowed, typed structs; a body it refuses is read
    // again by the precise decoder below, which names what is wrong. What the
    // fast pass accepts, the precise one accepts with the same spans, so the
    // mapping's own errors are the same either way.
    if let Some(MapOnly(request)) = typed_json::from_body::<MapOnly<json::Request<'_>>>(body) {
        return events_from_json(request, tenant_id, now_unix_ns);
    }
    decode_otlp_json_precisely(body, tenant_id, now_unix_ns)
}

/// The precise pass over OTLP/JSON: the `opentelemetry-proto` types read
/// with every field's path tracked.
pub(crate) fn decode_otlp_json_precisely(
    body: &[u8],
    tenant_id: &str,
    now_unix_ns: u64,
) -> Result<Vec<CausalEvent>, DecodeError> {
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
