//! The peer index: outbound steps by the peer they name, what the assembler
//! reads for ghost services and for the traces calling a silent service.

use causeway_model::Kind;

use super::{StoreHarness, event};
use crate::api::PeerCall;

const SECOND: u64 = 1_000_000_000;

fn call(tenant: &str, trace_n: u64, ce_n: u64, peer: Option<&str>, start: u64) -> causeway_model::CausalEvent {
    let mut e = event(tenant, trace_n, ce_n, "checkout", start);
    e.kind = Kind::HttpOut;
    e.peer = peer.map(str::to_owned);
    e.duration_ns = 1_000 + ce_n;
    e
}

fn as_call(e: &causeway_model::CausalEvent) -> PeerCall {
    PeerCall {
        trace_id: e.trace_id,
        ce_id: e.ce_id,
        start_unix_ns: e.start_unix_ns,
        duration_ns: e.duration_ns,
        non_success: e.is_non_success(),
    }
}

/// Calls by peer across time buckets, newest kept under a limit, returned
/// oldest first; only outbound steps; tenants apart; written twice, kept
/// once; gone at expiry unless re-written later; the same after a reopen.
pub async fn peer_calls_by_peer_range_limit_and_expiry(harness: &dyn StoreHarness) {
    let mut failed = call("a", 2, 2, Some("ledger"), 70 * SECOND);
    failed.status = 0; // no response: a non-success call
    let ledger = vec![
        call("a", 1, 1, Some("ledger"), 10 * SECOND),
        failed,
        call("a", 3, 3, Some("ledger"), 130 * SECOND),
        call("a", 4, 4, Some("ledger"), 130 * SECOND),
    ];
    let unnamed = call("a", 5, 5, None, 20 * SECOND);
    let mut inbound = call("a", 6, 6, Some("ledger"), 30 * SECOND);
    inbound.kind = Kind::HttpIn;
    let mut publish = call("a", 7, 7, Some("orders-topic"), 40 * SECOND);
    publish.kind = Kind::QueuePublish;
    let other_tenant = call("b", 8, 8, Some("ledger"), 50 * SECOND);
    let short_lived = call("a", 9, 9, Some("ledger"), 60 * SECOND);
    let extended = call("a", 10, 10, Some("ledger"), 61 * SECOND);
    {
        let stores = harness.open().await;
        let mut all = ledger.clone();
        all.extend([unnamed.clone(), inbound, publish.clone(), other_tenant.clone()]);
        stores.window.put_events(&all, u64::MAX).await.expect("put");
        stores.window.put_events(&all, u64::MAX).await.expect("put again");
        let due = [short_lived, extended.clone()];
        stores.window.put_events(&due, 100).await.expect("put");
        stores
            .window
            .put_events(&due[1..], 5_000)
            .await
            .expect("put with a later expiry");
        assert_eq!(stores.window.expire(100).await.expect("expire"), 1);
    }
    let stores = harness.open().await;
    let read = |peer: &'static str, from: u64, to: u64, limit: usize| {
        let window = stores.window.clone();
        async move { window.peer_calls("a", peer, from, to, limit).await.expect("peer calls") }
    };
    let mut expected: Vec<PeerCall> = ledger.iter().map(as_call).collect();
    expected.insert(1, as_call(&extended));
    assert_eq!(
        read("ledger", 0, u64::MAX, 10).await,
        expected,
        "every call, oldest first"
    );
    assert!(expected[2].non_success && !expected[1].non_success);
    assert_eq!(
        read("ledger", 0, u64::MAX, 2).await,
        expected[3..].to_vec(),
        "the latest two: a tie on start is ordered by trace id"
    );
    assert_eq!(
        read("ledger", 11 * SECOND, 130 * SECOND - 1, 10).await,
        expected[1..3].to_vec(),
        "bounds are inclusive start times"
    );
    assert_eq!(
        read("", 0, u64::MAX, 10).await,
        vec![as_call(&unnamed)],
        "no peer is \"\""
    );
    assert_eq!(read("orders-topic", 0, u64::MAX, 10).await, vec![as_call(&publish)]);
    assert!(
        read("checkout", 0, u64::MAX, 10).await.is_empty(),
        "callers are not peers"
    );
    assert!(read("ledger", 200 * SECOND, 100 * SECOND, 10).await.is_empty());
    assert!(read("ledger", 0, u64::MAX, 0).await.is_empty());
    assert_eq!(
        stores
            .window
            .peer_calls("b", "ledger", 0, u64::MAX, 10)
            .await
            .expect("peer calls"),
        vec![as_call(&other_tenant)]
    );
}
