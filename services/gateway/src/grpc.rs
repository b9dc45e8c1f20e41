//! The gRPC side: `causeway.v1.IngestService/Ingest`, OTLP
//! `TraceService/Export` and `grpc.health.v1.Health`, on one port.

use std::sync::Arc;

use causeway_model::proto::v1::ingest_service_server::{IngestService, IngestServiceServer};
use causeway_model::proto::v1::{IngestRequest, IngestResponse};
use causeway_runtime::tenants::Tenant;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::service::Routes;
use tonic::{Request, Response, Status};
use tonic_health::pb::health_server::HealthServer;
use tonic_health::server::HealthService;

use crate::admission::Ticket;
use crate::auth;
use crate::clock::now_unix_ns;
use crate::error::IngestError;
use crate::ingest::{Format, accept_events, decode_off_runtime};
use crate::metrics;
use crate::state::GatewayState;

/// The gateway's gRPC services, ready for `tonic::transport::Server::add_routes`.
pub fn grpc_router(state: GatewayState) -> Routes {
    let max_message = state.config().max_body_bytes;
    let health = HealthServer::new(HealthService::from_health_reporter(state.inner.health.clone()));
    let ingest = IngestServiceServer::new(GrpcIngest { state: state.clone() })
        .max_decoding_message_size(max_message)
        .accept_compressed(CompressionEncoding::Gzip);
    let otlp = TraceServiceServer::new(GrpcIngest { state })
        .max_decoding_message_size(max_message)
        .accept_compressed(CompressionEncoding::Gzip);
    Routes::new(ingest).add_service(otlp).add_service(health)
}

struct GrpcIngest {
    state: GatewayState,
}

impl GrpcIngest {
    /// The tenant of the call's key, and its admission under the in-flight
    /// limits with the decoded message counted at its full size.
    fn admit<T: Message>(&self, request: &Request<T>) -> Result<(Arc<Tenant>, Ticket), IngestError> {
        let value = request.metadata().get("authorization").map(|v| v.as_bytes());
        let tenant = auth::authenticate(&self.state.deps().tenants, value)?;
        let ticket = self.state.admit()?;
        ticket.reserve_total(request.get_ref().encoded_len())?;
        Ok((tenant, ticket))
    }
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
            let (tenant, ticket) = self.admit(&request)?;
            let batch = request.into_inner().batch.unwrap_or_default();
            let tenant_id = tenant.id.clone();
            let events = decode_off_runtime(&ticket, move || {
                causeway_model::events_from_ce_batch(batch, Some(&tenant_id), now_unix_ns())
            })
            .await?;
            let accepted = accept_events(&self.state, &tenant, events, Format::GrpcIngest).await?;
            Ok(IngestResponse {
                accepted: u32::try_from(accepted).unwrap_or(u32::MAX),
            })
        };
        finish("grpc_ingest", outcome.await)
    }
}

#[tonic::async_trait]
impl TraceService for GrpcIngest {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let outcome = async {
            let (tenant, ticket) = self.admit(&request)?;
            let export = request.into_inner();
            let tenant_id = tenant.id.clone();
            let events = decode_off_runtime(&ticket, move || {
                causeway_model::events_from_otlp(export, &tenant_id, now_unix_ns())
            })
            .await?;
            accept_events(&self.state, &tenant, events, Format::OtlpGrpc).await?;
            // All or nothing: `partial_success` is never set.
            Ok(ExportTraceServiceResponse::default())
        };
        finish("grpc_otlp_export", outcome.await)
    }
}
