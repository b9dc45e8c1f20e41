//! The gRPC side: `causeway.v1.IngestService/Ingest`, OTLP
//! `TraceService/Export` ([`otlp_export`]) and `grpc.health.v1.Health`, on
//! one port. The two ingest services sit behind [`guard`]: the key is
//! checked and the call admitted before tonic decodes a byte of it. Health
//! is open.

mod guard;
mod otlp_export;

use std::sync::Arc;

use causeway_model::proto::v1::ingest_service_server::{IngestService, IngestServiceServer};
use causeway_model::proto::v1::{IngestRequest, IngestResponse};
use causeway_runtime::tenants::Tenant;
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::HealthService;

use self::guard::{Authenticated, Guarded};
use self::otlp_export::OtlpExport;
use crate::admission::Ticket;
use crate::clock::now_unix_ns;
use crate::error::IngestError;
use crate::ingest::{Format, accept_events, decode_request, event_refs};
use crate::metrics;
use crate::state::GatewayState;

/// The gateway's gRPC services, ready for `tonic::transport::Server::add_routes`.
pub fn grpc_router(state: GatewayState) -> Routes {
    let max_message = state.config().max_body_bytes;
    let health = HealthServer::new(HealthService::from_health_reporter(state.inner.health.clone()));
    let ingest = IngestServiceServer::new(GrpcIngest { state: state.clone() })
        .max_decoding_message_size(max_message)
        .accept_compressed(CompressionEncoding::Gzip);
    let otlp = OtlpExport::new(state.clone());
    Routes::new(Guarded::new(ingest, state.clone(), ROUTE_GRPC_INGEST))
        .add_service(Guarded::new(otlp, state, ROUTE_GRPC_OTLP))
        .add_service(health)
}

/// The `route` labels of the two ingest methods.
const ROUTE_GRPC_INGEST: &str = "grpc_ingest";
const ROUTE_GRPC_OTLP: &str = "grpc_otlp_export";

struct GrpcIngest {
    state: GatewayState,
}

/// What the guard put in the request: the authenticated tenant and the
/// admission ticket. Without them the service was served unguarded, a bug:
/// refused, never served unauthenticated.
fn admitted<T>(request: &Request<T>) -> Result<(Arc<Tenant>, Ticket), IngestError> {
    let tenant = request.extensions().get::<Authenticated>().map(|a| a.0.clone());
    let ticket = request.extensions().get::<Ticket>().cloned();
    match (tenant, ticket) {
        (Some(tenant), Some(ticket)) => Ok((tenant, ticket)),
        _ => Err(IngestError::internal("grpc ingest served without its guard")),
    }
}

/// Counts a decoded message of `len` bytes at that full size: tonic
/// inflated a compressed one beyond the bytes that arrived.
fn hold_decoded(ticket: &Ticket, len: usize) -> Result<(), IngestError> {
    ticket.reserve_total(len)
}

/// Counts the call once and maps the error to its status.
fn finish<T>(route: &'static str, outcome: Result<T, IngestError>) -> Result<Response<T>, Status> {
    let result = outcome.map(Response::new).map_err(|err| err.grpc_status());
    let code = match &result {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    };
    metrics::record_request(route, format!("{code:?}"));
    result
}

#[tonic::async_trait]
impl IngestService for GrpcIngest {
    async fn ingest(&self, request: Request<IngestRequest>) -> Result<Response<IngestResponse>, Status> {
        let outcome = async {
            let (tenant, ticket) = admitted(&request)?;
            let message = request.into_inner();
            let len = message.encoded_len();
            hold_decoded(&ticket, len)?;
            let batch = message.batch.unwrap_or_default();
            let tenant_id = tenant.id.clone();
            let events = decode_request(&ticket, len, move || {
                causeway_model::events_from_ce_batch(batch, Some(&tenant_id), now_unix_ns())
            })
            .await?;
            let accepted = accept_events(&self.state, &tenant, event_refs(&events), Format::GrpcIngest).await?;
            Ok(IngestResponse {
                accepted: u32::try_from(accepted).unwrap_or(u32::MAX),
            })
        };
        finish(ROUTE_GRPC_INGEST, outcome.await)
    }
}
