//! One consumer-group member on one topic, on a librdkafka `BaseConsumer`
//! driven from blocking tasks.
//!
//! Semantics: `poll` serves rebalances, so partitions change hands only
//! between two polls; a caller finishes and acknowledges the batch in hand
//! before polling again, and the revoke callback commits what was
//! acknowledged. `ack` stores the next offset of a partition (librdkafka
//! never stores on its own: `enable.auto.offset.store=false`); stored offsets
//! are committed on an interval, on `commit`, on revoke and on close.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{BorrowedMessage, Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

use super::admin::REQUEST_TIMEOUT;
use super::context::{GroupContext, commit_stored};
use super::errors::to_bus_error;
use super::run_blocking;
use crate::api::{BusError, Consumer, Delivery, Record};

/// How long `subscribe` waits for this member's first assignment. Joining a
/// group whose members are busy can take longer; the member then gets its
/// partitions during a later poll.
const JOIN_WAIT: Duration = Duration::from_secs(3);

pub(crate) struct KafkaConsumer {
    /// `None` only while being dropped.
    inner: Option<Arc<BaseConsumer<GroupContext>>>,
    topic: String,
    /// The next offset to consume per partition, as acknowledged here.
    acked: HashMap<i32, i64>,
    /// Whether the first poll released the partitions held since joining.
    released: bool,
}

impl KafkaConsumer {
    /// Wraps a consumer created with [`GroupContext::holding`] and
    /// subscribed, and waits (up to [`JOIN_WAIT`]) until it joined the group.
    /// Its partitions stay paused until the first `poll`, so nothing is
    /// fetched (and later handed to another member) before the caller reads.
    pub(crate) async fn join(inner: BaseConsumer<GroupContext>, topic: &str) -> Result<Self, BusError> {
        let inner = Arc::new(inner);
        let joining = Arc::clone(&inner);
        let joined = run_blocking(move || Ok(wait_for_assignment(&joining, JOIN_WAIT))).await?;
        if !joined {
            tracing::info!(
                topic,
                "kafka consumer not assigned yet; partitions come with a later poll"
            );
        }
        Ok(Self {
            inner: Some(inner),
            topic: topic.to_owned(),
            acked: HashMap::new(),
            released: false,
        })
    }

    fn handle(&self) -> Result<Arc<BaseConsumer<GroupContext>>, BusError> {
        self.inner
            .clone()
            .ok_or_else(|| BusError::Fatal("kafka consumer is closed".into()))
    }
}

fn to_delivery(message: &BorrowedMessage<'_>) -> Delivery {
    let mut record = Record::new(message.key().unwrap_or_default(), message.payload().unwrap_or_default());
    if let Some(headers) = message.headers() {
        for header in headers.iter() {
            record.push_read_header(header.key.as_bytes(), header.value.unwrap_or_default());
        }
    }
    Delivery {
        topic: Arc::from(message.topic()),
        partition: u32::try_from(message.partition()).unwrap_or_default(),
        offset: u64::try_from(message.offset()).unwrap_or_default(),
        record,
    }
}

/// Serves the group protocol until this member holds partitions. With its
/// assignments held (paused) no message arrives here.
fn wait_for_assignment(consumer: &BaseConsumer<GroupContext>, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if let Some(Err(err)) = consumer.poll(Duration::from_millis(50)) {
            tracing::debug!(error = %err, "kafka consumer error while joining");
        }
        if consumer.assignment().is_ok_and(|assignment| assignment.count() > 0) {
            return true;
        }
    }
    false
}

/// Resumes the partitions held since joining, once.
fn release_held(consumer: &BaseConsumer<GroupContext>) -> Result<(), BusError> {
    if consumer.context().release() {
        let assignment = consumer.assignment().map_err(|err| to_bus_error(&err, None))?;
        if assignment.count() > 0 {
            consumer.resume(&assignment).map_err(|err| to_bus_error(&err, None))?;
        }
    }
    Ok(())
}

/// Polls until `max` messages arrived or `wait` passed; once one arrived,
/// only what is already fetched is taken.
fn poll_blocking(consumer: &BaseConsumer<GroupContext>, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
    let deadline = Instant::now() + wait;
    let mut out = Vec::new();
    while out.len() < max {
        let timeout = if out.is_empty() {
            deadline.saturating_duration_since(Instant::now())
        } else {
            Duration::ZERO
        };
        match consumer.poll(timeout) {
            Some(Ok(message)) => out.push(to_delivery(&message)),
            Some(Err(err)) => {
                let mapped = to_bus_error(&err, None);
                if !out.is_empty() || mapped.is_retryable() {
                    // librdkafka retries transport errors itself; hand over
                    // what arrived and let the next poll go on.
                    tracing::warn!(error = %err, "kafka consumer error");
                    if !out.is_empty() {
                        break;
                    }
                    if Instant::now() >= deadline {
                        return Err(mapped);
                    }
                    continue;
                }
                return Err(mapped);
            }
            None if out.is_empty() && Instant::now() < deadline => continue,
            None => break,
        }
    }
    Ok(out)
}

