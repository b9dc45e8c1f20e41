//! Assembly on arbitrary event graphs: random parent links (cycles,
//! self-parents, missing parents, chains past the depth limit), duplicate
//! ids, other tenants, absurd timestamps and durations. `assemble` is
//! total and deterministic, and the artifact agrees with its input.
//!
//! Most inputs are small graphs (at most [`SMALL_EVENTS`] candidate and as
//! many window events): they reach the same branches as large ones at a
//! small fraction of the cost. One input in [`LARGE_ONE_IN`], chosen by a
//! hash of its bytes, reads up to [`LARGE_EVENTS`] of each, and about one
//! in 16 of those adds a straight chain of about [`MAX_DEPTH`] events, most
//! of them past the depth limit. The hash decides, not a field the fuzzer
//! can keep: a mutation of a large input is most likely small again, so
//! the share of slow executions stays fixed however the corpus grows (with
//! a field, about a third of the corpus became slow chain inputs).
#![no_main]

use std::collections::{BTreeMap, BTreeSet, HashSet};

use arbitrary::{Arbitrary, Unstructured};
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
/// Candidate (and window) events of a small input.
const SMALL_EVENTS: usize = 32;
/// Candidate (and window) events of a large input.
const LARGE_EVENTS: usize = 300;
/// One input in this many is large.
const LARGE_ONE_IN: u64 = 64;
/// A chain has `CHAIN_MIN` to `CHAIN_MIN + CHAIN_SPREAD - 1` events: the
/// deepest event of a chain of more than `MAX_DEPTH + 1` is past the limit.
const CHAIN_MIN: u32 = MAX_DEPTH - 40;
const CHAIN_SPREAD: u32 = 128;
/// Pre-arm signals and store tallies read.
const MAX_EXTRAS: usize = 20;

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

/// Read in field order, each list as `arbitrary` reads a `Vec` (a `true`
/// byte before each element) but stopping at its cap, so the bytes past a
/// small graph's last event are not decoded into events that are dropped.
#[derive(Debug)]
struct Input {
    alert_service: u8,
    alert_trace: Option<u8>,
    fired_at: Time,
    pre_arm_ns: Option<u64>,
    settle_ns: Option<u64>,
    candidates: Vec<Event>,
    window_events: Vec<Event>,
    /// In a large input, a value of 15 modulo 16 (not 0: an input that ends
    /// before this field reads 0) adds a straight chain of
    /// `CHAIN_MIN + chain / 16 % CHAIN_SPREAD` events (ids above the u8
    /// range).
    chain: u16,
    signals: Vec<(u8, u64, String)>,
    activity: Option<Vec<(u8, u64, u64, Option<u64>)>>,
    window_complete: bool,
    lag_records: u64,
    assembled_at: u64,
    large: bool,
    color: bool,
    round_trip: bool,
}

fn list<'a, T: Arbitrary<'a>>(u: &mut Unstructured<'a>, cap: usize) -> arbitrary::Result<Vec<T>> {
    let mut out = Vec::new();
    while out.len() < cap && u.arbitrary::<bool>()? {
        out.push(u.arbitrary()?);
    }
    Ok(out)
}

impl Input {
    fn read(data: &[u8]) -> arbitrary::Result<Input> {
        // FNV-1a: fixed across builds and toolchains, so a large input
        // stays large when it is replayed.
        let hash = data.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
        });
        let large = hash % LARGE_ONE_IN == 0;
        let events = if large { LARGE_EVENTS } else { SMALL_EVENTS };
        let u = &mut Unstructured::new(data);
        Ok(Input {
            alert_service: u.arbitrary()?,
            alert_trace: u.arbitrary()?,
            fired_at: u.arbitrary()?,
            pre_arm_ns: u.arbitrary()?,
            settle_ns: u.arbitrary()?,
            candidates: list(u, events)?,
            window_events: list(u, events)?,
            chain: u.arbitrary()?,
            signals: list(u, MAX_EXTRAS)?,
            activity: if u.arbitrary()? {
                Some(list(u, MAX_EXTRAS)?)
            } else {
                None
            },
            window_complete: u.arbitrary()?,
            lag_records: u.arbitrary()?,
            assembled_at: u.arbitrary()?,
            large,
            color: hash >> 32 & 1 == 1,
            round_trip: hash >> 33 & 1 == 1,
        })
    }

    fn chain_len(&self) -> u32 {
        match self.large && self.chain % 16 == 15 {
            true => CHAIN_MIN + u32::from(self.chain / 16) % CHAIN_SPREAD,
            false => 0,
        }
    }
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
    let mut candidates: Vec<CausalEvent> = input.candidates.iter().map(event).collect();
    let chain = input.chain_len();
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
        window_events: input.window_events.iter().map(event).collect(),
        pre_arm_signals: input
            .signals
            .iter()
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
        peer_calls: Default::default(),
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
    let (mut self_parents, mut cycles, mut depth_cuts) = (0_u64, 0_u64, 0_u64);
    for frame in &artifact.frames {
        assert!(frame.depth <= MAX_DEPTH, "depth {}", frame.depth);
        match frame.link {
            FrameLink::Child => {
                let parent = frame.parent_ce_id.expect("an event hanging under a parent names it");
                assert_eq!(by_id.get(&parent).map(|d| d + 1), Some(frame.depth), "child depth");
            }
            other => {
                assert_eq!(frame.depth, 0, "{other:?} frames are roots");
                match other {
                    FrameLink::CutSelfParent => self_parents += 1,
                    FrameLink::CutCycle => cycles += 1,
                    FrameLink::CutDepthLimit => depth_cuts += 1,
                    FrameLink::Root | FrameLink::Child => {}
                }
            }
        }
    }
    let repairs = &artifact.graph_repairs;
    assert_eq!(self_parents, repairs.self_parents);
    assert_eq!(cycles, repairs.cycles_broken);
    assert_eq!(depth_cuts, repairs.depth_cuts);
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

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = Input::read(data) else {
        return;
    };
    let input = build(&raw);
    let artifact = assemble(&input);
    check(&input, &artifact);

    // Deterministic, whatever the order the events arrive in. The artifact
    // has no maps and no floats, so equal artifacts encode to the same bytes.
    let mut reordered = input.clone();
    reordered.candidates.reverse();
    reordered.window_events.reverse();
    reordered.pre_arm_signals.reverse();
    let again = assemble(&reordered);
    assert_eq!(again, artifact, "input order changed the artifact");

    // The canonical encoding reads back as the same artifact: every large
    // input, half the small ones by the hash (decoding a small artifact
    // costs about twice the two assemblies).
    if raw.large || raw.round_trip {
        let json = artifact.canonical_json();
        let back: Artifact = serde_json::from_slice(&json).expect("canonical JSON decodes");
        assert_eq!(back, artifact);
    }

    // The waterfall renders (with or without colour, by the input's hash),
    // headed by the digest: sha256 over that encoding.
    let text = render_waterfall(&artifact, raw.color);
    let digest = text
        .lines()
        .next()
        .and_then(|line| line.split("causeway artifact sha256:").nth(1))
        .expect("the waterfall opens with the digest");
    let digest = digest.strip_suffix("\x1b[0m").unwrap_or(digest);
    assert!(
        digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
        "{digest:?}"
    );
});
