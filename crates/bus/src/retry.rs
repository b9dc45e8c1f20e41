//! The one retry policy of the consumer loops: capped exponential backoff,
//! bounded in attempts where a failure may be deterministic; and publishing
//! that waits out retryable bus errors, for consumers that must publish
//! before they acknowledge (dead letters, artifacts).

use std::time::Duration;

use crate::api::{Bus, BusError, Record};

/// Capped exponential backoff. Each [`Backoff::wait`] sleeps the current
/// delay and doubles it up to the cap; with a bound on attempts, `wait`
/// answers `false` (without sleeping) once they are spent, so the caller
/// gives up on that item (dead-letters it) instead of stalling behind it.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
    waits: u32,
    max_waits: Option<u32>,
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            next: first,
            max,
            waits: 0,
            max_waits: None,
        }
    }

    /// Allows at most `waits` retries.
    pub fn bounded(mut self, waits: u32) -> Self {
        self.max_waits = Some(waits);
        self
    }

    /// The delay the next `wait` sleeps.
    pub fn delay(&self) -> Duration {
        self.next
    }

    /// Retries taken so far.
    pub fn waits(&self) -> u32 {
        self.waits
    }

    /// Whether another retry is allowed.
    pub fn can_retry(&self) -> bool {
        self.max_waits.is_none_or(|max| self.waits < max)
    }

    /// Sleeps the current delay and grows it; `false` when no retry is left.
    pub async fn wait(&mut self) -> bool {
        if !self.can_retry() {
            return false;
        }
        tokio::time::sleep(self.next).await;
        self.waits += 1;
        self.next = (self.next * 2).min(self.max);
        true
    }
}

/// First wait after a retryable publish error, and the cap.
const PUBLISH_FIRST_BACKOFF: Duration = Duration::from_millis(100);
const PUBLISH_MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Publishes `records`, retrying `Full` and `Unavailable` with capped
/// exponential backoff (they pass); returns the first non-retryable error.
pub async fn publish_with_retry(bus: &dyn Bus, topic: &str, records: Vec<Record>) -> Result<(), BusError> {
    let mut backoff = Backoff::new(PUBLISH_FIRST_BACKOFF, PUBLISH_MAX_BACKOFF);
    loop {
        match bus.publish(topic, records.clone()).await {
            Ok(()) => return Ok(()),
            Err(err) if err.is_retryable() => {
                tracing::warn!(topic, error = %err, backoff_ms = backoff.delay().as_millis() as u64, "publish failed, retrying");
                backoff.wait().await;
            }
            Err(err) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn doubles_up_to_the_cap_and_stops_when_bounded() {
        let mut backoff = Backoff::new(Duration::from_millis(1), Duration::from_millis(3)).bounded(4);
        let mut delays = Vec::new();
        while backoff.can_retry() {
            delays.push(backoff.delay());
            assert!(backoff.wait().await);
        }
        assert_eq!(delays, [1, 2, 3, 3].map(Duration::from_millis).to_vec());
        assert!(!backoff.wait().await, "spent");
        assert_eq!(backoff.waits(), 4);
    }
}
