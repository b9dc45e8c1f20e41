//! Shared setup of the Kafka bus tests: the broker comes from
//! `CAUSEWAY_TEST_KAFKA` (`scripts/test.sh` starts one); every test gets its
//! own topic prefix and consumer-group prefix, since the broker is shared.

#![allow(dead_code)]

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use causeway_bus::{Bus, BusError, Consumer, KafkaBus, PartitionEnd, Record, TopicSpec};

/// The broker's bootstrap address, or `None` (after saying SKIPPED) when no
/// broker was given outside CI. In CI a missing broker fails the test.
pub fn broker(test: &str) -> Option<String> {
    match std::env::var("CAUSEWAY_TEST_KAFKA") {
        Ok(bootstrap) if !bootstrap.is_empty() => Some(bootstrap),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CAUSEWAY_TEST_KAFKA is not set in CI: scripts/test.sh must start the broker")
        }
        _ => {
            // Straight to stderr: the test harness captures println! of passing
            // tests, and a skip must show in the output.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: kafka: CAUSEWAY_TEST_KAFKA not set (scripts/test.sh starts a broker) [{test}]"
            );
            None
        }
    }
}

/// A name no other test (or earlier run against the same broker) uses.
pub fn unique_prefix(test: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!(
        "t{}-{}-{}-{}",
        nanos % 1_000_000_000_000,
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        test
    )
}

pub fn spec(name: &str, partitions: u32) -> TopicSpec {
    TopicSpec {
        name: name.to_owned(),
        partitions,
        replication: 1,
    }
}

/// A bus whose consumer groups are renamed under a prefix, so tests that
/// all say group "g" do not join one group across topics (a shared group
/// would rebalance every test's members together).
pub struct GroupScopedBus {
    pub inner: Arc<dyn Bus>,
    pub group_prefix: String,
}

#[async_trait]
impl Bus for GroupScopedBus {
    async fn ensure_topics(&self, topics: &[TopicSpec]) -> Result<(), BusError> {
        self.inner.ensure_topics(topics).await
    }

    async fn publish(&self, topic: &str, records: Vec<Record>) -> Result<(), BusError> {
        self.inner.publish(topic, records).await
    }

    async fn subscribe(&self, topic: &str, group: &str) -> Result<Box<dyn Consumer>, BusError> {
        self.inner
            .subscribe(topic, &format!("{}.{group}", self.group_prefix))
            .await
    }

    async fn end_offsets(&self, topic: &str) -> Result<Vec<PartitionEnd>, BusError> {
        self.inner.end_offsets(topic).await
    }
    async fn ready(&self) -> bool {
        self.inner.ready().await
    }
}

pub fn open(bootstrap: &str, properties: &str) -> KafkaBus {
    let url = if properties.is_empty() {
        format!("kafka://{bootstrap}")
    } else {
        format!("kafka://{bootstrap}?{properties}")
    };
    KafkaBus::open(&url).expect("open kafka bus")
}
