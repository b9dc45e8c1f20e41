//! The fast pass over OTLP/JSON: borrowed, typed structs that mirror the
//! `opentelemetry-proto` serde types field by field, reading only what the
//! mapping uses into memory (ids into fixed arrays, the picked attributes)
//! and type-checking the rest without keeping it.
//!
//! Every field is at least as strict as the precise decoder's (no `null`
//! where it has none, no positional objects, ids only as plain hex of the
//! exact length, no `bytesValue`); whatever this pass refuses goes to the
//! precise decoder, which names the field.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, Error, SeqAccess, Visitor};

use super::attributes::Picked;
use super::span::{MappedSpan, SpanPath, SpanView, map_span};
use crate::typed_json::{MapOnly, SeqOf, Str};
use values::{AnyValue, HexId, U64Text};

mod values;

#[derive(Deserialize)]
#[allow(dead_code)] // fields read only to be type-checked
#[serde(rename_all = "camelCase")]
pub(super) struct Request<'a> {
    #[serde(default, borrow)]
    pub resource_spans: Vec<MapOnly<ResourceSpans<'a>>>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // fields read only to be type-checked
#[serde(rename_all = "camelCase")]
pub(super) struct ResourceSpans<'a> {
    #[serde(default, borrow)]
    pub resource: Option<MapOnly<Resource<'a>>>,
    #[serde(default, borrow)]
    pub scope_spans: Vec<MapOnly<ScopeSpans<'a>>>,
    #[serde(default, borrow)]
    schema_url: Str<'a>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // fields read only to be type-checked
#[serde(rename_all = "camelCase")]
pub(super) struct Resource<'a> {
    #[serde(default, borrow)]
    pub attributes: PickedAttributes<'a>,
    #[serde(default)]
    dropped_attributes_count: u32,
    #[serde(default, borrow)]
    entity_refs: SeqOf<MapOnly<EntityRef<'a>>>,
}

/// Every field required, as in `opentelemetry-proto` (no serde default).
#[derive(Deserialize)]
#[allow(dead_code)] // fields read only to be type-checked
#[serde(rename_all = "camelCase")]
struct EntityRef<'a> {
    #[serde(borrow)]
    schema_url: Str<'a>,
    #[serde(rename = "type", borrow)]
    kind: Str<'a>,
    #[serde(borrow)]
    id_keys: SeqOf<Str<'a>>,
    #[serde(borrow)]
    description_keys: SeqOf<Str<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // fields read only to be type-checked
#[serde(rename_all = "camelCase")]
pub(super) struct ScopeSpans<'a> {
    #[serde(default, borrow)]
    scope: Option<MapOnly<Scope<'a>>>,
    #[serde(default)]
    pub spans: MappedSpans,
    #[serde(default, borrow)]
    schema_url: Str<'a>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // fields read only to be type-checked
#[serde(rename_all = "camelCase")]
struct Scope<'a> {
    #[serde(default, borrow)]
    name: Str<'a>,
    #[serde(default, borrow)]
    version: Str<'a>,
    #[serde(default, borrow)]
    attributes: SeqOf<MapOnly<KeyValue<'a>>>,
    #[serde(default)]
    dropped_attributes_count: u32,
}

/// The `spans` array, each span mapped as it is read (see [`MappedSpan`]);
/// a span the mapping refuses fails the pass, and the precise decoder
/// reports it in its place in the export.
#[derive(Default)]
pub(super) struct MappedSpans(pub Vec<MappedSpan>);

impl<'de> Deserialize<'de> for MappedSpans {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpansVisitor;
        impl<'de> Visitor<'de> for SpansVisitor {
            type Value = MappedSpans;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of spans")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MappedSpans, A::Error> {
                let mut spans = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(MapOnly(span)) = seq.next_element::<MapOnly<Span<'de>>>()? {
                    let view = SpanView {
                        trace_id: span.trace_id.bytes(),
                        span_id: span.span_id.bytes(),
                        parent_span_id: span.parent_span_id.bytes(),
                        name: &span.name.0,
                        kind: span.kind,
                        start_time_unix_nano: span.start_time_unix_nano.0,
                        end_time_unix_nano: span.end_time_unix_nano.0,
                        status_code: span.status.as_ref().map(|status| status.0.code),
                        attributes: &span.attributes.0,
                    };
                    // The path is only for the error, which is not kept.
                    let anywhere = SpanPath {
                        resource: 0,
                        scope: 0,
                        span: 0,
                    };
                    spans.push(map_span(&view, anywhere).map_err(|_| A::Error::custom("left to the precise pass"))?);
                }
                Ok(MappedSpans(spans))
            }
        }
        deserializer.deserialize_seq(SpansVisitor)
    }
}