#[async_trait]
impl Consumer for KafkaConsumer {
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let consumer = self.handle()?;
        let release = !self.released;
        let polled = run_blocking(move || {
            if release {
                release_held(&consumer)?;
            }
            poll_blocking(&consumer, max, wait)
        })
        .await;
        self.released = true;
        polled
    }

    async fn ack(&mut self, delivery: &Delivery) -> Result<(), BusError> {
        let partition = i32::try_from(delivery.partition)
            .map_err(|_| BusError::Fatal(format!("partition {} out of range", delivery.partition)))?;
        let next = i64::try_from(delivery.offset)
            .ok()
            .and_then(|offset| offset.checked_add(1))
            .ok_or_else(|| BusError::Fatal(format!("offset {} out of range", delivery.offset)))?;
        let mut list = TopicPartitionList::with_capacity(1);
        list.add_partition_offset(&delivery.topic, partition, Offset::Offset(next))
            .map_err(|err| to_bus_error(&err, Some(&delivery.topic)))?;
        let consumer = self.handle()?;
        match consumer.store_offsets(&list) {
            Ok(()) => {}
            // The partition was revoked since the poll: its next owner reads
            // the record again (at least once), nothing to store here.
            Err(err) if err.rdkafka_error_code() == Some(RDKafkaErrorCode::State) => {
                tracing::debug!(
                    partition,
                    offset = delivery.offset,
                    "ack for a partition no longer held"
                );
                return Ok(());
            }
            Err(err) => return Err(to_bus_error(&err, Some(&delivery.topic))),
        }
        let entry = self.acked.entry(partition).or_insert(next);
        *entry = (*entry).max(next);
        Ok(())
    }

    async fn commit(&mut self) -> Result<(), BusError> {
        let consumer = self.handle()?;
        run_blocking(move || commit_stored(&consumer).map_err(|err| to_bus_error(&err, None))).await
    }

    async fn lag(&mut self) -> Result<u64, BusError> {
        let consumer = self.handle()?;
        let (topic, acked) = (self.topic.clone(), self.acked.clone());
        run_blocking(move || lag_blocking(&consumer, &topic, &acked)).await
    }
}

/// High watermark minus the acknowledged position, over held partitions. The
/// position is the later of this member's acks and the group's commit, or the
/// partition start when neither exists.
fn lag_blocking(
    consumer: &BaseConsumer<GroupContext>,
    topic: &str,
    acked: &HashMap<i32, i64>,
) -> Result<u64, BusError> {
    let assignment = consumer.assignment().map_err(|err| to_bus_error(&err, Some(topic)))?;
    if assignment.count() == 0 {
        return Ok(0);
    }
    let committed = consumer
        .committed_offsets(assignment.clone(), REQUEST_TIMEOUT)
        .map_err(|err| to_bus_error(&err, Some(topic)))?;
    let mut total = 0u64;
    for element in assignment.elements() {
        let partition = element.partition();
        let (low, high) = consumer
            .fetch_watermarks(element.topic(), partition, REQUEST_TIMEOUT)
            .map_err(|err| to_bus_error(&err, Some(topic)))?;
        let committed = committed
            .find_partition(element.topic(), partition)
            .and_then(|entry| entry.offset().to_raw())
            .filter(|offset| *offset >= 0);
        let position = match (acked.get(&partition).copied(), committed) {
            (Some(ours), Some(group)) => ours.max(group),
            (Some(only), None) | (None, Some(only)) => only,
            (None, None) => low,
        };
        total += u64::try_from(high.saturating_sub(position.max(low))).unwrap_or_default();
    }
    Ok(total)
}

impl Drop for KafkaConsumer {
    /// Leaving the group (committing acknowledged offsets on the way) blocks
    /// until the broker answers; done in place so that a member opened right
    /// after this one does not wait for a session timeout.
    fn drop(&mut self) {
        let Some(consumer) = self.inner.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(move || drop(consumer));
            }
            _ => drop(consumer),
        }
    }
}
