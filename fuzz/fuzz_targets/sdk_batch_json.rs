//! The Incidentary SDK batch (`POST /api/v1/ingest/batch`): decoded events
//! are valid and survive `CeBatch`; a refusal is a typed error.
#![no_main]

use causeway_fuzz::{NOW, TENANT, check_error, check_events};
use causeway_model::decode_sdk_batch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match decode_sdk_batch(data, TENANT, NOW) {
        Ok(batch) => {
            check_events(&batch.events, Some(TENANT));
            assert_eq!(batch.envelope.schema_version, "1");
            // Decoding is a function of the bytes.
            assert_eq!(decode_sdk_batch(data, TENANT, NOW), Ok(batch));
        }
        Err(err) => check_error(&err),
    }
});
