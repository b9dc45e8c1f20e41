//! The in-place reading against prost's decode: the same events from what
//! causeway writes, and the same answer (events or refusal) on thousands of
//! byte-level variants of it.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use proptest::prelude::*;
use prost::encoding::{WireType, encode_key, encode_varint};

use super::*;
use crate::ce_batch::{encode_causal_event, encode_ce_batch};
use crate::ids::{CeId, TraceId};
use crate::kind::Kind;
use crate::{CausalEvent, limits};

fn event(n: u8) -> CausalEvent {
    CausalEvent {
        tenant_id: if n == 3 { String::new() } else { "acme".into() },
        trace_id: TraceId([n + 1; 16]),
        ce_id: CeId([n + 2; 16]),
        parent_ce_id: n.is_multiple_of(2).then_some(CeId([9; 16])),
        service: format!("service-{n}"),
        kind: Kind::ALL[usize::from(n) % Kind::ALL.len()],
        status: [0, 200, 404, 503][usize::from(n) % 4],
        start_unix_ns: 1_795_219_200_000_000_000 + u64::from(n),
        duration_ns: u64::from(n) * 1_000,
        operation: (!n.is_multiple_of(3)).then(|| "GET /orders/{id}".into()),
        peer: (n % 2 == 1).then(|| "payments.internal".into()),
        environment: n.is_multiple_of(4).then(|| "production".into()),
    }
}

fn events() -> Vec<CausalEvent> {
    (0..8).map(event).collect()
}

#[test]
fn reads_what_causeway_writes_with_each_message_as_encoded() {
    let events = events();
    let bytes = encode_ce_batch(&events);
    let read = read_ce_batch(&bytes, u64::MAX).unwrap();
    assert_eq!(read.len(), events.len());
    for (encoded, event) in read.iter().zip(&events) {
        assert_eq!(encoded.event().to_owned_event(), *event);
        assert_eq!(*encoded.event(), event.as_event_ref());
        let mut message = Vec::new();
        encode_causal_event(event, &mut message);
        assert_eq!(encoded.message(), message.as_slice());
        assert_eq!(read_causal_event(encoded.message()).unwrap(), *encoded);
    }
    assert_eq!(compare_with_decode(&bytes), Ok(()));
}

/// A batch of one event whose message is `fields`, encoded by hand.
fn batch_of(fields: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    encode_key(1, WireType::LengthDelimited, &mut bytes);
    encode_varint(fields.len() as u64, &mut bytes);
    bytes.extend_from_slice(fields);
    bytes
}

fn message(event: &CausalEvent) -> Vec<u8> {
    let mut message = Vec::new();
    encode_causal_event(event, &mut message);
    message
}

#[test]
fn refuses_what_decode_refuses_naming_the_same_field() {
    let good = message(&event(1));
    let mut zero_trace = event(1);
    zero_trace.trace_id = TraceId([0; 16]);
    let mut no_service = event(1);
    no_service.service = " ".into();
    let mut bad_status = good.clone();
    // status (field 7) 1000, past MAX_STATUS, appended: the last one wins.
    encode_key(7, WireType::Varint, &mut bad_status);
    encode_varint(1_000, &mut bad_status);
    let mut bad_kind = good.clone();
    encode_key(6, WireType::Varint, &mut bad_kind);
    encode_varint(42, &mut bad_kind);
    let mut bad_utf8 = good.clone();
    encode_key(5, WireType::LengthDelimited, &mut bad_utf8);
    encode_varint(2, &mut bad_utf8);
    bad_utf8.extend_from_slice(&[0xc3, 0x28]);
    let mut wrong_wire = good.clone();
    encode_key(9, WireType::LengthDelimited, &mut wrong_wire);
    encode_varint(0, &mut wrong_wire);
    let cases: Vec<(&str, Vec<u8>, Option<&str>)> = vec![
        (
            "zero trace id",
            batch_of(&message(&zero_trace)),
            Some("events[0].trace_id"),
        ),
        (
            "blank service",
            batch_of(&message(&no_service)),
            Some("events[0].service_id"),
        ),
        ("status over the limit", batch_of(&bad_status), Some("events[0].status")),
        ("unknown kind", batch_of(&bad_kind), Some("events[0].kind")),
        ("service not utf-8", batch_of(&bad_utf8), None),
        ("duration as bytes", batch_of(&wrong_wire), None),
        ("cut short", batch_of(&good)[..good.len() - 3].to_vec(), None),
        ("events as a varint", vec![0x08, 0x01], None),
        ("field zero", vec![0x00, 0x01], None),
        ("wire type 7", vec![0x0f], None),
        (
            "an endless varint",
            vec![0x08; 1].into_iter().chain([0xff; 11]).collect(),
            None,
        ),
    ];
    for (name, bytes, field) in cases {
        let read = read_ce_batch(&bytes, u64::MAX).expect_err(name);
        let decoded = decode_ce_batch(&bytes, None, u64::MAX).expect_err(name);
        assert_eq!(read.field(), field, "{name}: {read}");
        assert_eq!(decoded.field(), field, "{name}: {decoded}");
        assert_eq!(read.limit(), decoded.limit(), "{name}");
    }
}

