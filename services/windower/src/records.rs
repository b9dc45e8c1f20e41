//! Turning consumed records into store writes: CE batches and SDK notices,
//! grouped by tenant; undecodable records become dead letters.

use std::collections::BTreeMap;

use causeway_bus::{Delivery, headers};
use causeway_model::CausalEvent;
use causeway_model::ce_batch::decode_ce_batch;
use causeway_store::ServiceNotice;

/// What one poll's records hold, ready to write.
#[derive(Debug, Default)]
pub struct Decoded {
    pub events_by_tenant: BTreeMap<String, Vec<CausalEvent>>,
    pub notices: Vec<ServiceNotice>,
    /// Records that cannot be decoded, with the reason.
    pub poison: Vec<(Delivery, String)>,
}

pub fn decode_deliveries(deliveries: &[Delivery]) -> Decoded {
    let mut decoded = Decoded::default();
    for delivery in deliveries {
        let record_type = delivery.record.header(headers::RECORD_TYPE).unwrap_or(headers::TYPE_CE_BATCH);
        if record_type == headers::TYPE_CE_BATCH {
            // The gateway validated and stamped the tenant; the clock check is
            // not repeated here (u64::MAX) because records may be replayed late.
            match decode_ce_batch(&delivery.record.value, None, u64::MAX) {
                Ok(events) if events.iter().all(|event| !event.tenant_id.is_empty()) => {
                    for event in events {
                        decoded.events_by_tenant.entry(event.tenant_id.clone()).or_default().push(event);
                    }
                }
                Ok(_) => decoded.poison.push((delivery.clone(), "ce batch has an event without a tenant".to_owned())),
                Err(err) => decoded.poison.push((delivery.clone(), format!("undecodable ce batch: {err}"))),
            }
        } else if record_type == headers::TYPE_NOTICE {
            match serde_json::from_slice::<ServiceNotice>(&delivery.record.value) {
                Ok(notice) if !notice.tenant_id.is_empty() => decoded.notices.push(notice),
                Ok(_) => decoded.poison.push((delivery.clone(), "notice without a tenant".to_owned())),
                Err(err) => decoded.poison.push((delivery.clone(), format!("undecodable notice: {err}"))),
            }
        } else {
            let shown = String::from_utf8_lossy(record_type).into_owned();
            decoded.poison.push((delivery.clone(), format!("unknown record type {shown:?}")));
        }
    }
    decoded
}
