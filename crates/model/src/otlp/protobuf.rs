//! The fast pass over OTLP protobuf: spans read in place from the body, the
//! attributes the rules use picked as borrowed text, every event packed into
//! one [`EventBatch`], and nothing else kept. prost's own decode builds an
//! owned string for every attribute key and value of every span, which
//! costs more than all the rest of ingest.
//!
//! This pass accepts only what prost accepts, with the same events: every
//! string, read or not, is checked as UTF-8; every known field's wire type
//! is checked; a singular message repeated is merged as prost merges it.
//! Anything it is unsure of, and every error, makes it give up; the prost
//! decode then runs and names the problem.

use std::borrow::Cow;

use prost::encoding::WireType;

use super::attributes::{AttrValue, Operation, Picked, operation_parts, peer_text};
use super::span::{SpanPath, SpanView, resource_context, span_core};
use crate::event_batch::{EventBatch, PackedEvent, Text};
use crate::limits::MAX_EVENTS_PER_BATCH;
use crate::proto_reader::Reader;
use crate::validate::validate_event_refs;

const VARINT: WireType = WireType::Varint;
const FIXED32: WireType = WireType::ThirtyTwoBit;
const FIXED64: WireType = WireType::SixtyFourBit;
const LEN: WireType = WireType::LengthDelimited;

/// How deep a value nested in arrays and lists may be here. prost refuses
/// nesting past 100 messages, counting the seven above an attribute, so
/// whatever passes here passes there.
const MAX_VALUE_DEPTH: usize = 32;

/// The type of a field of a message this pass checks but does not read.
#[derive(Clone, Copy)]
enum Field {
    Text,
    Bytes,
    Varint,
    Fixed32,
    Fixed64,
    Message(&'static [(u32, Field)]),
}

impl Field {
    fn wire(self) -> WireType {
        match self {
            Field::Varint => VARINT,
            Field::Fixed32 => FIXED32,
            Field::Fixed64 => FIXED64,
            Field::Text | Field::Bytes | Field::Message(_) => LEN,
        }
    }
}

// The messages of `opentelemetry.proto.common.v1` and `.trace.v1` that are
// checked only: field numbers and types as in opentelemetry-proto.
static ANY_VALUE: [(u32, Field); 8] = [
    (1, Field::Text),
    (2, Field::Varint),
    (3, Field::Varint),
    (4, Field::Fixed64),
    (5, Field::Message(&ARRAY_VALUE)),
    (6, Field::Message(&KEY_VALUE_LIST)),
    (7, Field::Bytes),
    (8, Field::Varint),
];
static ARRAY_VALUE: [(u32, Field); 1] = [(1, Field::Message(&ANY_VALUE))];
static KEY_VALUE_LIST: [(u32, Field); 1] = [(1, Field::Message(&KEY_VALUE))];
static KEY_VALUE: [(u32, Field); 3] = [(1, Field::Text), (2, Field::Message(&ANY_VALUE)), (3, Field::Varint)];
static SCOPE: [(u32, Field); 4] = [
    (1, Field::Text),
    (2, Field::Text),
    (3, Field::Message(&KEY_VALUE)),
    (4, Field::Varint),
];
static ENTITY_REF: [(u32, Field); 4] = [(1, Field::Text), (2, Field::Text), (3, Field::Text), (4, Field::Text)];
static SPAN_EVENT: [(u32, Field); 4] = [
    (1, Field::Fixed64),
    (2, Field::Text),
    (3, Field::Message(&KEY_VALUE)),
    (4, Field::Varint),
];
static SPAN_LINK: [(u32, Field); 6] = [
    (1, Field::Bytes),
    (2, Field::Bytes),
    (3, Field::Text),
    (4, Field::Message(&KEY_VALUE)),
    (5, Field::Varint),
    (6, Field::Fixed32),
];

/// Reads one field of type `field` (its key read), checking it.
fn check_field(reader: &mut Reader<'_>, field: Field, wire: WireType, depth: usize) -> Option<()> {
    if wire != field.wire() {
        return None;
    }
    match field {
        Field::Text => reader.text().ok().map(|_| ()),
        Field::Bytes => reader.delimited().ok().map(|_| ()),
        Field::Varint => reader.varint().ok().map(|_| ()),
        Field::Fixed32 => reader.fixed32().ok().map(|_| ()),
        Field::Fixed64 => reader.fixed64().ok().map(|_| ()),
        Field::Message(schema) if depth < MAX_VALUE_DEPTH => check(reader.delimited().ok()?, schema, depth + 1),
        Field::Message(_) => None,
    }
}

/// Checks a whole message of `schema`; unknown fields are skipped.
fn check(bytes: &[u8], schema: &[(u32, Field)], depth: usize) -> Option<()> {
    let mut reader = Reader::new(bytes);
    while let Some((number, wire)) = reader.next_key().ok()? {
        match schema.iter().find(|(known, _)| *known == number) {
            Some(&(_, field)) => check_field(&mut reader, field, wire, depth)?,
            None => reader.skip(number, wire).ok()?,
        }
    }
    Some(())
}

/// An `AnyValue`: `Some(None)` when no value is set. A value set twice is
/// the last one, as prost merges a oneof.
fn any_value(bytes: &[u8]) -> Option<Option<AttrValue<'_>>> {
    let mut reader = Reader::new(bytes);
    let mut value = None;
    while let Some((number, wire)) = reader.next_key().ok()? {
        value = Some(match (number, wire) {
            (1, LEN) => AttrValue::Str(Cow::Borrowed(reader.text().ok()?)),
            (3, VARINT) => AttrValue::Int(reader.varint().ok()? as i64),
            _ => match ANY_VALUE.iter().find(|(known, _)| *known == number) {
                Some(&(_, field)) => {
                    check_field(&mut reader, field, wire, 1)?;
                    AttrValue::Other
                }
                None => {
                    reader.skip(number, wire).ok()?;
                    continue;
                }
            },
        });
    }
    Some(value)
}

