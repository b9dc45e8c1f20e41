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
use serde::de::{Deserializer, Error, MapAccess, SeqAccess, Visitor};

use super::attributes::{AttrValue, Picked};
use super::span::{MappedSpan, SpanPath, SpanView, map_span};
use crate::ids::decode_hex_into;
use crate::typed_json::{Checked, MapOnly, SeqOf, Str};

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

/// An `AnyValue` object: the last non-null known member wins, unknown
/// members are skipped, as `opentelemetry-proto` reads it.
struct AnyValue<'a>(Option<AttrValue<'a>>);

/// Inside an `AnyValue`, `opentelemetry-proto` reads a buffered copy in
/// which every string was decoded; so unknown members there are read with
/// [`Checked`], not skipped, and repeated members are refused.
struct ArrayValue;
struct KeyValueList;
struct NestedKeyValue;

fn duplicate<E: Error>(seen: &mut bool, field: &'static str) -> Result<(), E> {
    if std::mem::replace(seen, true) {
        return Err(E::duplicate_field(field));
    }
    Ok(())
}

/// `{"values": [T...]}`, `values` required.
fn values_object<'de, A: MapAccess<'de>, T: Deserialize<'de>>(mut map: A) -> Result<(), A::Error> {
    let mut seen = false;
    while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
        if key == "values" {
            duplicate::<A::Error>(&mut seen, "values")?;
            map.next_value::<SeqOf<T>>()?;
        } else {
            map.next_value::<Checked>()?;
        }
    }
    if !seen {
        return Err(A::Error::missing_field("values"));
    }
    Ok(())
}

macro_rules! nested_object {
    ($name:ident, $expecting:literal, |$map:ident| $body:expr) => {
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;
                impl<'de> Visitor<'de> for ObjectVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_map<A: MapAccess<'de>>(self, $map: A) -> Result<$name, A::Error> {
                        $body.map(|()| $name)
                    }
                }
                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    };
}

nested_object!(ArrayValue, "an ArrayValue object", |map| values_object::<
    A,
    AnyValue<'de>,
>(map));
nested_object!(KeyValueList, "a KeyValueList object", |map| values_object::<
    A,
    NestedKeyValue,
>(map));
nested_object!(NestedKeyValue, "a KeyValue object", |map| nested_key_value(map));

/// A `KeyValue` inside an `AnyValue`: `key` required.
fn nested_key_value<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    let (mut key, mut value, mut strindex) = (false, false, false);
    while let Some(Str(member)) = map.next_key::<Str<'de>>()? {
        match &*member {
            "key" => {
                duplicate::<A::Error>(&mut key, "key")?;
                map.next_value::<Str<'de>>()?;
            }
            "value" => {
                duplicate::<A::Error>(&mut value, "value")?;
                map.next_value::<Option<AnyValue<'de>>>()?;
            }
            "keyStrindex" => {
                duplicate::<A::Error>(&mut strindex, "keyStrindex")?;
                map.next_value::<i32>()?;
            }
            _ => {
                map.next_value::<Checked>()?;
            }
        }
    }
    if !key {
        return Err(A::Error::missing_field("key"));
    }
    Ok(())
}

impl<'de: 'a, 'a> Deserialize<'de> for AnyValue<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnyValueVisitor;
        impl<'de> Visitor<'de> for AnyValueVisitor {
            type Value = Option<AttrValue<'de>>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an AnyValue object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut value = None;
                while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
                    let next = match &*key {
                        "stringValue" => map.next_value::<Option<Str<'de>>>()?.map(|text| AttrValue::Str(text.0)),
                        "intValue" => map.next_value::<Option<IntText>>()?.map(|int| AttrValue::Int(int.0)),
                        "boolValue" => map.next_value::<Option<bool>>()?.map(|_| AttrValue::Other),
                        "doubleValue" => map.next_value::<Option<f64>>()?.map(|_| AttrValue::Other),
                        "arrayValue" => map.next_value::<Option<ArrayValue>>()?.map(|_| AttrValue::Other),
                        "kvlistValue" => map.next_value::<Option<KeyValueList>>()?.map(|_| AttrValue::Other),
                        // base64 text: rare, left to the precise decoder.
                        "bytesValue" => return Err(A::Error::custom("bytesValue")),
                        _ => {
                            map.next_value::<Checked>()?;
                            None
                        }
                    };
                    if next.is_some() {
                        value = next;
                    }
                }
                Ok(value)
            }
        }
        deserializer.deserialize_map(AnyValueVisitor).map(AnyValue)
    }
}

/// An id as plain hex of exactly `N` bytes, or empty (absent).
#[derive(Default)]
pub(super) struct HexId<const N: usize>(pub Option<[u8; N]>);

impl<const N: usize> HexId<N> {
    pub fn bytes(&self) -> &[u8] {
        self.0.as_ref().map(|bytes| bytes.as_slice()).unwrap_or_default()
    }
}

impl<'de, const N: usize> Deserialize<'de> for HexId<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HexVisitor<const N: usize>;
        impl<const N: usize> Visitor<'_> for HexVisitor<N> {
            type Value = HexId<N>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{N} bytes as hex")
            }
            fn visit_str<E: Error>(self, text: &str) -> Result<Self::Value, E> {
                if text.is_empty() {
                    return Ok(HexId(None));
                }
                let mut bytes = [0u8; N];
                decode_hex_into(text.as_bytes(), &mut bytes).map_err(E::custom)?;
                Ok(HexId(Some(bytes)))
            }
        }
        deserializer.deserialize_str(HexVisitor::<N>)
    }
}

/// A `u64` as a number or decimal text (OTLP/JSON writes 64-bit integers
/// as strings), with `opentelemetry-proto`'s rules.
#[derive(Default)]
pub(super) struct U64Text(pub u64);

impl<'de> Deserialize<'de> for U64Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct U64Visitor;
        impl Visitor<'_> for U64Visitor {
            type Value = u64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a u64 or its decimal text")
            }
            fn visit_u64<E: Error>(self, value: u64) -> Result<u64, E> {
                Ok(value)
            }
            fn visit_i64<E: Error>(self, value: i64) -> Result<u64, E> {
                u64::try_from(value).map_err(E::custom)
            }
            fn visit_str<E: Error>(self, text: &str) -> Result<u64, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(U64Visitor).map(U64Text)
    }
}

/// An `intValue`: a number in `i64` range or its decimal text.
struct IntText(i64);

impl<'de> Deserialize<'de> for IntText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntVisitor;
        impl Visitor<'_> for IntVisitor {
            type Value = i64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an i64 or its decimal text")
            }
            fn visit_u64<E: Error>(self, value: u64) -> Result<i64, E> {
                i64::try_from(value).map_err(E::custom)
            }
            fn visit_i64<E: Error>(self, value: i64) -> Result<i64, E> {
                Ok(value)
            }
            fn visit_str<E: Error>(self, text: &str) -> Result<i64, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(IntVisitor).map(IntText)
    }
}
