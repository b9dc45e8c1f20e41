//! Reading OTLP attributes, and the span-to-CE rules that depend on them:
//! kind, status, operation, peer.

use std::borrow::Cow;
use std::fmt::Display;

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

/// Every attribute the rules read, resource and span alike. Anything else
/// is carried by OTLP but never looked at.
#[derive(Clone, Copy)]
pub(crate) enum Key {
    ServiceName,
    EnvironmentName,
    Environment,
    CausewayKind,
    HttpResponseStatusCode,
    HttpStatusCode,
    RpcGrpcStatusCode,
    HttpRequestMethod,
    HttpMethod,
    HttpRoute,
    HttpTarget,
    PeerService,
    ServerAddress,
    NetPeerName,
}

const KEY_COUNT: usize = 14;

impl Key {
    const ALL: [Key; KEY_COUNT] = [
        Key::ServiceName,
        Key::EnvironmentName,
        Key::Environment,
        Key::CausewayKind,
        Key::HttpResponseStatusCode,
        Key::HttpStatusCode,
        Key::RpcGrpcStatusCode,
        Key::HttpRequestMethod,
        Key::HttpMethod,
        Key::HttpRoute,
        Key::HttpTarget,
        Key::PeerService,
        Key::ServerAddress,
        Key::NetPeerName,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Key::ServiceName => "service.name",
            Key::EnvironmentName => "deployment.environment.name",
            Key::Environment => "deployment.environment",
            Key::CausewayKind => KIND_ATTRIBUTE,
            Key::HttpResponseStatusCode => "http.response.status_code",
            Key::HttpStatusCode => "http.status_code",
            Key::RpcGrpcStatusCode => "rpc.grpc.status_code",
            Key::HttpRequestMethod => "http.request.method",
            Key::HttpMethod => "http.method",
            Key::HttpRoute => "http.route",
            Key::HttpTarget => "http.target",
            Key::PeerService => "peer.service",
            Key::ServerAddress => "server.address",
            Key::NetPeerName => "net.peer.name",
        }
    }

    fn of(text: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|key| key.as_str() == text)
    }
}

/// An attribute value as far as the rules care: a string, an integer, or
/// some other type (which is never a string nor an integer).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AttrValue<'a> {
    Str(Cow<'a, str>),
    Int(i64),
    Other,
}

impl<'a> AttrValue<'a> {
    fn of_proto(value: &'a any_value::Value) -> Self {
        match value {
            any_value::Value::StringValue(text) => AttrValue::Str(Cow::Borrowed(text)),
            any_value::Value::IntValue(value) => AttrValue::Int(*value),
            _ => AttrValue::Other,
        }
    }
}

/// The attributes the rules read, picked in one pass over a list instead of
/// one scan per lookup. A key's first occurrence wins, even when it carries
/// no value: the same answer as searching the list for the key.
#[derive(Debug, Default)]
pub(crate) struct Picked<'a> {
    slots: [Option<Option<AttrValue<'a>>>; KEY_COUNT],
}

impl<'a> Picked<'a> {
    pub(crate) fn from_proto(attributes: &'a [KeyValue]) -> Self {
        let mut picked = Picked::default();
        for attribute in attributes {
            picked.offer(&attribute.key, || {
                attribute
                    .value
                    .as_ref()
                    .and_then(|value| value.value.as_ref())
                    .map(AttrValue::of_proto)
            });
        }
        picked
    }

    /// Records `key`'s value unless the key is unread or already seen.
    pub(crate) fn offer(&mut self, key: &str, value: impl FnOnce() -> Option<AttrValue<'a>>) {
        if let Some(key) = Key::of(key) {
            let slot = &mut self.slots[key as usize];
            if slot.is_none() {
                *slot = Some(value());
            }
        }
    }

