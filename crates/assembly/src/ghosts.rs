//! Ghost services: peers that outbound steps called but that never answered
//! as an instrumented callee, with caller-side statistics.

use std::collections::{BTreeMap, BTreeSet};

use causeway_model::CausalEvent;

use crate::artifact::GhostService;
use crate::input::CallSample;
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

/// The unanswered calls of the trace to one peer.
#[derive(Default)]
struct PerPeer<'c> {
    answered: u64,
    unanswered: u64,
    callers: BTreeSet<&'c str>,
}

/// A peer is a ghost of the trace when none of the trace's calls to it was
/// answered and no event anywhere in scope came from a service of that
/// name. (Unanswered calls to a service that does report elsewhere are a
/// propagation problem, not a ghost.)
fn ghosts_of<'c>(calls: &[OutboundCall<'c>], instrumented: &InstrumentedServices) -> BTreeMap<&'c str, PerPeer<'c>> {
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
    peers
        .into_iter()
        .filter(|(peer, stats)| stats.answered == 0 && stats.unanswered > 0 && !instrumented.reports(peer))
        .collect()
}

/// The names [`ghost_services`] reports, in name order.
pub fn ghost_peer_names(calls: &[OutboundCall<'_>], instrumented: &InstrumentedServices) -> Vec<String> {
    ghosts_of(calls, instrumented).into_keys().map(str::to_owned).collect()
}

/// The ghost services of the trace (see [`ghosts_of`]). Statistics cover
/// every outbound step naming the peer in scope: read through the store's
/// peer index when the caller passed them (`looked_up`), else counted from
/// `scope_events` (one copy per `ce_id`). Sorted by calls in scope (most
/// first), then peer.
pub fn ghost_services(
    calls: &[OutboundCall<'_>],
    instrumented: &InstrumentedServices,
    scope_events: &[&CausalEvent],
    looked_up: &BTreeMap<String, Vec<CallSample>>,
) -> Vec<GhostService> {
    let ghost_peers = ghosts_of(calls, instrumented);
    let mut samples: BTreeMap<&str, Vec<(u64, bool)>> = BTreeMap::new();
    for event in scope_events.iter().filter(|e| e.kind.is_outbound()) {
        let peer = event.peer.as_deref().unwrap_or(UNNAMED_PEER);
        if ghost_peers.contains_key(peer) && !looked_up.contains_key(peer) {
            samples
                .entry(peer)
                .or_default()
                .push((event.duration_ns, event.is_non_success()));
        }
    }
    for (peer, calls) in looked_up {
        if let Some((peer, _)) = ghost_peers.get_key_value(peer.as_str()) {
            samples.insert(
                peer,
                calls.iter().map(|call| (call.duration_ns, call.non_success)).collect(),
            );
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
