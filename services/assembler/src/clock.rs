//! The wall clock, read in one place.

use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