/// One `KeyValue`, offered to `picked`. A value given twice is merged.
fn key_value<'a>(bytes: &'a [u8], picked: &mut Picked<'a>) -> Option<()> {
    let mut reader = Reader::new(bytes);
    let (mut key, mut value) = ("", None);
    while let Some((number, wire)) = reader.next_key().ok()? {
        match (number, wire) {
            (1, LEN) => key = reader.text().ok()?,
            (2, LEN) => {
                if let Some(set) = any_value(reader.delimited().ok()?)? {
                    value = Some(set);
                }
            }
            (3, VARINT) => {
                reader.varint().ok()?;
            }
            (1..=3, _) => return None,
            _ => reader.skip(number, wire).ok()?,
        }
    }
    picked.offer(key, || value);
    Some(())
}

/// A `Resource`'s attributes into `picked` (a resource given twice is
/// merged: its attributes follow the first's).
fn resource<'a>(bytes: &'a [u8], picked: &mut Picked<'a>) -> Option<()> {
    let mut reader = Reader::new(bytes);
    while let Some((number, wire)) = reader.next_key().ok()? {
        match (number, wire) {
            (1, LEN) => key_value(reader.delimited().ok()?, picked)?,
            (2, VARINT) => {
                reader.varint().ok()?;
            }
            (3, LEN) => check(reader.delimited().ok()?, &ENTITY_REF, 0)?,
            (1..=3, _) => return None,
            _ => reader.skip(number, wire).ok()?,
        }
    }
    Some(())
}

/// A `Status`'s code into `code` (the last one given wins, as prost merges).
fn status(bytes: &[u8], code: &mut i32) -> Option<()> {
    let mut reader = Reader::new(bytes);
    while let Some((number, wire)) = reader.next_key().ok()? {
        match (number, wire) {
            (2, LEN) => {
                reader.text().ok()?;
            }
            (3, VARINT) => *code = reader.varint().ok()? as i32,
            (2 | 3, _) => return None,
            _ => reader.skip(number, wire).ok()?,
        }
    }
    Some(())
}

/// The fields of a `Span` the rules read; the rest checked only.
#[derive(Default)]
struct RawSpan<'a> {
    trace_id: &'a [u8],
    span_id: &'a [u8],
    parent_span_id: &'a [u8],
    name: &'a str,
    kind: i32,
    start_time_unix_nano: u64,
    end_time_unix_nano: u64,
    status_code: Option<i32>,
    attributes: Picked<'a>,
}

fn span(bytes: &[u8]) -> Option<RawSpan<'_>> {
    let mut span = RawSpan::default();
    let mut reader = Reader::new(bytes);
    while let Some((number, wire)) = reader.next_key().ok()? {
        match (number, wire) {
            (1, LEN) => span.trace_id = reader.delimited().ok()?,
            (2, LEN) => span.span_id = reader.delimited().ok()?,
            (3, LEN) => {
                reader.text().ok()?;
            }
            (4, LEN) => span.parent_span_id = reader.delimited().ok()?,
            (5, LEN) => span.name = reader.text().ok()?,
            (6, VARINT) => span.kind = reader.varint().ok()? as i32,
            (7, FIXED64) => span.start_time_unix_nano = reader.fixed64().ok()?,
            (8, FIXED64) => span.end_time_unix_nano = reader.fixed64().ok()?,
            (9, LEN) => key_value(reader.delimited().ok()?, &mut span.attributes)?,
            (10 | 12 | 14, VARINT) => {
                reader.varint().ok()?;
            }
            (11, LEN) => check(reader.delimited().ok()?, &SPAN_EVENT, 0)?,
            (13, LEN) => check(reader.delimited().ok()?, &SPAN_LINK, 0)?,
            (15, LEN) => status(reader.delimited().ok()?, span.status_code.get_or_insert(0))?,
            (16, FIXED32) => {
                reader.fixed32().ok()?;
            }
            (1..=16, _) => return None,
            _ => reader.skip(number, wire).ok()?,
        }
    }
    Some(span)
}

