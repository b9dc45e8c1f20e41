//! Ghost services' caller-side figures on the live path: every call to the
//! ghost in scope, read through the store's peer index whatever the window
//! holds besides, and a cut said out loud when a ghost has more calls than
//! `max_peer_calls`.

use std::time::{SystemTime, UNIX_EPOCH};

use causeway_assembler::{AssemblerConfig, materialize};
use causeway_assembly::WindowProgress;
use causeway_model::{Alert, AlertSource, CausalEvent, CeId, Kind, TraceId};
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::open_stores;
use serde_json::{Value, json};

const SECOND: u64 = 1_000_000_000;

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos() as u64
}

fn id(n: u32, salt: u8) -> [u8; 16] {
    let mut bytes = [salt; 16];
    bytes[..4].copy_from_slice(&n.to_be_bytes());
    bytes
}

fn step(tenant: &str, trace: u32, ce: u8, service: &str, kind: Kind, peer: Option<&str>, start: u64) -> CausalEvent {
    CausalEvent {
        tenant_id: tenant.to_owned(),
        trace_id: TraceId(id(trace, 0x70)),
        ce_id: CeId(id(trace, ce)),
        parent_ce_id: (ce > 1).then(|| CeId(id(trace, 1))),
        service: service.to_owned(),
        kind,
        status: 200,
        start_unix_ns: start,
        duration_ns: 1_000_000,
        operation: None,
        peer: peer.map(str::to_owned),
        environment: None,
    }
}

/// Nearest-rank figures over `(duration, failed)` samples, written out.
fn figures(mut samples: Vec<(u64, bool)>) -> Value {
    samples.sort_unstable();
    let durations: Vec<u64> = samples.iter().map(|s| s.0).collect();
    let rank = |p: usize| durations[(p * durations.len()).div_ceil(100).max(1) - 1];
    let errors = samples.iter().filter(|s| s.1).count() as u64;
    json!({
        "calls": samples.len(),
        "errors": errors,
        "error_rate_per_mille": errors * 1000 / samples.len() as u64,
        "p50_ns": rank(50),
        "p95_ns": rank(95),
        "p99_ns": rank(99),
    })
}

fn ghost<'a>(artifact: &'a Value, peer: &str) -> &'a Value {
    artifact["ghost_services"]
        .as_array()
        .and_then(|ghosts| ghosts.iter().find(|g| g["peer"] == peer))
        .unwrap_or_else(|| panic!("{peer} is a ghost: {}", artifact["ghost_services"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ghost_figures_count_every_call_in_scope_through_the_peer_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stores = open_stores(&format!("embedded://{}", dir.path().display()))
        .await
        .expect("store");
    let tenants = TenantRegistry::new(&[], Some("dev-key-0123456789abcdef")).expect("tenants");
    let now = now_ns();
    let fired = now - SECOND;
    let scope_start = fired - 300 * SECOND;

    // The alerting trace: web calls ledger (never answers) and a peer it
    // does not name; neither call is answered.
    let mut events = vec![
        step("dev", 0, 1, "web", Kind::HttpIn, None, fired - 10 * SECOND),
        step(
            "dev",
            0,
            2,
            "web",
            Kind::HttpOut,
            Some("ledger"),
            fired - 10 * SECOND + 1,
        ),
        step("dev", 0, 3, "web", Kind::HttpOut, None, fired - 10 * SECOND + 2),
    ];
    events[0].status = 500;
    let mut ledger = vec![(events[1].duration_ns, events[1].is_non_success())];
    let mut unnamed = vec![(events[2].duration_ns, events[2].is_non_success())];
    // 3,000 more traces over the scope: web or checkout calling ledger
    // (every seventh fails, durations vary), some calling no named peer,
    // and inbound steps of services that report. Plus calls outside the
    // scope and another tenant's, which must not count.
    for n in 1..=3_000u32 {
        let start = scope_start + u64::from(n) * 99 * SECOND / 1_000;
        let caller = if n % 2 == 0 { "web" } else { "checkout" };
        events.push(step("dev", n, 1, caller, Kind::HttpIn, None, start));
        let mut call = step("dev", n, 2, caller, Kind::HttpOut, Some("ledger"), start + 1);
        call.duration_ns = 1_000_000 + u64::from(n % 97) * 10_000;
        call.status = if n % 7 == 0 { 503 } else { 200 };
        ledger.push((call.duration_ns, call.is_non_success()));
        events.push(call);
        if n % 10 == 0 {
            let silent = step("dev", n, 3, caller, Kind::HttpOut, None, start + 2);
            unnamed.push((silent.duration_ns, silent.is_non_success()));
            events.push(silent);
        }
    }
    events.push(step(
        "dev",
        9_000,
        2,
        "web",
        Kind::HttpOut,
        Some("ledger"),
        scope_start - SECOND,
    ));
    events.push(step(
        "other",
        9_001,
        2,
        "web",
        Kind::HttpOut,
        Some("ledger"),
        fired - SECOND,
    ));
    stores
        .window
        .put_events(&events, now + 600 * SECOND)
        .await
        .expect("write");

    let mut alert = Alert {
        alert_id: "a1".to_owned(),
        tenant_id: "dev".to_owned(),
        service: "web".to_owned(),
        fired_at_unix_ns: fired,
        title: "web 5xx".to_owned(),
        source: AlertSource::Generic,
        source_label: None,
        dedup_key: None,
        trace_id: Some(TraceId(id(0, 0x70))),
        severity: None,
    };
    let assemble = |config: AssemblerConfig, alert: Alert| {
        let (tenants, stores) = (&tenants, &stores);
        async move {
            let made = materialize(
                &config,
                tenants,
                stores.window.as_ref(),
                stores.artifacts.as_ref(),
                &alert,
                WindowProgress::default(),
                now,
            )
            .await
            .expect("materialize");
            serde_json::from_slice::<Value>(&made.stored.canonical_json).expect("json")
        }
    };

    let artifact = assemble(AssemblerConfig::default(), alert.clone()).await;
    assert_eq!(artifact["truncated"], false, "nothing is cut: {}", artifact["cuts"]);
    let figures_of_ledger = figures(ledger.clone());
    assert_eq!(ghost(&artifact, "ledger")["window"], figures_of_ledger);
    assert_eq!(ghost(&artifact, "ledger")["callers"], json!(["web"]));
    assert_eq!(ghost(&artifact, "(unnamed peer)")["window"], figures(unnamed));

    // A smaller limit: the figures cover the latest calls, and say so.
    alert.alert_id = "a2".to_owned();
    let config = AssemblerConfig {
        max_peer_calls: 1_000,
        ..AssemblerConfig::default()
    };
    let artifact = assemble(config, alert).await;
    let cut: Vec<&Value> = artifact["cuts"]
        .as_array()
        .expect("cuts")
        .iter()
        .filter(|cut| cut["what"] == "ghost_calls")
        .collect();
    assert_eq!(cut.len(), 1, "{}", artifact["cuts"]);
    assert_eq!(cut[0]["kept"], 1_000);
    assert!(cut[0]["note"].as_str().is_some_and(|note| note.contains("ledger")));
    assert_eq!(artifact["truncated"], true);
    // The calls kept are the latest 1,000: the alerting trace's (ten
    // seconds before the alert) and the 999 latest of the rest.
    let latest: Vec<(u64, bool)> = ledger[ledger.len() - 999..]
        .iter()
        .copied()
        .chain([ledger[0]])
        .collect();
    assert_eq!(ghost(&artifact, "ledger")["window"], figures(latest));
}
