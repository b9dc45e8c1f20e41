//! Coverage over a longer range than the window: call edges summed over
//! time slots (rolled up from the window while it still held them) merged
//! with the live window. Pure functions, like [`crate::coverage()`].

use std::collections::{BTreeMap, BTreeSet};

use causeway_model::{CausalEvent, TraceId};

use crate::artifact::CallStats;
use crate::coverage::{Coverage, EdgeHealth, GhostCoverage};
use crate::dedupe::dedupe_by_ce_id;
use crate::ghosts::InstrumentedServices;
use crate::graph::TraceGraph;
use crate::linkage::outbound_calls;
use crate::stats::per_mille;

impl EdgeHealth {
    /// An edge from its counts, the propagation share computed.
    pub fn from_counts(caller: String, peer: String, calls: u64, answered: u64, errors: u64) -> Self {
        EdgeHealth {
            caller,
            peer,
            calls,
            answered,
            errors,
            propagation_per_mille: per_mille(answered, calls),
        }
    }
}

/// Per `(caller, peer)`, sorted, the outbound calls whose caller-side event
/// started in `[from_ns, to_ns)`, counted by the rule of
/// [`crate::coverage()`]: an answer is any linked callee event in `events`,
/// whenever it started, so callers pass events a little past `to_ns`.
pub fn call_edges(events: &[CausalEvent], from_ns: u64, to_ns: u64) -> Vec<EdgeHealth> {
    let (unique, _) = dedupe_by_ce_id(events);
    let mut traces: BTreeMap<TraceId, Vec<&CausalEvent>> = BTreeMap::new();
    for event in unique {
        traces.entry(event.trace_id).or_default().push(event);
    }
    let mut edges: BTreeMap<(&str, &str), (u64, u64, u64)> = BTreeMap::new();
    for trace_events in traces.values() {
        let graph = TraceGraph::build(trace_events.iter().copied());
        for call in outbound_calls(&graph) {
            if !(from_ns..to_ns).contains(&call.event.start_unix_ns) {
                continue;
            }
            let (calls, answered, errors) = edges.entry((call.event.service.as_str(), call.peer())).or_default();
            *calls += 1;
            *answered += u64::from(call.answer.is_some());
            *errors += u64::from(call.event.is_non_success());
        }
    }
    edges
        .into_iter()
        .map(|((caller, peer), (calls, answered, errors))| {
            EdgeHealth::from_counts(caller.to_owned(), peer.to_owned(), calls, answered, errors)
        })
        .collect()
}

/// The coverage of a range: the edges of `parts` (slots rolled up, and the
/// live window's calls after them; never the same call twice) summed per
/// `(caller, peer)`; ghosts re-ranked by those calls. Services are the live
/// window's plus every caller seen. Ghost latency percentiles cannot be
/// summed over slots: they are the live window's (zero for a ghost the live
/// window did not call). Event, trace and assembly figures are the live
/// window's.
pub fn coverage_over_range(live: &Coverage, parts: &[&[EdgeHealth]]) -> Coverage {
    let mut sums: BTreeMap<(&str, &str), (u64, u64, u64)> = BTreeMap::new();
    for edge in parts.iter().flat_map(|part| part.iter()) {
        let (calls, answered, errors) = sums.entry((edge.caller.as_str(), edge.peer.as_str())).or_default();
        *calls = calls.saturating_add(edge.calls);
        *answered = answered.saturating_add(edge.answered);
        *errors = errors.saturating_add(edge.errors);
    }
    let mut instrumented = InstrumentedServices::default();
    instrumented.extend(live.instrumented_services.iter().map(String::as_str));
    instrumented.extend(sums.keys().map(|(caller, _)| *caller));

    let mut peers: BTreeMap<&str, (u64, u64, u64, BTreeSet<&str>)> = BTreeMap::new();
    for ((caller, peer), (calls, answered, errors)) in &sums {
        let tally = peers.entry(peer).or_default();
        tally.0 += calls;
        tally.1 += answered;
        tally.2 += errors;
        tally.3.insert(caller);
    }
    let mut ghost_services: Vec<GhostCoverage> = peers
        .into_iter()
        .filter(|(peer, (_, answered, _, _))| *answered == 0 && !instrumented.reports(peer))
        .map(|(peer, (calls, _, errors, callers))| {
            let latency = live.ghost_services.iter().find(|ghost| ghost.peer == peer);
            let (p50_ns, p95_ns, p99_ns) =
                latency.map_or((0, 0, 0), |g| (g.stats.p50_ns, g.stats.p95_ns, g.stats.p99_ns));
            GhostCoverage {
                peer: peer.to_owned(),
                callers: callers.into_iter().map(str::to_owned).collect(),
                stats: CallStats {
                    calls,
                    errors,
                    error_rate_per_mille: per_mille(errors, calls),
                    p50_ns,
                    p95_ns,
                    p99_ns,
                },
            }
        })
        .collect();
    ghost_services.sort_by(|a, b| b.stats.calls.cmp(&a.stats.calls).then_with(|| a.peer.cmp(&b.peer)));

    Coverage {
        events: live.events,
        traces: live.traces,
        instrumented_services: instrumented.names().cloned().collect(),
        ghost_services,
        edges: sums
            .into_iter()
            .map(|((caller, peer), (calls, answered, errors))| {
                EdgeHealth::from_counts(caller.to_owned(), peer.to_owned(), calls, answered, errors)
            })
            .collect(),
        assembly: live.assembly.clone(),
    }
}