    fn find(&self, key: Key) -> Option<&AttrValue<'a>> {
        self.slots[key as usize].as_ref().and_then(Option::as_ref)
    }

    /// A non-blank string attribute; other value types are ignored.
    pub(crate) fn string(&self, key: Key) -> Option<&str> {
        match self.find(key) {
            Some(AttrValue::Str(text)) if !text.trim().is_empty() => Some(text),
            _ => None,
        }
    }

    /// The first of `keys` present as a string.
    pub(crate) fn first_string(&self, keys: &[Key]) -> Option<&str> {
        keys.iter().find_map(|key| self.string(*key))
    }

    /// An integer attribute, also accepted as decimal text (some SDKs send
    /// status codes as strings). `Err` when present but not an integer.
    fn integer(&self, key: Key) -> Result<Option<i64>, String> {
        match self.find(key) {
            None => Ok(None),
            Some(AttrValue::Int(value)) => Ok(Some(*value)),
            Some(AttrValue::Str(text)) => text
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("expected an integer, got {text:?}")),
            Some(AttrValue::Other) => Err("expected an integer".to_owned()),
        }
    }
}

/// Kind from the span kind, unless `causeway.kind` names one explicitly.
pub(crate) fn kind_of(span_kind: i32, attributes: &Picked<'_>, path: &dyn Display) -> Result<Kind, FieldError> {
    if let Some(text) = attributes.string(Key::CausewayKind) {
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

const HTTP_STATUS_KEYS: [Key; 2] = [Key::HttpResponseStatusCode, Key::HttpStatusCode];

/// HTTP status attribute, else gRPC status attribute (mapped to HTTP), else
/// the span status: ERROR 500, OK 200, UNSET 200 on request/response kinds
/// (OpenTelemetry leaves successful calls UNSET) and 0 ("not recorded")
/// on the others.
pub(crate) fn status_of(
    kind: Kind,
    attributes: &Picked<'_>,
    span_status: Option<i32>,
    path: &dyn Display,
) -> Result<u16, FieldError> {
    for key in HTTP_STATUS_KEYS {
        let field = || format!("{path}.attributes.{}", key.as_str());
        if let Some(code) = attributes.integer(key).map_err(|err| FieldError::new(field(), err))? {
            return u16::try_from(code)
                .ok()
                .filter(|status| *status <= MAX_STATUS)
                .ok_or_else(|| FieldError::new(field(), format!("{code} is not an HTTP status (0..={MAX_STATUS})")));
        }
    }
    let grpc_key = Key::RpcGrpcStatusCode;
    let grpc_field = || format!("{path}.attributes.{}", grpc_key.as_str());
    if let Some(code) = attributes
        .integer(grpc_key)
        .map_err(|err| FieldError::new(grpc_field(), err))?
    {
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

/// A span's operation, before it is made text: `METHOD route` from the
/// HTTP attributes, else the span name.
pub(crate) enum Operation<'s> {
    MethodRoute(&'s str, &'s str),
    Name(&'s str),
}

/// `METHOD route` from the HTTP attributes (new or legacy conventions;
/// a legacy `http.target` loses its query string), else the span name.
pub(crate) fn operation_parts<'s>(attributes: &'s Picked<'_>, span_name: &'s str) -> Option<Operation<'s>> {
    let method = attributes.first_string(&[Key::HttpRequestMethod, Key::HttpMethod]);
    let route = attributes.string(Key::HttpRoute).or_else(|| {
        attributes
            .string(Key::HttpTarget)
            .map(|target| target.split(['?', '#']).next().unwrap_or(target))
    });
    match (method, route) {
        (Some(method), Some(route)) => Some(Operation::MethodRoute(method, route)),
        _ => (!span_name.trim().is_empty()).then_some(Operation::Name(span_name)),
    }
}

/// [`operation_parts`] as owned text.
pub(crate) fn operation_of(attributes: &Picked<'_>, span_name: &str) -> Option<String> {
    operation_parts(attributes, span_name).map(|operation| match operation {
        Operation::MethodRoute(method, route) => crate::event::method_route(method, route),
        Operation::Name(name) => name.to_owned(),
    })
}

/// The callee of an outbound step: `peer.service`, else `server.address`,
/// else the legacy `net.peer.name`. Inbound and internal spans have no
/// peer (their `server.address` is the service itself).
pub(crate) fn peer_text<'s>(kind: Kind, attributes: &'s Picked<'_>) -> Option<&'s str> {
    if !kind.is_outbound() {
        return None;
    }
    attributes.first_string(&[Key::PeerService, Key::ServerAddress, Key::NetPeerName])
}
