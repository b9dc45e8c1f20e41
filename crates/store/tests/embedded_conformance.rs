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

/// A write torn by a crash (a frame cut short at the end of a segment) is
/// cut at open; everything before it reads back and new writes go after it.
#[tokio::test]
async fn a_torn_window_write_is_cut_at_open() {
    use causeway_store::conformance::{event, trace};
    use std::io::Write;
    let harness = EmbeddedHarness::new();
    {
        let stores = harness.open().await;
        stores
            .window
            .put_events(&[event("a", 1, 1, "api", 10)], u64::MAX)
            .await
            .expect("put");
    }
    let segments: Vec<_> = std::fs::read_dir(harness.dir.path().join("window"))
        .expect("window directory")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "seg"))
        .collect();
    assert_eq!(segments.len(), 1, "one expiry bucket, one segment: {segments:?}");
    let intact = std::fs::metadata(&segments[0]).expect("segment").len();
    // The header of a 300-byte frame and half its payload.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&segments[0])
        .expect("open");
    file.write_all(&300u32.to_le_bytes()).expect("write");
    file.write_all(&[7u8; 154]).expect("write");
    drop(file);

    let stores = harness.open().await;
    assert_eq!(
        std::fs::metadata(&segments[0]).expect("segment").len(),
        intact,
        "torn tail cut"
    );
    assert_eq!(
        stores.window.trace_events("a", trace(1), 10).await.expect("trace"),
        vec![event("a", 1, 1, "api", 10)]
    );
    stores
        .window
        .put_events(&[event("a", 1, 2, "api", 20)], u64::MAX)
        .await
        .expect("put after the cut");
    drop(stores);
    let stores = harness.open().await;
    assert_eq!(
        stores.window.trace_events("a", trace(1), 10).await.expect("trace"),
        vec![event("a", 1, 1, "api", 10), event("a", 1, 2, "api", 20)]
    );
}

/// The index finds an event in the segment of its expiry's minute, so
/// events found in another segment (a file renamed or copied by hand) are
/// not taken for the window's own: they are skipped at open, and the same
/// events written again read back.
#[tokio::test]
async fn events_outside_their_expiry_segment_are_skipped_at_open() {
    use causeway_store::conformance::{event, trace};
    const MINUTE_NS: u64 = 60_000_000_000;
    let harness = EmbeddedHarness::new();
    let expires_at = 29_920_320 * MINUTE_NS;
    {
        let stores = harness.open().await;
        stores
            .window
            .put_events(&[event("a", 1, 1, "api", 10)], expires_at)
            .await
            .expect("put");
    }
    let window = harness.dir.path().join("window");
    let own = window.join(format!("{:020}.seg", expires_at / MINUTE_NS));
    assert!(own.exists(), "the event is in its expiry's segment");
    std::fs::rename(&own, window.join(format!("{:020}.seg", expires_at / MINUTE_NS + 1))).expect("rename");

    let stores = harness.open().await;
    assert_eq!(
        stores.window.trace_events("a", trace(1), 10).await.expect("trace"),
        vec![],
        "an event outside its expiry's segment is not indexed"
    );
    stores
        .window
        .put_events(&[event("a", 1, 1, "api", 10)], expires_at)
        .await
        .expect("put again");
    assert_eq!(
        stores.window.trace_events("a", trace(1), 10).await.expect("trace"),
        vec![event("a", 1, 1, "api", 10)]
    );
}
