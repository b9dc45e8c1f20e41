//! One span to one CE, whichever decoder read the span: the protobuf
//! message or the borrowed OTLP/JSON view hand the rules the same fields.

use std::fmt;

use super::attributes::{self, Key, Picked};
use crate::error::FieldError;
use crate::event::CausalEvent;
use crate::ids::{CeId, TraceId};
use crate::kind::Kind;

/// Where a span sits in the export, `resource_spans[r].scope_spans[s].spans[k]`.
/// Formatted only when an error names it, never per span.
#[derive(Clone, Copy)]
pub(crate) struct SpanPath {
    pub resource: usize,
    pub scope: usize,
    pub span: usize,
}

impl fmt::Display for SpanPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "resource_spans[{}].scope_spans[{}].spans[{}]",
            self.resource, self.scope, self.span
        )
    }
}

/// What a resource contributes to each of its spans.
pub(crate) struct ResourceContext<'a> {
    pub tenant_id: &'a str,
    pub service: &'a str,
    pub environment: Option<&'a str>,
}

/// Resolved on a resource's first span: a resource without spans needs no
/// service. `resource` is the resource's index for the error path.
pub(crate) fn resource_context<'a>(
    attributes: &'a Picked<'_>,
    tenant_id: &'a str,
    resource: usize,
) -> Result<ResourceContext<'a>, FieldError> {
    let service = attributes.string(Key::ServiceName).ok_or_else(|| {
        FieldError::new(
            format!("resource_spans[{resource}].resource.attributes.service.name"),
            "is required (a string)",
        )
    })?;
    Ok(ResourceContext {
        tenant_id,
        service,
        environment: attributes.first_string(&[Key::EnvironmentName, Key::Environment]),
    })
}

/// The span fields the mapping reads.
pub(crate) struct SpanView<'s, 'a> {
    pub trace_id: &'s [u8],
    pub span_id: &'s [u8],
    pub parent_span_id: &'s [u8],
    pub name: &'s str,
    pub kind: i32,
    pub start_time_unix_nano: u64,
    pub end_time_unix_nano: u64,
    pub status_code: Option<i32>,
    pub attributes: &'s Picked<'a>,
}

/// The fields of a span's CE that are not text.
#[derive(Clone, Copy)]
pub(crate) struct SpanCore {
    pub trace_id: TraceId,
    pub ce_id: CeId,
    pub parent_ce_id: Option<CeId>,
    pub kind: Kind,
    pub status: u16,
    pub start_unix_ns: u64,
    pub duration_ns: u64,
}

/// A span mapped without its resource: everything but the tenant, the
/// service and the environment. The OTLP/JSON fast pass maps each span as
/// it reads it, before it may have read the span's resource.
pub(crate) struct MappedSpan {
    core: SpanCore,
    operation: Option<String>,
    peer: Option<String>,
}

impl MappedSpan {
    pub(crate) fn into_event(self, resource: &ResourceContext<'_>) -> CausalEvent {
        let core = self.core;
        CausalEvent {
            tenant_id: resource.tenant_id.to_owned(),
            trace_id: core.trace_id,
            ce_id: core.ce_id,
            parent_ce_id: core.parent_ce_id,
            service: resource.service.to_owned(),
            kind: core.kind,
            status: core.status,
            start_unix_ns: core.start_unix_ns,
            duration_ns: core.duration_ns,
            operation: self.operation,
            peer: self.peer,
            environment: resource.environment.map(str::to_owned),
        }
    }
}

/// Ids, kind, status and times, by the rules of docs/wire-formats.md.
pub(crate) fn span_core(span: &SpanView<'_, '_>, path: SpanPath) -> Result<SpanCore, FieldError> {
    let field = |name: &str| format!("{path}.{name}");
    let trace_id =
        TraceId::from_bytes(span.trace_id).map_err(|err| FieldError::new(field("trace_id"), err.to_string()))?;
    let ce_id = CeId::from_span_id(span.span_id).map_err(|err| FieldError::new(field("span_id"), err.to_string()))?;
    let parent_ce_id = if span.parent_span_id.is_empty() {
        None
    } else {
        Some(
            CeId::from_span_id(span.parent_span_id)
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
    let kind = attributes::kind_of(span.kind, span.attributes, &path)?;
    let status = attributes::status_of(kind, span.attributes, span.status_code, &path)?;
    Ok(SpanCore {
        trace_id,
        ce_id,
        parent_ce_id,
        kind,
        status,
        start_unix_ns: span.start_time_unix_nano,
        duration_ns,
    })
}

pub(crate) fn map_span(span: &SpanView<'_, '_>, path: SpanPath) -> Result<MappedSpan, FieldError> {
    let core = span_core(span, path)?;
    Ok(MappedSpan {
        core,
        operation: attributes::operation_of(span.attributes, span.name),
        peer: attributes::peer_text(core.kind, span.attributes).map(str::to_owned),
    })
}

pub(crate) fn span_to_event(
    span: &SpanView<'_, '_>,
    resource: &ResourceContext<'_>,
    path: SpanPath,
) -> Result<CausalEvent, FieldError> {
    map_span(span, path).map(|mapped| mapped.into_event(resource))
}
