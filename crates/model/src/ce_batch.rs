//! causeway's own protobuf batch (`causeway.v1.CeBatch`): the gRPC Ingest
//! payload and the value of every record on the `causeway.ce` topic.

use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

use crate::error::DecodeError;
use crate::event::CausalEvent;
use crate::event_ref::EventRef;
use crate::limits::{MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH};
use crate::proto::v1;
use crate::validate::validate_batch;

/// Encodes events as one `CeBatch`, lossless (`decode_ce_batch` inverts it).
/// Written straight from the events, byte for byte what prost writes for
/// the `v1::CeBatch` of them (tested below), without first copying every
/// string and id into generated messages: the gateway encodes every event.
pub fn encode_ce_batch(events: &[CausalEvent]) -> Vec<u8> {
    let events = events.iter().map(CausalEvent::as_event_ref);
    let mut buf = Vec::with_capacity(events.clone().map(|event| ce_batch_event_len(&event)).sum());
    for event in events {
        append_ce_batch_event(&event, &mut buf);
    }
    buf
}

/// Bytes one event adds to an encoded `CeBatch` (its field tag, length and
/// message): what a caller splitting events across batches by size counts.
pub fn ce_batch_event_len(event: &EventRef<'_>) -> usize {
    delimited_len(EVENTS, event_len(event))
}

/// Appends one event to an encoded `CeBatch` (its field tag, length and
/// message): batches are built event by event this way, and
/// [`ce_batch_event_len`] bytes are added.
pub fn append_ce_batch_event(event: &EventRef<'_>, buf: &mut Vec<u8>) {
    let len = event_len(event);
    encode_key(EVENTS, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
    encode_event(event, buf);
}

/// Appends one event as a `causeway.v1.CausalEvent` message (not length
/// delimited), byte for byte what prost writes for it.
pub fn encode_causal_event(event: &CausalEvent, buf: &mut Vec<u8>) {
    let event = event.as_event_ref();
    buf.reserve(event_len(&event));
    encode_event(&event, buf);
}

// Field numbers of `causeway.v1.CeBatch` and `causeway.v1.CausalEvent`.
const EVENTS: u32 = 1;
const TENANT_ID: u32 = 1;
const TRACE_ID: u32 = 2;
const CE_ID: u32 = 3;
const PARENT_CE_ID: u32 = 4;
const SERVICE: u32 = 5;
const KIND: u32 = 6;
const STATUS: u32 = 7;
const START_UNIX_NS: u32 = 8;
const DURATION_NS: u32 = 9;
const OPERATION: u32 = 10;
const PEER: u32 = 11;
const ENVIRONMENT: u32 = 12;

fn delimited_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// Proto3 leaves empty strings and zero numbers out; so does this.
fn text_len(tag: u32, text: &str) -> usize {
    if text.is_empty() {
        0
    } else {
        delimited_len(tag, text.len())
    }
}

fn varint_len(tag: u32, value: u64) -> usize {
    if value == 0 {
        0
    } else {
        key_len(tag) + encoded_len_varint(value)
    }
}

fn event_len(event: &EventRef<'_>) -> usize {
    text_len(TENANT_ID, event.tenant_id)
        + delimited_len(TRACE_ID, 16)
        + delimited_len(CE_ID, 16)
        + event.parent_ce_id.map_or(0, |_| delimited_len(PARENT_CE_ID, 16))
        + text_len(SERVICE, event.service)
        + varint_len(KIND, kind_varint(event))
        + varint_len(STATUS, event.status.into())
        + if event.start_unix_ns == 0 {
            0
        } else {
            key_len(START_UNIX_NS) + 8
        }
        + varint_len(DURATION_NS, event.duration_ns)
        + text_len(OPERATION, event.operation.unwrap_or_default())
        + text_len(PEER, event.peer.unwrap_or_default())
        + text_len(ENVIRONMENT, event.environment.unwrap_or_default())
}

/// An enum is an int32: sign-extended to 64 bits on the wire.
fn kind_varint(event: &EventRef<'_>) -> u64 {
    i64::from(event.kind.to_proto()) as u64
}

fn put_bytes(tag: u32, bytes: &[u8], buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(bytes.len() as u64, buf);
    buf.extend_from_slice(bytes);
}

fn put_text(tag: u32, text: &str, buf: &mut Vec<u8>) {
    if !text.is_empty() {
        put_bytes(tag, text.as_bytes(), buf);
    }
}

fn put_varint(tag: u32, value: u64, buf: &mut Vec<u8>) {
    if value != 0 {
        encode_key(tag, WireType::Varint, buf);
        encode_varint(value, buf);
    }
}

fn encode_event(event: &EventRef<'_>, buf: &mut Vec<u8>) {
    put_text(TENANT_ID, event.tenant_id, buf);
    put_bytes(TRACE_ID, &event.trace_id.0, buf);
    put_bytes(CE_ID, &event.ce_id.0, buf);
    if let Some(parent) = &event.parent_ce_id {
        put_bytes(PARENT_CE_ID, &parent.0, buf);
    }
    put_text(SERVICE, event.service, buf);
    put_varint(KIND, kind_varint(event), buf);
    put_varint(STATUS, event.status.into(), buf);
    if event.start_unix_ns != 0 {
        encode_key(START_UNIX_NS, WireType::SixtyFourBit, buf);
        buf.extend_from_slice(&event.start_unix_ns.to_le_bytes());
    }
    put_varint(DURATION_NS, event.duration_ns, buf);
    put_text(OPERATION, event.operation.unwrap_or_default(), buf);
    put_text(PEER, event.peer.unwrap_or_default(), buf);
    put_text(ENVIRONMENT, event.environment.unwrap_or_default(), buf);
}

/// Decodes and validates a `CeBatch`. `tenant_id: Some(t)` overrides every
/// event's tenant (ingest: the tenant comes from the credential); `None`
/// keeps the tenant in the record (bus consumers). All or nothing.
pub fn decode_ce_batch(
    bytes: &[u8],
    tenant_id: Option<&str>,
    now_unix_ns: u64,
) -> Result<Vec<CausalEvent>, DecodeError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(
            crate::error::FieldError::over_limit("body", bytes.len() as u64, MAX_BODY_BYTES as u64, "bytes").into(),
        );
    }
    let batch = v1::CeBatch::decode(bytes).map_err(|err| DecodeError::malformed("causeway protobuf", err))?;
    events_from_ce_batch(batch, tenant_id, now_unix_ns)
}