#[cfg(test)]
mod tests {
    use causeway_model::{CeId, Kind};

    use super::*;
    use crate::coverage::coverage;

    fn event(ce: u8, parent: Option<u8>, service: &str, kind: Kind, peer: Option<&str>, start: u64) -> CausalEvent {
        CausalEvent {
            tenant_id: "t".into(),
            trace_id: TraceId([1; 16]),
            ce_id: CeId([ce; 16]),
            parent_ce_id: parent.map(|p| CeId([p; 16])),
            service: service.into(),
            kind,
            status: 200,
            start_unix_ns: start,
            duration_ns: 1_000,
            operation: None,
            peer: peer.map(str::to_owned),
            environment: None,
        }
    }

    fn live() -> Vec<CausalEvent> {
        vec![
            event(1, None, "web", Kind::HttpIn, None, 100),
            event(2, Some(1), "web", Kind::HttpOut, Some("payments"), 110),
            event(3, Some(2), "payments", Kind::HttpIn, None, 120),
            event(4, Some(1), "web", Kind::HttpOut, Some("fraud-api"), 130),
        ]
    }

    #[test]
    fn call_edges_count_calls_started_in_range_with_answers_after_it() {
        let events = live();
        let edges = call_edges(&events, 100, 111);
        assert_eq!(
            edges,
            vec![EdgeHealth::from_counts("web".into(), "payments".into(), 1, 1, 0)]
        );
        assert_eq!(
            call_edges(&events, 0, u64::MAX),
            coverage(&events).edges,
            "the coverage rule"
        );
        assert!(call_edges(&events, 131, u64::MAX).is_empty());
    }

    #[test]
    fn range_sums_edges_and_reranks_ghosts_keeping_live_latency() {
        let live = coverage(&live());
        let rolled = vec![
            EdgeHealth::from_counts("web".into(), "fraud-api".into(), 9, 0, 3),
            EdgeHealth::from_counts("web".into(), "payments".into(), 4, 2, 0),
            EdgeHealth::from_counts("api".into(), "ledger".into(), 20, 0, 0),
            EdgeHealth::from_counts("api".into(), "payments".into(), 5, 0, 0),
        ];
        let range = coverage_over_range(&live, &[&rolled, &live.edges]);
        let fraud = &range.edges[2];
        assert_eq!((fraud.peer.as_str(), fraud.calls, fraud.errors), ("fraud-api", 10, 3));
        assert_eq!(range.edges[3].propagation_per_mille, 600, "3 of 5 answered");
        assert_eq!(range.instrumented_services, vec!["api", "payments", "web"]);
        let ghosts: Vec<(&str, u64)> = range
            .ghost_services
            .iter()
            .map(|g| (g.peer.as_str(), g.stats.calls))
            .collect();
        assert_eq!(
            ghosts,
            vec![("ledger", 20), ("fraud-api", 10)],
            "payments reports: no ghost"
        );
        assert_eq!(range.ghost_services[1].stats.error_rate_per_mille, 300);
        assert_eq!(
            range.ghost_services[1].stats.p50_ns, 1_000,
            "latency from the live window"
        );
        assert_eq!(range.ghost_services[0].stats.p50_ns, 0, "not called live: unknown");
    }
}
