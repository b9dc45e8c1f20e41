//! Why a request was refused, and the one mapping of each reason to an HTTP
//! status and body and to a gRPC status, so retryable means retryable on
//! every path.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use causeway_model::DecodeError;
use serde_json::{Value, json};

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
    /// The bus or the store cannot take the request now; the client retries.
    #[error("temporarily unavailable: {detail}")]
    Unavailable { retry_after_seconds: u64, detail: String },
    /// Not the client's fault and not retryable as is.
    #[error("internal error: {0}")]
    Internal(String),
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
    /// Refusals decided before the request body was read to its end.
    fn answered_before_body(&self) -> bool {
        matches!(
            self,
            IngestError::Unauthorized(_)
                | IngestError::BadSignature { .. }
                | IngestError::BodyTooLarge { .. }
                | IngestError::UnsupportedMediaType(_)
                | IngestError::UnsupportedEncoding(_)
        )
    }

    pub fn http_status(&self) -> StatusCode {
        match self {
            IngestError::Unauthorized(_) | IngestError::BadSignature { .. } => StatusCode::UNAUTHORIZED,
            IngestError::UnknownService { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            IngestError::Decode(_) => StatusCode::BAD_REQUEST,
            IngestError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            IngestError::UnsupportedMediaType(_) | IngestError::UnsupportedEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            IngestError::QuotaExceeded { .. } => StatusCode::TOO_MANY_REQUESTS,
            IngestError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            IngestError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            IngestError::QuotaExceeded {
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
            IngestError::UnsupportedMediaType(_) | IngestError::UnsupportedEncoding(_) => {
                json!({"error": "unsupported_media_type", "message": self.to_string()})
            }
            IngestError::QuotaExceeded { plan, limit, .. } => {
                json!({"error": "ce_limit_reached", "limit_type": "ce", "plan": plan, "limit": limit})
            }
            IngestError::Unavailable { .. } => json!({"error": "unavailable", "message": self.to_string()}),
            IngestError::Internal(_) => json!({"error": "internal", "message": self.to_string()}),
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
            IngestError::BodyTooLarge { .. } | IngestError::QuotaExceeded { .. } => {
                tonic::Status::resource_exhausted(message)
            }
            IngestError::Unavailable { .. } => tonic::Status::unavailable(message),
            IngestError::Internal(_) => tonic::Status::internal(message),
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
            IngestError::UnsupportedMediaType(_) | IngestError::UnsupportedEncoding(_) => "unsupported_media_type",
            IngestError::QuotaExceeded { .. } => "quota",
            IngestError::Unavailable { .. } => "unavailable",
            IngestError::Internal(_) => "internal",
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
        let status = IngestError::Unavailable {
            retry_after_seconds: 3,
            detail: "bus is full".into(),
        }
        .grpc_status();
        assert_eq!(status.code(), tonic::Code::Unavailable);
        assert_eq!(
            status.metadata().get("retry-after").map(|v| v.to_str().ok()),
            Some(Some("3"))
        );
        assert_eq!(
            IngestError::Unauthorized("no key").grpc_status().code(),
            tonic::Code::Unauthenticated
        );
    }
}
