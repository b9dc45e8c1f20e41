//! A request's events as bus records: one trace per record key
//! (`{tenant}/{trace uuid}`, so a trace stays in one partition, in order),
//! and as many records per trace as it takes to keep each under
//! `gateway.max_record_bytes` — a broker refuses a record above its
//! `message.max.bytes` (~1 MB by default), and a large trace would
//! otherwise fail the whole request.

use std::io::Write;
use std::ops::Range;

use bytes::Bytes;
use causeway_bus::{Record, headers};
use causeway_model::EventRef;
use causeway_model::ce_batch::{append_ce_batch_event, ce_batch_event_len};

/// Bytes the headers add to every record.
fn header_bytes() -> usize {
    headers::RECORD_TYPE.len() + headers::TYPE_CE_BATCH.len() + headers::SCHEMA_VERSION.len() + headers::SCHEMA_V1.len()
}

/// Records for `events`, grouped by trace in trace-id order, each trace's
/// events in arrival order; every record's key, headers and value together
/// stay within `max_record_bytes` unless a single event alone is larger
/// (the config's lower bound rules that out). The events are ordered by one
/// stable sort of their positions and encoded straight into one buffer of
/// values, the keys into another; each record is a slice of both, so a
/// request of any number of traces allocates a handful of times, not twice
/// a record.
pub(crate) fn trace_records(tenant_id: &str, events: &[EventRef<'_>], max_record_bytes: usize) -> Vec<Record> {
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&at| events[at].trace_id);
    let sizes: Vec<usize> = events.iter().map(ce_batch_event_len).collect();
    let mut keys = Vec::new();
    let mut values = Vec::with_capacity(sizes.iter().sum());
    // Each record's key and value, as ranges of the two buffers.
    let mut ranges: Vec<(Range<usize>, Range<usize>)> = Vec::new();
    for trace in order.chunk_by(|a, b| events[*a].trace_id == events[*b].trace_id) {
        let key_start = keys.len();
        // Writing to a Vec cannot fail.
        let _ = write!(keys, "{tenant_id}/{}", events[trace[0]].trace_id);
        let key = key_start..keys.len();
        let budget = max_record_bytes.saturating_sub(key.len() + header_bytes());
        for run in runs_within(trace, &sizes, budget) {
            let value_start = values.len();
            for &at in run {
                append_ce_batch_event(&events[at], &mut values);
            }
            ranges.push((key.clone(), value_start..values.len()));
        }
    }
    let (keys, values) = (Bytes::from(keys), Bytes::from(values));
    ranges
        .into_iter()
        .map(|(key, value)| {
            Record::from_bytes(keys.slice(key), values.slice(value))
                .with_header(headers::RECORD_TYPE, headers::TYPE_CE_BATCH)
                .with_header(headers::SCHEMA_VERSION, headers::SCHEMA_V1)
        })
        .collect()
}

/// Cuts one trace's event positions, in order, into runs whose encoded
/// `CeBatch` (the sum of the events' `sizes`) is at most `budget` bytes; a
/// run always holds at least one event.
fn runs_within<'a>(trace: &'a [usize], sizes: &'a [usize], budget: usize) -> impl Iterator<Item = &'a [usize]> {
    let mut rest = trace;
    std::iter::from_fn(move || {
        let mut run_bytes = 0;
        let len = rest
            .iter()
            .enumerate()
            .take_while(|&(pos, &at)| {
                run_bytes += sizes[at];
                pos == 0 || run_bytes <= budget
            })
            .count();
        let (run, tail) = rest.split_at(len);
        rest = tail;
        (!run.is_empty()).then_some(run)
    })
}

#[cfg(test)]
mod tests {
    use causeway_model::ce_batch::encode_ce_batch;
    use causeway_model::{CausalEvent, CeId, Kind, TraceId, decode_ce_batch};

    use super::*;

