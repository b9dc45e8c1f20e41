//! Reading the protobuf wire format in place, for the decoders that borrow
//! from the bytes rather than build prost's owned messages.

use prost::encoding::{DecodeContext, WireType, decode_key, decode_varint, skip_field};

/// The protobuf wire format, read forward with prost's own readers (keys,
/// varints, skipping), so the two agree by construction.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// The next field's number and wire type; `None` at the end.
    #[inline]
    pub(crate) fn next_key(&mut self) -> Result<Option<(u32, WireType)>, String> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        decode_key(&mut self.rest).map(Some).map_err(|err| err.to_string())
    }

    #[inline]
    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], String> {
        let (taken, rest) = self
            .rest
            .split_at_checked(len)
            .ok_or_else(|| "buffer underflow".to_owned())?;
        self.rest = rest;
        Ok(taken)
    }

    #[inline]
    pub(crate) fn varint(&mut self) -> Result<u64, String> {
        decode_varint(&mut self.rest).map_err(|err| err.to_string())
    }

    #[inline]
    pub(crate) fn fixed64(&mut self) -> Result<u64, String> {
        let bytes = self.take(8)?;
        Ok(u64::from_le_bytes(
            bytes.try_into().map_err(|_| "buffer underflow".to_owned())?,
        ))
    }

    #[inline]
    pub(crate) fn fixed32(&mut self) -> Result<u32, String> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes(
            bytes.try_into().map_err(|_| "buffer underflow".to_owned())?,
        ))
    }

    #[inline]
    pub(crate) fn delimited(&mut self) -> Result<&'a [u8], String> {
        let len = self.varint()?;
        self.take(usize::try_from(len).map_err(|_| "buffer underflow".to_owned())?)
    }

    #[inline]
    pub(crate) fn text(&mut self) -> Result<&'a str, String> {
        std::str::from_utf8(self.delimited()?).map_err(|_| "invalid string value: data is not UTF-8 encoded".to_owned())
    }

    /// Skips an unknown field as prost does, except a group, which causeway
    /// never writes: refused here (prost would skip it).
    #[inline]
    pub(crate) fn skip(&mut self, field: u32, wire: WireType) -> Result<(), String> {
        if matches!(wire, WireType::StartGroup | WireType::EndGroup) {
            return Err(format!("unsupported wire type {wire:?} (group)"));
        }
        skip_field(wire, field, &mut self.rest, DecodeContext::default()).map_err(|err| err.to_string())
    }
}
