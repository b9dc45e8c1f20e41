//! The windower's backlog: records on the ce topic it has yet to write into
//! the window. A gateway in the same process (`standalone`, or `run
//! --targets gateway,windower`) reads it to refuse intake while the window
//! is too far behind, so an overload is answered with retryable 503s
//! instead of a queue on disk that grows for as long as it lasts and a
//! window that falls minutes behind the alerts that read it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, Default)]
pub struct Backlog(Arc<AtomicU64>);

impl Backlog {
    /// The windower's latest reading of its consumer lag, in records.
    pub fn set(&self, records: u64) {
        self.0.store(records, Ordering::Relaxed);
    }

    pub fn records(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}
