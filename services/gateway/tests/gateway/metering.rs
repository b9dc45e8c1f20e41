//! Usage metered in batches: counts not yet written still hold the quota,
//! and shutdown writes them; with no interval, each request writes its own.

use causeway_gateway::{GatewayConfig, month_of, now_unix_ns};

use super::harness::{Gateway, TINY_KEY, TINY_QUOTA, sdk_batch, sdk_event, uuid};

#[tokio::test]
async fn counts_not_yet_flushed_hold_the_quota_and_shutdown_writes_them() {
    let gateway = Gateway::start_with(GatewayConfig {
        usage_flush_ms: 60_000,
        ..GatewayConfig::default()
    })
    .await;
    let batch = |n: usize| sdk_batch((0..n).map(|_| sdk_event(&uuid(), &uuid(), "checkout")).collect());
    let mut statuses = Vec::new();
    for n in [3, 3, 2, 1] {
        let response = gateway
            .post("/api/v1/ingest/batch", Some(TINY_KEY))
            .json(&batch(n))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(
        statuses,
        [200, 429, 200, 429],
        "3 pending, +3 over 5, +2 exactly 5, +1 over"
    );
    let month = month_of(now_unix_ns());
    let stores = gateway.stores.clone();
    assert_eq!(
        stores.topology.usage("tiny", month).await.unwrap(),
        0,
        "not flushed within the interval"
    );
    gateway.stop().await;
    assert_eq!(
        stores.topology.usage("tiny", month).await.unwrap(),
        TINY_QUOTA,
        "written at shutdown"
    );
}

#[tokio::test]
async fn with_no_flush_interval_every_request_writes_its_count() {
    let gateway = Gateway::start_with(GatewayConfig {
        usage_flush_ms: 0,
        ..GatewayConfig::default()
    })
    .await;
    let events = (0..3).map(|_| sdk_event(&uuid(), &uuid(), "checkout")).collect();
    let response = gateway
        .post("/api/v1/ingest/batch", Some(TINY_KEY))
        .json(&sdk_batch(events))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let month = month_of(now_unix_ns());
    assert_eq!(
        gateway.stores.topology.usage("tiny", month).await.unwrap(),
        3,
        "in the store once the request is answered"
    );
    gateway.stop().await;
}
