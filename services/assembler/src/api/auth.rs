//! `Authorization: Bearer <api key>` -> the tenant.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};
use causeway_runtime::tenants::{Tenant, TenantRegistry};

use super::error::ApiError;

pub fn authenticate(headers: &HeaderMap, tenants: &TenantRegistry) -> Result<Arc<Tenant>, ApiError> {
    let unauthorized = |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("missing authorization header (expected: Bearer <api key>)"))?;
    let text = value
        .to_str()
        .map_err(|_| unauthorized("authorization header is not text"))?;
    let key = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .ok_or_else(|| unauthorized("authorization must be: Bearer <api key>"))?;
    tenants
        .authenticate(key.trim())
        .ok_or_else(|| unauthorized("unknown api key"))
}
