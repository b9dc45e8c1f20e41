//! Reading an encoded `causeway.v1.CeBatch` in place: each event's fields
//! borrowed from the bytes, and each event's message kept as it came. A
//! consumer that stores events encoded (the embedded window) then neither
//! copies their text nor encodes them again. [`read_ce_batch`] accepts what
//! `decode_ce_batch` accepts and nothing more (it refuses the deprecated
//! group wire types, which causeway never writes); tested against it below.

use prost::encoding::WireType;

use crate::ce_batch::decode_ce_batch;
use crate::error::{DecodeError, FieldError};
use crate::event_ref::EventRef;
use crate::limits::{MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH};
use crate::proto::CheckedFields;
use crate::proto_reader::Reader;
use crate::validate::validate_event_refs;

const FORMAT: &str = "causeway protobuf";

/// One event of an encoded batch: its fields, and its
/// `causeway.v1.CausalEvent` message's bytes as they came. Made only by
/// reading those bytes, so the two always agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedEvent<'a> {
    event: EventRef<'a>,
    message: &'a [u8],
}

impl<'a> EncodedEvent<'a> {
    /// For [`crate::EncodedEvents`], which keeps what was read.
    pub(crate) fn new(event: EventRef<'a>, message: &'a [u8]) -> Self {
        Self { event, message }
    }

    pub fn event(&self) -> &EventRef<'a> {
        &self.event
    }

    /// The event's `causeway.v1.CausalEvent` message, as read.
    pub fn message(&self) -> &'a [u8] {
        self.message
    }
}

/// Reads and validates a `CeBatch` as `decode_ce_batch(bytes, None,
/// now_unix_ns)` does, keeping each event's tenant. All or nothing; errors
/// are named `events[i].field` as there.
pub fn read_ce_batch(bytes: &[u8], now_unix_ns: u64) -> Result<Vec<EncodedEvent<'_>>, DecodeError> {
    let mut reader = CeBatchReader::default();
    reader.read(bytes, now_unix_ns)?;
    Ok(reader.events)
}

/// [`read_ce_batch`] for many batches in a row, its lists kept from one
/// batch to the next: a consumer reads a batch per record, most of them a
/// few events, and would otherwise allocate two lists for each.
#[derive(Debug, Default)]
pub struct CeBatchReader<'a> {
    messages: Vec<&'a [u8]>,
    events: Vec<EncodedEvent<'a>>,
}

impl<'a> CeBatchReader<'a> {
    /// Reads one batch (see [`read_ce_batch`]); its events are valid until
    /// the next read.
    pub fn read(&mut self, bytes: &'a [u8], now_unix_ns: u64) -> Result<&[EncodedEvent<'a>], DecodeError> {
        self.messages.clear();
        self.events.clear();
        if bytes.len() > MAX_BODY_BYTES {
            return Err(FieldError::over_limit("body", bytes.len() as u64, MAX_BODY_BYTES as u64, "bytes").into());
        }
        let mut reader = Reader::new(bytes);
        while let Some((field, wire)) = reader.next_key().map_err(malformed)? {
            match (field, wire) {
                (EVENTS, LEN) => self.messages.push(reader.delimited().map_err(malformed)?),
                (EVENTS, _) => return Err(malformed(wrong_wire(field, wire))),
                _ => reader.skip(field, wire).map_err(malformed)?,
            }
        }
        // In one pass, yet answering as prost does, which decodes the whole
        // batch before converting any event: a malformed event anywhere wins,
        // then the count, then the first event that does not convert.
        let mut first_unconvertible = None;
        for (index, &message) in self.messages.iter().enumerate() {
            let raw = RawEvent::read(message).map_err(malformed)?;
            if first_unconvertible.is_some() {
                continue;
            }
            match raw.check() {
                Ok(event) => self.events.push(EncodedEvent { event, message }),
                Err(err) => first_unconvertible = Some(err.within(&format!("events[{index}]"))),
            }
        }
        if self.messages.len() > MAX_EVENTS_PER_BATCH {
            return Err(DecodeError::TooManyEvents {
                actual: self.messages.len(),
                limit: MAX_EVENTS_PER_BATCH,
            });
        }
        if let Some(err) = first_unconvertible {
            return Err(err.into());
        }
        validate_event_refs(self.events.iter().map(|encoded| encoded.event), now_unix_ns)?;
        Ok(&self.events)
    }
}

