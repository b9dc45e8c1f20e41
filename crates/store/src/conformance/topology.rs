//! Topology slots: a put replaces its slot (never adds), a range read sums
//! the slots in it per `(caller, peer)`, newest first under a limit it
//! reports, per tenant; slots past retention go.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::StoreHarness;
use crate::api::{EdgeDelta, TOPOLOGY_RETENTION_S};

pub fn edge(caller: &str, peer: &str, calls: u64, answered: u64, errors: u64) -> EdgeDelta {
    EdgeDelta {
        caller: caller.to_owned(),
        peer: peer.to_owned(),
        calls,
        answered,
        errors,
    }
}

/// The wall clock in seconds: a store may expire slots by its own clock.
fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

/// The start of the slot an hour ago: recent, so a store that expires slots
/// by its own clock keeps it.
pub fn recent_slot() -> u64 {
    now_s() / 300 * 300 - 3_600
}

pub async fn topology_slots_replace_sum_and_expire(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let topology = &stores.topology;
    let now = now_s();
    let base = recent_slot();
    topology
        .put_topology_slot("a", base, &[edge("web", "api", 2, 1, 0), edge("api", "db", 1, 1, 1)])
        .await
        .expect("put");
    topology
        .put_topology_slot("a", base + 300, &[edge("web", "api", 3, 3, 0)])
        .await
        .expect("put");
    // Rolled again with late events: replaces the slot, does not add to it.
    let second = vec![edge("api", "cache-long-name", 1, 0, 0), edge("web", "api", 4, 4, 1)];
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let topology = Arc::clone(topology);
            let second = second.clone();
            tokio::spawn(async move { topology.put_topology_slot("a", base + 300, &second).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("put");
    }
    // Tenant "ab" shares a prefix with "a": still separate.
    topology
        .put_topology_slot("ab", base, &[edge("x", "y", 50, 0, 0)])
        .await
        .expect("put");

    let both = topology.topology("a", base, base + 300, 10).await.expect("range");
    assert_eq!(
        both.edges,
        vec![
            edge("api", "cache-long-name", 1, 0, 0),
            edge("api", "db", 1, 1, 1),
            edge("web", "api", 6, 5, 1)
        ],
        "summed over both slots, the overwritten one counted once, ordered by (caller, peer)"
    );
    assert_eq!((both.slots, both.truncated), (2, false));
    assert_eq!((both.oldest_slot_s, both.newest_slot_s), (Some(base), Some(base + 300)));

    let newer = topology.topology("a", base + 1, base + 300, 10).await.expect("range");
    assert_eq!(newer.edges, second, "only the slot starting in range");
    assert_eq!(newer.slots, 1);

    let cut = topology.topology("a", base, base + 300, 1).await.expect("range");
    assert!(cut.truncated, "a limit that cuts is reported");
    assert_eq!(
        (cut.slots, cut.oldest_slot_s),
        (1, Some(base + 300)),
        "the newest slot kept"
    );
    assert_eq!(cut.edges, second);

    let other = topology.topology("ab", 0, now, 10).await.expect("range");
    assert_eq!(other.edges, vec![edge("x", "y", 50, 0, 0)]);
    let none = topology.topology("b", 0, now, 10).await.expect("range");
    assert_eq!((none.slots, none.edges.len(), none.truncated), (0, 0, false));

    // An empty slot is stored (it was rolled up) and adds nothing.
    topology.put_topology_slot("a", base + 600, &[]).await.expect("put");
    let with_empty = topology.topology("a", base, base + 600, 10).await.expect("range");
    assert_eq!(with_empty.slots, 3);
    assert_eq!(with_empty.newest_slot_s, Some(base + 600));
    assert_eq!(with_empty.edges, both.edges);

    // Past retention: gone after the expiry pass (or never kept); a slot
    // within it stays.
    let old = base - 9 * 86_400;
    let kept = base - 7 * 86_400;
    topology
        .put_topology_slot("a", old, &[edge("old", "gone", 7, 0, 0)])
        .await
        .expect("put");
    topology
        .put_topology_slot("a", kept, &[edge("week", "kept", 7, 0, 0)])
        .await
        .expect("put");
    topology.expire_topology(now).await.expect("expire");
    let all = topology.topology("a", 0, now, 10_000).await.expect("range");
    assert_eq!(all.oldest_slot_s, Some(kept), "slots older than retention are gone");
    assert!(kept + TOPOLOGY_RETENTION_S > now);
    assert!(all.edges.iter().all(|e| e.caller != "old"));
    assert!(all.edges.iter().any(|e| e.caller == "week"));
    assert_eq!(all.slots, 4);
}
