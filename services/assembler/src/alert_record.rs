//! Alert records from the alert topic: our protobuf (from the gateway) or
//! the generic alert JSON of DESIGN §4 written by an outside producer,
//! keyed by tenant id. A record that cannot become a valid alert is refused
//! with its reason (the caller dead-letters it).

use causeway_bus::{Delivery, headers};
use causeway_model::Alert;
use causeway_model::proto::v1;
use causeway_runtime::tenants::TenantRegistry;
use prost::Message;
use sha2::{Digest, Sha256};

/// Decodes an alert record and checks its tenant.
pub fn decode_alert(delivery: &Delivery, tenants: &TenantRegistry) -> Result<Alert, String> {
    let record_type = delivery
        .record
        .header(headers::RECORD_TYPE)
        .unwrap_or(headers::TYPE_ALERT_PROTO);
    let alert = if record_type == headers::TYPE_ALERT_JSON {
        let tenant =
            String::from_utf8(delivery.record.key.to_vec()).map_err(|_| "record key is not a tenant id".to_owned())?;
        Alert::from_generic_json(&delivery.record.value, &tenant, json_alert_id(delivery))
            .map_err(|err| err.to_string())?
    } else if record_type == headers::TYPE_ALERT_PROTO {
        let raw =
            v1::Alert::decode(delivery.record.value.as_ref()).map_err(|err| format!("undecodable alert: {err}"))?;
        Alert::try_from(raw).map_err(|err| err.to_string())?
    } else {
        return Err(format!(
            "unknown record type {:?}",
            String::from_utf8_lossy(record_type)
        ));
    };
    if tenants.get(&alert.tenant_id).is_none() {
        return Err(format!("unknown tenant {:?}", alert.tenant_id));
    }
    Ok(alert)
}

/// The id of an alert written as JSON by an outside producer: derived from
/// the record's position *and* its content, so a redelivery is the same
/// alert while a recreated topic (offsets starting over) gives new ids.
fn json_alert_id(delivery: &Delivery) -> String {
    let mut hash = Sha256::new();
    hash.update(format!("{}/{}/{}\0", delivery.topic, delivery.partition, delivery.offset).as_bytes());
    hash.update(&delivery.record.key);
    hash.update([0]);
    hash.update(&delivery.record.value);
    format!("topic-{}", &hex::encode(hash.finalize())[..32])
}

#[cfg(test)]
mod tests {
    use causeway_bus::Record;

    use super::*;

    fn json_delivery(offset: u64, body: &str) -> Delivery {
        Delivery {
            topic: "causeway.alerts".into(),
            partition: 0,
            offset,
            record: Record::new(b"dev".to_vec(), body.as_bytes().to_vec())
                .with_header(headers::RECORD_TYPE, headers::TYPE_ALERT_JSON),
        }
    }

    #[test]
    fn json_ids_follow_position_and_content() {
        let body = r#"{"service":"api","fired_at":"2026-11-21T00:00:00Z"}"#;
        let other = r#"{"service":"db","fired_at":"2026-11-21T00:00:00Z"}"#;
        let first = json_alert_id(&json_delivery(3, body));
        assert_eq!(
            first,
            json_alert_id(&json_delivery(3, body)),
            "a redelivery is the same alert"
        );
        assert_ne!(
            first,
            json_alert_id(&json_delivery(3, other)),
            "a recreated topic reuses offsets"
        );
        assert_ne!(first, json_alert_id(&json_delivery(4, body)));
    }
}
