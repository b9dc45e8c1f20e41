//! The bus conformance suite on the embedded bus.

use std::sync::Arc;

use async_trait::async_trait;
use causeway_bus::conformance::BusHarness;
use causeway_bus::{Bus, EmbeddedBus, EmbeddedBusOptions};

struct EmbeddedHarness {
    dir: tempfile::TempDir,
}

impl EmbeddedHarness {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
}

#[async_trait]
impl BusHarness for EmbeddedHarness {
    async fn open(&self) -> Arc<dyn Bus> {
        Arc::new(EmbeddedBus::open(self.dir.path()).await.expect("open bus"))
    }

    async fn open_constrained(&self) -> Option<Arc<dyn Bus>> {
        let options = EmbeddedBusOptions {
            // About two small records' frames.
            max_in_flight_bytes: 64,
            ..EmbeddedBusOptions::default()
        };
        Some(Arc::new(
            EmbeddedBus::open_with(self.dir.path(), options)
                .await
                .expect("open bus"),
        ))
    }
}

causeway_bus::bus_conformance_suite!(EmbeddedHarness::new());
