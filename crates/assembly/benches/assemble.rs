//! Assembly of one large trace (1k, 10k, 100k CEs), OpenTelemetry linkage,
//! with a failing leaf, a ghost peer per fan-out and duplicates.

use causeway_assembly::{AssemblyInput, assemble};
use causeway_model::{Alert, AlertSource, CausalEvent, CeId, Kind, TraceId};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const T0: u64 = 1_795_219_200_000_000_000;

fn id(n: u64) -> [u8; 16] {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&n.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    bytes[8..].copy_from_slice(&(n + 1).to_be_bytes());
    bytes
}

fn event(
    n: u64,
    parent: Option<u64>,
    service: usize,
    kind: Kind,
    peer: Option<String>,
    start: u64,
    status: u16,
) -> CausalEvent {
    CausalEvent {
        tenant_id: "acme".into(),
        trace_id: TraceId([7; 16]),
        ce_id: CeId(id(n)),
        parent_ce_id: parent.map(|p| CeId(id(p))),
        service: format!("svc-{service}"),
        kind,
        status,
        start_unix_ns: start,
        duration_ns: 1_000_000 + n % 977 * 1_000,
        operation: Some("GET /work".into()),
        peer,
        environment: None,
    }
}

/// Each inbound step calls three peers: two instrumented services (OTLP
/// linkage: the callee's inbound is the outbound step's child) and one
/// uninstrumented database.
fn large_trace(size: u64) -> Vec<CausalEvent> {
    let mut events = vec![event(0, None, 0, Kind::HttpIn, None, T0, 200)];
    let mut queue = std::collections::VecDeque::from([(0u64, 0usize)]);
    let mut next = 1u64;
    while let Some((inbound, service)) = queue.pop_front() {
        for call in 0..3usize {
            if next + 2 > size {
                break;
            }
            let start = T0 + next * 10_000;
            if call == 2 {
                events.push(event(
                    next,
                    Some(inbound),
                    service,
                    Kind::HttpOut,
                    Some("orders-db".into()),
                    start,
                    200,
                ));
                next += 1;
                continue;
            }
            let callee = (service * 3 + call + 1) % 12;
            let out = next;
            events.push(event(
                out,
                Some(inbound),
                service,
                Kind::HttpOut,
                Some(format!("svc-{callee}")),
                start,
                200,
            ));
            let status = if next + 4 > size { 503 } else { 200 };
            events.push(event(
                out + 1,
                Some(out),
                callee,
                Kind::HttpIn,
                None,
                start + 1_000,
                status,
            ));
            queue.push_back((out + 1, callee));
            next += 2;
        }
        if next + 2 > size {
            break;
        }
    }
    let duplicates: Vec<CausalEvent> = events.iter().step_by(50).cloned().collect();
    events.extend(duplicates);
    events
}

fn input(size: u64) -> AssemblyInput {
    let candidates = large_trace(size);
    AssemblyInput {
        alert: Alert {
            alert_id: "al-bench".into(),
            tenant_id: "acme".into(),
            service: "svc-0".into(),
            fired_at_unix_ns: T0 + 60_000_000_000,
            title: "5xx on svc-0".into(),
            source: AlertSource::Generic,
            source_label: None,
            dedup_key: None,
            trace_id: None,
            severity: None,
        },
        pre_arm_ns: 300_000_000_000,
        settle_ns: 5_000_000_000,
        window_events: candidates.clone(),
        candidates,
        pre_arm_signals: Vec::new(),
        assembled_at_unix_ns: T0 + 70_000_000_000,
        preselection: None,
        activity: None,
        window: Default::default(),
        cuts: Vec::new(),
        peer_calls: Default::default(),
    }
}

fn bench_assemble(c: &mut Criterion) {
    let mut group = c.benchmark_group("assemble");
    for size in [1_000u64, 10_000, 100_000] {
        let input = input(size);
        let artifact = assemble(&input);
        assert!(
            artifact.first_confirmed_break.is_some(),
            "the bench trace has a failing leaf"
        );
        assert_eq!(artifact.ghost_services.len(), 1, "orders-db is the one ghost");
        group.throughput(Throughput::Elements(size));
        group.bench_with_input(BenchmarkId::new("trace_ces", size), &input, |b, input| {
            b.iter(|| black_box(assemble(black_box(input))));
        });
        group.bench_with_input(BenchmarkId::new("trace_ces_with_digest", size), &input, |b, input| {
            b.iter(|| black_box(assemble(black_box(input)).digest()));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_assemble);
criterion_main!(benches);
