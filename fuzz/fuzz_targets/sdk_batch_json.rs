//! The Incidentary SDK batch (`POST /api/v1/ingest/batch`): decoded events
//! are valid and survive `CeBatch`; a refusal is a typed error; the typed
//! pass reads only what the precise pass reads, with the same result.
#![no_main]

use causeway_fuzz::{NOW, TENANT, check_error, check_events};
use causeway_model::decode_sdk_batch;
use causeway_model::wire_v1::fast_pass_agrees;
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
    // The typed pass reads only what the precise pass reads, alike.
    if let Err(difference) = fast_pass_agrees(data) {
        panic!("{difference}");
    }
});