    fn event(trace: u8, ce: u16, operation_len: usize) -> CausalEvent {
        let mut ce_id = [7u8; 16];
        ce_id[..2].copy_from_slice(&ce.to_be_bytes());
        CausalEvent {
            tenant_id: "acme".into(),
            trace_id: TraceId([trace; 16]),
            ce_id: CeId(ce_id),
            parent_ce_id: None,
            service: "svc".into(),
            kind: Kind::HttpIn,
            status: 200,
            start_unix_ns: 1_795_219_200_000_000_000,
            duration_ns: 1,
            operation: (operation_len > 0).then(|| "x".repeat(operation_len)),
            peer: None,
            environment: None,
        }
    }

    fn records_of(tenant_id: &str, events: &[CausalEvent], max_record_bytes: usize) -> Vec<Record> {
        let events: Vec<EventRef<'_>> = events.iter().map(CausalEvent::as_event_ref).collect();
        trace_records(tenant_id, &events, max_record_bytes)
    }

    fn record_bytes(record: &Record) -> usize {
        record.key.len() + record.value.len() + header_bytes()
    }

    #[test]
    fn groups_one_record_per_trace_in_arrival_order() {
        let records = records_of("acme", &[event(2, 1, 0), event(1, 2, 0), event(2, 3, 0)], 1 << 20);
        assert_eq!(records.len(), 2);
        let keys: Vec<String> = records
            .iter()
            .map(|r| String::from_utf8_lossy(&r.key).into_owned())
            .collect();
        assert_eq!(
            keys,
            [
                format!("acme/{}", TraceId([1; 16])),
                format!("acme/{}", TraceId([2; 16]))
            ]
        );
        assert_eq!(
            records[1].value,
            causeway_model::ce_batch::encode_ce_batch(&[event(2, 1, 0), event(2, 3, 0)])
        );
        assert_eq!(records[0].header(headers::RECORD_TYPE), Some(headers::TYPE_CE_BATCH));
        assert_eq!(records[0].header(headers::SCHEMA_VERSION), Some(headers::SCHEMA_V1));
    }

    /// The byte count the splitter adds up is the encoder's own.
    #[test]
    fn field_sizes_add_up_to_the_encoded_batch() {
        use causeway_model::proto::v1;
        use prost::Message;
        let events: Vec<CausalEvent> = (0..300).map(|n| event(1, n, usize::from(n))).collect();
        let summed: usize = events
            .iter()
            .map(|event| ce_batch_event_len(&event.as_event_ref()))
            .sum();
        let prost_events = events.iter().map(v1::CausalEvent::from).collect();
        assert_eq!(summed, v1::CeBatch { events: prost_events }.encode_to_vec().len());
        assert_eq!(summed, encode_ce_batch(&events).len());
    }

    /// Every record stays within the limit, the trace's events come back
    /// whole and in order under one key, and the limit is tight: exactly
    /// at it is one record, one byte under it is two.
    #[test]
    fn a_large_trace_splits_under_the_limit_in_order() {
        let limit = 64 * 1024;
        let events: Vec<CausalEvent> = (0..2_000).map(|n| event(3, n, usize::from(n % 200))).collect();
        let records = records_of("acme", &events, limit);
        assert!(records.len() > 3, "{} records", records.len());
        assert!(records.iter().all(|r| record_bytes(r) <= limit));
        assert!(records.iter().all(|r| r.key == records[0].key));
        let back: Vec<CausalEvent> = records
            .iter()
            .flat_map(|r| decode_ce_batch(&r.value, None, u64::MAX).expect("valid batch"))
            .collect();
        assert_eq!(back, events);

        let few: Vec<CausalEvent> = (0..3).map(|n| event(4, n, 100)).collect();
        let whole = records_of("acme", &few, 1 << 20);
        assert_eq!(whole.len(), 1);
        let exact = record_bytes(&whole[0]);
        assert_eq!(records_of("acme", &few, exact).len(), 1);
        let split = records_of("acme", &few, exact - 1);
        assert_eq!(split.len(), 2);
        assert!(split.iter().all(|r| record_bytes(r) < exact));
    }

    #[test]
    fn an_event_over_the_limit_still_goes_alone() {
        let records = records_of("acme", &[event(5, 1, 500), event(5, 2, 500)], 100);
        assert_eq!(records.len(), 2);
    }
}
