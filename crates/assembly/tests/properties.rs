//! Properties over random forests with random dropped and repeated CEs.

#[path = "support/builders.rs"]
mod builders;

use std::collections::BTreeSet;

use builders::*;
use causeway_assembly::{CompletenessLabel, FrameType, assemble, coverage, render_waterfall};
use causeway_model::{CausalEvent, CeId, Kind};
use proptest::prelude::*;

const SERVICES: [&str; 6] = ["edge", "orders", "stock", "pricing", "auth", "mail"];
const KINDS: [Kind; 6] = [
    Kind::HttpIn,
    Kind::HttpOut,
    Kind::HttpOut,
    Kind::QueueConsume,
    Kind::QueuePublish,
    Kind::Internal,
];
const STATUSES: [u16; 5] = [200, 200, 500, 0, 404];

#[derive(Debug, Clone)]
struct Spec {
    parent: Option<usize>,
    service: usize,
    kind: usize,
    status: usize,
    start_us: u64,
    duration_us: u64,
    peer: usize,
}

fn spec(max_parent: usize) -> impl Strategy<Value = Spec> {
    (
        prop::option::weighted(0.85, 0..max_parent.max(1)),
        0..SERVICES.len(),
        0..KINDS.len(),
        0..STATUSES.len(),
        0u64..5_000_000,
        0u64..2_000_000,
        0..SERVICES.len() + 2,
    )
        .prop_map(|(parent, service, kind, status, start_us, duration_us, peer)| Spec {
            parent,
            service,
            kind,
            status,
            start_us,
            duration_us,
            peer,
        })
}

fn to_event(i: usize, spec: &Spec, trace_n: u8) -> CausalEvent {
    let mut event = ev(
        trace(trace_n),
        i as u32 + 1,
        spec.parent.map(|p| p as u32 + 1),
        SERVICES[spec.service],
        KINDS[spec.kind],
        STATUSES[spec.status],
        spec.start_us,
        spec.duration_us,
    );
    if event.kind.is_outbound() {
        event.peer = Some(
            SERVICES
                .get(spec.peer)
                .map_or_else(|| format!("ghost-{}", spec.peer), |s| (*s).to_owned()),
        );
    }
    event
}

/// A forest: every parent is an earlier node (or none), so no cycles.
fn forest() -> impl Strategy<Value = Vec<CausalEvent>> {
    (1usize..40)
        .prop_flat_map(|n| prop::collection::vec(spec(n), n))
        .prop_map(|specs| {
            specs
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let mut s = s.clone();
                    s.parent = s.parent.filter(|&p| p < i);
                    to_event(i, &s, 1)
                })
                .collect()
        })
}

/// Anything goes: parents may be self, later, missing or cyclic; several traces.
fn garbage() -> impl Strategy<Value = Vec<CausalEvent>> {
    (1usize..40)
        .prop_flat_map(|n| {
            (
                prop::collection::vec((spec(n + 5), 1u8..4), n),
                prop::collection::vec(0..n, 0..10),
            )
        })
        .prop_map(|(specs, repeats)| {
            let mut events: Vec<CausalEvent> = specs
                .iter()
                .enumerate()
                .map(|(i, (s, trace_n))| to_event(i, s, *trace_n))
                .collect();
            let copies: Vec<CausalEvent> = repeats.iter().map(|&i| events[i].clone()).collect();
            events.extend(copies);
            events
        })
}

fn label_of(events: Vec<CausalEvent>) -> CompletenessLabel {
    assemble(&input(alert("edge", fired_at(), Some(trace(1))), events))
        .completeness
        .label
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_and_frames_are_captured_plus_gaps(events in garbage(), service in 0..SERVICES.len()) {
        let artifact = assemble(&input(alert(SERVICES[service], fired_at(), None), events.clone()));
        let _ = render_waterfall(&artifact, true);
        let _ = coverage(&events);
        if let Some(chosen) = artifact.selection.trace_id {
            let in_trace: Vec<&CausalEvent> = events.iter().filter(|e| e.trace_id == chosen).collect();
            let captured: BTreeSet<CeId> = in_trace.iter().map(|e| e.ce_id).collect();
            let gaps: BTreeSet<CeId> =
                in_trace.iter().filter_map(|e| e.parent_ce_id).filter(|p| !captured.contains(p)).collect();
            prop_assert_eq!(artifact.frames.len(), captured.len() + gaps.len());
            let gap_frames = artifact.frames.iter().filter(|f| f.frame_type == FrameType::Gap).count();
            prop_assert_eq!(gap_frames, gaps.len());
            prop_assert_eq!(artifact.completeness.gaps as usize, gaps.len());
        } else {
            prop_assert!(artifact.frames.is_empty());
        }
        let keys: Vec<_> = artifact.frames.iter().map(|f| (f.depth, f.start_unix_ns, f.ce_id)).collect();
        prop_assert!(keys.windows(2).all(|w| w[0] < w[1]), "frames ordered by depth, start, ce_id");
    }

    #[test]
    fn result_is_independent_of_input_order(events in garbage(), keys in prop::collection::vec(any::<u32>(), 50)) {
        let mut shuffled: Vec<(u32, CausalEvent)> =
            events.iter().cloned().enumerate().map(|(i, e)| (keys[i % keys.len()] ^ i as u32, e)).collect();
        shuffled.sort_by_key(|(k, _)| *k);
        let shuffled: Vec<CausalEvent> = shuffled.into_iter().map(|(_, e)| e).collect();
        let reversed: Vec<CausalEvent> = events.iter().rev().cloned().collect();
        let make = |candidates: Vec<CausalEvent>| assemble(&input(alert("edge", fired_at(), None), candidates));
        let original = make(events.clone());
        prop_assert_eq!(original.canonical_json(), make(shuffled.clone()).canonical_json());
        prop_assert_eq!(original.digest(), make(reversed).digest());
        prop_assert_eq!(coverage(&events), coverage(&shuffled));
    }

    /// Dropping more CEs never improves the label. The one exception is
    /// excluded by construction: dropping the last captured event that
    /// named a missing parent erases the only evidence of that gap.
    #[test]
    fn completeness_is_monotone_in_dropped_events(events in forest(), keys in prop::collection::vec(any::<u32>(), 40)) {
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by_key(|&i| (keys[i % keys.len()], i));
        let mut kept = events.clone();
        let mut previous = label_of(kept.clone());
        for index in order {
            let victim = events[index].ce_id;
            let captured: BTreeSet<CeId> = kept.iter().map(|e| e.ce_id).collect();
            let Some(event) = kept.iter().find(|e| e.ce_id == victim) else { continue };
            let has_children = kept.iter().any(|e| e.parent_ce_id == Some(victim));
            let erases_gap = event.parent_ce_id.is_some_and(|p| {
                !captured.contains(&p) && kept.iter().filter(|e| e.parent_ce_id == Some(p)).count() == 1
            });
            if erases_gap && !has_children {
                continue;
            }
            kept.retain(|e| e.ce_id != victim);
            let label = label_of(kept.clone());
            prop_assert!(label <= previous, "dropping {victim} raised {previous:?} to {label:?}");
            previous = label;
        }
    }
}
