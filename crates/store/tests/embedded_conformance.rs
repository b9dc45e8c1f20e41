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

/// A backlog larger than one expiry transaction goes in several, all of it.
#[tokio::test]
async fn expiry_of_a_long_backlog_takes_every_expired_event() {
    use causeway_store::conformance::event;
    let harness = EmbeddedHarness::new();
    let stores = harness.open().await;
    let total: u64 = 25_000;
    let events: Vec<_> = (0..total).map(|n| event("a", n % 50, n, "api", n)).collect();
    for chunk in events.chunks(5_000) {
        stores.window.put_events(chunk, 100).await.expect("put");
    }
    stores
        .window
        .put_events(&[event("a", 999, total, "api", total)], 500)
        .await
        .expect("put");
    assert_eq!(stores.window.expire(200).await.expect("expire"), total);
    let left = stores.window.window_events("a", 0, u64::MAX, 10).await.expect("window");
    assert_eq!(
        left,
        vec![event("a", 999, total, "api", total)],
        "only the unexpired event is left"
    );
}
