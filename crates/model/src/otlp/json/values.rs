//! Values inside the OTLP/JSON fast pass: `AnyValue` (with the arrays and
//! lists it may nest), hex ids, 64-bit integers written as text.

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, Error, MapAccess, Visitor};

use super::super::attributes::AttrValue;
use crate::ids::decode_hex_into;
use crate::typed_json::{Checked, SeqOf, Str};

/// An `AnyValue` object: the last non-null known member wins, unknown
/// members are skipped, as `opentelemetry-proto` reads it.
pub(super) struct AnyValue<'a>(pub Option<AttrValue<'a>>);

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
