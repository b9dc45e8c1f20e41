//! OTLP `ExportTraceServiceRequest` as protobuf (OTLP/HTTP and gRPC
//! `TraceService/Export`): span ids become zero-extended CE ids, events are
//! valid and survive `CeBatch`, the HTTP and gRPC paths agree, and the
//! in-place fast pass agrees with prost's decode.
#![no_main]

use causeway_fuzz::{NOW, TENANT, check_error, check_events};
use causeway_model::otlp::protobuf_fast_pass_agrees;
use causeway_model::{decode_otlp_protobuf, events_from_otlp};
use libfuzzer_sys::fuzz_target;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    // The fast pass reads only what prost's decode reads, the same way.
    if let Err(diff) = protobuf_fast_pass_agrees(data) {
        panic!("{diff}");
    }
    let decoded = decode_otlp_protobuf(data, TENANT, NOW);
    match &decoded {
        Ok(events) => {
            check_events(events, Some(TENANT));
            for event in events {
                assert_eq!(event.ce_id.0[8..], [0; 8], "span id zero-extended");
                if let Some(parent) = event.parent_ce_id {
                    assert_eq!(parent.0[8..], [0; 8], "parent span id zero-extended");
                }
            }
        }
        Err(err) => check_error(err),
    }
    // The gRPC service gets the request already decoded by tonic.
    if let Ok(request) = ExportTraceServiceRequest::decode(data) {
        assert_eq!(events_from_otlp(request, TENANT, NOW), decoded);
    }
});
