//! 16-byte identifiers. In JSON they are UUID text (the Incidentary wire
//! format); OTLP trace ids are the same 16 bytes, OTLP span ids (8 bytes) are
//! zero-extended on the right (see `CeId::from_span_id`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdParseError {
    #[error("expected a UUID (36 characters with hyphens or 32 hex digits), got {len} characters")]
    BadLength { len: usize },
    #[error("expected a UUID, found a non-hex character")]
    BadHex,
    #[error("expected 16 bytes, got {len}")]
    BadByteLength { len: usize },
    #[error("the all-zero id is not a valid id")]
    Zero,
}

/// Each byte's value as a hex digit, or 0xff.
const HEX_VALUE: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut digit = 0;
    while digit < 10 {
        table[b'0' as usize + digit] = digit as u8;
        digit += 1;
    }
    let mut letter = 0;
    while letter < 6 {
        table[b'a' as usize + letter] = 10 + letter as u8;
        table[b'A' as usize + letter] = 10 + letter as u8;
        letter += 1;
    }
    table
};

/// Hex pairs to bytes in place (upper or lower case): ids are parsed per
/// event on the decode hot path, so no intermediate string is built.
/// `hex_digits` holds exactly two digits per byte of `out`.
pub(crate) fn decode_hex_into(hex_digits: &[u8], out: &mut [u8]) -> Result<(), IdParseError> {
    if hex_digits.len() != 2 * out.len() {
        return Err(IdParseError::BadHex);
    }
    for (byte, pair) in out.iter_mut().zip(hex_digits.chunks_exact(2)) {
        let (high, low) = (HEX_VALUE[usize::from(pair[0])], HEX_VALUE[usize::from(pair[1])]);
        if (high | low) > 0x0f {
            return Err(IdParseError::BadHex);
        }
        *byte = (high << 4) | low;
    }
    Ok(())
}

/// Where the 32 hex digits of a hyphenated UUID (8-4-4-4-12) lie.
const UUID_HEX_AT: [usize; 32] = {
    let mut at = [0; 32];
    let (mut digit, mut pos) = (0, 0);
    while digit < 32 {
        if pos == 8 || pos == 13 || pos == 18 || pos == 23 {
            pos += 1;
        }
        at[digit] = pos;
        digit += 1;
        pos += 1;
    }
    at
};

/// The 16 bytes of a hyphenated UUID's digits (hyphens checked by the
/// caller). Every digit is looked up and the errors gathered in one flag,
/// so the loop has no early exit: SDK ids are parsed two or three times
/// per event, in this form.
fn hyphenated_hex(text: &[u8; 36]) -> Result<[u8; 16], IdParseError> {
    let mut out = [0u8; 16];
    let mut bad = 0;
    for (i, byte) in out.iter_mut().enumerate() {
        let high = HEX_VALUE[usize::from(text[UUID_HEX_AT[2 * i]])];
        let low = HEX_VALUE[usize::from(text[UUID_HEX_AT[2 * i + 1]])];
        bad |= high | low;
        *byte = (high << 4) | (low & 0x0f);
    }
    if bad > 0x0f {
        return Err(IdParseError::BadHex);
    }
    Ok(out)
}

fn parse_uuid_text(text: &str) -> Result<[u8; 16], IdParseError> {
    let bytes = text.as_bytes();
    let out = if let Ok(hyphenated) = <&[u8; 36]>::try_from(bytes) {
        if [8, 13, 18, 23].iter().any(|&pos| hyphenated[pos] != b'-') {
            return Err(IdParseError::BadHex);
        }
        hyphenated_hex(hyphenated)?
    } else if bytes.len() == 32 {
        let mut plain = [0u8; 16];
        decode_hex_into(bytes, &mut plain)?;
        plain
    } else {
        return Err(IdParseError::BadLength { len: bytes.len() });
    };
    if out == [0u8; 16] {
        return Err(IdParseError::Zero);
    }
    Ok(out)
}

fn bytes16(bytes: &[u8]) -> Result<[u8; 16], IdParseError> {
    let out: [u8; 16] = bytes
        .try_into()
        .map_err(|_| IdParseError::BadByteLength { len: bytes.len() })?;
    if out == [0u8; 16] {
        return Err(IdParseError::Zero);
    }
    Ok(out)
}

