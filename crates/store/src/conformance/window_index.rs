//! Window cases for what selection reads: identity within a trace, the
//! failure index, per-second activity and the windower's progress.

use causeway_model::CeId;

use super::{StoreHarness, event, trace};
use crate::api::{PartitionProgress, ServiceActivity};

const SECOND: u64 = 1_000_000_000;

pub async fn trace_events_limit_and_span_id_reuse(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    // OTLP span ids are unique only within a trace: the same ce_id in two
    // traces is two events.
    let first = event("a", 1, 7, "api", 100);
    let second = event("a", 2, 7, "db", 200);
    assert_eq!(first.ce_id, second.ce_id);
    stores
        .window
        .put_events(&[first.clone(), second.clone()], u64::MAX)
        .await
        .expect("put");
    assert_eq!(
        stores.window.trace_events("a", trace(1), 10).await.expect("trace"),
        vec![first]
    );
    assert_eq!(
        stores.window.trace_events("a", trace(2), 10).await.expect("trace"),
        vec![second]
    );
    let many: Vec<_> = (0..5).map(|n| event("a", 3, 100 + n, "api", 300 + n)).collect();
    stores.window.put_events(&many, u64::MAX).await.expect("put");
    let cut = stores.window.trace_events("a", trace(3), 3).await.expect("trace");
    assert_eq!(cut, many[..3].to_vec(), "the first `limit` by ce_id");
}

pub async fn failures_by_completion_time(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let failing = |trace_n, ce_n, service: &str, start, status, duration| {
        let mut e = event("a", trace_n, ce_n, service, start);
        e.status = status;
        e.duration_ns = duration;
        e
    };
    let events = vec![
        failing(1, 1, "api", 100, 500, 50), // ends 150
        failing(2, 2, "db", 90, 503, 10),   // ends 100
        failing(3, 3, "api", 120, 200, 1),  // success: not indexed
        failing(4, 4, "web", 140, 404, 10), // ends 150, trace 4 after trace 1
        failing(5, 5, "api", 400, 500, 1),  // ends 401: outside [0, 200]
    ];
    stores.window.put_events(&events, 1_000).await.expect("put");
    stores.window.put_events(&events, 1_000).await.expect("put again");
    let other = failing(9, 9, "api", 100, 500, 1);
    let mut other = other;
    other.tenant_id = "b".into();
    stores.window.put_events(&[other], 1_000).await.expect("put");

    let got = stores.window.failures("a", 0, 200, 10).await.expect("failures");
    let seen: Vec<(u64, CeId, &str)> = got
        .iter()
        .map(|f| (f.end_unix_ns, f.ce_id, f.service.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (100, events[1].ce_id, "db"),
            (150, events[0].ce_id, "api"),
            (150, events[3].ce_id, "web"),
        ],
        "non-success only, by completion time then trace, own tenant, once each"
    );
    assert_eq!((got[0].trace_id, got[0].start_unix_ns), (trace(2), 90));
    let limited = stores.window.failures("a", 0, 200, 1).await.expect("failures");
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].ce_id, events[1].ce_id);
    assert_eq!(
        stores.window.failures("a", 101, 149, 10).await.expect("failures"),
        vec![]
    );
    stores.window.expire(1_000).await.expect("expire");
    assert!(
        stores
            .window
            .failures("a", 0, u64::MAX, 10)
            .await
            .expect("failures")
            .is_empty()
    );
}

