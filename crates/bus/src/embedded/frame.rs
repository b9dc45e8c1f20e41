//! The on-disk record frame: `len:u32le crc32:u32le payload`, where the CRC
//! covers the payload. A frame whose length runs past the end of the file or
//! whose CRC does not match is a torn write and ends the readable log.

use bytes::Bytes;

use crate::api::{Headers, Record};

/// Bytes before the payload: length and CRC.
pub const HEADER_LEN: usize = 8;

/// Encodes one record as a frame appended to `out`.
pub fn encode(record: &Record, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0u8; HEADER_LEN]);
    put_bytes32(out, &record.key);
    put_bytes32(out, &record.value);
    // Header counts and names are bounded by u16 on the wire; longer ones
    // are cut rather than failing the publish (names are short constants).
    let headers = &record.headers[..record.headers.len().min(usize::from(u16::MAX))];
    out.extend_from_slice(&(headers.len() as u16).to_le_bytes());
    for (name, value) in headers {
        let name = &name.as_bytes()[..name.len().min(usize::from(u16::MAX))];
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(name);
        put_bytes32(out, value);
    }
    let payload_len = (out.len() - start - HEADER_LEN) as u32;
    let crc = crc32fast::hash(&out[start + HEADER_LEN..]);
    out[start..start + 4].copy_from_slice(&payload_len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn put_bytes32(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// The length of the valid frame at the start of `bytes`, or `None` when it
/// is incomplete or corrupt.
pub fn frame_len(bytes: &[u8]) -> Option<usize> {
    let len = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    let payload = bytes.get(HEADER_LEN..HEADER_LEN.checked_add(len)?)?;
    (crc32fast::hash(payload) == crc).then_some(HEADER_LEN + len)
}

/// Decodes the valid frame at byte `at` of `block` (see [`frame_len`]):
/// its length and its record, the CRC computed once. The key and value
/// are slices of `block`, not copies.
pub fn decode(block: &Bytes, at: usize) -> Option<(usize, Record)> {
    let bytes = block.get(at..)?;
    let len = frame_len(bytes)?;
    let mut cursor = Cursor {
        bytes: &bytes[HEADER_LEN..len],
    };
    let key = block.slice_ref(cursor.bytes32()?);
    let value = block.slice_ref(cursor.bytes32()?);
    let count = cursor.u16()?;
    let mut record = Record {
        key,
        value,
        headers: Headers::with_capacity(usize::from(count)),
    };
    for _ in 0..count {
        let name_len = usize::from(cursor.u16()?);
        let name = cursor.take(name_len)?;
        record.push_read_header(name, cursor.bytes32()?);
    }
    Some((len, record))
}

struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }

    fn bytes32(&mut self) -> Option<&'a [u8]> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        self.take(len)
    }
}

/// FNV-1a 32-bit: a stable key hash, the same across runs and builds, so a
/// key keeps its partition after a restart.
pub fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_record_with_headers() {
        let record = Record::new("k", "value")
            .with_header("h1", b"x".as_slice())
            .with_header("h2", b"".as_slice());
        let mut buf = Vec::new();
        encode(&record, &mut buf);
        assert_eq!(frame_len(&buf), Some(buf.len()));
        let len = buf.len();
        assert_eq!(decode(&Bytes::from(buf), 0), Some((len, record)));
    }

    #[test]
    fn rejects_torn_and_corrupt_frames() {
        let mut buf = Vec::new();
        encode(&Record::new("key", "some value"), &mut buf);
        assert_eq!(frame_len(&buf[..buf.len() - 1]), None);
        assert_eq!(frame_len(&buf[..3]), None);
        let last = buf.len() - 1;
        buf[last] ^= 0xff;
        assert_eq!(frame_len(&buf), None);
    }

    #[test]
    fn fnv1a_is_the_reference_hash() {
        // Reference values of 32-bit FNV-1a.
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
    }
}
