//! Tunables of the embedded bus.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct EmbeddedBusOptions {
    /// A segment file rolls once it would grow past this size.
    pub segment_bytes: u64,
    /// A whole segment is deleted once every group committed past it and it
    /// was last written this long ago.
    pub retention: Duration,
    /// Hard cap per partition: past it the oldest segments go even if a
    /// group has not consumed them, so the disk stays bounded.
    pub retain_bytes_per_partition: u64,
    /// Records accepted but not yet durable; past it `publish` answers
    /// `BusError::Full`.
    pub max_in_flight_records: usize,
    /// What `BusError::Full` tells callers to wait.
    pub retry_after: Duration,
}

impl Default for EmbeddedBusOptions {
    fn default() -> Self {
        Self {
            segment_bytes: 64 * 1024 * 1024,
            retention: Duration::from_secs(24 * 3600),
            retain_bytes_per_partition: 1024 * 1024 * 1024,
            max_in_flight_records: 100_000,
            retry_after: Duration::from_millis(100),
        }
    }
}
