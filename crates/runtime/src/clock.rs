//! The wall clock, read in one place.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in unix epoch nanoseconds (0 if the system clock is before 1970).
pub fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| u64::try_from(since.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
