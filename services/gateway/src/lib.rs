//! The gateway target: the write edge. It authenticates the tenant from its
//! API key, decodes and validates every input (Incidentary SDK batches,
//! OTLP over HTTP and gRPC, causeway's gRPC ingest, SDK notices, generic
//! alerts), meters and enforces the monthly CE quota, and publishes to the
//! bus, acknowledging a request only after the bus accepted all of it.
//!
//! The binary wires it: `run(config, deps, http_listener, grpc_listener,
//! shutdown)`, or [`http_router`] and [`grpc_router`] to serve the routes
//! beside other targets' on shared ports.

mod admission;
mod alert_intake;
mod auth;
mod clock;
mod config;
mod error;
mod error_id;
mod grpc;
mod http;
mod ingest;
mod integrations;
mod metrics;
mod server;
mod state;
mod trace_records;
mod usage_meter;

pub use clock::{month_of, now_unix_ns, seconds_until_next_month};
pub use config::{
    DEFAULT_MAX_INFLIGHT_BYTES, GatewayConfig, MAX_CONFIGURABLE_BODY_BYTES, MAX_CONFIGURABLE_INFLIGHT_REQUESTS,
    MAX_CONFIGURABLE_RECORD_BYTES, MIN_RECORD_BYTES,
};
pub use error::{ErrorId, InflightLimit, IngestError};
pub use grpc::grpc_router;
pub use http::{ROUTE_ALERTS, ROUTE_OTLP_TRACES, ROUTE_SDK_BATCH, ROUTE_SERVICE_EVENTS, http_router};
pub use integrations::signature::sign_hex;
pub use integrations::{ROUTE_ALERTMANAGER, ROUTE_GRAFANA, ROUTE_OPSGENIE, ROUTE_PAGERDUTY, ROUTE_SLACK};
pub use metrics::describe_metrics;
pub use server::{run, serve};
pub use state::{AlertSettings, GatewayDeps, GatewayState};
