//! Settle on progress, not on the clock: once an alert's settle delay has
//! passed, the assembler notes where each partition of the CE topic ends
//! and waits until the windower's recorded progress has reached those
//! offsets — everything the gateway had accepted by then is in the window —
//! or until `max_settle_ms` runs out, in which case the artifact says how
//! far behind the window was.

use std::time::{Duration, Instant};

use causeway_assembly::WindowProgress;
use causeway_bus::{Bus, PartitionEnd};
use causeway_store::{PartitionProgress, WindowStore};
use tokio_util::sync::CancellationToken;

/// How often progress is read while waiting.
const CHECK_EVERY: Duration = Duration::from_millis(50);

/// Records not yet in the window: per partition, the end offset minus the
/// recorded progress (none recorded: the whole partition).
pub fn lag_records(ends: &[PartitionEnd], progress: &[PartitionProgress]) -> u64 {
    ends.iter()
        .map(|end| {
            let written = progress
                .iter()
                .find(|p| p.partition == end.partition)
                .map_or(0, |p| p.next_offset);
            end.end_offset.saturating_sub(written)
        })
        .sum()
}

/// Waits for the window to reach the CE topic's current end. Errors
/// reading either side count as "not caught up" (and are logged), never
/// as caught up.
pub async fn wait_for_window(
    bus: &dyn Bus,
    window: &dyn WindowStore,
    ce_topic: &str,
    max_wait: Duration,
    shutdown: &CancellationToken,
) -> WindowProgress {
    let ends = match bus.end_offsets(ce_topic).await {
        Ok(ends) => ends,
        Err(err) => {
            tracing::warn!(topic = ce_topic, error = %err, "cannot read the ce topic's end offsets");
            return WindowProgress {
                complete: false,
                lag_records: 0,
            };
        }
    };
    let deadline = Instant::now() + max_wait;
    loop {
        let lag = match window.progress(ce_topic).await {
            Ok(progress) => Some(lag_records(&ends, &progress)),
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the window's progress");
                None
            }
        };
        if lag == Some(0) {
            return WindowProgress::default();
        }
        if Instant::now() >= deadline || shutdown.is_cancelled() {
            return WindowProgress {
                complete: false,
                lag_records: lag.unwrap_or_default(),
            };
        }
        tokio::select! {
            () = tokio::time::sleep(CHECK_EVERY) => {}
            () = shutdown.cancelled() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_sums_what_each_partition_has_not_written() {
        let ends = [
            PartitionEnd {
                partition: 0,
                end_offset: 10,
            },
            PartitionEnd {
                partition: 1,
                end_offset: 0,
            },
            PartitionEnd {
                partition: 2,
                end_offset: 7,
            },
        ];
        let progress = [
            PartitionProgress {
                partition: 0,
                next_offset: 4,
            },
            PartitionProgress {
                partition: 2,
                next_offset: 9,
            },
        ];
        assert_eq!(
            lag_records(&ends, &progress),
            6,
            "6 behind on 0, none on 1 (empty), none on 2"
        );
        assert_eq!(lag_records(&ends, &[]), 17, "nothing recorded: all of it");
    }
}
