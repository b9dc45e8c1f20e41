//! Retention: artifacts and their share links end with the tenant plan's
//! `retention_days` (set at materialization as `expires_at_unix_ns`). The
//! share route refuses an expired artifact at once (410); this loop deletes
//! them from the store, leaving a record of each token so its link still
//! says "expired" rather than "never existed".

use std::sync::Arc;
use std::time::Duration;

use causeway_store::ArtifactStore;
use tokio_util::sync::CancellationToken;

use crate::clock::now_unix_ns;
use crate::metrics_names::ARTIFACTS_EXPIRED;

/// How often expired artifacts are deleted. Readers never see one in the
/// meantime (they compare `expires_at_unix_ns` with the clock), so this
/// only bounds how long the bytes stay on disk.
const EXPIRY_INTERVAL: Duration = Duration::from_secs(60);

pub async fn expire_loop(artifacts: Arc<dyn ArtifactStore>, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(EXPIRY_INTERVAL);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = shutdown.cancelled() => return,
        }
        match artifacts.expire_artifacts(now_unix_ns()).await {
            Ok(0) => {}
            Ok(removed) => {
                metrics::counter!(ARTIFACTS_EXPIRED).increment(removed);
                tracing::info!(removed, "expired artifacts deleted");
            }
            Err(err) => tracing::warn!(error = %err, "artifact expiry failed"),
        }
    }
}
