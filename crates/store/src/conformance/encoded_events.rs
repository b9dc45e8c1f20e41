//! Events put as the bus records hold them (`put_encoded_events`, the
//! windower's path) are stored, indexed and expired as `put_events` stores
//! them, and the two paths share one copy of each event.

use std::sync::Arc;

use causeway_model::{EncodedEvents, Kind};

use super::{StoreHarness, event, trace};
use crate::api::FailureRef;

/// Mixed-tenant, mixed-path writes read back whole through every index,
/// once each; the later expiry of either path holds; the same after a reopen.
pub async fn encoded_events_store_as_put_events_do(harness: &dyn StoreHarness) {
    let mut call = event("a", 1, 2, "api", 120);
    call.kind = Kind::HttpOut;
    call.peer = Some("ledger".into());
    call.status = 503;
    call.parent_ce_id = Some(event("a", 1, 1, "api", 100).ce_id);
    call.operation = None;
    let events = vec![event("a", 1, 1, "api", 100), call.clone(), event("b", 1, 3, "db", 130)];
    let encoded = Arc::new(EncodedEvents::from_events(&events).expect("readable events"));
    {
        let stores = harness.open().await;
        stores
            .window
            .put_encoded_events(encoded, 1_000)
            .await
            .expect("put encoded");
        stores.window.put_events(&events, 1_000).await.expect("put owned");
        let first = Arc::new(EncodedEvents::from_events(&events[..1]).expect("readable events"));
        stores
            .window
            .put_encoded_events(first, 2_000)
            .await
            .expect("put encoded with a later expiry");
        stores
            .window
            .put_encoded_events(Arc::new(EncodedEvents::new()), 2_000)
            .await
            .expect("put nothing");
    }
    let stores = harness.open().await;
    assert_eq!(
        stores.window.trace_events("a", trace(1), 100).await.expect("trace"),
        events[..2].to_vec(),
        "one copy each, every field as written"
    );
    assert_eq!(
        stores.window.trace_events("b", trace(1), 100).await.expect("trace"),
        events[2..].to_vec()
    );
    assert_eq!(
        stores.window.failures("a", 0, u64::MAX, 10).await.expect("failures"),
        vec![FailureRef {
            trace_id: call.trace_id,
            ce_id: call.ce_id,
            service: call.service.clone(),
            start_unix_ns: call.start_unix_ns,
            end_unix_ns: call.end_unix_ns(),
        }]
    );
    let calls = stores
        .window
        .peer_calls("a", "ledger", 0, u64::MAX, 10)
        .await
        .expect("peer calls");
    assert_eq!(calls.len(), 1);
    assert_eq!((calls[0].ce_id, calls[0].non_success), (call.ce_id, true));
    assert_eq!(
        stores.window.expire(1_000).await.expect("expire"),
        2,
        "the event re-written later keeps its later expiry"
    );
    assert_eq!(
        stores.window.trace_events("a", trace(1), 100).await.expect("trace"),
        events[..1].to_vec()
    );
    assert!(
        stores
            .window
            .trace_events("b", trace(1), 100)
            .await
            .expect("trace")
            .is_empty()
    );
}
