//! The bus conformance suite on a real Kafka-protocol broker.

mod kafka_support;

use std::sync::Arc;

use async_trait::async_trait;
use causeway_bus::Bus;
use causeway_bus::conformance::BusHarness;
use kafka_support::{GroupScopedBus, broker, open, unique_prefix};

struct KafkaHarness {
    bootstrap: String,
    prefix: String,
}

impl KafkaHarness {
    fn from_env() -> Option<Self> {
        let bootstrap = broker("conformance")?;
        Some(Self {
            bootstrap,
            prefix: unique_prefix("conf"),
        })
    }

    fn scoped(&self, properties: &str) -> Arc<dyn Bus> {
        Arc::new(GroupScopedBus {
            inner: Arc::new(open(&self.bootstrap, properties)),
            group_prefix: self.prefix.clone(),
        })
    }
}

#[async_trait]
impl BusHarness for KafkaHarness {
    async fn open(&self) -> Arc<dyn Bus> {
        self.scoped("")
    }

    /// A one-message local queue: concurrent publishes overflow it at once.
    async fn open_constrained(&self) -> Option<Arc<dyn Bus>> {
        Some(self.scoped("queue.buffering.max.messages=1&linger.ms=20"))
    }

    fn topic(&self, base: &str) -> String {
        format!("{}.{base}", self.prefix)
    }
}

// A missing broker returns from each case before it runs (SKIPPED outside
// CI, a failure in CI).
causeway_bus::bus_conformance_suite!(match KafkaHarness::from_env() {
    Some(harness) => harness,
    None => return,
});
