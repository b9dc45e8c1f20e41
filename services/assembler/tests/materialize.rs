//! Materializing on the real embedded store: one artifact per alert however
//! often the alert is delivered, tenant-scoped, selected from the window.

use std::time::{SystemTime, UNIX_EPOCH};

use causeway_assembler::{AssemblerConfig, materialize};
use causeway_assembly::WindowProgress;
use causeway_model::{Alert, AlertSource, CausalEvent, CeId, Kind, TraceId};
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::{Stores, open_stores};

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos() as u64
}

fn event(tenant: &str, trace: u8, ce: u8, parent: Option<u8>, service: &str, status: u16, start: u64) -> CausalEvent {
    CausalEvent {
        tenant_id: tenant.to_owned(),
        trace_id: TraceId([trace; 16]),
        ce_id: CeId([ce; 16]),
        parent_ce_id: parent.map(|p| CeId([p; 16])),
        service: service.to_owned(),
        kind: Kind::HttpIn,
        status,
        start_unix_ns: start,
        duration_ns: 2_000_000,
        operation: None,
        peer: None,
        environment: None,
    }
}

fn alert(tenant: &str, id: &str, fired_at: u64, trace: Option<u8>) -> Alert {
    Alert {
        alert_id: id.to_owned(),
        tenant_id: tenant.to_owned(),
        service: "web".to_owned(),
        fired_at_unix_ns: fired_at,
        title: "web 5xx".to_owned(),
        source: AlertSource::Generic,
        source_label: None,
        dedup_key: None,
        trace_id: trace.map(|t| TraceId([t; 16])),
        severity: None,
    }
}

/// A fresh embedded store (kept while the directory lives) and the dev tenant.
async fn open() -> (tempfile::TempDir, Stores, TenantRegistry) {
    let dir = tempfile::tempdir().expect("temp dir");
    let stores = open_stores(&format!("embedded://{}", dir.path().display()))
        .await
        .expect("store");
    let tenants = TenantRegistry::new(&[], Some("dev-key-0123456789abcdef")).expect("tenants");
    (dir, stores, tenants)
}

#[tokio::test]
async fn one_artifact_per_alert_scoped_to_its_tenant() {
    let (_dir, stores, tenants) = open().await;
    let now = now_ns();
    let t0 = now - 60_000_000_000;
    let mut events = vec![
        // trace 1: web -> payments 503 (failing)
        event("dev", 1, 1, None, "web", 500, t0),
        event("dev", 1, 2, Some(1), "payments", 503, t0 + 1_000_000),
        // trace 2: all fine
        event("dev", 2, 3, None, "web", 200, t0 + 5_000_000),
        // another tenant's failing trace on the same service
        event("globex", 9, 9, None, "web", 500, t0 - 1_000_000),
    ];
    // A caller completes after its callee: web's 500 follows payments' 503.
    events[0].duration_ns = 10_000_000;
    stores
        .window
        .put_events(&events, now + 600_000_000_000)
        .await
        .expect("write");
    let config = AssemblerConfig::default();
    let fired = now - 1_000_000_000;

    let first = materialize(
        &config,
        &tenants,
        stores.window.as_ref(),
        stores.artifacts.as_ref(),
        &alert("dev", "a1", fired, None),
        WindowProgress::default(),
        now,
    )
    .await
    .expect("materialize");
    assert!(first.created);
    let artifact: serde_json::Value = serde_json::from_slice(&first.stored.canonical_json).expect("json");
    assert_eq!(
        artifact["selection"]["trace_id"],
        TraceId([1; 16]).to_string(),
        "the failing trace is chosen"
    );
    assert_eq!(artifact["first_confirmed_break"]["service"], "payments");
    assert_eq!(first.stored.share_token.len(), 32);

    // Redelivery (even later): the same artifact, not a second one.
    let again = materialize(
        &config,
        &tenants,
        stores.window.as_ref(),
        stores.artifacts.as_ref(),
        &alert("dev", "a1", fired, None),
        WindowProgress::default(),
        now + 9,
    )
    .await
    .expect("materialize again");
    assert!(!again.created);
    assert_eq!(again.stored, first.stored);

    // The alert's own trace id wins over selection rules.
    let pinned = materialize(
        &config,
        &tenants,
        stores.window.as_ref(),
        stores.artifacts.as_ref(),
        &alert("dev", "a2", fired, Some(2)),
        WindowProgress::default(),
        now,
    )
    .await
    .expect("materialize pinned");
    let artifact: serde_json::Value = serde_json::from_slice(&pinned.stored.canonical_json).expect("json");
    assert_eq!(artifact["selection"]["trace_id"], TraceId([2; 16]).to_string());
    assert!(artifact["first_confirmed_break"].is_null(), "nothing failed in trace 2");

    // Another tenant never sees dev's artifact, and dev's artifact never
    // includes globex's events.
    assert!(
        stores
            .artifacts
            .get_artifact("globex", &first.stored.artifact_id)
            .await
            .expect("read")
            .is_none()
    );
    let text = String::from_utf8(first.stored.canonical_json.clone()).expect("utf8");
    assert!(!text.contains(&TraceId([9; 16]).to_string()), "no other tenant's trace");
}

