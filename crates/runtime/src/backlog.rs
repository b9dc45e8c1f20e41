//! The windower's backlog: records on the ce topic it has yet to write into
//! the window. A gateway in the same process (`standalone`, or `run
//! --targets gateway,windower`) reads it to refuse intake while the window
//! is too far behind, so an overload is answered with retryable 503s
//! instead of a queue on disk that grows for as long as it lasts and a
//! window that falls minutes behind the alerts that read it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Shared by the windower, which reads its lag every so often, and the
/// gateway, which counts what it publishes meanwhile: between two readings
/// the backlog is the last reading plus what was published since, so a
/// fast gateway cannot run far past the limit before the next reading.
#[derive(Debug, Clone, Default)]
pub struct Backlog(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    /// The windower's latest reading of its consumer lag, in records.
    lag: AtomicU64,
    /// Records the gateway has published, ever.
    published: AtomicU64,
    /// `published` when that reading began.
    published_at_reading: AtomicU64,
}

impl Backlog {
    /// Where a reading begins: pass it to [`Backlog::set`] with the lag
    /// read after it. Records published before it are in that lag; those
    /// published after it are counted on top (a few twice, never none).
    pub fn mark(&self) -> u64 {
        self.0.published.load(Ordering::Relaxed)
    }

    /// The windower's lag, read after `mark`.
    pub fn set(&self, records: u64, mark: u64) {
        self.0.lag.store(records, Ordering::Relaxed);
        self.0.published_at_reading.store(mark, Ordering::Relaxed);
    }

    /// Records the gateway has just published to the topic the lag is of.
    pub fn published(&self, records: u64) {
        self.0.published.fetch_add(records, Ordering::Relaxed);
    }

    /// The backlog now: the last reading, plus what was published since.
    pub fn records(&self) -> u64 {
        let since = self
            .0
            .published
            .load(Ordering::Relaxed)
            .saturating_sub(self.0.published_at_reading.load(Ordering::Relaxed));
        self.0.lag.load(Ordering::Relaxed).saturating_add(since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_published_since_a_reading_count_until_the_next() {
        let backlog = Backlog::default();
        backlog.set(100, backlog.mark());
        backlog.published(30);
        assert_eq!(backlog.records(), 130);
        // Those 30 are in a reading that begins now; 5 published after it
        // began count on top, since the reading may have missed them.
        let mark = backlog.mark();
        backlog.published(5);
        backlog.set(120, mark);
        assert_eq!(backlog.records(), 125);
        backlog.set(0, backlog.mark());
        assert_eq!(backlog.records(), 0);
    }
}
