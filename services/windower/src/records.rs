//! Turning consumed records into store writes: CE batches and SDK notices,
//! grouped by tenant; undecodable records become dead letters.

use std::collections::BTreeMap;
use std::sync::Arc;

use causeway_bus::{Delivery, headers};
use causeway_model::EncodedEvents;
use causeway_model::ce_batch_view::CeBatchReader;
use causeway_store::ServiceNotice;

/// What one poll's records hold, ready to write.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Shared, so a retried write hands the store the same events again
    /// and a store that writes on another thread needs no copy of them.
    pub events_by_tenant: BTreeMap<String, Arc<EncodedEvents>>,
    pub notices: Vec<ServiceNotice>,
    /// Records that cannot be decoded, with the reason.
    pub poison: Vec<(Delivery, String)>,
}

pub fn decode_deliveries(deliveries: &[Delivery]) -> Decoded {
    let mut decoded = Decoded::default();
    let mut reader = CeBatchReader::default();
    for delivery in deliveries {
        let record_type = delivery
            .record
            .header(headers::RECORD_TYPE)
            .unwrap_or(headers::TYPE_CE_BATCH);
        if record_type == headers::TYPE_CE_BATCH {
            // The gateway validated and stamped the tenant; the clock check is
            // not repeated here (u64::MAX) because records may be replayed late.
            // Read in place: each event's message goes to the store as it
            // is, and only a tenant's first event copies its id.
            match reader.read(&delivery.record.value, u64::MAX) {
                Ok(events) if events.iter().all(|encoded| !encoded.event().tenant_id.is_empty()) => {
                    for encoded in events {
                        let tenant = encoded.event().tenant_id;
                        match decoded.events_by_tenant.get_mut(tenant) {
                            // Not shared yet while decoding: no copy is made.
                            Some(held) => Arc::make_mut(held).push(encoded),
                            None => {
                                let mut held = EncodedEvents::new();
                                held.push(encoded);
                                decoded.events_by_tenant.insert(tenant.to_owned(), Arc::new(held));
                            }
                        }
                    }
                }
                Ok(_) => decoded
                    .poison
                    .push((delivery.clone(), "ce batch has an event without a tenant".to_owned())),
                Err(err) => decoded
                    .poison
                    .push((delivery.clone(), format!("undecodable ce batch: {err}"))),
            }
        } else if record_type == headers::TYPE_NOTICE {
            match serde_json::from_slice::<ServiceNotice>(&delivery.record.value) {
                Ok(notice) if !notice.tenant_id.is_empty() => decoded.notices.push(notice),
                Ok(_) => decoded
                    .poison
                    .push((delivery.clone(), "notice without a tenant".to_owned())),
                Err(err) => decoded
                    .poison
                    .push((delivery.clone(), format!("undecodable notice: {err}"))),
            }
        } else {
            let shown = String::from_utf8_lossy(record_type).into_owned();
            decoded
                .poison
                .push((delivery.clone(), format!("unknown record type {shown:?}")));
        }
    }
    decoded
}

#[cfg(test)]
mod tests {
    use causeway_bus::Record;
    use causeway_model::ce_batch::encode_ce_batch;
    use causeway_model::{CausalEvent, CeId, Kind, TraceId};

    use super::*;

    fn event(tenant: &str, ce: u8) -> CausalEvent {
        CausalEvent {
            tenant_id: tenant.to_owned(),
            trace_id: TraceId([7; 16]),
            ce_id: CeId([ce; 16]),
            parent_ce_id: None,
            service: "orders".to_owned(),
            kind: Kind::HttpIn,
            status: 200,
            start_unix_ns: 1_795_219_200_000_000_000,
            duration_ns: 1_000,
            operation: None,
            peer: None,
            environment: None,
        }
    }

    fn delivery(offset: u64, record: Record) -> Delivery {
        Delivery {
            topic: "causeway.ce".into(),
            partition: 0,
            offset,
            record,
        }
    }

    fn typed(record_type: &'static [u8], value: Vec<u8>) -> Record {
        Record::new(b"k".to_vec(), value).with_header(headers::RECORD_TYPE, record_type)
    }

    #[test]
    fn groups_events_by_tenant_and_keeps_notices() {
        let notice = ServiceNotice {
            tenant_id: "acme".to_owned(),
            service: "orders".to_owned(),
            event: "pre_arm_start".to_owned(),
            received_at_unix_ns: 1,
            metadata_json: "{}".to_owned(),
        };
        let deliveries = vec![
            delivery(
                0,
                typed(
                    headers::TYPE_CE_BATCH,
                    encode_ce_batch(&[event("acme", 1), event("acme", 2)]),
                ),
            ),
            delivery(1, typed(headers::TYPE_CE_BATCH, encode_ce_batch(&[event("globex", 3)]))),
            delivery(
                2,
                typed(headers::TYPE_NOTICE, serde_json::to_vec(&notice).expect("json")),
            ),
        ];
        let decoded = decode_deliveries(&deliveries);
        assert_eq!(decoded.events_by_tenant["acme"].len(), 2);
        assert_eq!(decoded.events_by_tenant["globex"].len(), 1);
        assert_eq!(decoded.notices, vec![notice]);
        assert!(decoded.poison.is_empty());
    }

    #[test]
    fn undecodable_and_untenanted_records_are_poison() {
        let deliveries = vec![
            delivery(0, typed(headers::TYPE_CE_BATCH, vec![0xff, 0xff, 0xff])),
            delivery(1, typed(headers::TYPE_CE_BATCH, encode_ce_batch(&[event("", 1)]))),
            delivery(2, typed(headers::TYPE_NOTICE, b"not json".to_vec())),
            delivery(3, typed(b"mystery", vec![1])),
            delivery(4, typed(headers::TYPE_CE_BATCH, encode_ce_batch(&[event("acme", 9)]))),
        ];
        let decoded = decode_deliveries(&deliveries);
        let offsets: Vec<u64> = decoded.poison.iter().map(|(d, _)| d.offset).collect();
        assert_eq!(offsets, vec![0, 1, 2, 3]);
        assert!(decoded.poison[3].1.contains("mystery"), "{}", decoded.poison[3].1);
        // A poison record does not stop the good one behind it.
        assert_eq!(decoded.events_by_tenant["acme"].len(), 1);
    }
}
