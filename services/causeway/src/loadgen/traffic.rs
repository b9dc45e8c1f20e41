//! The traces the load is made of: each request enters at the edge service
//! and calls down a tree of services (never back up, so no cycles), some
//! calls go to uninstrumented dependencies (ghosts), and a share of traces
//! fail deep in the chain and propagate 5xx upwards. Every id is fresh.
//!
//! Linkage is OpenTelemetry's (a callee's inbound step is the child of the
//! caller's outbound step), which the SDK's `instrumented_urlopen` shares.

use crate::demo::rng::Rng;
use crate::demo::topology::{Direction, Reporting, Service, Step};

/// Instrumented service names, the edge first.
const SERVICE_NAMES: [&str; 32] = [
    "edge",
    "checkout",
    "inventory",
    "payments",
    "ledger",
    "search",
    "catalog",
    "pricing",
    "cart",
    "shipping",
    "accounts",
    "auth",
    "notifications",
    "recommendations",
    "reviews",
    "orders",
    "billing",
    "tax",
    "fulfillment",
    "returns",
    "loyalty",
    "media",
    "profile",
    "sessions",
    "warehouse",
    "invoices",
    "coupons",
    "currency",
    "fraud",
    "analytics",
    "audit",
    "export",
];
pub const MAX_SERVICES: usize = SERVICE_NAMES.len();

/// Dependencies that never report: each shows as a ghost service.
const GHOSTS: [&str; 4] = ["postgres", "redis", "stripe-api", "geo-api"];

/// Deepest service hop below the edge.
const MAX_DEPTH: usize = 3;
/// Chance (per mille) that an inbound step also calls a ghost.
const GHOST_CALL_PER_MILLE: u64 = 300;
const ROUTES: [(&str, &str); 4] = [
    ("GET", "/items/{id}"),
    ("POST", "/orders"),
    ("GET", "/v1/quote"),
    ("PUT", "/state/{key}"),
];

/// The services of a run.
pub fn services(count: usize, reporting: Reporting) -> Vec<Service> {
    SERVICE_NAMES
        .iter()
        .take(count.clamp(1, MAX_SERVICES))
        .map(|name| Service { name, reporting })
        .collect()
}

/// Builds traces over a fixed set of services.
pub struct Traffic {
    rng: Rng,
    services: Vec<Service>,
    failure_per_mille: u64,
}

enum Callee {
    Service(usize),
    Ghost(&'static str),
}

impl Traffic {
    pub fn new(rng: Rng, services: Vec<Service>, failure_per_mille: u64) -> Self {
        Self {
            rng,
            services,
            failure_per_mille,
        }
    }

    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// One trace whose every step has completed by `end_ns`.
    pub fn trace(&mut self, end_ns: u64) -> Vec<Step> {
        let trace_id = self.rng.trace_id();
        let duration = self.rng.between(20_000_000, 200_000_000);
        let start = end_ns - duration - self.rng.between(0, 5_000_000);
        let failing = self.rng.chance(self.failure_per_mille);
        let mut steps = Vec::with_capacity(16);
        self.inbound(&mut steps, trace_id, 0, None, (start, duration), 0, failing);
        steps
    }

    /// Records service `index`'s inbound step and everything it calls;
    /// returns the status it answered.
    #[allow(clippy::too_many_arguments)]
    fn inbound(
        &mut self,
        steps: &mut Vec<Step>,
        trace_id: [u8; 16],
        index: usize,
        parent: Option<[u8; 8]>,
        (start, duration): (u64, u64),
        depth: usize,
        failing: bool,
    ) -> u16 {
        let id = self.rng.span_id();
        let (method, route) = ROUTES[self.rng.between(0, ROUTES.len() as u64 - 1) as usize];
        let at = steps.len();
        steps.push(Step {
            trace_id,
            id,
            parent,
            service: self.services[index],
            direction: Direction::Inbound,
            status: 200,
            start_ns: start,
            duration_ns: duration,
            method,
            route,
            peer: None,
        });
        let callees = self.callees(index, depth);
        let leaf = callees.is_empty();
        // Each call gets an equal slot of the parent's time and uses 80% of it.
        let slot = duration / (callees.len() as u64 + 1);
        let mut cursor = start + slot / 2;
        let mut status = 200;
        let last = callees.len().saturating_sub(1);
        for (n, callee) in callees.into_iter().enumerate() {
            // A failing trace fails along its last call, down to a leaf.
            let fail_here = failing && n == last;
            let call_id = self.rng.span_id();
            let call_duration = slot * 8 / 10;
            let (peer, call_status) = match callee {
                Callee::Service(callee) => {
                    let margin = call_duration / 20;
                    let answered = self.inbound(
                        steps,
                        trace_id,
                        callee,
                        Some(call_id),
                        (cursor + margin, call_duration - 2 * margin),
                        depth + 1,
                        fail_here,
                    );
                    (self.services[callee].name, answered)
                }
                // An uninstrumented dependency timing out shows only on the caller's side.
                Callee::Ghost(ghost) => (ghost, if fail_here { 504 } else { 200 }),
            };
            steps.push(Step {
                trace_id,
                id: call_id,
                parent: Some(id),
                service: self.services[index],
                direction: Direction::Outbound,
                status: call_status,
                start_ns: cursor,
                duration_ns: call_duration,
                method,
                route,
                peer: Some(peer),
            });
            if call_status >= 500 {
                status = if depth == 0 { 500 } else { 502 };
            }
            cursor += slot;
        }
        if failing && leaf {
            // A leaf of a failing trace: where the failure starts.
            status = 503;
        }
        steps[at].status = status;
        status
    }

