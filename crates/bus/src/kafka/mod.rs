//! The Kafka bus: `kafka://host:port[,host:port]?key=value&…` on librdkafka.
//!
//! - Publishing is idempotent with `acks=all`; a call returns when every
//!   record is acknowledged. A full local queue is `BusError::Full`
//!   (backpressure), transport trouble `Unavailable`, and an explicit list of
//!   errors (authentication, authorization, configuration, oversized records,
//!   a fenced producer) `Fatal`.
//! - Records with the same key land in the same partition (librdkafka's
//!   default partitioner hashes the key).
//! - Consumers are group members that store an offset only when the caller
//!   acknowledges the record; see `consumer` for the rebalance semantics.
//! - Topics are created through the admin API (`ensure_topics`); nothing is
//!   auto-created.
//!
//! All librdkafka usage stays inside this module.

mod admin;
mod config;
mod consumer;
mod context;
mod errors;
mod producer;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rdkafka::admin::AdminClient;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::producer::{FutureProducer, Producer as _};

pub use admin::{PartitionInfo, TopicInfo};
pub use config::KafkaUrl;

use self::admin::REQUEST_TIMEOUT;
use self::consumer::KafkaConsumer;
use self::context::{GroupContext, TracingContext};
use self::errors::to_bus_error;
use crate::api::{Bus, BusError, Consumer, PartitionEnd, Record, TopicSpec};

/// The bus on a Kafka-protocol cluster.
pub struct KafkaBus {
    url: KafkaUrl,
    producer: FutureProducer<TracingContext>,
    admin: Arc<AdminClient<TracingContext>>,
    /// Topics seen in the cluster metadata, so a publish checks a topic's
    /// existence once instead of waiting out a delivery timeout.
    known_topics: Mutex<HashSet<String>>,
}

impl KafkaBus {
    /// Connects lazily: building the clients does not reach the brokers, so
    /// a bad address shows up as `Unavailable` on first use (and in
    /// `ready`), while a bad property fails here as `Fatal`.
    pub fn open(url: &str) -> Result<Self, BusError> {
        Self::from_url(KafkaUrl::parse(url)?)
    }

    pub fn from_url(url: KafkaUrl) -> Result<Self, BusError> {
        let producer = url
            .producer()
            .create_with_context(TracingContext)
            .map_err(|err| to_bus_error(&err, None))?;
        let admin = url
            .base()
            .create_with_context(TracingContext)
            .map_err(|err| to_bus_error(&err, None))?;
        Ok(Self {
            url,
            producer,
            admin: Arc::new(admin),
            known_topics: Mutex::new(HashSet::new()),
        })
    }

    /// Describes `topics` (partitions, leaders, replicas, watermarks); a
    /// missing topic has `partitions: None`.
    pub async fn describe_topics(&self, topics: &[String]) -> Result<Vec<TopicInfo>, BusError> {
        let (admin, topics) = (Arc::clone(&self.admin), topics.to_vec());
        run_blocking(move || admin::describe(admin.inner(), &topics)).await
    }

    /// Waits until every record handed to the producer is delivered or failed
    /// (for shutdown).
    pub async fn flush(&self) -> Result<(), BusError> {
        let producer = self.producer.clone();
        run_blocking(move || producer.flush(REQUEST_TIMEOUT).map_err(|err| to_bus_error(&err, None))).await
    }

    async fn check_topic(&self, topic: &str) -> Result<(), BusError> {
        if self.is_known(topic) {
            return Ok(());
        }
        let (admin, name) = (Arc::clone(&self.admin), topic.to_owned());
        if run_blocking(move || admin::topic_exists(admin.inner(), &name)).await? {
            self.remember(topic);
            Ok(())
        } else {
            Err(BusError::UnknownTopic(topic.to_owned()))
        }
    }

    fn is_known(&self, topic: &str) -> bool {
        self.known_topics
            .lock()
            .map(|known| known.contains(topic))
            .unwrap_or(false)
    }

    fn remember(&self, topic: &str) {
        if let Ok(mut known) = self.known_topics.lock() {
            known.insert(topic.to_owned());
        }
    }
}

#[async_trait]
impl Bus for KafkaBus {
    async fn ensure_topics(&self, topics: &[TopicSpec]) -> Result<(), BusError> {
        admin::create_missing(&self.admin, topics).await?;
        for spec in topics {
            self.remember(&spec.name);
        }
        Ok(())
    }

    async fn publish(&self, topic: &str, records: Vec<Record>) -> Result<(), BusError> {
        if records.is_empty() {
            return Ok(());
        }
        self.check_topic(topic).await?;
        producer::publish(&self.producer, topic, records).await
    }

    async fn subscribe(&self, topic: &str, group: &str) -> Result<Box<dyn Consumer>, BusError> {
        self.check_topic(topic).await?;
        let consumer: BaseConsumer<GroupContext> = self
            .url
            .consumer(group)
            .create_with_context(GroupContext::holding())
            .map_err(|err| to_bus_error(&err, Some(topic)))?;
        consumer
            .subscribe(&[topic])
            .map_err(|err| to_bus_error(&err, Some(topic)))?;
        Ok(Box::new(KafkaConsumer::join(consumer, topic).await?))
    }

    async fn end_offsets(&self, topic: &str) -> Result<Vec<PartitionEnd>, BusError> {
        let described = self.describe_topics(&[topic.to_owned()]).await?;
        let partitions = described
            .into_iter()
            .find(|info| info.name == topic)
            .and_then(|info| info.partitions)
            .ok_or_else(|| BusError::UnknownTopic(topic.to_owned()))?;
        let mut ends: Vec<PartitionEnd> = partitions
            .iter()
            .map(|partition| PartitionEnd {
                partition: u32::try_from(partition.id).unwrap_or_default(),
                end_offset: u64::try_from(partition.high_watermark).unwrap_or_default(),
            })
            .collect();
        ends.sort_unstable();
        Ok(ends)
    }

    async fn ready(&self) -> bool {
        let admin = Arc::clone(&self.admin);
        run_blocking(move || {
            admin
                .inner()
                .fetch_metadata(None, std::time::Duration::from_secs(2))
                .map(|metadata| !metadata.brokers().is_empty())
                .map_err(|err| to_bus_error(&err, None))
        })
        .await
        .unwrap_or(false)
    }
}

/// Runs a blocking librdkafka call off the async workers.
pub(crate) async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, BusError> + Send + 'static,
) -> Result<T, BusError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| BusError::Unavailable(format!("kafka worker task failed: {err}")))?
}
