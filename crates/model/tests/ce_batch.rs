//! causeway.v1.CeBatch encode/decode: tenant handling, validation, errors.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use causeway_model::limits::{MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH};
use causeway_model::proto::v1;
use causeway_model::{
    CausalEvent, CeId, DecodeError, Kind, TraceId, decode_ce_batch, encode_ce_batch, events_from_ce_batch,
};

const NOW: u64 = 1_790_000_000_000_000_000;

fn event(tenant: &str) -> CausalEvent {
    CausalEvent {
        tenant_id: tenant.into(),
        trace_id: TraceId([1; 16]),
        ce_id: CeId([2; 16]),
        parent_ce_id: Some(CeId([3; 16])),
        service: "orders".into(),
        kind: Kind::QueueConsume,
        status: 0,
        start_unix_ns: NOW - 1_000,
        duration_ns: 10,
        operation: Some("consume orders".into()),
        peer: None,
        environment: Some("prod".into()),
    }
}

#[test]
fn round_trips_and_handles_tenant() {
    let events = vec![
        event("from-record"),
        CausalEvent {
            ce_id: CeId([4; 16]),
            parent_ce_id: None,
            ..event("from-record")
        },
    ];
    let bytes = encode_ce_batch(&events);
    assert_eq!(
        decode_ce_batch(&bytes, None, NOW).unwrap(),
        events,
        "None keeps the record's tenant"
    );
    let overridden = decode_ce_batch(&bytes, Some("from-credential"), NOW).unwrap();
    assert!(overridden.iter().all(|event| event.tenant_id == "from-credential"));
    assert!(encode_ce_batch(&[]).is_empty() && decode_ce_batch(&[], None, NOW).unwrap().is_empty());
}

#[test]
fn errors_name_the_event() {
    let mut raw: Vec<v1::CausalEvent> = vec![(&event("t")).into(), (&event("t")).into()];
    raw[1].kind = 0;
    let err = events_from_ce_batch(v1::CeBatch { events: raw.clone() }, None, NOW).unwrap_err();
    assert_eq!(err.field(), Some("events[1].kind"));
    raw[1].kind = 1;
    raw[1].ce_id = vec![1, 2];
    assert_eq!(
        events_from_ce_batch(v1::CeBatch { events: raw.clone() }, None, NOW)
            .unwrap_err()
            .field(),
        Some("events[1].ce_id")
    );
    raw[1].ce_id = vec![5; 16];
    raw[1].service = String::new();
    assert_eq!(
        events_from_ce_batch(v1::CeBatch { events: raw.clone() }, None, NOW)
            .unwrap_err()
            .field(),
        Some("events[1].service_id")
    );
    raw[1].service = "s".into();
    raw[1].start_unix_ns = NOW + 3_600_000_000_000;
    assert_eq!(
        events_from_ce_batch(v1::CeBatch { events: raw.clone() }, None, NOW)
            .unwrap_err()
            .field(),
        Some("events[1].timestamp")
    );
    assert!(
        events_from_ce_batch(v1::CeBatch { events: raw }, None, u64::MAX).is_ok(),
        "u64::MAX disables skew"
    );
}

#[test]
fn limits_and_malformed() {
    assert!(matches!(
        decode_ce_batch(&[0x0a, 0xff], None, NOW),
        Err(DecodeError::Malformed { .. })
    ));
    let huge = vec![0u8; MAX_BODY_BYTES + 1];
    assert_eq!(
        decode_ce_batch(&huge, None, NOW).unwrap_err().limit(),
        Some(MAX_BODY_BYTES as u64)
    );
    let many = v1::CeBatch {
        events: vec![(&event("t")).into(); MAX_EVENTS_PER_BATCH + 1],
    };
    assert!(matches!(
        events_from_ce_batch(many, None, NOW),
        Err(DecodeError::TooManyEvents { .. })
    ));
    let long_tenant = "t".repeat(65);
    let err = decode_ce_batch(&encode_ce_batch(&[event(&long_tenant)]), None, NOW).unwrap_err();
    assert_eq!(err.field(), Some("events[0].tenant_id"));
}