    /// Downstream calls of service `index`: one or two instrumented services
    /// further down the list, sometimes a ghost, none past the last level.
    fn callees(&mut self, index: usize, depth: usize) -> Vec<Callee> {
        let mut callees = Vec::new();
        let below = self.services.len() - index - 1;
        if depth < MAX_DEPTH && below > 0 {
            for _ in 0..self.rng.between(1, 2.min(below as u64)) {
                let callee = self.rng.between(index as u64 + 1, self.services.len() as u64 - 1) as usize;
                callees.push(Callee::Service(callee));
            }
        }
        if self.rng.chance(GHOST_CALL_PER_MILLE) {
            let ghost = GHOSTS[self.rng.between(0, GHOSTS.len() as u64 - 1) as usize];
            // Before the service calls, so a failing trace still fails along a service when it has one.
            callees.insert(0, Callee::Ghost(ghost));
        }
        callees
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    const END: u64 = 1_800_000_000_000_000_000;

    #[test]
    fn traces_nest_cross_services_and_fail_from_a_leaf() {
        let mut traffic = Traffic::new(Rng::seeded(4), services(8, Reporting::Otlp), 500);
        let (mut failing, mut ghosts, mut crossing) = (0, 0, 0);
        let mut ids = BTreeSet::new();
        for _ in 0..400 {
            let steps = traffic.trace(END);
            assert!(
                steps
                    .iter()
                    .all(|s| s.end_ns() <= END && s.trace_id == steps[0].trace_id)
            );
            assert!(steps.iter().all(|s| ids.insert(s.id)), "ids are fresh");
            for step in &steps {
                let Some(parent) = step.parent else { continue };
                let parent = steps.iter().find(|s| s.id == parent).expect("parent in trace");
                assert!(parent.start_ns <= step.start_ns && step.end_ns() <= parent.end_ns());
            }
            assert_eq!(steps.iter().filter(|s| s.parent.is_none()).count(), 1);
            let services: BTreeSet<&str> = steps.iter().map(|s| s.service.name).collect();
            crossing += usize::from(services.len() > 1);
            ghosts += usize::from(steps.iter().any(|s| s.peer.is_some_and(|p| GHOSTS.contains(&p))));
            if steps[0].status >= 500 {
                failing += 1;
                let first = steps.iter().filter(|s| s.status >= 500).min_by_key(|s| s.end_ns());
                assert!(first.is_some_and(|s| s.status == 503 || s.status == 504), "{steps:#?}");
            } else {
                assert!(steps.iter().all(|s| s.status == 200));
            }
        }
        assert!((120..=280).contains(&failing), "{failing} of 400 failing at 50%");
        assert!(ghosts > 50 && crossing > 350, "ghosts {ghosts}, crossing {crossing}");
    }

    #[test]
    fn one_service_still_makes_valid_traces() {
        let mut traffic = Traffic::new(Rng::seeded(5), services(1, Reporting::SdkJson), 1000);
        for _ in 0..50 {
            let steps = traffic.trace(END);
            assert!(steps.iter().all(|s| s.service.name == "edge"));
            assert_eq!(steps[0].status, if steps.len() == 1 { 503 } else { 500 });
        }
    }
}
