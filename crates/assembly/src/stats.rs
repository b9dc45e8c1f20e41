//! Integer statistics: per-mille ratios and nearest-rank percentiles, so
//! every number in the artifact is exact and reproducible.

use crate::artifact::CallStats;

/// `part * 1000 / whole`, floored; 0 when `whole` is 0.
pub fn per_mille(part: u64, whole: u64) -> u32 {
    if whole == 0 {
        return 0;
    }
    let value = u128::from(part) * 1000 / u128::from(whole);
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Nearest-rank percentile of sorted values: the value at rank
/// `ceil(p * n / 100)` (1-based, at least 1). 0 for no values.
pub fn nearest_rank(sorted: &[u64], percentile: u64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let n = sorted.len() as u64;
    let rank = (percentile * n).div_ceil(100).clamp(1, n);
    sorted[(rank - 1) as usize]
}

/// Caller-side statistics over `(duration_ns, non_success)` samples.
pub fn call_stats(samples: impl IntoIterator<Item = (u64, bool)>) -> CallStats {
    let mut durations = Vec::new();
    let mut errors = 0u64;
    for (duration, failed) in samples {
        durations.push(duration);
        errors += u64::from(failed);
    }
    durations.sort_unstable();
    let calls = durations.len() as u64;
    CallStats {
        calls,
        errors,
        error_rate_per_mille: per_mille(errors, calls),
        p50_ns: nearest_rank(&durations, 50),
        p95_ns: nearest_rank(&durations, 95),
        p99_ns: nearest_rank(&durations, 99),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_matches_the_textbook_definition() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(nearest_rank(&values, 50), 50);
        assert_eq!(nearest_rank(&values, 95), 95);
        assert_eq!(nearest_rank(&values, 99), 99);
        assert_eq!(nearest_rank(&[7], 99), 7);
        assert_eq!(nearest_rank(&[1, 2, 3], 50), 2);
        assert_eq!(nearest_rank(&[], 50), 0);
    }

    #[test]
    fn per_mille_floors_and_handles_zero() {
        assert_eq!(per_mille(1, 3), 333);
        assert_eq!(per_mille(2, 3), 666);
        assert_eq!(per_mille(5, 0), 0);
        assert_eq!(per_mille(u64::MAX, u64::MAX), 1000);
    }

    #[test]
    fn call_stats_counts_errors() {
        let stats = call_stats([(10, false), (30, true), (20, false), (40, true)]);
        assert_eq!(stats.calls, 4);
        assert_eq!(stats.errors, 2);
        assert_eq!(stats.error_rate_per_mille, 500);
        assert_eq!(stats.p50_ns, 20);
        assert_eq!(stats.p99_ns, 40);
    }
}
