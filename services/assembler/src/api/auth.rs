//! `Authorization: Bearer <api key>` -> the tenant.

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};
use causeway_runtime::tenants::{Tenant, TenantRegistry};

use super::error::ApiError;

pub fn authenticate(headers: &HeaderMap, tenants: &TenantRegistry) -> Result<Arc<Tenant>, ApiError> {
    let value = headers.get(header::AUTHORIZATION).map(|value| value.as_bytes());
    causeway_runtime::auth::authenticate(tenants, value)
        .map_err(|err| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", err.message()))
}
