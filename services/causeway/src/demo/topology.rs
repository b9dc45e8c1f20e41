//! The demo's shop: five instrumented services and one uninstrumented
//! dependency, and the steps one `POST /checkout` request records in each
//! of them, healthy or failing.
//!
//! ```text
//! web ──> checkout ──> inventory
//!             └──────> payments ──> fraud-api   (uninstrumented: a ghost)
//!                           └─────> ledger      (starts answering 503)
//! ```
//!
//! `web`, `inventory` and `ledger` report over OTLP; `checkout` and
//! `payments` with the Incidentary SDK. Each caller links its callee the way
//! its own instrumentation does: OpenTelemetry makes the callee's inbound
//! span a child of the CLIENT span; the SDK's httpx patch makes the callee's
//! inbound event a child of the caller's inbound event.

use super::rng::Rng;
use Direction::{Inbound, Outbound};

/// How a service reports its steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reporting {
    /// Incidentary wire format v1, `POST /api/v1/ingest/batch`.
    SdkJson,
    /// OTLP/HTTP protobuf, `POST /v1/traces`.
    Otlp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    pub name: &'static str,
    pub reporting: Reporting,
}

pub const WEB: Service = Service {
    name: "web",
    reporting: Reporting::Otlp,
};
pub const CHECKOUT: Service = Service {
    name: "checkout",
    reporting: Reporting::SdkJson,
};
pub const INVENTORY: Service = Service {
    name: "inventory",
    reporting: Reporting::Otlp,
};
pub const PAYMENTS: Service = Service {
    name: "payments",
    reporting: Reporting::SdkJson,
};
pub const LEDGER: Service = Service {
    name: "ledger",
    reporting: Reporting::Otlp,
};

/// Every instrumented service, callers first.
pub const SERVICES: [Service; 5] = [WEB, CHECKOUT, INVENTORY, PAYMENTS, LEDGER];
/// Called by `payments`, never reports: the artifact lists it as a ghost.
pub const GHOST: &str = "fraud-api";
/// The service the alert fires on.
pub const ALERTING_SERVICE: &str = "web";
/// Where the failure is injected, and the status it answers.
pub const BREAKING_SERVICE: &str = "ledger";
pub const BREAK_STATUS: u16 = 503;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `HTTP_IN` (an OTLP SERVER span).
    Inbound,
    /// `HTTP_OUT` (an OTLP CLIENT span).
    Outbound,
}

/// One recorded operation, before it is encoded for its service's
/// reporting path. Ids are 8 random bytes: an OTLP span id as is, and in
/// the SDK's UUID form followed by 8 zero bytes — exactly how causeway reads
/// a span id as a CE id — so SDK and OpenTelemetry services can name each
/// other's steps as parents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub trace_id: [u8; 16],
    pub id: [u8; 8],
    pub parent: Option<[u8; 8]>,
    pub service: Service,
    pub direction: Direction,
    pub status: u16,
    pub start_ns: u64,
    pub duration_ns: u64,
    pub method: &'static str,
    pub route: &'static str,
    /// The callee of an outbound step.
    pub peer: Option<&'static str>,
}

impl Step {
    pub fn end_ns(&self) -> u64 {
        self.start_ns + self.duration_ns
    }
}

/// A step of the request template; times in microseconds from the start
/// of the trace, `(start, end)` when healthy and when ledger fails.
struct Template {
    service: Service,
    direction: Direction,
    /// Index of the parent in [`TEMPLATE`]; `None` for the root.
    parent: Option<usize>,
    method: &'static str,
    route: &'static str,
    peer: Option<&'static str>,
    healthy: (u64, u64),
    failing: (u64, u64, u16),
}

