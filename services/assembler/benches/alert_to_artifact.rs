//! Alert -> artifact with 100,000 traces touching the alerted service in
//! the window (the embedded store, release build): the whole of
//! `materialize` — selection through the failure index, the chosen trace,
//! the per-service summary, storing the artifact. Before timing, the
//! artifact is checked: the earliest of the two failures is chosen, all
//! 100,000 candidates and both failing traces are counted, the summary
//! counts every event, and nothing is cut.
//!
//! cargo bench -p causeway-assembler --bench alert_to_artifact

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use causeway_assembler::{AssemblerConfig, materialize};
use causeway_assembly::WindowProgress;
use causeway_model::{Alert, AlertSource, CausalEvent, CeId, Kind, TraceId};
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::{Stores, open_stores};
use criterion::{Criterion, criterion_group, criterion_main};

const TRACES: u32 = 100_000;
/// Trace numbers of the two failures; the first is the earliest.
const FAILING: [u32; 2] = [40_000, 90_000];

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos() as u64
}

fn id(n: u32, salt: u8) -> [u8; 16] {
    let mut bytes = [salt; 16];
    // Trace ids descend with time, so "the first ids" are the newest traces.
    bytes[..4].copy_from_slice(&(u32::MAX - n).to_be_bytes());
    bytes
}

/// web -> payments per trace, spread over the five minutes before `fired`.
fn window(fired: u64) -> Vec<CausalEvent> {
    let step = 300_000_000_000 / u64::from(TRACES);
    let first = fired - 300_000_000_000 + step;
    let mut events = Vec::with_capacity(2 * TRACES as usize);
    for n in 0..TRACES {
        let start = first + u64::from(n) * step;
        let status = if FAILING.contains(&n) { 503 } else { 200 };
        let event = |ce: u8, parent: Option<u8>, service: &str, status: u16, start: u64, duration: u64| CausalEvent {
            tenant_id: "dev".to_owned(),
            trace_id: TraceId(id(n, 0)),
            ce_id: CeId(id(n, ce)),
            parent_ce_id: parent.map(|p| CeId(id(n, p))),
            service: service.to_owned(),
            kind: Kind::HttpIn,
            status,
            start_unix_ns: start,
            duration_ns: duration,
            operation: None,
            peer: None,
            environment: None,
        };
        events.push(event(
            1,
            None,
            "web",
            if status == 200 { 200 } else { 500 },
            start,
            3_000_000,
        ));
        events.push(event(2, Some(1), "payments", status, start + 500_000, 1_000_000));
    }
    events
}

fn alert(id: &str, fired: u64) -> Alert {
    Alert {
        alert_id: id.to_owned(),
        tenant_id: "dev".to_owned(),
        service: "web".to_owned(),
        fired_at_unix_ns: fired,
        title: "web 5xx".to_owned(),
        source: AlertSource::Generic,
        source_label: None,
        dedup_key: None,
        trace_id: None,
        severity: None,
    }
}

struct Setup {
    runtime: tokio::runtime::Runtime,
    stores: Stores,
    tenants: TenantRegistry,
    config: AssemblerConfig,
    fired: u64,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let stores = runtime
        .block_on(open_stores(&format!("embedded://{}", dir.path().display())))
        .expect("store");
    let now = now_ns();
    let fired = now - 1_000_000_000;
    let events = window(fired);
    runtime.block_on(async {
        for chunk in events.chunks(10_000) {
            stores
                .window
                .put_events(chunk, now + 3_600_000_000_000)
                .await
                .expect("write");
        }
    });
    Setup {
        runtime,
        stores,
        tenants: TenantRegistry::new(&[], Some("dev-key-0123456789abcdef")).expect("tenants"),
        config: AssemblerConfig::default(),
        fired,
        _dir: dir,
    }
}

fn assemble(setup: &Setup, alert_id: &str) -> serde_json::Value {
    let made = setup
        .runtime
        .block_on(materialize(
            &setup.config,
            &setup.tenants,
            setup.stores.window.as_ref(),
            setup.stores.artifacts.as_ref(),
            &alert(alert_id, setup.fired),
            WindowProgress::default(),
            now_ns(),
        ))
        .expect("materialize");
    serde_json::from_slice(&made.stored.canonical_json).expect("artifact json")
}

fn bench(c: &mut Criterion) {
    let setup = setup();
    let artifact = assemble(&setup, "check");
    assert_eq!(
        artifact["selection"]["trace_id"],
        TraceId(id(FAILING[0], 0)).to_string()
    );
    assert_eq!(artifact["selection"]["candidates"], u64::from(TRACES));
    assert_eq!(artifact["selection"]["failing_candidates"], 2);
    // 200,000 events in scope, and nothing is cut: selection, the
    // per-service summary and the ghost figures read through indexes.
    assert_eq!(artifact["truncated"], false, "{}", artifact["cuts"]);
    let web = artifact["window_summary"]
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["service"] == "web"))
        .expect("web in the summary");
    assert_eq!(web["events"], u64::from(TRACES));
    assert_eq!(web["non_success"], 2);

    let next = AtomicU64::new(0);
    let mut group = c.benchmark_group("alert_to_artifact");
    group.sample_size(10);
    group.bench_function("100k_traces_in_scope", |b| {
        b.iter(|| assemble(&setup, &format!("a{}", next.fetch_add(1, Ordering::Relaxed))));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
