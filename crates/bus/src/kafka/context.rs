//! librdkafka callbacks: log lines and client errors go to `tracing`, and a
//! consumer commits what its caller acknowledged before partitions are
//! revoked.

use std::sync::atomic::{AtomicBool, Ordering};

use rdkafka::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// Routes librdkafka's log lines and errors into `tracing`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TracingContext;

impl ClientContext for TracingContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical | RDKafkaLogLevel::Error => {
                tracing::error!(facility, message, "librdkafka")
            }
            RDKafkaLogLevel::Warning => tracing::warn!(facility, message, "librdkafka"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => tracing::info!(facility, message, "librdkafka"),
            RDKafkaLogLevel::Debug => tracing::debug!(facility, message, "librdkafka"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // Transport errors are retried by librdkafka itself; they are worth a
        // warning, not an error, unless the client is dead for good.
        match error.rdkafka_error_code() {
            Some(RDKafkaErrorCode::Fatal) => tracing::error!(error = %error, reason, "kafka client fatal error"),
            _ => tracing::warn!(error = %error, reason, "kafka client error"),
        }
    }
}

/// A consumer's callbacks. Rebalances run inside `poll`, so the batch a
/// caller holds is finished (and acknowledged) before the next `poll` can
/// hand its partitions away; on revoke, whatever was acknowledged is
/// committed synchronously so the next owner starts right after it.
#[derive(Debug, Default)]
pub(crate) struct GroupContext {
    /// While set, assigned partitions are paused at once: a member that has
    /// joined but not polled yet fetches nothing, so members joining one
    /// after another split the records instead of the first one prefetching
    /// them all.
    hold_assignments: AtomicBool,
}

impl GroupContext {
    pub(crate) fn holding() -> Self {
        Self {
            hold_assignments: AtomicBool::new(true),
        }
    }

    /// Stops pausing new assignments; returns whether it was pausing.
    pub(crate) fn release(&self) -> bool {
        self.hold_assignments.swap(false, Ordering::SeqCst)
    }
}

impl ClientContext for GroupContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        TracingContext.log(level, facility, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        TracingContext.error(error, reason);
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(partitions) => {
                tracing::info!(
                    partitions = partitions.count(),
                    "kafka partitions revoked; committing acknowledged offsets"
                );
                // A failure is logged inside; the next owner then re-reads
                // from the last commit (at least once).
                let _ = commit_stored(consumer);
            }
            Rebalance::Assign(partitions) => {
                tracing::info!(partitions = partitions.count(), "kafka partitions assigned");
            }
            Rebalance::Error(err) => tracing::warn!(error = %err, "kafka rebalance error"),
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance
            && self.hold_assignments.load(Ordering::SeqCst)
            && let Err(err) = consumer.pause(partitions)
        {
            tracing::warn!(error = %err, "kafka: pausing partitions until the first poll failed");
        }
    }

    fn commit_callback(&self, result: Result<(), KafkaError>, _offsets: &rdkafka::TopicPartitionList) {
        if let Err(err) = result
            && !is_nothing_to_commit(&err)
        {
            tracing::warn!(error = %err, "kafka offset commit failed");
        }
    }
}

/// Commits the offsets stored by `ack`; having nothing to commit is fine.
pub(crate) fn commit_stored(consumer: &BaseConsumer<GroupContext>) -> Result<(), KafkaError> {
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Err(err) if is_nothing_to_commit(&err) => Ok(()),
        Err(err) => {
            tracing::warn!(error = %err, "kafka offset commit failed");
            Err(err)
        }
        Ok(()) => Ok(()),
    }
}

fn is_nothing_to_commit(err: &KafkaError) -> bool {
    err.rdkafka_error_code() == Some(RDKafkaErrorCode::NoOffset)
}
