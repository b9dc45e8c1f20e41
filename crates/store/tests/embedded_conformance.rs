//! The store conformance suite on the embedded store.

use async_trait::async_trait;
use causeway_store::conformance::StoreHarness;
use causeway_store::{Stores, open_stores};

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
impl StoreHarness for EmbeddedHarness {
    async fn open(&self) -> Stores {
        open_stores(&format!("embedded://{}", self.dir.path().display()))
            .await
            .expect("open stores")
    }
}

causeway_store::store_conformance_suite!(EmbeddedHarness::new());
