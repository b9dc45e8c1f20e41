//! Cases across the traits: tenant isolation, atomic counters, durability.

use std::sync::Arc;

use super::{StoreHarness, artifact, edge, event, recent_slot, trace};
use crate::api::{AlertPhase, AlertState};

pub async fn tenants_are_isolated(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    stores
        .window
        .put_events(&[event("a", 1, 1, "api", 10)], u64::MAX)
        .await
        .expect("put");
    // Tenant "ab" shares a prefix with "a": still separate.
    stores
        .window
        .put_events(&[event("ab", 1, 2, "api", 10)], u64::MAX)
        .await
        .expect("put");
    assert_eq!(
        stores.window.trace_events("b", trace(1), 100).await.expect("trace"),
        vec![]
    );
    assert_eq!(
        stores
            .window
            .trace_events("a", trace(1), 100)
            .await
            .expect("trace")
            .len(),
        1
    );
    assert_eq!(
        stores
            .window
            .window_events("a", 0, u64::MAX, 10)
            .await
            .expect("window")
            .len(),
        1
    );
    assert_eq!(
        stores
            .window
            .service_traces("b", "api", 0, u64::MAX, 10)
            .await
            .expect("traces"),
        vec![]
    );
    let stored = artifact("a", "art", "api", 1);
    stores.artifacts.put_artifact(&stored).await.expect("put");
    assert_eq!(stores.artifacts.get_artifact("b", "art").await.expect("get"), None);
    assert!(
        stores
            .artifacts
            .list_artifacts("b", None, 0, 10)
            .await
            .expect("list")
            .is_empty()
    );
    stores
        .artifacts
        .put_artifact(&artifact("b", "art", "api", 1))
        .await
        .expect("same id, other tenant");
    assert_eq!(
        stores.artifacts.get_artifact("a", "art").await.expect("get"),
        Some(stored)
    );
    stores.topology.add_usage("a", 202601, 5).await.expect("usage");
    assert_eq!(stores.topology.usage("b", 202601).await.expect("usage"), 0);
    stores
        .topology
        .put_topology_slot("a", recent_slot(), &[edge("x", "y", 1, 0, 0)])
        .await
        .expect("slot");
    assert_eq!(
        stores
            .topology
            .topology("b", 0, u64::MAX / 2, 10)
            .await
            .expect("range")
            .slots,
        0
    );
    assert_eq!(
        stores
            .topology
            .topology("a", 0, u64::MAX / 2, 10)
            .await
            .expect("range")
            .slots,
        1
    );
    let state = AlertState {
        alert_id: "al".into(),
        tenant_id: "a".into(),
        state: AlertPhase::Failed,
        artifact_id: None,
        share_token: None,
        error: Some("no events".into()),
        updated_at_unix_ns: 1,
    };
    stores.artifacts.put_alert_state(&state).await.expect("put");
    assert_eq!(stores.artifacts.get_alert_state("b", "al").await.expect("get"), None);
}

pub async fn usage_adds_are_atomic(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let topology = Arc::clone(&stores.topology);
            tokio::spawn(async move { topology.add_usage("a", 202602, 3).await })
        })
        .collect();
    let mut totals = Vec::new();
    for task in tasks {
        totals.push(task.await.expect("task").expect("add"));
    }
    totals.sort_unstable();
    assert_eq!(
        totals,
        (1..=64).map(|n| n * 3).collect::<Vec<u64>>(),
        "each add sees every earlier one"
    );
    assert_eq!(stores.topology.usage("a", 202602).await.expect("usage"), 192);
    assert_eq!(
        stores.topology.usage("a", 202603).await.expect("usage"),
        0,
        "months are separate"
    );
}

pub async fn data_survives_reopen(harness: &dyn StoreHarness) {
    let slot = recent_slot();
    let stored = artifact("a", "art", "api", 7);
    {
        let stores = harness.open().await;
        stores
            .window
            .put_events(&[event("a", 1, 1, "api", 10)], 500)
            .await
            .expect("put");
        stores.artifacts.put_artifact(&stored).await.expect("put");
        stores.topology.add_usage("a", 202601, 9).await.expect("usage");
        stores
            .topology
            .put_topology_slot("a", slot, &[edge("x", "y", 2, 0, 0)])
            .await
            .expect("slot");
    }
    let stores = harness.open().await;
    assert_eq!(
        stores.window.trace_events("a", trace(1), 100).await.expect("trace"),
        vec![event("a", 1, 1, "api", 10)]
    );
    assert_eq!(
        stores
            .artifacts
            .get_by_share_token(&stored.share_token)
            .await
            .expect("token"),
        Some(stored)
    );
    assert_eq!(stores.topology.add_usage("a", 202601, 1).await.expect("usage"), 10);
    assert_eq!(
        stores
            .topology
            .topology("a", slot, slot, 10)
            .await
            .expect("range")
            .edges,
        vec![edge("x", "y", 2, 0, 0)]
    );
    assert_eq!(
        stores.window.expire(500).await.expect("expire"),
        1,
        "the expiry index survives too"
    );
}

pub async fn a_healthy_store_is_ready(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    assert!(stores.window.ready().await, "a store that just opened is ready");
    stores
        .window
        .put_events(&[event("a", 1, 1, "api", 10)], u64::MAX)
        .await
        .expect("put");
    assert!(stores.window.ready().await, "and stays ready while it serves");
}
