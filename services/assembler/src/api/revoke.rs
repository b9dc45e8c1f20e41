//! `DELETE /api/v1/artifacts/{id}/share` (tenant API key): revokes the
//! artifact's share link. The link answers 410 from then on; the artifact
//! stays readable with the key. Idempotent: revoking again is 204 too.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};

use super::ReadApiState;
use super::auth::authenticate;
use super::error::ApiError;
use crate::clock::now_unix_ns;
use crate::metrics_names::SHARES_REVOKED;

pub async fn revoke_share(
    State(state): State<ReadApiState>,
    headers: HeaderMap,
    Path(artifact_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let tenant = authenticate(&headers, &state.tenants)?;
    if !state
        .artifacts
        .revoke_share(&tenant.id, &artifact_id, now_unix_ns())
        .await?
    {
        return Err(ApiError::not_found("artifact"));
    }
    metrics::counter!(SHARES_REVOKED).increment(1);
    tracing::info!(tenant = %tenant.id, artifact_id = %artifact_id, "share link revoked");
    Ok(StatusCode::NO_CONTENT)
}