/// Converts and validates an already-decoded batch (the gRPC Ingest path).
/// Errors are named `events[i].field`.
pub fn events_from_ce_batch(
    batch: v1::CeBatch,
    tenant_id: Option<&str>,
    now_unix_ns: u64,
) -> Result<Vec<CausalEvent>, DecodeError> {
    if batch.events.len() > MAX_EVENTS_PER_BATCH {
        return Err(DecodeError::TooManyEvents {
            actual: batch.events.len(),
            limit: MAX_EVENTS_PER_BATCH,
        });
    }
    let events = batch
        .events
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let mut event = CausalEvent::try_from(raw).map_err(|err| err.within(&format!("events[{index}]")))?;
            if let Some(tenant) = tenant_id {
                tenant.clone_into(&mut event.tenant_id);
            }
            Ok(event)
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    validate_batch(&events, now_unix_ns)?;
    Ok(events)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ids::{CeId, TraceId};
    use crate::kind::Kind;

    /// Events covering every field's edge: absent, empty and long text,
    /// zero and extreme numbers, every kind. Other encoders' tests use it.
    pub(crate) fn event(n: u8) -> CausalEvent {
        CausalEvent {
            tenant_id: "acme".into(),
            trace_id: TraceId([n; 16]),
            ce_id: CeId([n + 1; 16]),
            parent_ce_id: n.is_multiple_of(2).then_some(CeId([9; 16])),
            service: "orders".into(),
            kind: Kind::ALL[usize::from(n) % Kind::ALL.len()],
            status: [0, 200, 503][usize::from(n) % 3],
            start_unix_ns: [0, 1, u64::MAX][usize::from(n) % 3],
            duration_ns: [0, 127, 128, u64::MAX][usize::from(n) % 4],
            operation: [None, Some(String::new()), Some("GET /o/{id}".into())][usize::from(n) % 3].clone(),
            peer: n.is_multiple_of(3).then(|| "p".repeat(200)),
            environment: (n % 4 == 1).then(|| "prod".into()),
        }
    }

    #[test]
    fn encodes_what_prost_encodes() {
        let events: Vec<CausalEvent> = (1..40).map(event).collect();
        let mut blank = event(1);
        blank.tenant_id.clear();
        blank.service.clear();
        for batch in [&events[..], &[], &[blank]] {
            let prost = v1::CeBatch {
                events: batch.iter().map(v1::CausalEvent::from).collect(),
            }
            .encode_to_vec();
            assert_eq!(encode_ce_batch(batch), prost);
        }
    }
}
