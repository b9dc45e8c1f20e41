//! `Authorization: Bearer <key>` on every route, HTTP header or gRPC metadata.

use std::sync::Arc;

use causeway_runtime::tenants::{Tenant, TenantRegistry};

use crate::error::IngestError;

/// The tenant named by an `Authorization` value, if any.
pub(crate) fn authenticate(
    registry: &TenantRegistry,
    authorization: Option<&[u8]>,
) -> Result<Arc<Tenant>, IngestError> {
    causeway_runtime::auth::authenticate(registry, authorization)
        .map_err(|err| IngestError::Unauthorized(err.message()))
}
