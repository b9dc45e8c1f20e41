//! Property tests: valid events round-trip through JSON and CeBatch, and no
//! input, however broken, makes a decoder panic.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use causeway_model::limits::{MAX_OPERATION_LEN, MIN_TIMESTAMP_UNIX_NS};
use causeway_model::{
    CausalEvent, CeId, Kind, TraceId, decode_ce_batch, decode_otlp_json, decode_otlp_protobuf, decode_sdk_batch,
    encode_ce_batch,
};
use proptest::prelude::*;

const NOW: u64 = 1_790_000_000_000_000_000;
const SDK_FIXTURE: &[u8] = include_bytes!("../fixtures/sdk_v1_checkout_full.json");
const OTLP_FIXTURE: &[u8] = include_bytes!("../fixtures/otlp_checkout.pb");

fn non_zero_id() -> impl Strategy<Value = [u8; 16]> {
    any::<[u8; 16]>().prop_filter("the zero id is invalid", |bytes| *bytes != [0; 16])
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-zA-Z0-9 /{{}}:._-]{{1,{max}}}"))
        .expect("regex")
        .prop_filter("not blank", |text| !text.trim().is_empty())
}

fn valid_event() -> impl Strategy<Value = CausalEvent> {
    (
        (
            non_zero_id(),
            non_zero_id(),
            proptest::option::of(non_zero_id()),
            text(64),
        ),
        (
            proptest::sample::select(Kind::ALL.to_vec()),
            0u16..=999,
            MIN_TIMESTAMP_UNIX_NS..NOW,
            0u64..1_000_000_000_000,
        ),
        (
            proptest::option::of(text(MAX_OPERATION_LEN.min(80))),
            proptest::option::of(text(40)),
            proptest::option::of(text(20)),
        ),
    )
        .prop_map(
            |((trace, ce, parent, service), (kind, status, start, duration), (operation, peer, environment))| {
                CausalEvent {
                    tenant_id: "tenant".into(),
                    trace_id: TraceId(trace),
                    ce_id: CeId(ce),
                    parent_ce_id: parent.map(CeId),
                    service,
                    kind,
                    status,
                    start_unix_ns: start,
                    duration_ns: duration,
                    operation,
                    peer,
                    environment,
                }
            },
        )
}

proptest! {
    #[test]
    fn valid_events_round_trip_through_json(events in proptest::collection::vec(valid_event(), 0..8)) {
        let json = serde_json::to_vec(&events).unwrap();
        let back: Vec<CausalEvent> = serde_json::from_slice(&json).unwrap();
        prop_assert_eq!(back, events);
    }

    #[test]
    fn valid_events_round_trip_through_ce_batch(events in proptest::collection::vec(valid_event(), 0..8)) {
        let bytes = encode_ce_batch(&events);
        prop_assert_eq!(decode_ce_batch(&bytes, None, NOW).unwrap(), events);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_sdk_batch(&bytes, "t", NOW);
        let _ = decode_otlp_protobuf(&bytes, "t", NOW);
        let _ = decode_otlp_json(&bytes, "t", NOW);
        let _ = decode_ce_batch(&bytes, Some("t"), NOW);
        let _ = decode_ce_batch(&bytes, None, u64::MAX);
    }

    #[test]
    fn mutated_sdk_fixture_never_panics(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16)) {
        let mut body = SDK_FIXTURE.to_vec();
        for (index, byte) in edits {
            let at = index.index(body.len());
            body[at] = byte;
        }
        let _ = decode_sdk_batch(&body, "t", NOW);
        let _ = decode_sdk_batch(&body, "t", u64::MAX);
    }

    #[test]
    fn mutated_sdk_fixture_values_never_panic(
        position in any::<prop::sample::Index>(),
        replacement in prop::sample::select(vec![
            "null", "-1", "1e400", "18446744073709551616", "\"\"", "[]", "{}", "true", "0", "\"\\u0000\"",
        ]),
    ) {
        // Replace one JSON number/string value with a value of another shape.
        let text = std::str::from_utf8(SDK_FIXTURE).unwrap();
        let colons: Vec<usize> = text.match_indices(": ").map(|(at, _)| at + 2).collect();
        let start = colons[position.index(colons.len())];
        let end = text[start..].find([',', '}']).map_or(text.len(), |offset| start + offset);
        let mutated = format!("{}{}{}", &text[..start], replacement, &text[end..]);
        let _ = decode_sdk_batch(mutated.as_bytes(), "t", NOW);
    }

    #[test]
    fn mutated_otlp_fixture_never_panics(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16)) {
        let mut body = OTLP_FIXTURE.to_vec();
        for (index, byte) in edits {
            let at = index.index(body.len());
            body[at] = byte;
        }
        let _ = decode_otlp_protobuf(&body, "t", NOW);
    }
}
