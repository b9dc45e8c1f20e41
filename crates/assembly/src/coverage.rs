//! The coverage scorecard of one tenant: pure functions over the events the
//! windower keeps. The caller passes one tenant's events (any order,
//! duplicates allowed).

use std::collections::{BTreeMap, BTreeSet};

use causeway_model::{CausalEvent, TraceId};
use serde::{Deserialize, Serialize};

use crate::artifact::{CallStats, CompletenessLabel};
use crate::completeness::label_for;
use crate::dedupe::dedupe_by_ce_id;
use crate::ghosts::InstrumentedServices;
use crate::graph::TraceGraph;
use crate::linkage::outbound_calls;
use crate::stats::{call_stats, per_mille};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    pub events: u64,
    pub traces: u64,
    /// Services that reported at least one event, sorted.
    pub instrumented_services: Vec<String>,
    /// Peers never answered by an instrumented callee, most calls first.
    pub ghost_services: Vec<GhostCoverage>,
    /// Per `(caller, peer)`, sorted: how often the callee reported.
    pub edges: Vec<EdgeHealth>,
    pub assembly: AssemblyShares,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GhostCoverage {
    pub peer: String,
    pub callers: Vec<String>,
    pub stats: CallStats,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeHealth {
    pub caller: String,
    /// The peer as the caller named it.
    pub peer: String,
    pub calls: u64,
    /// Calls whose callee reported an event linked to the call.
    pub answered: u64,
    pub errors: u64,
    /// answered * 1000 / calls: the share of calls that propagated.
    pub propagation_per_mille: u32,
}

/// How the tenant's traces would assemble.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssemblyShares {
    pub full: u64,
    pub partial: u64,
    pub low: u64,
    pub full_per_mille: u32,
    pub partial_per_mille: u32,
    pub low_per_mille: u32,
}

#[derive(Default)]
struct PeerTally<'a> {
    answered: u64,
    samples: Vec<(u64, bool)>,
    callers: BTreeSet<&'a str>,
}

#[derive(Default)]
struct EdgeTally {
    calls: u64,
    answered: u64,
    errors: u64,
}

pub fn coverage(events: &[CausalEvent]) -> Coverage {
    let (unique, _) = dedupe_by_ce_id(events);
    let instrumented = InstrumentedServices::from_events(unique.iter().copied());
    let mut traces: BTreeMap<TraceId, Vec<&CausalEvent>> = BTreeMap::new();
    for event in &unique {
        traces.entry(event.trace_id).or_default().push(event);
    }

    let mut edges: BTreeMap<(&str, &str), EdgeTally> = BTreeMap::new();
    let mut peer_samples: BTreeMap<&str, PeerTally<'_>> = BTreeMap::new();
    let mut shares = AssemblyShares::default();
    for trace_events in traces.values() {
        let graph = TraceGraph::build(trace_events.iter().copied());
        let services: BTreeSet<&str> = graph.events().map(|(_, e)| e.service.as_str()).collect();
        match label_for(services.len() as u64, graph.captured as u64, graph.gaps() as u64) {
            CompletenessLabel::Full => shares.full += 1,
            CompletenessLabel::Partial => shares.partial += 1,
            CompletenessLabel::Low => shares.low += 1,
        }
        for call in outbound_calls(&graph) {
            let failed = call.event.is_non_success();
            let edge = edges.entry((call.event.service.as_str(), call.peer())).or_default();
            edge.calls += 1;
            edge.answered += u64::from(call.answer.is_some());
            edge.errors += u64::from(failed);
            let peer = peer_samples.entry(call.peer()).or_default();
            peer.answered += u64::from(call.answer.is_some());
            peer.samples.push((call.event.duration_ns, failed));
            peer.callers.insert(call.event.service.as_str());
        }
    }
    let total = traces.len() as u64;
    shares.full_per_mille = per_mille(shares.full, total);
    shares.partial_per_mille = per_mille(shares.partial, total);
    shares.low_per_mille = per_mille(shares.low, total);

    let mut ghost_services: Vec<GhostCoverage> = peer_samples
        .into_iter()
        .filter(|(peer, tally)| tally.answered == 0 && !instrumented.reports(peer))
        .map(|(peer, tally)| GhostCoverage {
            peer: peer.to_owned(),
            callers: tally.callers.into_iter().map(str::to_owned).collect(),
            stats: call_stats(tally.samples),
        })
        .collect();
    ghost_services.sort_by(|a, b| b.stats.calls.cmp(&a.stats.calls).then_with(|| a.peer.cmp(&b.peer)));

    Coverage {
        events: unique.len() as u64,
        traces: total,
        instrumented_services: instrumented.names().cloned().collect(),
        ghost_services,
        edges: edges
            .into_iter()
            .map(|((caller, peer), tally)| EdgeHealth {
                caller: caller.to_owned(),
                peer: peer.to_owned(),
                calls: tally.calls,
                answered: tally.answered,
                errors: tally.errors,
                propagation_per_mille: per_mille(tally.answered, tally.calls),
            })
            .collect(),
        assembly: shares,
    }
}
