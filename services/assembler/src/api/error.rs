//! JSON error answers of the read API.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use causeway_store::StoreError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Names the log line holding the cause of a server-side failure,
    /// whose own text (store hosts, keyspaces) is never answered.
    error_id: Option<String>,
}

/// 12 random hex digits, as the gateway's error ids.
fn new_error_id() -> String {
    format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff)
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            error_id: None,
        }
    }

    /// A failure that is not the client's: its text is logged at error
    /// under a fresh error id, and only the id is answered.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let error_id = new_error_id();
        tracing::error!(error_id = %error_id, error = %cause, "read api request failed");
        Self::with_id(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
            error_id,
        )
    }

    fn with_id(status: StatusCode, code: &'static str, what: &str, error_id: String) -> Self {
        Self {
            status,
            code,
            message: format!("{what} (error id {error_id})"),
            error_id: Some(error_id),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn bad_request(field: &str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("{field}: {}", message.into()),
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        let error_id = new_error_id();
        tracing::warn!(error_id = %error_id, error = %err, "read api store error");
        match err {
            StoreError::Unavailable(_) => Self::with_id(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "store unavailable, retry",
                error_id,
            ),
            _ => Self::with_id(StatusCode::INTERNAL_SERVER_ERROR, "internal", "store failure", error_id),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.code, "message": self.message });
        if let Some(error_id) = self.error_id {
            body["error_id"] = json!(error_id);
        }
        let body = Json(body);
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            return (self.status, [("retry-after", "1")], body).into_response();
        }
        (self.status, body).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_text_is_logged_not_answered() {
        let err = ApiError::internal("stored artifact unreadable: expected value at line 1 column 7");
        assert_eq!(err.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!err.message.contains("line 1"), "{}", err.message);
        let id = err.error_id.clone().unwrap_or_default();
        assert_eq!(id.len(), 12);
        assert!(err.message.contains(&id));
        let err = ApiError::from(StoreError::Unavailable("node 10.0.0.9:9042 down".into()));
        assert_eq!(err.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!err.message.contains("10.0.0.9"), "{}", err.message);
        assert!(err.error_id.is_some());
    }
}
