//! The read API: artifacts, alert states, traces, coverage and topology
//! (authenticated, tenant-scoped), share revocation, the coverage
//! scorecard page, and the no-auth share links.

mod auth;
mod error;
mod negotiate;
mod reads;
mod revoke;
mod scorecard;
mod share;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, post};
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::{ArtifactStore, TopologyStore, WindowStore};

use crate::config::AssemblerConfig;

#[derive(Clone)]
pub struct ReadApiState {
    pub config: Arc<AssemblerConfig>,
    pub tenants: Arc<TenantRegistry>,
    pub window: Arc<dyn WindowStore>,
    pub artifacts: Arc<dyn ArtifactStore>,
    /// Topology slots: the scorecard's calls over its range.
    pub topology: Arc<dyn TopologyStore>,
}

/// Every read route; the binary serves it on the HTTP port (in standalone
/// beside the gateway's routes).
pub fn http_router(state: ReadApiState) -> Router {
    Router::new()
        .route("/api/v1/artifacts", get(reads::list_artifacts))
        .route("/api/v1/artifacts/{artifact_id}", get(reads::get_artifact))
        .route("/api/v1/artifacts/{artifact_id}/share", delete(revoke::revoke_share))
        .route("/api/v1/alerts/{alert_id}", get(reads::get_alert))
        .route("/api/v1/traces/{trace_id}", get(reads::get_trace))
        .route("/api/v1/coverage", get(reads::get_coverage))
        .route("/api/v1/topology", get(reads::get_topology))
        .route("/a/{token}", get(share::get_shared))
        .route("/coverage", get(scorecard::get_scorecard))
        .route(
            "/coverage/sign-in",
            get(scorecard::sign_in_form).post(scorecard::sign_in),
        )
        .route("/coverage/sign-out", post(scorecard::sign_out))
        .with_state(state)
}