macro_rules! id_type {
    ($name:ident, $doc:literal) => {
        #[doc = $doc]
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; 16]);

        impl $name {
            /// From 16 raw bytes; the all-zero id is rejected.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdParseError> {
                bytes16(bytes).map(Self)
            }

            pub fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }

            /// Lower-case hyphenated UUID text.
            pub fn to_uuid_string(&self) -> String {
                uuid::Uuid::from_bytes(self.0).hyphenated().to_string()
            }

            /// Lower-case 32-digit hex, as OTLP/JSON writes ids.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdParseError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                parse_uuid_text(text).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_uuid_string())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_uuid_string())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.to_uuid_string())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    TraceId,
    "A trace id: 16 bytes shared by every event of one request chain."
);
id_type!(CeId, "A causal event id: 16 bytes, unique per captured operation.");

impl CeId {
    /// An OTLP span id (8 bytes) zero-extended to 16: the span id is the
    /// first 8 bytes, the last 8 are zero. Lossless and reversible.
    pub fn from_span_id(span_id: &[u8]) -> Result<Self, IdParseError> {
        let eight: [u8; 8] = span_id
            .try_into()
            .map_err(|_| IdParseError::BadByteLength { len: span_id.len() })?;
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&eight);
        bytes16(&out).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hyphenated_and_plain_hex() {
        let a: TraceId = "3f7a0c5e-1b2d-4e6f-8a9b-0c1d2e3f4a5b".parse().expect("hyphenated");
        let b: TraceId = "3f7a0c5e1b2d4e6f8a9b0c1d2e3f4a5b".parse().expect("plain");
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "3f7a0c5e-1b2d-4e6f-8a9b-0c1d2e3f4a5b");
        let upper: TraceId = "3F7A0C5E-1B2D-4E6F-8A9B-0C1D2E3F4A5B".parse().expect("upper");
        assert_eq!(a, upper);
    }

    #[test]
    fn rejects_bad_text() {
        assert_eq!("abc".parse::<CeId>(), Err(IdParseError::BadLength { len: 3 }));
        assert_eq!(
            "3f7a0c5e-1b2d-4e6f-8a9b-0c1d2e3f4a5g".parse::<CeId>(),
            Err(IdParseError::BadHex)
        );
        assert_eq!(
            "3f7a0c5e_1b2d_4e6f_8a9b_0c1d2e3f4a5b".parse::<CeId>(),
            Err(IdParseError::BadHex)
        );
        assert_eq!(
            "00000000-0000-0000-0000-000000000000".parse::<CeId>(),
            Err(IdParseError::Zero)
        );
    }

    /// Every position of both forms, against `uuid`'s parser: a non-hex
    /// character (or a hyphen out of place) anywhere is refused, and every
    /// digit lands in its byte.
    #[test]
    fn every_position_parses_as_uuid_does() {
        let base = "3f7a0c5e-1b2d-4e6f-8a9b-0c1d2e3f4a5b";
        for text in [base.to_owned(), base.replace('-', "")] {
            for at in 0..text.len() {
                for replacement in ['0', '9', 'a', 'F', 'g', '-', ' ', 'é'] {
                    let mut changed = text.clone();
                    changed.replace_range(at..=at, &replacement.to_string());
                    let ours = changed.parse::<TraceId>().ok().map(|id| id.0);
                    let theirs = uuid::Uuid::try_parse(&changed)
                        .ok()
                        .filter(|id| !id.is_nil() && (changed.len() == 32 || changed.len() == 36))
                        .map(|id| *id.as_bytes());
                    assert_eq!(ours, theirs, "{changed:?}");
                }
            }
        }
    }

    #[test]
    fn span_ids_zero_extend() {
        let id = CeId::from_span_id(&[1, 2, 3, 4, 5, 6, 7, 8]).expect("8 bytes");
        assert_eq!(id.0, [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(CeId::from_span_id(&[1, 2, 3]).is_err());
        assert_eq!(CeId::from_span_id(&[0; 8]), Err(IdParseError::Zero));
    }
}
