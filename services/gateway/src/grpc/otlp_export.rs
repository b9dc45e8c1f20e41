//! OTLP `TraceService/Export` over gRPC, served with the request message
//! as bytes: tonic frames, inflates and bounds the message, and the gateway
//! reads it with the same in-place pass as an OTLP/HTTP protobuf body
//! (`decode_otlp_protobuf_events`). The service tonic generates would
//! decode it with prost first, building an owned string for every
//! attribute of every span (BENCHMARKS.md, "OTLP over gRPC read in place").

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::http::{Request, Response};
use bytes::{Buf, Bytes};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::SERVICE_NAME;
use prost::Message;
use tonic::body::Body;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{BoxFuture, Service};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Code, Status};

use super::{ROUTE_GRPC_OTLP, admitted, finish, hold_decoded};
use crate::clock::now_unix_ns;
use crate::ingest::{Format, accept_events, decode_request};
use crate::state::GatewayState;

/// The one method of the service.
const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// The OTLP trace service, for `Routes` (behind the guard).
#[derive(Clone)]
pub(super) struct OtlpExport {
    state: GatewayState,
}

impl OtlpExport {
    pub(super) fn new(state: GatewayState) -> Self {
        Self { state }
    }
}

impl NamedService for OtlpExport {
    const NAME: &'static str = SERVICE_NAME;
}

impl Service<Request<Body>> for OtlpExport {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Response<Body>, Infallible>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if request.uri().path() != EXPORT_PATH {
            return Box::pin(std::future::ready(Ok(Status::new(
                Code::Unimplemented,
                format!("no method {} on {SERVICE_NAME}", request.uri().path()),
            )
            .into_http())));
        }
        let max_message = self.state.config().max_body_bytes;
        let export = Export {
            state: self.state.clone(),
        };
        Box::pin(async move {
            let mut grpc = Grpc::new(RawRequest)
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max_message);
            Ok(grpc.unary(export, request).await)
        })
    }
}

/// One call's handling: the bytes decoded in place, then the path every
/// event batch takes.
struct Export {
    state: GatewayState,
}

impl UnaryService<Bytes> for Export {
    type Response = ExportTraceServiceResponse;
    type Future = BoxFuture<tonic::Response<ExportTraceServiceResponse>, Status>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let state = self.state.clone();
        Box::pin(async move {
            let outcome = async {
                let (tenant, ticket) = admitted(&request)?;
                let message = request.into_inner();
                hold_decoded(&ticket, message.len())?;
                let tenant_id = tenant.id.clone();
                let events = decode_request(&ticket, message.len(), move || {
                    causeway_model::decode_otlp_protobuf_events(&message, &tenant_id, now_unix_ns())
                })
                .await?;
                accept_events(&state, &tenant, events.iter().collect(), Format::OtlpGrpc).await?;
                // All or nothing: `partial_success` is never set.
                Ok(ExportTraceServiceResponse::default())
            };
            finish(ROUTE_GRPC_OTLP, outcome.await)
        })
    }
}

/// Requests as the bytes of their message (a view of tonic's buffer, not a
/// copy); responses encoded with prost.
struct RawRequest;

impl Codec for RawRequest {
    type Encode = ExportTraceServiceResponse;
    type Decode = Bytes;
    type Encoder = ResponseEncoder;
    type Decoder = MessageBytes;

    fn encoder(&mut self) -> ResponseEncoder {
        ResponseEncoder
    }

    fn decoder(&mut self) -> MessageBytes {
        MessageBytes
    }
}

struct MessageBytes;

impl Decoder for MessageBytes {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

struct ResponseEncoder;

impl Encoder for ResponseEncoder {
    type Item = ExportTraceServiceResponse;
    type Error = Status;

    fn encode(&mut self, item: ExportTraceServiceResponse, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.reserve(item.encoded_len());
        item.encode(dst)
            .map_err(|err| Status::internal(format!("encoding the export response: {err}")))
    }
}
