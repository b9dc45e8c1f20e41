//! `causeway.v1.CeBatch`: the gRPC `IngestService/Ingest` payload (tenant
//! from the credential) and every record of the CE topic (tenant kept).
//! `encode_ce_batch` inverts `decode_ce_batch` on what it accepts, and
//! `read_ce_batch` (in place) agrees with it.
#![no_main]

use causeway_fuzz::{NOW, TENANT, check_error, check_events};
use causeway_model::ce_batch_view::compare_with_decode;
use causeway_model::proto::v1;
use causeway_model::{decode_ce_batch, encode_ce_batch, events_from_ce_batch};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let ingest = decode_ce_batch(data, Some(TENANT), NOW);
    match &ingest {
        Ok(events) => check_events(events, Some(TENANT)),
        Err(err) => check_error(err),
    }
    // The gRPC service gets the batch already decoded by tonic.
    if let Ok(batch) = v1::CeBatch::decode(data) {
        assert_eq!(events_from_ce_batch(batch, Some(TENANT), NOW), ingest);
    }
    // A topic record keeps its own tenant; otherwise it decodes alike.
    match decode_ce_batch(data, None, NOW) {
        Ok(events) => {
            check_events(&events, None);
            let again = decode_ce_batch(&encode_ce_batch(&events), None, NOW);
            assert_eq!(again.as_ref(), Ok(&events));
        }
        Err(err) => check_error(&err),
    }
    // The windower reads records in place: the same answer, event for event.
    if let Err(difference) = compare_with_decode(data) {
        panic!("reading in place differs from decoding: {difference}");
    }
});