/// Reads one `causeway.v1.CausalEvent` message: its structure, ids, kind
/// and status, as `CausalEvent::try_from` checks them; not the limits,
/// which whoever wrote it checked (the window reading what it stored).
pub fn read_causal_event(message: &[u8]) -> Result<EncodedEvent<'_>, DecodeError> {
    let raw = RawEvent::read(message).map_err(malformed)?;
    Ok(EncodedEvent {
        event: raw.check()?,
        message,
    })
}

/// Checks that [`read_ce_batch`] and `decode_ce_batch` agree on `bytes`:
/// both refuse it, or both read the same events. For tests and fuzzing;
/// returns what differs.
pub fn compare_with_decode(bytes: &[u8]) -> Result<(), String> {
    let read = read_ce_batch(bytes, u64::MAX);
    let decoded = decode_ce_batch(bytes, None, u64::MAX);
    match (read, decoded) {
        (Ok(read), Ok(decoded)) => {
            let read: Vec<_> = read.iter().map(|encoded| encoded.event.to_owned_event()).collect();
            if read == decoded {
                Ok(())
            } else {
                Err(format!("read {read:?}, decoded {decoded:?}"))
            }
        }
        (Err(_), Err(_)) => Ok(()),
        // Groups are the one thing refused here that prost skips.
        (Err(err), Ok(_)) if err.to_string().contains("group") => Ok(()),
        (read, decoded) => Err(format!("read {read:?}, decoded {decoded:?}")),
    }
}

fn malformed(detail: String) -> DecodeError {
    DecodeError::malformed(FORMAT, detail)
}

fn wrong_wire(field: u32, wire: WireType) -> String {
    format!("field {field} has the wrong wire type {wire:?}")
}

// The field number of `causeway.v1.CeBatch.events`, and the wire types
// `causeway.v1.CausalEvent`'s fields use.
const EVENTS: u32 = 1;
const VARINT: WireType = WireType::Varint;
const FIXED64: WireType = WireType::SixtyFourBit;
const LEN: WireType = WireType::LengthDelimited;

/// An event's fields as they are on the wire; proto3 defaults when absent,
/// the last occurrence when repeated (as prost merges).
#[derive(Default)]
struct RawEvent<'a> {
    tenant_id: &'a str,
    trace_id: &'a [u8],
    ce_id: &'a [u8],
    parent_ce_id: &'a [u8],
    service: &'a str,
    kind: i32,
    status: u32,
    start_unix_ns: u64,
    duration_ns: u64,
    operation: &'a str,
    peer: &'a str,
    environment: &'a str,
}

impl<'a> RawEvent<'a> {
    #[inline]
    fn read(message: &'a [u8]) -> Result<Self, String> {
        let mut raw = RawEvent::default();
        let mut reader = Reader::new(message);
        while let Some((field, wire)) = reader.next_key()? {
            match (field, wire) {
                (1, LEN) => raw.tenant_id = reader.text()?,
                (2, LEN) => raw.trace_id = reader.delimited()?,
                (3, LEN) => raw.ce_id = reader.delimited()?,
                (4, LEN) => raw.parent_ce_id = reader.delimited()?,
                (5, LEN) => raw.service = reader.text()?,
                // An enum and a uint32 keep the low 32 bits of the varint.
                (6, VARINT) => raw.kind = reader.varint()? as i32,
                (7, VARINT) => raw.status = reader.varint()? as u32,
                (8, FIXED64) => raw.start_unix_ns = reader.fixed64()?,
                (9, VARINT) => raw.duration_ns = reader.varint()?,
                (10, LEN) => raw.operation = reader.text()?,
                (11, LEN) => raw.peer = reader.text()?,
                (12, LEN) => raw.environment = reader.text()?,
                (1..=12, _) => return Err(wrong_wire(field, wire)),
                _ => reader.skip(field, wire)?,
            }
        }
        Ok(raw)
    }

    #[inline]
    fn check(self) -> Result<EventRef<'a>, FieldError> {
        let checked = CheckedFields::check(self.trace_id, self.ce_id, self.parent_ce_id, self.kind, self.status)?;
        let present = |text: &'a str| (!text.is_empty()).then_some(text);
        Ok(EventRef {
            tenant_id: self.tenant_id,
            trace_id: checked.trace_id,
            ce_id: checked.ce_id,
            parent_ce_id: checked.parent_ce_id,
            service: self.service,
            kind: checked.kind,
            status: checked.status,
            start_unix_ns: self.start_unix_ns,
            duration_ns: self.duration_ns,
            operation: present(self.operation),
            peer: present(self.peer),
            environment: present(self.environment),
        })
    }
}

#[cfg(test)]
#[path = "ce_batch_view_tests.rs"]
mod tests;
