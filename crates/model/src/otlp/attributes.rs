//! Reading OTLP attributes, and the span-to-CE rules that depend on them:
//! kind, status, operation, peer.

use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;

use super::grpc_status::grpc_to_http;
use crate::error::FieldError;
use crate::kind::Kind;
use crate::limits::MAX_STATUS;

/// The attribute that marks a span as one of causeway's kinds explicitly
/// (e.g. `JOB_START` on an INTERNAL span); it wins over the span kind.
pub const KIND_ATTRIBUTE: &str = "causeway.kind";

fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref())
        .and_then(|value| value.value.as_ref())
}

/// A string attribute; other value types are not strings and are ignored.
pub fn string<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a str> {
    match find(attributes, key) {
        Some(any_value::Value::StringValue(text)) if !text.trim().is_empty() => Some(text.as_str()),
        _ => None,
    }
}

/// The first of `keys` present as a string.
pub fn first_string<'a>(attributes: &'a [KeyValue], keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|key| string(attributes, key))
}

/// An integer attribute, also accepted as decimal text (some SDKs send
/// status codes as strings). `Err` when present but not an integer.
fn integer(attributes: &[KeyValue], key: &str) -> Result<Option<i64>, String> {
    match find(attributes, key) {
        None => Ok(None),
        Some(any_value::Value::IntValue(value)) => Ok(Some(*value)),
        Some(any_value::Value::StringValue(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("expected an integer, got {text:?}")),
        Some(_) => Err("expected an integer".to_owned()),
    }
}

/// Kind from the span kind, unless `causeway.kind` names one explicitly.
pub fn kind_of(span_kind: i32, attributes: &[KeyValue], path: &str) -> Result<Kind, FieldError> {
    if let Some(text) = string(attributes, KIND_ATTRIBUTE) {
        return text.parse().map_err(|err: crate::kind::UnknownKind| {
            FieldError::new(format!("{path}.attributes.{KIND_ATTRIBUTE}"), err.to_string())
        });
    }
    match SpanKind::try_from(span_kind) {
        Ok(SpanKind::Server) => Ok(Kind::HttpIn),
        Ok(SpanKind::Client) => Ok(Kind::HttpOut),
        Ok(SpanKind::Producer) => Ok(Kind::QueuePublish),
        Ok(SpanKind::Consumer) => Ok(Kind::QueueConsume),
        Ok(SpanKind::Internal | SpanKind::Unspecified) => Ok(Kind::Internal),
        Err(_) => Err(FieldError::new(
            format!("{path}.kind"),
            format!("unknown span kind {span_kind}"),
        )),
    }
}

const HTTP_STATUS_KEYS: [&str; 2] = ["http.response.status_code", "http.status_code"];
const GRPC_STATUS_KEY: &str = "rpc.grpc.status_code";

/// HTTP status attribute, else gRPC status attribute (mapped to HTTP), else
/// the span status: ERROR 500, OK 200, UNSET 200 on request/response kinds
/// (OpenTelemetry leaves successful calls UNSET) and 0 ("not recorded")
/// on the others.
pub fn status_of(kind: Kind, attributes: &[KeyValue], span_status: Option<i32>, path: &str) -> Result<u16, FieldError> {
    for key in HTTP_STATUS_KEYS {
        let field = || format!("{path}.attributes.{key}");
        if let Some(code) = integer(attributes, key).map_err(|err| FieldError::new(field(), err))? {
            return u16::try_from(code)
                .ok()
                .filter(|status| *status <= MAX_STATUS)
                .ok_or_else(|| FieldError::new(field(), format!("{code} is not an HTTP status (0..={MAX_STATUS})")));
        }
    }
    let grpc_field = || format!("{path}.attributes.{GRPC_STATUS_KEY}");
    if let Some(code) = integer(attributes, GRPC_STATUS_KEY).map_err(|err| FieldError::new(grpc_field(), err))? {
        return grpc_to_http(code)
            .ok_or_else(|| FieldError::new(grpc_field(), format!("{code} is not a gRPC status code (0..=16)")));
    }
    let code = span_status.map(StatusCode::try_from).transpose().map_err(|_| {
        FieldError::new(
            format!("{path}.status.code"),
            format!("unknown status code {}", span_status.unwrap_or_default()),
        )
    })?;
    Ok(match code {
        Some(StatusCode::Error) => 500,
        Some(StatusCode::Ok) => 200,
        Some(StatusCode::Unset) | None if kind.is_request_response() => 200,
        Some(StatusCode::Unset) | None => 0,
    })
}

/// `METHOD route` from the HTTP attributes (new or legacy conventions;
/// a legacy `http.target` loses its query string), else the span name.
pub fn operation_of(attributes: &[KeyValue], span_name: &str) -> Option<String> {
    let method = first_string(attributes, &["http.request.method", "http.method"]);
    let route = string(attributes, "http.route")
        .or_else(|| string(attributes, "http.target").map(|target| target.split(['?', '#']).next().unwrap_or(target)));
    match (method, route) {
        (Some(method), Some(route)) => Some(format!("{method} {route}")),
        _ => (!span_name.trim().is_empty()).then(|| span_name.to_owned()),
    }
}

/// The callee of an outbound step: `peer.service`, else `server.address`,
/// else the legacy `net.peer.name`. Inbound and internal spans have no
/// peer (their `server.address` is the service itself).
pub fn peer_of(kind: Kind, attributes: &[KeyValue]) -> Option<String> {
    if !kind.is_outbound() {
        return None;
    }
    first_string(attributes, &["peer.service", "server.address", "net.peer.name"]).map(str::to_owned)
}
