//! One SDK event (a `SkeletonCe` of the `incidentary` SDK) to a causal
//! event: the kind table, the start time, the operation and the peer.

use serde_json::Value;

use super::json_fields::JsonObject;
use crate::error::FieldError;
use crate::event::{CausalEvent, method_route};
use crate::ids::{CeId, TraceId};
use crate::kind::Kind;
use crate::limits::MAX_STATUS;
use crate::otlp::grpc_status::grpc_to_http;

/// What the envelope contributes to every event.
pub(crate) struct EnvelopeDefaults<'a> {
    pub tenant_id: &'a str,
    pub service_id: &'a str,
    pub environment: Option<&'a str>,
}

/// The SDK's `event_type` values that refine its coarse `kind`. The SDK
/// sends webhooks as HTTP kinds, jobs as INTERNAL and gRPC calls as
/// INTERNAL; other event types (`http_in`, `queue_publish`, `db_query`,
/// `internal_task`…, or any future one) keep the `kind`.
pub(super) fn refined_kind(event_type: &str) -> Option<Kind> {
    match event_type {
        "webhook_in" => Some(Kind::WebhookIn),
        "webhook_out" => Some(Kind::WebhookOut),
        "job_start" => Some(Kind::JobStart),
        "job_end" => Some(Kind::JobEnd),
        "grpc_in" => Some(Kind::HttpIn),
        "grpc_out" => Some(Kind::HttpOut),
        "db_query" | "internal_task" => Some(Kind::Internal),
        _ => None,
    }
}

fn is_grpc(event_type: Option<&str>) -> bool {
    matches!(event_type, Some("grpc_in" | "grpc_out"))
}

/// The SDK's gRPC interceptors record status 0 when the call returned and
/// 500 when it raised. 0 is gRPC's OK, so gRPC statuses 0..=16 are read
/// as gRPC codes and mapped to HTTP; anything else is already HTTP-like.
/// `None` when over [`MAX_STATUS`].
pub(super) fn status_of(raw: u64, event_type: Option<&str>) -> Option<u16> {
    if is_grpc(event_type)
        && let Some(http) = i64::try_from(raw).ok().and_then(grpc_to_http)
    {
        return Some(http);
    }
    u16::try_from(raw).ok().filter(|status| *status <= MAX_STATUS)
}

fn id<T: std::str::FromStr<Err = crate::ids::IdParseError>>(
    event: &JsonObject<'_>,
    key: &str,
    text: &str,
) -> Result<T, FieldError> {
    text.parse()
        .map_err(|err: crate::ids::IdParseError| FieldError::new(event.path_of(key), err.to_string()))
}

pub(super) fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|text| !text.is_empty())
}

/// `GET /orders/{id}` from the FULL-mode detail: the method with the route
/// template, else with the normalized route key, else either alone; then
/// the downstream operation name; then `event_attrs.operation` (the SDK's
/// database integrations put `execute`/`fetch` there). Otherwise none.
fn operation_of(detail: Option<&JsonObject<'_>>, attrs: Option<&JsonObject<'_>>) -> Result<Option<String>, FieldError> {
    if let Some(detail) = detail {
        let method = non_empty(detail.str_opt("method")?);
        let route = match non_empty(detail.str_opt("route_template")?) {
            Some(template) => Some(template),
            None => non_empty(detail.str_opt("route_key")?),
        };
        match (method, route) {
            (Some(method), Some(route)) => return Ok(Some(method_route(method, route))),
            (Some(only), None) | (None, Some(only)) => return Ok(Some(only.to_owned())),
            (None, None) => {}
        }
        if let Some(downstream) = detail.object_opt("downstream")?
            && let Some(name) = non_empty(downstream.str_opt("operation_name")?)
        {
            return Ok(Some(name.to_owned()));
        }
    }
    if let Some(attrs) = attrs {
        // event_attrs is free-form: only a string `operation` is used.
        if let Some(Value::String(text)) = attrs.raw("operation") {
            return Ok(non_empty(Some(text)).map(str::to_owned));
        }
    }
    Ok(None)
}

/// The callee of an outbound call, from the FULL-mode detail: the
/// downstream service the caller named, else the edge key the SDK derived
/// (`host:port` of the URL) unless it is a placeholder (`unknown`,
/// `local`). The SKELETON form carries no peer.
fn peer_of(detail: Option<&JsonObject<'_>>) -> Result<Option<String>, FieldError> {
    let Some(downstream) = detail
        .map(|detail| detail.object_opt("downstream"))
        .transpose()?
        .flatten()
    else {
        return Ok(None);
    };
    if let Some(service) = non_empty(downstream.str_opt("service")?) {
        return Ok(Some(service.to_owned()));
    }
    Ok(non_empty(downstream.str_opt("edge_key")?)
        .filter(|edge| !matches!(*edge, "unknown" | "local"))
        .map(str::to_owned))
}

/// Maps one event; errors carry the full path (`events[3].kind`).
pub(crate) fn map_event(
    value: &Value,
    path: String,
    defaults: &EnvelopeDefaults<'_>,
) -> Result<CausalEvent, FieldError> {
    let event = JsonObject::new(value, path)?;
    let ce_id: CeId = id(&event, "ce_id", event.str_req("ce_id")?)?;
    let trace_id: TraceId = id(&event, "trace_id", event.str_req("trace_id")?)?;
    let parent_ce_id = match non_empty(event.str_opt("parent_ce_id")?) {
        Some(text) => Some(id::<CeId>(&event, "parent_ce_id", text)?),
        None => None,
    };
    let service = non_empty(event.str_opt("service_id")?).unwrap_or(defaults.service_id);

    let kind_text = event.str_req("kind")?;
    let base_kind: Kind = kind_text
        .parse()
        .map_err(|err: crate::kind::UnknownKind| FieldError::new(event.path_of("kind"), err.to_string()))?;
    let event_type = event.str_opt("event_type")?;
    let kind = event_type.and_then(refined_kind).unwrap_or(base_kind);
    let raw_status = event.u64_req("status")?;
    let status = status_of(raw_status, event_type)
        .ok_or_else(|| FieldError::over_limit(event.path_of("status"), raw_status, MAX_STATUS.into(), "(status)"))?;

    let wall_ts_ns = event.u64_req("wall_ts_ns")?;
    let duration_ns = event.u64_req("duration_ns")?;
    let start_unix_ns = wall_ts_ns.checked_sub(duration_ns).ok_or_else(|| {
        FieldError::new(
            event.path_of("duration_ns"),
            format!("{duration_ns} ns is longer than wall_ts_ns ({wall_ts_ns}), the completion time"),
        )
    })?;

    // Known optional fields are type-checked even where unused, so a sender
    // learns of a wrong type; unknown fields are ignored (forward compat).
    event.str_opt("sdk_version")?;
    event.str_opt("event_class")?;
    event.bool_opt("captured_before_alert")?;
    event.u64_opt("ring_buffer_seq")?;
    let detail = event.object_opt("detail")?;
    let attrs = event.object_opt("event_attrs")?;

    Ok(CausalEvent {
        tenant_id: defaults.tenant_id.to_owned(),
        trace_id,
        ce_id,
        parent_ce_id,
        service: service.to_owned(),
        kind,
        status,
        start_unix_ns,
        duration_ns,
        operation: operation_of(detail.as_ref(), attrs.as_ref())?,
        peer: peer_of(detail.as_ref())?,
        environment: defaults.environment.map(str::to_owned),
    })
}
