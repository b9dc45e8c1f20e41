//! Ghost services: peers that outbound steps called but that never answered
//! as an instrumented callee, with caller-side statistics.

use std::collections::{BTreeMap, BTreeSet};

use causeway_model::CausalEvent;

use crate::artifact::GhostService;
use crate::linkage::{OutboundCall, UNNAMED_PEER, peer_host};
use crate::stats::call_stats;

/// Names services that report, both as written and as host names, so a peer
/// named `pricing.prod:8080` is recognized as the instrumented `pricing`.
#[derive(Debug, Default)]
pub struct InstrumentedServices {
    names: BTreeSet<String>,
    hosts: BTreeSet<String>,
}

impl InstrumentedServices {
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a CausalEvent>) -> Self {
        let mut known = InstrumentedServices::default();
        for event in events {
            if !known.names.contains(&event.service) {
                known.hosts.insert(peer_host(&event.service));
                known.names.insert(event.service.clone());
            }
        }
        known
    }

    /// Adds services known to report from elsewhere (the store's counters).
    pub fn extend<'a>(&mut self, services: impl IntoIterator<Item = &'a str>) {
        for service in services {
            if !self.names.contains(service) {
                self.hosts.insert(peer_host(service));
                self.names.insert(service.to_owned());
            }
        }
    }

    pub fn reports(&self, peer: &str) -> bool {
        self.names.contains(peer) || self.hosts.contains(&peer_host(peer))
    }

    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.names.iter()
    }
}

/// A peer is a ghost of the trace when none of the trace's calls to it was
/// answered and no event anywhere in scope came from a service of that
/// name. (Unanswered calls to a service that does report elsewhere are a
/// propagation problem, not a ghost.) Statistics cover every outbound step
/// naming the peer in scope (`scope_events`, one copy per `ce_id`). Sorted
/// by calls in scope (most first), then peer.
pub fn ghost_services(
    calls: &[OutboundCall<'_>],
    instrumented: &InstrumentedServices,
    scope_events: &[&CausalEvent],
) -> Vec<GhostService> {
    #[derive(Default)]
    struct PerPeer<'c> {
        answered: u64,
        unanswered: u64,
        callers: BTreeSet<&'c str>,
    }
    let mut peers: BTreeMap<&str, PerPeer<'_>> = BTreeMap::new();
    for call in calls {
        let entry = peers.entry(call.peer()).or_default();
        if call.answer.is_some() {
            entry.answered += 1;
        } else {
            entry.unanswered += 1;
            entry.callers.insert(call.event.service.as_str());
        }
    }
    let ghost_peers: BTreeMap<&str, PerPeer<'_>> = peers
        .into_iter()
        .filter(|(peer, stats)| stats.answered == 0 && stats.unanswered > 0 && !instrumented.reports(peer))
        .collect();
    let mut samples: BTreeMap<&str, Vec<(u64, bool)>> = BTreeMap::new();
    for event in scope_events.iter().filter(|e| e.kind.is_outbound()) {
        let peer = event.peer.as_deref().unwrap_or(UNNAMED_PEER);
        if ghost_peers.contains_key(peer) {
            samples
                .entry(peer)
                .or_default()
                .push((event.duration_ns, event.is_non_success()));
        }
    }
    let mut ghosts: Vec<GhostService> = ghost_peers
        .into_iter()
        .map(|(peer, stats)| GhostService {
            peer: peer.to_owned(),
            callers: stats.callers.into_iter().map(str::to_owned).collect(),
            calls_in_trace: stats.unanswered,
            window: call_stats(samples.remove(peer).unwrap_or_default()),
        })
        .collect();
    ghosts.sort_by(|a, b| b.window.calls.cmp(&a.window.calls).then_with(|| a.peer.cmp(&b.peer)));
    ghosts
}