#[derive(Deserialize)]
#[allow(dead_code)] // fields read only to be type-checked
#[serde(rename_all = "camelCase")]
struct Span<'a> {
    #[serde(default)]
    pub trace_id: HexId<16>,
    #[serde(default)]
    pub span_id: HexId<8>,
    #[serde(default, borrow)]
    trace_state: Str<'a>,
    #[serde(default)]
    pub parent_span_id: HexId<8>,
    #[serde(default)]
    flags: u32,
    #[serde(default, borrow)]
    pub name: Str<'a>,
    #[serde(default)]
    pub kind: i32,
    #[serde(default)]
    pub start_time_unix_nano: U64Text,
    #[serde(default)]
    pub end_time_unix_nano: U64Text,
    #[serde(default, borrow)]
    pub attributes: PickedAttributes<'a>,
    #[serde(default)]
    dropped_attributes_count: u32,
    #[serde(default, borrow)]
    events: SeqOf<MapOnly<SpanEvent<'a>>>,
    #[serde(default)]
    dropped_events_count: u32,
    #[serde(default, borrow)]
    links: SeqOf<MapOnly<Link<'a>>>,
    #[serde(default)]
    dropped_links_count: u32,
    #[serde(default, borrow)]
    pub status: Option<MapOnly<Status<'a>>>,
}

#[derive(Deserialize)]
#[allow(dead_code)] // fields read only to be type-checked
#[serde(rename_all = "camelCase")]
struct SpanEvent<'a> {
    #[serde(default)]
    time_unix_nano: U64Text,
    #[serde(default, borrow)]
    name: Str<'a>,
    #[serde(default, borrow)]
    attributes: SeqOf<MapOnly<KeyValue<'a>>>,
    #[serde(default)]
    dropped_attributes_count: u32,
}

#[derive(Deserialize)]
#[allow(dead_code)] // fields read only to be type-checked
#[serde(rename_all = "camelCase")]
struct Link<'a> {
    #[serde(default)]
    trace_id: HexId<16>,
    #[serde(default)]
    span_id: HexId<8>,
    #[serde(default, borrow)]
    trace_state: Str<'a>,
    #[serde(default, borrow)]
    attributes: SeqOf<MapOnly<KeyValue<'a>>>,
    #[serde(default)]
    dropped_attributes_count: u32,
    #[serde(default)]
    flags: u32,
}

#[derive(Deserialize)]
#[allow(dead_code)] // fields read only to be type-checked
#[serde(rename_all = "camelCase")]
pub(super) struct Status<'a> {
    #[serde(default, borrow)]
    message: Str<'a>,
    #[serde(default)]
    pub code: i32,
}

/// `key` required, as in `opentelemetry-proto`.
#[derive(Deserialize)]
#[allow(dead_code)] // fields read only to be type-checked
#[serde(rename_all = "camelCase")]
struct KeyValue<'a> {
    #[serde(borrow)]
    key: Str<'a>,
    #[serde(default, borrow)]
    value: Option<AnyValue<'a>>,
    #[serde(default)]
    key_strindex: i32,
}

/// An attribute list, reduced to the attributes the rules read as it is
/// read: no list is kept.
#[derive(Default)]
pub(super) struct PickedAttributes<'a>(pub Picked<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for PickedAttributes<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = Picked<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of attributes")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut picked = Picked::default();
                while let Some(MapOnly(attribute)) = seq.next_element::<MapOnly<KeyValue<'de>>>()? {
                    let value = attribute.value.and_then(|value| value.0);
                    picked.offer(&attribute.key.0, || value);
                }
                Ok(picked)
            }
        }
        deserializer.deserialize_seq(ListVisitor).map(PickedAttributes)
    }
}
