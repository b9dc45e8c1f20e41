//! Over its monthly CE quota a tenant gets 429 with the exact body the
//! Incidentary SDK parses to pause, and the refused events are not stored.

use causeway_integration_tests::{Api, EventSpec, now_unix_ns, sdk_batch, start_standalone};
use causeway_runtime::tenants::{Plan, TenantConfig, hash_api_key};
use serde_json::json;

const METERED_KEY: &str = "it-metered-key-0123456789abcdef";
const QUOTA: u64 = 10;

/// A trace of `events` events from `checkout` (one root and its children).
fn trace(events: usize) -> Vec<EventSpec> {
    let now = now_unix_ns();
    let root = EventSpec::root("checkout", 200, now);
    let mut all = vec![root.clone()];
    all.extend((1..events).map(|_| root.child("checkout", "HTTP_OUT", 200, now)));
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_429_has_the_sdk_body_and_stores_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let standalone = start_standalone(dir.path(), |config| {
        // One CE partition: a later batch seen stored means every earlier
        // one was processed, so an absence is conclusive.
        config.topics.ce_partitions = Some(1);
        config.tenants.push(TenantConfig {
            id: "metered".to_owned(),
            plan: Plan::Free,
            api_key_sha256: vec![hash_api_key(METERED_KEY)],
            monthly_ce_quota: Some(QUOTA),
            retention_days: None,
            pre_arm_seconds: None,
            integrations: Default::default(),
        });
    })
    .await;
    let api = Api::new(standalone.http_url(), METERED_KEY);

    // 4 + 4 = 8 of 10: accepted.
    let first = trace(4);
    let second = trace(4);
    for batch in [&first, &second] {
        let answer = api.post_batch(&sdk_batch("checkout", batch)).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!(answer.json(), json!({"accepted": 4}));
    }

    // 8 + 4 > 10: the whole batch is refused.
    let refused = trace(4);
    let answer = api.post_batch(&sdk_batch("checkout", &refused)).await;
    assert_eq!(answer.status, 429, "{}", answer.text());
    assert_eq!(
        answer.json(),
        json!({"error": "ce_limit_reached", "limit_type": "ce", "plan": "free", "limit": QUOTA})
    );
    let retry_after: u64 = answer
        .header("retry-after")
        .expect("retry-after")
        .parse()
        .expect("seconds");
    assert!(
        (1..=31 * 24 * 3600).contains(&retry_after),
        "retry-after until next month: {retry_after}"
    );

    // 8 + 2 = 10: exactly the quota is still accepted.
    let control = trace(2);
    let answer = api.post_batch(&sdk_batch("checkout", &control)).await;
    assert_eq!(answer.status, 200, "the quota itself is allowed: {}", answer.text());

    // And now one more is over.
    let one_more = trace(1);
    let answer = api.post_batch(&sdk_batch("checkout", &one_more)).await;
    assert_eq!(answer.status, 429, "{}", answer.text());

    // The control batch arrived, so the windower is past the refused ones.
    for accepted in [&first, &second, &control] {
        let stored = api.wait_trace(&accepted[0].trace_id.to_string(), accepted.len()).await;
        assert_eq!(stored.len(), accepted.len());
        assert!(stored.iter().all(|e| e["tenant_id"] == "metered"));
    }
    for rejected in [&refused, &one_more] {
        let stored = api.trace_events(&rejected[0].trace_id.to_string()).await;
        assert!(stored.is_empty(), "a refused batch was stored: {stored:?}");
    }

    // Another tenant is not metered against this one's quota.
    let dev = api.with_key(Some(causeway_integration_tests::DEV_KEY));
    let answer = dev.post_batch(&sdk_batch("checkout", &trace(3))).await;
    assert_eq!(answer.status, 200, "{}", answer.text());

    standalone.stop().await.expect("graceful stop");
}
