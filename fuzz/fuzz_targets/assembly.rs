//! Assembly on arbitrary event graphs: random parent links (cycles,
//! self-parents, missing parents, chains past the depth limit), duplicate
//! ids, other tenants, absurd timestamps and durations. `assemble` is
//! total and deterministic, and the artifact agrees with its input.
#![no_main]

use std::collections::{BTreeMap, BTreeSet, HashSet};

use arbitrary::Arbitrary;
use causeway_assembly::graph::MAX_DEPTH;
use causeway_assembly::{
    Artifact, AssemblyInput, FrameLink, FrameType, PreArmSignal, ServiceTally, WindowProgress, assemble,
    render_waterfall, tree_order,
};
use causeway_model::{Alert, AlertSource, CausalEvent, CeId, Kind, TraceId};
use libfuzzer_sys::fuzz_target;

/// 2026-11-21T00:00:00Z.
const T0: u64 = 1_795_219_200_000_000_000;
const TENANT: &str = "acme";
const SERVICES: [&str; 5] = ["edge", "orders", "pricing", "pricing.prod:8080", ""];
const MAX_EVENTS: usize = 300;

/// A time near the alert (steps of 10 ms, about ±5 min), or anything.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Time {
    Near(i16),
    Absurd(u64),
}

impl Time {
    fn at(self) -> u64 {
        match self {
            Time::Near(steps) => T0.saturating_add_signed(i64::from(steps) * 10_000_000),
            Time::Absurd(ns) => ns,
        }
    }
    fn duration(self) -> u64 {
        match self {
            Time::Near(steps) => u64::from(steps.unsigned_abs()) * 1_000_000,
            Time::Absurd(ns) => ns,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Event {
    trace: u8,
    id: u8,
    parent: Option<u8>,
    foreign_tenant: bool,
    service: u8,
    kind: u8,
    status: u16,
    start: Time,
    duration: Time,
    peer: Option<u8>,
    operation: Option<String>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    alert_service: u8,
    alert_trace: Option<u8>,
    fired_at: Time,
    pre_arm_ns: Option<u64>,
    settle_ns: Option<u64>,
    candidates: Vec<Event>,
    window_events: Vec<Event>,
    /// From 64000 up: a straight chain of `chain - 64000` events (ids
    /// above the u8 range), to pass the depth limit. Rare, as it is slow.
    chain: u16,
    signals: Vec<(u8, u64, String)>,
    activity: Option<Vec<(u8, u64, u64, Option<u64>)>>,
    window_complete: bool,
    lag_records: u64,
    assembled_at: u64,
}

fn trace_id(n: u8) -> TraceId {
    TraceId([n % 3 + 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xaa])
}

fn ce_id(n: u32) -> CeId {
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&n.to_be_bytes());
    bytes[15] = 1;
    CeId(bytes)
}

fn service(n: u8) -> String {
    SERVICES[usize::from(n) % SERVICES.len()].to_owned()
}

fn event(raw: &Event) -> CausalEvent {
    CausalEvent {
        tenant_id: if raw.foreign_tenant { "other" } else { TENANT }.to_owned(),
        trace_id: trace_id(raw.trace),
        ce_id: ce_id(raw.id.into()),
        parent_ce_id: raw.parent.map(|p| ce_id(p.into())),
        service: service(raw.service),
        kind: Kind::ALL[usize::from(raw.kind) % Kind::ALL.len()],
        status: raw.status,
        start_unix_ns: raw.start.at(),
        duration_ns: raw.duration.duration(),
        operation: raw.operation.clone(),
        peer: raw.peer.map(|p| match p % 4 {
            0 => "ghost".to_owned(),
            _ => service(p),
        }),
        environment: None,
    }
}

fn build(input: &Input) -> AssemblyInput {
    let mut candidates: Vec<CausalEvent> = input.candidates.iter().take(MAX_EVENTS).map(event).collect();
    let chain = u32::from(input.chain.saturating_sub(64_000));
    for k in 0..chain {
        candidates.push(CausalEvent {
            ce_id: ce_id(1_000 + k),
            parent_ce_id: (k > 0).then(|| ce_id(1_000 + k - 1)),
            trace_id: trace_id(0),
            tenant_id: TENANT.to_owned(),
            service: service(k as u8),
            kind: Kind::HttpIn,
            status: if k == chain - 1 { 503 } else { 200 },
            start_unix_ns: T0 + u64::from(k),
            duration_ns: 1_000,
            operation: None,
            peer: None,
            environment: None,
        });
    }
    AssemblyInput {
        alert: Alert {
            alert_id: "alert-1".to_owned(),
            tenant_id: TENANT.to_owned(),
            service: service(input.alert_service),
            fired_at_unix_ns: input.fired_at.at(),
            title: "fuzz".to_owned(),
            source: AlertSource::Generic,
            source_label: None,
            dedup_key: None,
            trace_id: input.alert_trace.map(trace_id),
            severity: None,
        },
        pre_arm_ns: input.pre_arm_ns.unwrap_or(causeway_assembly::DEFAULT_PRE_ARM_NS),
        settle_ns: input.settle_ns.unwrap_or(causeway_assembly::DEFAULT_SETTLE_NS),
        candidates,
        window_events: input.window_events.iter().take(MAX_EVENTS).map(event).collect(),
        pre_arm_signals: input
            .signals
            .iter()
            .take(20)
            .map(|(s, at, meta)| PreArmSignal {
                service: service(*s),
                received_at_unix_ns: *at,
                metadata_json: meta.clone(),
            })
            .collect(),
        assembled_at_unix_ns: input.assembled_at,
        preselection: None,
        activity: input.activity.as_ref().map(|tallies| {
            tallies
                .iter()
                .take(20)
                .map(|(s, events, non_success, first)| ServiceTally {
                    service: service(*s),
                    events: *events,
                    non_success: *non_success,
                    first_failure_end_unix_ns: *first,
                })
                .collect()
        }),
        window: WindowProgress {
            complete: input.window_complete,
            lag_records: input.lag_records,
        },
        cuts: Vec::new(),
    }
}

/// What the artifact must say about its own input.
fn check(input: &AssemblyInput, artifact: &Artifact) {
    let tenant = &input.alert.tenant_id;
    let (from, to) = (artifact.scope.from_unix_ns, artifact.scope.to_unix_ns);
    assert_eq!((from, to), input.scope_bounds());
    let foreign = input.candidates.iter().filter(|e| &e.tenant_id != tenant).count() as u64;
    assert_eq!(artifact.graph_repairs.foreign_tenant_events, foreign);

    // The chosen trace: counts equal the input's.
    let chosen: Vec<&CausalEvent> = match artifact.selection.trace_id {
        Some(id) => {
            assert!(
                input
                    .candidates
                    .iter()
                    .any(|e| e.trace_id == id && &e.tenant_id == tenant),
                "selected a trace that is not among the candidates"
            );
            input
                .candidates
                .iter()
                .filter(|e| e.trace_id == id && &e.tenant_id == tenant)
                .filter(|e| (from..=to).contains(&e.start_unix_ns))
                .collect()
        }
        None => Vec::new(),
    };
    let captured: BTreeSet<CeId> = chosen.iter().map(|e| e.ce_id).collect();
    let c = &artifact.completeness;
    assert_eq!(c.captured_events, captured.len() as u64);
    assert_eq!(
        artifact.graph_repairs.duplicates_collapsed,
        (chosen.len() - captured.len()) as u64
    );
    let events: Vec<_> = artifact
        .frames
        .iter()
        .filter(|f| f.frame_type == FrameType::Event)
        .collect();
    let gaps: Vec<_> = artifact
        .frames
        .iter()
        .filter(|f| f.frame_type == FrameType::Gap)
        .collect();
    assert_eq!(events.iter().map(|f| f.ce_id).collect::<BTreeSet<_>>(), captured);
    assert_eq!(events.len(), captured.len());
    assert_eq!(gaps.len() as u64, c.gaps);
    let services: BTreeSet<&str> = events.iter().filter_map(|f| f.service.as_deref()).collect();
    assert_eq!(
        artifact.affected_services,
        services.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
    );
    assert_eq!(c.captured_services, services.len() as u64);

    // Gaps: named by captured events, never captured themselves.
    let mut named: BTreeMap<CeId, u32> = BTreeMap::new();
    for frame in &events {
        if let Some(parent) = frame.parent_ce_id
            && parent != frame.ce_id
            && !captured.contains(&parent)
        {
            *named.entry(parent).or_default() += 1;
        }
    }
    assert_eq!(
        gaps.iter()
            .map(|g| (g.ce_id, g.named_by.unwrap_or(0)))
            .collect::<BTreeMap<_, _>>(),
        named
    );

    // Links and depths.
    let by_id: BTreeMap<CeId, u32> = artifact.frames.iter().map(|f| (f.ce_id, f.depth)).collect();
    assert_eq!(by_id.len(), artifact.frames.len(), "one frame per id");
    let mut links = BTreeMap::<&str, u64>::new();
    for frame in &artifact.frames {
        assert!(frame.depth <= MAX_DEPTH, "depth {}", frame.depth);
        match frame.link {
            FrameLink::Child => {
                let parent = frame.parent_ce_id.expect("an event hanging under a parent names it");
                assert_eq!(by_id.get(&parent).map(|d| d + 1), Some(frame.depth), "child depth");
            }
            other => {
                assert_eq!(frame.depth, 0, "{other:?} frames are roots");
                *links.entry(format!("{other:?}").leak()).or_default() += 1;
            }
        }
    }
    let repairs = &artifact.graph_repairs;
    assert_eq!(links.get("CutSelfParent").copied().unwrap_or(0), repairs.self_parents);
    assert_eq!(links.get("CutCycle").copied().unwrap_or(0), repairs.cycles_broken);
    assert_eq!(links.get("CutDepthLimit").copied().unwrap_or(0), repairs.depth_cuts);
    let keys: Vec<_> = artifact
        .frames
        .iter()
        .map(|f| (f.depth, f.start_unix_ns, f.ce_id))
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] <= w[1]),
        "frames ordered by depth, start, id"
    );
    let mut order = tree_order(&artifact.frames);
    order.sort_unstable();
    assert_eq!(order, (0..artifact.frames.len()).collect::<Vec<_>>());

    // The first break is a failing event of the trace, and the earliest.
    let failing: Vec<_> = events.iter().filter(|f| f.non_success).collect();
    match &artifact.first_confirmed_break {
        Some(first) => {
            let frame = events
                .iter()
                .find(|f| f.ce_id == first.ce_id)
                .expect("the first break is a captured event of the trace");
            assert!(frame.non_success);
            assert_eq!(
                (frame.service.as_deref(), frame.status),
                (Some(first.service.as_str()), Some(first.status))
            );
            let end = |f: &&&causeway_assembly::Frame| f.start_unix_ns.saturating_add(f.duration_ns.unwrap_or(0));
            assert_eq!(failing.iter().map(end).min(), Some(first.at_unix_ns));
            assert!(
                input
                    .candidates
                    .iter()
                    .any(|e| e.ce_id == first.ce_id && e.is_non_success())
            );
        }
        None => assert!(failing.is_empty(), "a failing step but no first break"),
    }
    let ghosts: HashSet<&str> = artifact.ghost_services.iter().map(|g| g.peer.as_str()).collect();
    assert_eq!(ghosts.len(), artifact.ghost_services.len(), "one entry per ghost");
}

fuzz_target!(|raw: Input| {
    let input = build(&raw);
    let artifact = assemble(&input);
    check(&input, &artifact);

    // Deterministic, whatever the order the events arrive in.
    let mut reordered = input.clone();
    reordered.candidates.reverse();
    reordered.window_events.reverse();
    reordered.pre_arm_signals.reverse();
    let again = assemble(&reordered);
    assert_eq!(
        again.canonical_json(),
        artifact.canonical_json(),
        "input order changed the artifact"
    );

    // The canonical encoding reads back as the same artifact.
    let json = artifact.canonical_json();
    let back: Artifact = serde_json::from_slice(&json).expect("canonical JSON decodes");
    assert_eq!(back, artifact);
    assert!(artifact.digest().starts_with("sha256:"));
    let text = render_waterfall(&artifact, false);
    assert!(!text.is_empty());
    let _ = render_waterfall(&artifact, true);
});
