//! Alerts as records: the generic alert JSON (`POST /api/v1/alerts`, and
//! records an outside producer writes to the alert topic) and the
//! `causeway.v1.Alert` protobuf the gateway writes to the topic, as the
//! assembler decodes them. An accepted alert is within the limits and
//! survives the topic encoding unchanged.
#![no_main]

use causeway_fuzz::{TENANT, check_alert, check_error};
use causeway_model::Alert;
use causeway_model::proto::v1;
use libfuzzer_sys::fuzz_target;
use prost::Message;

fn topic_round_trip(alert: &Alert) {
    let bytes = v1::Alert::from(alert).encode_to_vec();
    let raw = v1::Alert::decode(bytes.as_slice()).expect("our own encoding decodes");
    match Alert::try_from(raw) {
        Ok(back) => assert_eq!(&back, alert, "alert topic round trip"),
        Err(err) => panic!("an accepted alert is refused from the topic: {err}: {alert:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        match Alert::from_generic_json(body, TENANT, "alert-1".to_owned()) {
            Ok(alert) => {
                assert_eq!(alert.tenant_id, TENANT);
                check_alert(&alert);
                topic_round_trip(&alert);
            }
            Err(err) => check_error(&err),
        }
    } else if let Ok(raw) = v1::Alert::decode(body) {
        // The topic is trusted for the tenant but not for the rest.
        if let Ok(alert) = Alert::try_from(raw) {
            assert!(!alert.service.is_empty());
            topic_round_trip(&alert);
        }
    }
});
