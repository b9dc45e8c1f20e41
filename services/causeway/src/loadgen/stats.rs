//! What a run counts: CEs sent, acknowledged and refused (by reason),
//! retries, and the acknowledgement latency of every request. Latencies
//! are kept one per request (a few bytes each) and the percentiles read
//! exactly from the sorted list.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// Collected by the driver, one entry per request.
#[derive(Debug, Default)]
pub struct Stats {
    pub sent_ces: u64,
    pub acked_ces: u64,
    pub requests: u64,
    pub acked_requests: u64,
    pub retries: u64,
    /// Refused CEs by the gateway's reason.
    pub rejected: BTreeMap<String, u64>,
    /// Microseconds from the first byte sent to the acknowledgement, per
    /// acknowledged request (the last attempt's).
    latencies_us: Vec<u64>,
}

impl Stats {
    pub fn acked(&mut self, events: usize, latency: Duration) {
        self.requests += 1;
        self.acked_requests += 1;
        self.sent_ces += events as u64;
        self.acked_ces += events as u64;
        self.latencies_us
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn refused(&mut self, events: usize, reason: &str) {
        self.requests += 1;
        self.sent_ces += events as u64;
        *self.rejected.entry(reason.to_owned()).or_default() += events as u64;
    }

    pub fn rejected_ces(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Percentiles of the acknowledgement latency, in milliseconds.
    pub fn latency(&self) -> Latency {
        let mut sorted = self.latencies_us.clone();
        sorted.sort_unstable();
        let at = |quantile: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            // Nearest rank: the smallest value with at least `quantile` of the samples at or below it.
            let rank = (quantile * sorted.len() as f64).ceil() as usize;
            sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1000.0
        };
        Latency {
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: at(1.0),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_nearest_rank_percentiles() {
        let mut stats = Stats::default();
        for ms in 1..=1000 {
            stats.acked(10, Duration::from_millis(ms));
        }
        stats.refused(5, "unavailable");
        stats.refused(7, "unavailable");
        stats.refused(1, "invalid_field");
        assert_eq!(
            (stats.sent_ces, stats.acked_ces, stats.rejected_ces()),
            (10_013, 10_000, 13)
        );
        assert_eq!(stats.rejected["unavailable"], 12);
        assert_eq!((stats.requests, stats.acked_requests), (1003, 1000));
        let latency = stats.latency();
        assert_eq!(
            (latency.p50, latency.p99, latency.p999, latency.max),
            (500.0, 990.0, 999.0, 1000.0)
        );
        assert_eq!(Stats::default().latency().p99, 0.0);
    }
}