/// Thousands of traces touch the alerting service (10 requests a second for
/// five minutes): selection still finds the earliest failure among all of
/// them and counts every failing trace, and the window summary keeps the
/// events nearest the alert.
#[tokio::test]
async fn selection_sees_every_trace_at_volume() {
    let (_dir, stores, tenants) = open().await;
    let now = now_ns();
    let fired = now - 1_000_000_000;
    let step = 100_000_000; // 10 a second
    let traces: u32 = 3_000;
    let start = fired - u64::from(traces) * step;
    let mut events = Vec::new();
    for n in 0..traces {
        let mut trace = [0_u8; 16];
        // Ids in reverse time order, so a store that reads "the first N ids"
        // sees the newest traces, not the earliest failure.
        trace[..4].copy_from_slice(&(u32::MAX - n).to_be_bytes());
        let mut ce = [0_u8; 16];
        ce[..4].copy_from_slice(&(n + 1).to_be_bytes());
        // Two failures: the earliest at n = 500, a later one at n = 2,800.
        let status = if n == 500 || n == 2_800 { 503 } else { 200 };
        events.push(CausalEvent {
            trace_id: TraceId(trace),
            ce_id: CeId(ce),
            ..event("dev", 0, 0, None, "web", status, start + u64::from(n) * step)
        });
    }
    for chunk in events.chunks(1_000) {
        stores
            .window
            .put_events(chunk, now + 600_000_000_000)
            .await
            .expect("write");
    }
    let config = AssemblerConfig {
        // Far fewer than the traces in scope: the old selection read only
        // the first ids up to its candidate limit.
        max_candidate_traces: 100,
        ..AssemblerConfig::default()
    };
    let made = materialize(
        &config,
        &tenants,
        stores.window.as_ref(),
        stores.artifacts.as_ref(),
        &alert("dev", "volume", fired, None),
        WindowProgress::default(),
        now,
    )
    .await
    .expect("materialize");
    let artifact: serde_json::Value = serde_json::from_slice(&made.stored.canonical_json).expect("json");
    let earliest = events[500].trace_id.to_string();
    assert_eq!(
        artifact["selection"]["trace_id"], earliest,
        "the earliest failure is chosen"
    );
    assert_eq!(artifact["selection"]["candidates"], u64::from(traces));
    assert_eq!(artifact["selection"]["failing_candidates"], 2);
    assert_eq!(artifact["truncated"], false, "nothing was cut: {}", artifact["cuts"]);
    let web = artifact["window_summary"]
        .as_array()
        .expect("summary")
        .iter()
        .find(|s| s["service"] == "web")
        .expect("web in the summary")
        .clone();
    assert_eq!(web["events"], u64::from(traces), "every event counted: {web}");
    assert_eq!(web["non_success"], 2, "{web}");
}

