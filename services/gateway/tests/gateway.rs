//! The gateway in-process on port 0, over real HTTP and gRPC, publishing to
//! the real embedded bus and metering in the real embedded store.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod gateway {
    mod alerts;
    mod grpc_guard;
    mod grpc_ingest;
    pub mod harness;
    mod http_ingest;
    mod integrations;
    mod metering;
    mod overload;
    mod record_size;
    mod rejections;
}