const fn step(
    service: Service,
    direction: Direction,
    parent: Option<usize>,
    request: (&'static str, &'static str, Option<&'static str>),
    healthy: (u64, u64),
    failing: (u64, u64, u16),
) -> Template {
    let (method, route, peer) = request;
    Template {
        service,
        direction,
        parent,
        method,
        route,
        peer,
        healthy,
        failing,
    }
}

/// One `POST /checkout`. Parents follow each caller's convention (see the
/// module comment): web is OpenTelemetry, so checkout's inbound step is a
/// child of web's CLIENT span (index 1); checkout and payments use the SDK,
/// so their callees' inbound steps are children of their inbound steps.
/// When ledger fails it answers 503 at once; every caller upstream fails
/// after it, so ledger's step completes first: the first confirmed break.
const TEMPLATE: [Template; 10] = [
    /* 0 */
    step(
        WEB,
        Inbound,
        None,
        ("POST", "/checkout", None),
        (0, 120_000),
        (0, 78_000, 500),
    ),
    /* 1 */
    step(
        WEB,
        Outbound,
        Some(0),
        ("POST", "/orders", Some("checkout")),
        (1_500, 117_000),
        (1_500, 76_000, 502),
    ),
    /* 2 */
    step(
        CHECKOUT,
        Inbound,
        Some(1),
        ("POST", "/orders", None),
        (3_000, 115_000),
        (3_000, 74_000, 502),
    ),
    /* 3 */
    step(
        CHECKOUT,
        Outbound,
        Some(2),
        ("GET", "/stock/{sku}", Some("inventory")),
        (5_000, 25_000),
        (5_000, 25_000, 200),
    ),
    /* 4 */
    step(
        INVENTORY,
        Inbound,
        Some(2),
        ("GET", "/stock/{sku}", None),
        (7_000, 23_000),
        (7_000, 23_000, 200),
    ),
    /* 5 */
    step(
        CHECKOUT,
        Outbound,
        Some(2),
        ("POST", "/charges", Some("payments")),
        (28_000, 110_000),
        (28_000, 72_000, 502),
    ),
    /* 6 */
    step(
        PAYMENTS,
        Inbound,
        Some(2),
        ("POST", "/charges", None),
        (30_000, 108_000),
        (30_000, 70_000, 502),
    ),
    /* 7 */
    step(
        PAYMENTS,
        Outbound,
        Some(6),
        ("POST", "/v2/score", Some(GHOST)),
        (32_000, 60_000),
        (32_000, 60_000, 200),
    ),
    /* 8 */
    step(
        PAYMENTS,
        Outbound,
        Some(6),
        ("POST", "/entries", Some("ledger")),
        (62_000, 104_000),
        (62_000, 68_000, 503),
    ),
    /* 9 */
    step(
        LEDGER,
        Inbound,
        Some(6),
        ("POST", "/entries", None),
        (64_000, 102_000),
        (64_000, 66_500, 503),
    ),
];

/// Every step of one request starting at `start_ns`. `slowness` (per
/// mille, 1000 = as templated) stretches every step alike, so nesting and
/// completion order hold.
pub fn request_steps(rng: &mut Rng, start_ns: u64, failing: bool, slowness: u64) -> Vec<Step> {
    let trace_id = rng.trace_id();
    let ids: Vec<[u8; 8]> = TEMPLATE.iter().map(|_| rng.span_id()).collect();
    let scale = |micros: u64| micros * slowness; // µs * per-mille = ns
    TEMPLATE
        .iter()
        .zip(&ids)
        .map(|(template, id)| {
            let (from, to, status) = if failing {
                template.failing
            } else {
                (template.healthy.0, template.healthy.1, 200)
            };
            Step {
                trace_id,
                id: *id,
                parent: template.parent.map(|index| ids[index]),
                service: template.service,
                direction: template.direction,
                status,
                start_ns: start_ns + scale(from),
                duration_ns: scale(to - from),
                method: template.method,
                route: template.route,
                peer: template.peer,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_nest_inside_parents_and_the_ledger_fails_first() {
        let mut rng = Rng::seeded(7);
        for failing in [false, true] {
            let steps = request_steps(&mut rng, 1_800_000_000_000_000_000, failing, 1_300);
            for step in &steps {
                let Some(parent) = step.parent else { continue };
                let parent = steps.iter().find(|s| s.id == parent).expect("parent in trace");
                assert!(
                    parent.start_ns <= step.start_ns && step.end_ns() <= parent.end_ns(),
                    "{step:?}"
                );
            }
            let first_failure = steps.iter().filter(|s| s.status >= 400).min_by_key(|s| s.end_ns());
            match first_failure {
                Some(step) => {
                    assert!(failing);
                    assert_eq!((step.service.name, step.status), (BREAKING_SERVICE, BREAK_STATUS));
                }
                None => assert!(!failing),
            }
        }
    }

    #[test]
    fn the_ghost_is_called_but_never_reports() {
        let steps = request_steps(&mut Rng::seeded(1), 1_800_000_000_000_000_000, false, 1_000);
        assert!(steps.iter().any(|s| s.peer == Some(GHOST)));
        assert!(SERVICES.iter().all(|s| s.name != GHOST));
        let reporting: std::collections::BTreeSet<_> = steps.iter().map(|s| s.service.name).collect();
        assert_eq!(reporting.len(), SERVICES.len());
    }
}
