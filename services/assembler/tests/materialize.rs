//! Materializing on the real embedded store: one artifact per alert however
//! often the alert is delivered, tenant-scoped, selected from the window.

use std::time::{SystemTime, UNIX_EPOCH};

use causeway_assembler::{AssemblerConfig, materialize};
use causeway_model::{Alert, AlertSource, CausalEvent, CeId, Kind, TraceId};
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::open_stores;

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

#[tokio::test]
async fn one_artifact_per_alert_scoped_to_its_tenant() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stores = open_stores(&format!("embedded://{}", dir.path().display()))
        .await
        .expect("store");
    let tenants = TenantRegistry::new(&[], Some("dev-key-0123456789abcdef")).expect("tenants");
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
