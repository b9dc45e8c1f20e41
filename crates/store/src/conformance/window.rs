//! Window cases: events, their indexes, expiry and notices.

use causeway_model::CeId;

use super::{StoreHarness, event, trace};
use crate::api::ServiceNotice;

pub async fn put_events_is_idempotent(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let events = vec![event("a", 1, 1, "api", 100), event("a", 1, 2, "db", 110)];
    stores.window.put_events(&events, 1_000).await.expect("put");
    stores.window.put_events(&events, 1_000).await.expect("put again");
    stores
        .window
        .put_events(&events[..1], 2_000)
        .await
        .expect("put with a later expiry");
    assert_eq!(
        stores.window.trace_events("a", trace(1), 100).await.expect("trace"),
        events,
        "one copy each"
    );
    assert_eq!(
        stores
            .window
            .window_events("a", 0, u64::MAX, 100)
            .await
            .expect("window")
            .len(),
        2
    );
    assert_eq!(
        stores
            .window
            .service_traces("a", "api", 0, u64::MAX, 10)
            .await
            .expect("traces"),
        vec![trace(1)]
    );
    assert_eq!(
        stores.window.expire(1_000).await.expect("expire"),
        1,
        "the re-written event keeps its later expiry"
    );
    assert_eq!(
        stores.window.trace_events("a", trace(1), 100).await.expect("trace"),
        events[..1].to_vec()
    );
    assert_eq!(stores.window.expire(2_000).await.expect("expire"), 1);
    assert!(
        stores
            .window
            .window_events("a", 0, u64::MAX, 100)
            .await
            .expect("window")
            .is_empty()
    );
}

pub async fn trace_events_are_ordered_by_ce_id(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let batch = vec![
        event("a", 7, 30, "api", 5),
        event("a", 7, 10, "api", 9),
        event("a", 8, 20, "api", 1),
    ];
    stores.window.put_events(&batch, u64::MAX).await.expect("put");
    let got = stores.window.trace_events("a", trace(7), 100).await.expect("trace");
    assert_eq!(got, vec![batch[1].clone(), batch[0].clone()]);
    assert!(
        stores
            .window
            .trace_events("a", trace(99), 100)
            .await
            .expect("trace")
            .is_empty()
    );
}

pub async fn service_traces_range_and_limit(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let mut events = Vec::new();
    for n in 0..10u64 {
        events.push(event("a", 10 - n, n, "api", 1_000 + n * 10));
        events.push(event("a", 10 - n, 100 + n, "db", 1_000 + n * 10));
    }
    stores.window.put_events(&events, u64::MAX).await.expect("put");
    // Starts 1_020..=1_050 are events n = 2..=5, traces 8, 7, 6, 5.
    let got = stores
        .window
        .service_traces("a", "api", 1_020, 1_050, 10)
        .await
        .expect("traces");
    assert_eq!(
        got,
        vec![trace(5), trace(6), trace(7), trace(8)],
        "ascending, bounds inclusive"
    );
    let limited = stores
        .window
        .service_traces("a", "api", 1_020, 1_050, 2)
        .await
        .expect("traces");
    assert_eq!(limited, vec![trace(5), trace(6)]);
    assert!(
        stores
            .window
            .service_traces("a", "web", 0, u64::MAX, 10)
            .await
            .expect("traces")
            .is_empty()
    );
    assert!(
        stores
            .window
            .service_traces("a", "api", 2_000, 3_000, 10)
            .await
            .expect("traces")
            .is_empty()
    );
}

pub async fn window_events_ordered_by_start_then_id(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let events = vec![
        event("a", 1, 5, "api", 300),
        event("a", 1, 2, "api", 100),
        event("a", 2, 9, "api", 200),
        event("a", 2, 1, "api", 200),
        event("a", 3, 3, "api", 500),
    ];
    stores.window.put_events(&events, u64::MAX).await.expect("put");
    let got = stores.window.window_events("a", 100, 300, 100).await.expect("window");
    let ids: Vec<CeId> = got.iter().map(|e| e.ce_id).collect();
    assert_eq!(
        ids,
        vec![events[1].ce_id, events[3].ce_id, events[2].ce_id, events[0].ce_id]
    );
    // A cut keeps the events nearest the end of the range (the alert).
    let limited = stores.window.window_events("a", 0, u64::MAX, 2).await.expect("window");
    assert_eq!(
        limited.iter().map(|e| e.ce_id).collect::<Vec<_>>(),
        vec![events[0].ce_id, events[4].ce_id]
    );
}

pub async fn expire_removes_exactly_the_expired(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    stores
        .window
        .put_events(&[event("a", 1, 1, "api", 1), event("b", 1, 2, "api", 1)], 100)
        .await
        .expect("put");
    stores
        .window
        .put_events(&[event("a", 2, 3, "api", 2)], 200)
        .await
        .expect("put");
    stores
        .window
        .put_events(&[event("a", 3, 4, "api", 3)], 300)
        .await
        .expect("put");
    assert_eq!(
        stores.window.expire(99).await.expect("expire"),
        0,
        "nothing expired yet"
    );
    assert_eq!(
        stores.window.expire(200).await.expect("expire"),
        3,
        "expiry at or before now"
    );
    assert_eq!(stores.window.expire(200).await.expect("expire"), 0, "already gone");
    let left = stores.window.window_events("a", 0, u64::MAX, 10).await.expect("window");
    assert_eq!(left, vec![event("a", 3, 4, "api", 3)]);
    assert!(
        stores
            .window
            .trace_events("a", trace(2), 100)
            .await
            .expect("trace")
            .is_empty(),
        "indexes cleaned"
    );
    assert_eq!(
        stores
            .window
            .service_traces("a", "api", 0, u64::MAX, 10)
            .await
            .expect("traces"),
        vec![trace(3)]
    );
}

pub async fn notices_in_range_and_expiring(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let notice = |tenant: &str, at: u64, event: &str| ServiceNotice {
        tenant_id: tenant.to_owned(),
        service: "api".into(),
        event: event.to_owned(),
        received_at_unix_ns: at,
        metadata_json: "{\"k\":1}".into(),
    };
    stores
        .window
        .put_notice(&notice("a", 20, "pre_arm_end"), 500)
        .await
        .expect("put");
    stores
        .window
        .put_notice(&notice("a", 10, "pre_arm_start"), 100)
        .await
        .expect("put");
    stores
        .window
        .put_notice(&notice("b", 15, "pre_arm_start"), 500)
        .await
        .expect("put");
    let got = stores.window.notices("a", 0, 100).await.expect("notices");
    assert_eq!(
        got,
        vec![notice("a", 10, "pre_arm_start"), notice("a", 20, "pre_arm_end")],
        "in order, own tenant"
    );
    assert_eq!(stores.window.notices("a", 11, 20).await.expect("notices").len(), 1);
    stores.window.expire(100).await.expect("expire");
    assert_eq!(
        stores.window.notices("a", 0, 100).await.expect("notices"),
        vec![notice("a", 20, "pre_arm_end")]
    );
}