pub async fn service_activity_counts_every_event_once(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let at = |trace_n, ce_n, service: &str, second: u64, status| {
        let mut e = event("a", trace_n, ce_n, service, second * SECOND + 5);
        e.status = status;
        e
    };
    let batch = vec![
        at(1, 1, "api", 10, 200),
        at(1, 2, "api", 10, 500),
        at(2, 3, "api", 11, 502),
        at(2, 4, "db", 11, 200),
        at(3, 5, "db", 13, 200),
    ];
    stores.window.put_events(&batch[..3], 1_000).await.expect("put");
    // A redelivery overlapping the first write counts nothing twice.
    stores.window.put_events(&batch, 2_000).await.expect("put");
    let got = stores.window.service_activity("a", 10, 12).await.expect("activity");
    assert_eq!(
        got,
        vec![
            ServiceActivity {
                service: "api".into(),
                events: 3,
                non_success: 2,
                first_failure_end_unix_ns: Some(batch[1].end_unix_ns()),
            },
            ServiceActivity {
                service: "db".into(),
                events: 1,
                non_success: 0,
                first_failure_end_unix_ns: None,
            },
        ]
    );
    let last = stores.window.service_activity("a", 13, 13).await.expect("activity");
    assert_eq!(last.len(), 1);
    assert_eq!((last[0].service.as_str(), last[0].events), ("db", 1));
    assert!(
        stores
            .window
            .service_activity("b", 0, u64::MAX)
            .await
            .expect("activity")
            .is_empty()
    );
    stores.window.expire(2_000).await.expect("expire");
    assert!(
        stores
            .window
            .service_activity("a", 0, u64::MAX)
            .await
            .expect("activity")
            .is_empty()
    );
}

pub async fn progress_only_moves_forward(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let p = |partition, next_offset| PartitionProgress { partition, next_offset };
    assert!(
        stores
            .window
            .progress("causeway.ce")
            .await
            .expect("progress")
            .is_empty()
    );
    stores
        .window
        .put_progress("causeway.ce", &[p(0, 10), p(3, 4)])
        .await
        .expect("put");
    stores
        .window
        .put_progress("causeway.ce", &[p(0, 7), p(1, 2)])
        .await
        .expect("put");
    stores.window.put_progress("other.ce", &[p(0, 99)]).await.expect("put");
    assert_eq!(
        stores.window.progress("causeway.ce").await.expect("progress"),
        vec![p(0, 10), p(1, 2), p(3, 4)]
    );
    drop(stores);
    let reopened = harness.open().await;
    assert_eq!(
        reopened.window.progress("causeway.ce").await.expect("progress"),
        vec![p(0, 10), p(1, 2), p(3, 4)],
        "durable"
    );
}

pub async fn window_indexes_survive_reopen(harness: &dyn StoreHarness) {
    let mut failing = event("a", 2, 2, "db", 3 * SECOND);
    failing.status = 500;
    failing.duration_ns = 5;
    let events = vec![
        event("a", 1, 1, "api", 2 * SECOND),
        failing.clone(),
        event("a", 3, 3, "api", 4 * SECOND),
    ];
    {
        let stores = harness.open().await;
        stores.window.put_events(&events, 1_000).await.expect("put");
        stores
            .window
            .put_events(&events[..1], 5_000)
            .await
            .expect("put with a later expiry");
        stores
            .window
            .put_events(&[event("a", 9, 9, "api", SECOND)], 100)
            .await
            .expect("put");
        assert_eq!(stores.window.expire(100).await.expect("expire"), 1);
    }
    let stores = harness.open().await;
    assert_eq!(
        stores.window.window_events("a", 0, u64::MAX, 10).await.expect("window"),
        events,
        "what expired before the restart stays expired"
    );
    let failures = stores.window.failures("a", 0, u64::MAX, 10).await.expect("failures");
    assert_eq!(
        failures
            .iter()
            .map(|f| (f.ce_id, f.service.as_str(), f.start_unix_ns))
            .collect::<Vec<_>>(),
        vec![(failing.ce_id, "db", 3 * SECOND)]
    );
    assert_eq!(
        stores
            .window
            .service_traces("a", "api", 0, u64::MAX, 10)
            .await
            .expect("traces"),
        vec![trace(1), trace(3)]
    );
    assert_eq!(
        stores.window.service_activity("a", 2, 4).await.expect("activity"),
        vec![
            ServiceActivity {
                service: "api".into(),
                events: 2,
                non_success: 0,
                first_failure_end_unix_ns: None,
            },
            ServiceActivity {
                service: "db".into(),
                events: 1,
                non_success: 1,
                first_failure_end_unix_ns: Some(3 * SECOND + 5),
            },
        ]
    );
    assert_eq!(
        stores.window.expire(1_000).await.expect("expire"),
        2,
        "the later expiry survived the restart too"
    );
    assert_eq!(
        stores.window.trace_events("a", trace(1), 10).await.expect("trace"),
        events[..1].to_vec()
    );
}
