//! Publishing that waits out retryable bus errors, for consumers that must
//! publish before they acknowledge (dead letters, artifacts).

use std::time::Duration;

use crate::api::{Bus, BusError, Record};

/// First wait after a retryable error; doubled each time up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Publishes `records`, retrying `Full` and `Unavailable` with capped
/// exponential backoff; returns the first non-retryable error.
pub async fn publish_with_retry(bus: &dyn Bus, topic: &str, records: Vec<Record>) -> Result<(), BusError> {
    let mut backoff = FIRST_BACKOFF;
    loop {
        match bus.publish(topic, records.clone()).await {
            Ok(()) => return Ok(()),
            Err(err) if err.is_retryable() => {
                tracing::warn!(topic, error = %err, backoff_ms = backoff.as_millis() as u64, "publish failed, retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(err) => return Err(err),
        }
    }
}
