//! Event ingest over HTTP: the Incidentary SDK batch and OTLP/HTTP traces.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use causeway_model::EventBatch;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use serde_json::json;

use super::body::{media_type, read_body, require_json};
use super::{ROUTE_OTLP_TRACES, ROUTE_SDK_BATCH, answer, tenant_of};
use crate::clock::now_unix_ns;
use crate::error::IngestError;
use crate::ingest::{Format, accept_events, decode_request};
use crate::state::GatewayState;

/// `POST /api/v1/ingest/batch`: 200 `{"accepted": N}`.
pub(super) async fn sdk_batch(State(state): State<GatewayState>, headers: HeaderMap, body: Body) -> Response {
    answer(ROUTE_SDK_BATCH, sdk_batch_inner(&state, &headers, body).await)
}

async fn sdk_batch_inner(state: &GatewayState, headers: &HeaderMap, body: Body) -> Result<Response, IngestError> {
    let tenant = tenant_of(state, headers)?;
    require_json(headers)?;
    state.window_has_room()?;
    let body = read_body(state, headers, body).await?;
    let (bytes, tenant_id) = (body.bytes, tenant.id.clone());
    let (_envelope, events) = decode_request(&body.ticket, bytes.len(), move || {
        causeway_model::decode_sdk_events(&bytes, &tenant_id, now_unix_ns())
    })
    .await?;
    let accepted = accept_events(state, &tenant, events.iter().collect(), Format::SdkJson).await?;
    Ok((StatusCode::OK, Json(json!({"accepted": accepted}))).into_response())
}

/// `POST /v1/traces`: OTLP/HTTP, protobuf or JSON; answered with an empty
/// `ExportTraceServiceResponse` in the request's encoding. All or nothing:
/// partial success is never reported.
pub(super) async fn otlp_traces(State(state): State<GatewayState>, headers: HeaderMap, body: Body) -> Response {
    answer(ROUTE_OTLP_TRACES, otlp_traces_inner(&state, &headers, body).await)
}

async fn otlp_traces_inner(state: &GatewayState, headers: &HeaderMap, body: Body) -> Result<Response, IngestError> {
    let tenant = tenant_of(state, headers)?;
    let format = match media_type(headers).as_deref() {
        Some("application/x-protobuf") => Format::OtlpHttpProtobuf,
        Some("application/json") => Format::OtlpHttpJson,
        Some(other) => return Err(IngestError::UnsupportedMediaType(other.to_owned())),
        None => return Err(IngestError::UnsupportedMediaType("(none)".to_owned())),
    };
    state.window_has_room()?;
    let body = read_body(state, headers, body).await?;
    let (bytes, tenant_id) = (body.bytes, tenant.id.clone());
    let events = decode_request(&body.ticket, bytes.len(), move || match format {
        Format::OtlpHttpJson => causeway_model::decode_otlp_json(&bytes, &tenant_id, now_unix_ns())
            .map(|events| EventBatch::from_events(&tenant_id, &events)),
        _ => causeway_model::decode_otlp_protobuf_events(&bytes, &tenant_id, now_unix_ns()),
    })
    .await?;
    accept_events(state, &tenant, events.iter().collect(), format).await?;
    let response = ExportTraceServiceResponse::default();
    Ok(match format {
        Format::OtlpHttpJson => (StatusCode::OK, Json(json!({}))).into_response(),
        _ => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/x-protobuf"))],
            response.encode_to_vec(),
        )
            .into_response(),
    })
}
