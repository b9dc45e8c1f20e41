//! Why a request was refused, and the one mapping of each reason to an HTTP
//! status and body and to a gRPC status, so retryable means retryable on
//! every path.

use std::fmt;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use causeway_model::DecodeError;
use serde_json::{Value, json};

pub use crate::error_id::ErrorId;

/// Which gateway-wide in-flight limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InflightLimit {
    /// `gateway.max_inflight_bytes`: request body bytes held, raw and inflated.
    Bytes,
    /// `gateway.max_inflight_requests`: ingest requests being served at once.
    Requests,
    /// `gateway.max_window_backlog_records`: records the windower in this
    /// process has yet to write.
    WindowBacklog,
}

impl InflightLimit {
    /// The `limit_type` of the 503 body and the metrics `reason` label.
    pub fn label(self) -> &'static str {
        match self {
            InflightLimit::Bytes => "inflight_bytes",
            InflightLimit::Requests => "inflight_requests",
            InflightLimit::WindowBacklog => "window_backlog",
        }
    }

    /// The config key that sets the limit.
    pub fn config_key(self) -> &'static str {
        match self {
            InflightLimit::Bytes => "gateway.max_inflight_bytes",
            InflightLimit::Requests => "gateway.max_inflight_requests",
            InflightLimit::WindowBacklog => "gateway.max_window_backlog_records",
        }
    }

    fn what(self) -> &'static str {
        match self {
            InflightLimit::Bytes => "bytes in flight",
            InflightLimit::Requests => "requests in flight",
            InflightLimit::WindowBacklog => "records the windower has yet to write",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// No key, a malformed `Authorization` header, or an unknown key.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// A webhook's signature or timestamp did not verify; `header` names the
    /// header that carried it.
    #[error("{header}: {reason}")]
    BadSignature { header: &'static str, reason: String },
    /// A provider named a service the tenant's integration does not map.
    #[error("unknown service {service:?}: {reason}")]
    UnknownService { service: String, reason: &'static str },
    /// The payload failed to decode or validate; nothing of it was kept.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("request body exceeds the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// The client did not finish sending its body in time (a slow or
    /// stalled upload holding a slot).
    #[error("request body not received within {limit_ms} ms (gateway.body_read_timeout_ms)")]
    BodyTimeout { limit_ms: u64 },
    #[error("unsupported content type {0:?}")]
    UnsupportedMediaType(String),
    #[error("unsupported content encoding {0:?}; send gzip or identity")]
    UnsupportedEncoding(String),
    #[error("monthly ce quota of {limit} reached for plan {plan}")]
    QuotaExceeded {
        plan: &'static str,
        limit: u64,
        retry_after_seconds: u64,
    },
    /// The gateway holds as many requests or body bytes as it may, or the
    /// window is as far behind as it may be; the client retries. Decided
    /// before the request was read to its end.
    #[error(
        "the gateway is at its limit of {limit} {} ({}); retry after {retry_after_seconds} s",
        limit_type.what(),
        limit_type.config_key()
    )]
    Overloaded {
        limit_type: InflightLimit,
        limit: usize,
        retry_after_seconds: u64,
    },
    /// The bus or the store cannot take the request now; the client retries.
    /// The cause was logged under `error_id` (see [`IngestError::unavailable`]).
    #[error("temporarily unavailable (error id {error_id}); retry after {retry_after_seconds} s")]
    Unavailable {
        retry_after_seconds: u64,
        error_id: ErrorId,
    },
    /// Not the client's fault and not retryable as is. The cause was logged
    /// under `error_id` (see [`IngestError::internal`]).
    #[error("internal error (error id {error_id})")]
    Internal { error_id: ErrorId },
}

impl From<causeway_model::webhooks::WebhookError> for IngestError {
    fn from(err: causeway_model::webhooks::WebhookError) -> Self {
        use causeway_model::webhooks::WebhookError;
        match err {
            WebhookError::UnknownService { service, reason } => IngestError::UnknownService { service, reason },
            WebhookError::Decode(err) => IngestError::Decode(err),
        }
    }
}

impl IngestError {
    /// A dependency (bus, store) cannot take the request now. Its text is
    /// logged at warn under a fresh error id; the client gets only the id.
    pub(crate) fn unavailable(retry_after_seconds: u64, cause: impl fmt::Display) -> Self {
        let error_id = ErrorId::new();
        tracing::warn!(error_id = %error_id, error = %cause, retry_after_seconds, "request failed, retryable");
        IngestError::Unavailable {
            retry_after_seconds,
            error_id,
        }
    }

