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
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
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
        tracing::warn!(error = %err, "read api store error");
        match err {
            StoreError::Unavailable(_) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "store unavailable, retry",
            ),
            _ => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "store failure"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({ "error": self.code, "message": self.message }));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            return (self.status, [("retry-after", "1")], body).into_response();
        }
        (self.status, body).into_response()
    }
}