#[test]
fn refuses_too_many_events_and_future_ends_like_decode() {
    let many: Vec<CausalEvent> = (0..=limits::MAX_EVENTS_PER_BATCH)
        .map(|n| event((n % 8) as u8))
        .collect();
    let bytes = encode_ce_batch(&many);
    let read = read_ce_batch(&bytes, u64::MAX).expect_err("too many");
    assert_eq!(read, decode_ce_batch(&bytes, None, u64::MAX).expect_err("too many"));
    let one = encode_ce_batch(&[event(1)]);
    let before_start = event(1).start_unix_ns - limits::MAX_FUTURE_SKEW_NS - 1;
    let read = read_ce_batch(&one, before_start).expect_err("future");
    assert_eq!(read, decode_ce_batch(&one, None, before_start).expect_err("future"));
    assert_eq!(read.field(), Some("events[0].timestamp"));
}

#[test]
fn unknown_fields_are_skipped_and_repeated_ones_take_the_last() {
    let mut fields = message(&event(2));
    // An unknown varint, fixed32, fixed64 and bytes field, then a second
    // service: prost keeps the last.
    for (tag, wire, value) in [
        (20, WireType::Varint, &[0x96, 0x01][..]),
        (21, WireType::ThirtyTwoBit, &[1, 2, 3, 4][..]),
        (22, WireType::SixtyFourBit, &[1, 2, 3, 4, 5, 6, 7, 8][..]),
    ] {
        encode_key(tag, wire, &mut fields);
        fields.extend_from_slice(value);
    }
    encode_key(23, WireType::LengthDelimited, &mut fields);
    encode_varint(3, &mut fields);
    fields.extend_from_slice(b"abc");
    encode_key(5, WireType::LengthDelimited, &mut fields);
    encode_varint(7, &mut fields);
    fields.extend_from_slice(b"billing");
    let mut bytes = batch_of(&fields);
    // And an unknown field in the batch itself.
    encode_key(9, WireType::Varint, &mut bytes);
    encode_varint(5, &mut bytes);
    let read = read_ce_batch(&bytes, u64::MAX).unwrap();
    assert_eq!(read[0].event().service, "billing");
    assert_eq!(read[0].message(), fields.as_slice());
    assert_eq!(compare_with_decode(&bytes), Ok(()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    /// Bytes flipped, cut, inserted or overwritten anywhere in a real batch:
    /// both readers give the same answer.
    #[test]
    fn agrees_with_decode_on_damaged_batches(
        edits in prop::collection::vec((any::<u16>(), any::<u8>(), 0u8..4), 1..6),
    ) {
        let mut bytes = encode_ce_batch(&events());
        for (at, byte, how) in edits {
            let at = usize::from(at) % (bytes.len() + 1);
            match how {
                0 if at < bytes.len() => bytes[at] ^= byte | 1,
                1 => bytes.truncate(at),
                2 => bytes.insert(at, byte),
                _ if at < bytes.len() => bytes[at] = byte,
                _ => bytes.push(byte),
            }
        }
        prop_assert_eq!(compare_with_decode(&bytes), Ok(()));
    }

    #[test]
    fn agrees_with_decode_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        prop_assert_eq!(compare_with_decode(&bytes), Ok(()));
    }
}