    /// A failure that is nobody's input: logged at error under a fresh
    /// error id; the client gets only the id.
    pub(crate) fn internal(cause: impl fmt::Display) -> Self {
        let error_id = ErrorId::new();
        tracing::error!(error_id = %error_id, error = %cause, "request failed");
        IngestError::Internal { error_id }
    }

    /// Refusals decided before the request body was read to its end.
    fn answered_before_body(&self) -> bool {
        matches!(
            self,
            IngestError::Unauthorized(_)
                | IngestError::BadSignature { .. }
                | IngestError::BodyTooLarge { .. }
                | IngestError::BodyTimeout { .. }
                | IngestError::UnsupportedMediaType(_)
                | IngestError::UnsupportedEncoding(_)
                | IngestError::Overloaded { .. }
        )
    }

    pub fn http_status(&self) -> StatusCode {
        match self {
            IngestError::Unauthorized(_) | IngestError::BadSignature { .. } => StatusCode::UNAUTHORIZED,
            IngestError::UnknownService { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            IngestError::Decode(_) => StatusCode::BAD_REQUEST,
            IngestError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            IngestError::UnsupportedMediaType(_) | IngestError::UnsupportedEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            IngestError::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            IngestError::Overloaded { .. } | IngestError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            IngestError::QuotaExceeded {
                retry_after_seconds, ..
            }
            | IngestError::Overloaded {
                retry_after_seconds, ..
            }
            | IngestError::Unavailable {
                retry_after_seconds, ..
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }

    /// The JSON body. The quota body is exactly what the Incidentary SDK
    /// parses to pause until the next month.
    pub fn http_body(&self) -> Value {
        match self {
            IngestError::Unauthorized(message) => json!({"error": "unauthorized", "message": message}),
            IngestError::BadSignature { header, .. } => {
                json!({"error": "unauthorized", "message": self.to_string(), "header": header})
            }
            IngestError::UnknownService { service, .. } => {
                json!({"error": "unknown_service", "message": self.to_string(), "service": service})
            }
            IngestError::Decode(err) => {
                let kind = if matches!(err, DecodeError::Malformed { .. }) {
                    "malformed"
                } else {
                    "invalid_field"
                };
                let mut body = json!({"error": kind, "message": err.to_string()});
                if let Some(field) = err.field() {
                    body["field"] = json!(field);
                }
                if let Some(limit) = err.limit() {
                    body["limit"] = json!(limit);
                }
                body
            }
            IngestError::BodyTooLarge { limit } => {
                json!({"error": "body_too_large", "message": self.to_string(), "limit": limit})
            }
            IngestError::BodyTimeout { limit_ms } => {
                json!({"error": "body_timeout", "message": self.to_string(), "limit": limit_ms})
            }
            IngestError::UnsupportedMediaType(_) | IngestError::UnsupportedEncoding(_) => {
                json!({"error": "unsupported_media_type", "message": self.to_string()})
            }
            IngestError::QuotaExceeded { plan, limit, .. } => {
                json!({"error": "ce_limit_reached", "limit_type": "ce", "plan": plan, "limit": limit})
            }
            IngestError::Overloaded { limit_type, limit, .. } => json!({
                "error": "overloaded",
                "limit_type": limit_type.label(),
                "limit": limit,
                "message": self.to_string(),
            }),
            IngestError::Unavailable { error_id, .. } => {
                json!({"error": "unavailable", "message": self.to_string(), "error_id": error_id.as_str()})
            }
            IngestError::Internal { error_id } => {
                json!({"error": "internal", "message": self.to_string(), "error_id": error_id.as_str()})
            }
        }
    }

    pub fn grpc_status(&self) -> tonic::Status {
        let message = self.to_string();
        let mut status = match self {
            IngestError::Unauthorized(_) | IngestError::BadSignature { .. } => tonic::Status::unauthenticated(message),
            IngestError::UnknownService { .. } => tonic::Status::failed_precondition(message),
            IngestError::Decode(_) | IngestError::UnsupportedMediaType(_) | IngestError::UnsupportedEncoding(_) => {
                tonic::Status::invalid_argument(message)
            }
            IngestError::BodyTooLarge { .. } | IngestError::QuotaExceeded { .. } | IngestError::Overloaded { .. } => {
                tonic::Status::resource_exhausted(message)
            }
            IngestError::Unavailable { .. } => tonic::Status::unavailable(message),
            IngestError::BodyTimeout { .. } => tonic::Status::deadline_exceeded(message),
            IngestError::Internal { .. } => tonic::Status::internal(message),
        };
        if let Some(seconds) = self.retry_after_seconds() {
            status.metadata_mut().insert("retry-after", seconds.into());
        }
        status
    }

    /// A bounded label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            IngestError::Unauthorized(_) | IngestError::BadSignature { .. } => "unauthorized",
            IngestError::UnknownService { .. } => "unknown_service",
            IngestError::Decode(_) => "invalid",
            IngestError::BodyTooLarge { .. } => "too_large",
            IngestError::BodyTimeout { .. } => "body_timeout",
            IngestError::UnsupportedMediaType(_) | IngestError::UnsupportedEncoding(_) => "unsupported_media_type",
            IngestError::QuotaExceeded { .. } => "quota",
            IngestError::Overloaded { .. } => "overloaded",
            IngestError::Unavailable { .. } => "unavailable",
            IngestError::Internal { .. } => "internal",
        }
    }
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let mut response = (self.http_status(), Json(self.http_body())).into_response();
        if let Some(seconds) = self.retry_after_seconds() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.answered_before_body() {
            // The body was not (fully) read, so the server drops this
            // connection after answering: say so, or a client reuses the
            // dead connection from its pool and its next request fails.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use causeway_model::FieldError;

    use super::*;

    #[test]
    fn decode_errors_name_field_and_limit() {
        let err = IngestError::from(DecodeError::from(FieldError::over_limit(
            "events[2].service_id",
            200,
            128,
            "bytes",
        )));
        assert_eq!(err.http_status(), StatusCode::BAD_REQUEST);
        let body = err.http_body();
        assert_eq!(body["error"], "invalid_field");
        assert_eq!(body["field"], "events[2].service_id");
        assert_eq!(body["limit"], 128);
        let err = IngestError::from(DecodeError::malformed("JSON", "eof"));
        assert_eq!(err.http_body()["error"], "malformed");
        assert!(err.http_body().get("field").is_none());
    }

    #[test]
    fn signature_and_service_refusals_name_what_failed() {
        let err = IngestError::BadSignature {
            header: "X-PagerDuty-Signature",
            reason: "no listed signature verifies".into(),
        };
        assert_eq!(err.http_status(), StatusCode::UNAUTHORIZED);
        assert_eq!(err.http_body()["header"], "X-PagerDuty-Signature");
        let err = IngestError::UnknownService {
            service: "Billing".into(),
            reason: "not in the integration's service map",
        };
        assert_eq!(err.http_status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err.http_body()["service"], "Billing");
    }

    #[test]
    fn quota_body_is_the_sdk_shape() {
        let err = IngestError::QuotaExceeded {
            plan: "free",
            limit: 200_000,
            retry_after_seconds: 60,
        };
        assert_eq!(
            err.http_body(),
            json!({"error":"ce_limit_reached","limit_type":"ce","plan":"free","limit":200000})
        );
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "60");
    }

    #[test]
    fn retryable_is_unavailable_with_retry_after_on_grpc() {
        let err = IngestError::unavailable(3, "broker 10.0.0.7:9092 refused: secret detail");
        let IngestError::Unavailable { error_id, .. } = &err else {
            panic!("not unavailable: {err:?}");
        };
        let status = err.grpc_status();
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(
            status.metadata().get("retry-after").map(|v| v.to_str().ok()),
            Some(Some("3"))
        );
        assert!(status.message().contains(error_id.as_str()), "{}", status.message());
        assert!(!status.message().contains("secret"), "{}", status.message());
        assert_eq!(
            IngestError::Unauthorized("no key").grpc_status().code(),
            tonic::Code::Unauthenticated
        );
    }

    #[test]
    fn internal_text_is_logged_not_answered() {
        let err = IngestError::internal("store fatal: keyspace causeway_prod unreachable at 10.1.2.3");
        let IngestError::Internal { error_id } = &err else {
            panic!("not internal: {err:?}");
        };
        let body = err.http_body();
        assert_eq!(body["error"], "internal");
        assert_eq!(body["error_id"], error_id.as_str());
        let text = body.to_string();
        assert!(!text.contains("keyspace") && !text.contains("10.1.2.3"), "{text}");
        assert!(!err.grpc_status().message().contains("keyspace"));
    }

    #[test]
    fn overload_names_the_limit_and_is_retryable() {
        let err = IngestError::Overloaded {
            limit_type: InflightLimit::Bytes,
            limit: 65_536,
            retry_after_seconds: 1,
        };
        let body = err.http_body();
        assert_eq!(body["error"], "overloaded");
        assert_eq!(body["limit_type"], "inflight_bytes");
        assert_eq!(body["limit"], 65_536);
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("gateway.max_inflight_bytes")
        );
        let status = err.grpc_status();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            status.metadata().get("retry-after").map(|v| v.to_str().ok()),
            Some(Some("1"))
        );
        let response = err.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