/// What a resource gives each of its spans, copied into the batch once.
#[derive(Clone, Copy)]
struct ResourceTexts {
    service: Text,
    environment: Option<Text>,
}

/// Maps one span into `batch`.
fn map_span(bytes: &[u8], path: SpanPath, resource: ResourceTexts, batch: &mut EventBatch) -> Option<()> {
    if batch.len() == MAX_EVENTS_PER_BATCH {
        return None;
    }
    let raw = span(bytes)?;
    let view = SpanView {
        trace_id: raw.trace_id,
        span_id: raw.span_id,
        parent_span_id: raw.parent_span_id,
        name: raw.name,
        kind: raw.kind,
        start_time_unix_nano: raw.start_time_unix_nano,
        end_time_unix_nano: raw.end_time_unix_nano,
        status_code: raw.status_code,
        attributes: &raw.attributes,
    };
    let core = span_core(&view, path).ok()?;
    let operation = operation_parts(&raw.attributes, raw.name).map(|operation| match operation {
        Operation::MethodRoute(method, route) => batch.push_method_route(method, route),
        Operation::Name(name) => batch.push_text(name),
    });
    let peer = peer_text(core.kind, &raw.attributes).map(|peer| batch.push_text(peer));
    batch.push(PackedEvent {
        trace_id: core.trace_id,
        ce_id: core.ce_id,
        parent_ce_id: core.parent_ce_id,
        service: resource.service,
        kind: core.kind,
        status: core.status,
        start_unix_ns: core.start_unix_ns,
        duration_ns: core.duration_ns,
        operation,
        peer,
        environment: resource.environment,
    });
    Some(())
}

/// One `ResourceSpans`: its resource first, wherever it lies in the
/// message (prost reads the whole message before any span is mapped),
/// then its spans in order.
fn resource_spans(bytes: &[u8], r: usize, batch: &mut EventBatch) -> Option<()> {
    let mut attributes = Picked::default();
    let mut reader = Reader::new(bytes);
    while let Some((number, wire)) = reader.next_key().ok()? {
        match (number, wire) {
            (1, LEN) => resource(reader.delimited().ok()?, &mut attributes)?,
            (2, LEN) => {
                reader.delimited().ok()?;
            }
            (3, LEN) => {
                reader.text().ok()?;
            }
            (1..=3, _) => return None,
            _ => reader.skip(number, wire).ok()?,
        }
    }
    // Resolved on the first span: a resource without spans needs no service.
    let mut texts = None;
    let mut reader = Reader::new(bytes);
    let mut s = 0;
    while let Some((number, wire)) = reader.next_key().ok()? {
        match (number, wire) {
            (2, LEN) => {
                let mut spans = Reader::new(reader.delimited().ok()?);
                let mut k = 0;
                while let Some((number, wire)) = spans.next_key().ok()? {
                    match (number, wire) {
                        (1, LEN) => check(spans.delimited().ok()?, &SCOPE, 0)?,
                        (2, LEN) => {
                            let resource = match texts {
                                Some(texts) => texts,
                                None => *texts.insert(resource_texts(&attributes, batch)?),
                            };
                            let path = SpanPath {
                                resource: r,
                                scope: s,
                                span: k,
                            };
                            map_span(spans.delimited().ok()?, path, resource, batch)?;
                            k += 1;
                        }
                        (3, LEN) => {
                            spans.text().ok()?;
                        }
                        (1..=3, _) => return None,
                        _ => spans.skip(number, wire).ok()?,
                    }
                }
                s += 1;
            }
            (1 | 3, LEN) => {
                reader.delimited().ok()?;
            }
            _ => reader.skip(number, wire).ok()?,
        }
    }
    Some(())
}

fn resource_texts(attributes: &Picked<'_>, batch: &mut EventBatch) -> Option<ResourceTexts> {
    // The tenant is only carried here; the batch holds it.
    let context = resource_context(attributes, "", 0).ok()?;
    Some(ResourceTexts {
        service: batch.push_text(context.service),
        environment: context.environment.map(|environment| batch.push_text(environment)),
    })
}

/// The request's events, validated; `None` when the prost decode must run
/// (anything unusual, and every error).
pub(super) fn decode(body: &[u8], tenant_id: &str, now_unix_ns: u64) -> Option<EventBatch> {
    let mut batch = EventBatch::with_capacity((body.len() / 128).min(MAX_EVENTS_PER_BATCH), body.len() / 8);
    batch.set_tenant(tenant_id);
    let mut reader = Reader::new(body);
    let mut r = 0;
    while let Some((number, wire)) = reader.next_key().ok()? {
        match (number, wire) {
            (1, LEN) => {
                resource_spans(reader.delimited().ok()?, r, &mut batch)?;
                r += 1;
            }
            (1, _) => return None,
            _ => reader.skip(number, wire).ok()?,
        }
    }
    validate_event_refs(batch.iter(), now_unix_ns).ok()?;
    Some(batch)
}

#[cfg(test)]
#[path = "protobuf_tests.rs"]
mod tests;