/// A window that has not caught up is said so, and never labelled full.
#[tokio::test]
async fn a_window_behind_is_never_full() {
    let (_dir, stores, tenants) = open().await;
    let now = now_ns();
    let t0 = now - 10_000_000_000;
    let mut events = vec![
        event("dev", 1, 1, None, "web", 500, t0),
        event("dev", 1, 2, Some(1), "payments", 503, t0 + 1_000_000),
    ];
    events[0].duration_ns = 10_000_000;
    stores
        .window
        .put_events(&events, now + 600_000_000_000)
        .await
        .expect("write");
    let config = AssemblerConfig::default();
    let fired = now - 1_000_000_000;
    let mut labels = Vec::new();
    for (id, progress) in [
        ("caught-up", WindowProgress::default()),
        (
            "behind",
            WindowProgress {
                complete: false,
                lag_records: 1_234,
            },
        ),
    ] {
        let made = materialize(
            &config,
            &tenants,
            stores.window.as_ref(),
            stores.artifacts.as_ref(),
            &alert("dev", id, fired, None),
            progress,
            now,
        )
        .await
        .expect("materialize");
        let artifact: serde_json::Value = serde_json::from_slice(&made.stored.canonical_json).expect("json");
        labels.push((
            artifact["completeness"]["label"].clone(),
            artifact["window_complete"].clone(),
            artifact["window_lag_records"].clone(),
        ));
    }
    assert_eq!(labels[0].0, "full", "{labels:?}");
    assert_eq!(labels[0].1, true);
    assert_ne!(labels[1].0, "full", "{labels:?}");
    assert_eq!(labels[1].1, false);
    assert_eq!(labels[1].2, 1_234);
}

/// An alert on a dependency without the SDK: no event of it is in the
/// window, so the traces calling it are weighed, and the failing one is
/// chosen.
#[tokio::test]
async fn an_alert_on_an_uninstrumented_dependency_finds_its_callers() {
    let (_dir, stores, tenants) = open().await;
    let now = now_ns();
    let t0 = now - 10_000_000_000;
    let call = |trace: u8, ce: u8, status: u16, start: u64| CausalEvent {
        kind: Kind::HttpOut,
        peer: Some("ledger.internal".to_owned()),
        ..event("dev", trace, ce, Some(ce - 1), "web", status, start)
    };
    let events = vec![
        event("dev", 1, 1, None, "web", 200, t0),
        call(1, 2, 200, t0 + 1_000_000),
        event("dev", 2, 11, None, "web", 502, t0 + 5_000_000),
        call(2, 12, 504, t0 + 6_000_000),
    ];
    stores
        .window
        .put_events(&events, now + 600_000_000_000)
        .await
        .expect("write");
    let mut ledger_alert = alert("dev", "ledger", now - 1_000_000_000, None);
    ledger_alert.service = "ledger.internal".to_owned();
    let made = materialize(
        &AssemblerConfig::default(),
        &tenants,
        stores.window.as_ref(),
        stores.artifacts.as_ref(),
        &ledger_alert,
        WindowProgress::default(),
        now,
    )
    .await
    .expect("materialize");
    let artifact: serde_json::Value = serde_json::from_slice(&made.stored.canonical_json).expect("json");
    assert_eq!(
        artifact["selection"]["trace_id"],
        TraceId([2; 16]).to_string(),
        "{}",
        artifact["selection"]
    );
    assert_eq!(artifact["selection"]["reason"], "earliest_first_break");
    assert_eq!(artifact["selection"]["candidates"], 2);
    assert!(
        artifact["selection"]["traces_in_scope"].is_null(),
        "the callers' count is not the scope's"
    );
    let ghosts: Vec<&str> = artifact["ghost_services"]
        .as_array()
        .expect("ghosts")
        .iter()
        .filter_map(|g| g["peer"].as_str())
        .collect();
    assert_eq!(ghosts, ["ledger.internal"]);
}
