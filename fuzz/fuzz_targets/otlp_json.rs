//! OTLP/JSON (`POST /v1/traces` with `application/json`).
#![no_main]

use causeway_fuzz::{NOW, TENANT, check_error, check_events};
use causeway_model::decode_otlp_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match decode_otlp_json(data, TENANT, NOW) {
        Ok(events) => {
            check_events(&events, Some(TENANT));
            for event in &events {
                assert_eq!(event.ce_id.0[8..], [0; 8], "span id zero-extended");
            }
        }
        Err(err) => check_error(&err),
    }
});
