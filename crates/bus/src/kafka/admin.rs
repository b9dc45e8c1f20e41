//! Topic administration: creating missing topics (brokers run with
//! `auto.create.topics.enable=false`), checking that a topic exists, and describing topics for
//! operators.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::Client;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::metadata::Metadata;

use super::context::TracingContext;
use super::errors::{from_code, to_bus_error};
use super::run_blocking;
use crate::api::{BusError, TopicSpec};

/// How long one metadata or admin request may take.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One partition as the cluster reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionInfo {
    pub id: i32,
    pub leader: i32,
    pub replicas: Vec<i32>,
    pub in_sync_replicas: Vec<i32>,
    /// The first offset still held.
    pub low_watermark: i64,
    /// The offset the next record will get.
    pub high_watermark: i64,
}

/// A topic as the cluster reports it; `None` partitions: it does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: Option<Vec<PartitionInfo>>,
}

/// Creates the topics of `specs` that are missing and waits until the
/// cluster's metadata shows them.
pub(crate) async fn create_missing(
    admin: &Arc<AdminClient<TracingContext>>,
    specs: &[TopicSpec],
) -> Result<(), BusError> {
    if specs.is_empty() {
        return Ok(());
    }
    let options = AdminOptions::new()
        .request_timeout(Some(REQUEST_TIMEOUT))
        .operation_timeout(Some(REQUEST_TIMEOUT));
    // One topic per request: a failure names its topic, and startup creates
    // only a handful.
    for spec in specs {
        let new_topic = NewTopic::new(
            &spec.name,
            i32::try_from(spec.partitions).unwrap_or(i32::MAX),
            TopicReplication::Fixed(i32::from(spec.replication)),
        );
        let results = admin
            .create_topics([&new_topic], &options)
            .await
            .map_err(|err| to_bus_error(&err, Some(&spec.name)))?;
        for result in results {
            match result {
                Ok(name) => tracing::info!(topic = %name, "kafka topic created"),
                Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((name, code)) => {
                    return Err(from_code(code, &format!("creating topic {name}: {code}"), Some(&name)));
                }
            }
        }
    }
    for spec in specs {
        wait_until_visible(admin, &spec.name).await?;
    }
    Ok(())
}

async fn wait_until_visible(admin: &Arc<AdminClient<TracingContext>>, topic: &str) -> Result<(), BusError> {
    let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
    loop {
        let (admin, name) = (Arc::clone(admin), topic.to_owned());
        match run_blocking(move || topic_exists(admin.inner(), &name)).await {
            Ok(true) => return Ok(()),
            Ok(false) | Err(BusError::Unavailable(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(false) => {
                return Err(BusError::Unavailable(format!(
                    "topic {topic} was created but is not in the cluster metadata yet"
                )));
            }
            Err(err) => return Err(err),
        }
    }
}

/// Whether `topic` exists with at least one partition. Blocks for one
/// metadata round trip: call it from a blocking context or accept the wait.
pub(crate) fn topic_exists<C: rdkafka::ClientContext>(client: &Client<C>, topic: &str) -> Result<bool, BusError> {
    let metadata = client
        .fetch_metadata(Some(topic), REQUEST_TIMEOUT)
        .map_err(|err| to_bus_error(&err, Some(topic)))?;
    Ok(metadata_has_topic(&metadata, topic))
}

fn metadata_has_topic(metadata: &Metadata, topic: &str) -> bool {
    metadata
        .topics()
        .iter()
        .any(|entry| entry.name() == topic && entry.error().is_none() && !entry.partitions().is_empty())
}

/// Describes `topics`, with each partition's leader, replicas and
/// watermarks. Blocking: one metadata request plus one per partition.
pub(crate) fn describe<C: rdkafka::ClientContext>(
    client: &Client<C>,
    topics: &[String],
) -> Result<Vec<TopicInfo>, BusError> {
    let mut out = Vec::with_capacity(topics.len());
    for name in topics {
        let metadata = client
            .fetch_metadata(Some(name), REQUEST_TIMEOUT)
            .map_err(|err| to_bus_error(&err, Some(name)))?;
        let Some(entry) = metadata
            .topics()
            .iter()
            .find(|entry| entry.name() == name && entry.error().is_none() && !entry.partitions().is_empty())
        else {
            out.push(TopicInfo {
                name: name.clone(),
                partitions: None,
            });
            continue;
        };
        let mut partitions = Vec::with_capacity(entry.partitions().len());
        for partition in entry.partitions() {
            let (low, high) = fetch_watermarks(client, name, partition.id())?;
            partitions.push(PartitionInfo {
                id: partition.id(),
                leader: partition.leader(),
                replicas: partition.replicas().to_vec(),
                in_sync_replicas: partition.isr().to_vec(),
                low_watermark: low,
                high_watermark: high,
            });
        }
        partitions.sort_by_key(|partition| partition.id);
        out.push(TopicInfo {
            name: name.clone(),
            partitions: Some(partitions),
        });
    }
    Ok(out)
}

/// How often a watermark fetch is retried while a partition has no leader.
const LEADER_ELECTION_ATTEMPTS: u32 = 20;

/// Fetches one partition's watermarks. Right after a topic is created, and
/// during any leader election, the broker answers "not leader" for a moment:
/// that is retried for about two seconds rather than surfaced to callers that
/// would only retry it themselves. Blocking.
fn fetch_watermarks<C: rdkafka::ClientContext>(
    client: &Client<C>,
    topic: &str,
    partition: i32,
) -> Result<(i64, i64), BusError> {
    let mut attempt = 1;
    loop {
        match client.fetch_watermarks(topic, partition, REQUEST_TIMEOUT) {
            Ok(marks) => return Ok(marks),
            Err(err)
                if attempt < LEADER_ELECTION_ATTEMPTS
                    && matches!(
                        err.rdkafka_error_code(),
                        Some(RDKafkaErrorCode::NotLeaderForPartition | RDKafkaErrorCode::LeaderNotAvailable)
                    ) =>
            {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(err) => return Err(to_bus_error(&err, Some(topic))),
        }
    }
}
