//! The coverage scorecard over a tenant's events.

#[path = "support/builders.rs"]
mod builders;

use builders::*;
use causeway_assembly::coverage;
use causeway_model::{CausalEvent, Kind};

fn tenant_events() -> Vec<CausalEvent> {
    let mut events = Vec::new();
    // The seed example under both conventions (different trace ids), with
    // auth-service silent in the SDK one.
    events.extend(example_trace(Linkage::Otlp));
    for mut event in example_trace(Linkage::Sdk) {
        event.trace_id = trace(0x40);
        event.ce_id.0[0] = 0x40;
        event.parent_ce_id = event.parent_ce_id.map(|mut p| {
            p.0[0] = 0x40;
            p
        });
        if event.service != "auth-service" {
            events.push(event);
        }
    }
    // Three traces from orders calling an uninstrumented mail relay twice
    // and a cache once; one with a lost hop (gap).
    for n in 0..3u32 {
        let t = trace(0x50 + n as u8);
        let base = 1_000 + n * 10;
        events.push(ev(t, base, None, "orders", Kind::HttpIn, 200, 0, 1_000));
        events.push(with_peer(
            ev(t, base + 1, Some(base), "orders", Kind::HttpOut, 200, 10, 100),
            "smtp.mail.example",
        ));
        events.push(with_peer(
            ev(t, base + 2, Some(base), "orders", Kind::HttpOut, 502, 20, 300),
            "smtp.mail.example",
        ));
        if n == 0 {
            events.push(with_peer(
                ev(t, base + 3, Some(base), "orders", Kind::HttpOut, 200, 30, 50),
                "redis:6379",
            ));
            events.push(ev(t, base + 4, Some(base + 9), "worker", Kind::QueueConsume, 0, 40, 50));
        }
    }
    let duplicate = events[3].clone();
    events.push(duplicate);
    events
}

#[test]
fn scorecard_counts_services_ghosts_edges_and_shares() {
    let events = tenant_events();
    let scorecard = coverage(&events);
    assert_eq!(scorecard.events, events.len() as u64 - 1, "duplicates collapse");
    assert_eq!(scorecard.traces, 5);
    assert_eq!(
        scorecard.instrumented_services,
        [
            "api-gateway",
            "auth-service",
            "inventory-service",
            "order-service",
            "orders",
            "pricing-service",
            "worker"
        ]
    );
    let ghosts: Vec<(&str, u64)> = scorecard
        .ghost_services
        .iter()
        .map(|g| (g.peer.as_str(), g.stats.calls))
        .collect();
    // auth-service answered in the OTLP trace, so it is instrumented, not a ghost.
    assert_eq!(
        ghosts,
        [("smtp.mail.example", 6), ("redis:6379", 1)],
        "ranked by call volume"
    );
    let smtp = &scorecard.ghost_services[0];
    assert_eq!(smtp.callers, ["orders"]);
    assert_eq!(smtp.stats.errors, 3);
    assert_eq!(smtp.stats.error_rate_per_mille, 500);

    let auth_edge = scorecard
        .edges
        .iter()
        .find(|e| e.caller == "api-gateway" && e.peer == "auth-service")
        .expect("edge");
    assert_eq!(
        (auth_edge.calls, auth_edge.answered),
        (2, 1),
        "answered in OTLP, silent in SDK"
    );
    assert_eq!(auth_edge.propagation_per_mille, 500);
    let pricing_edge = scorecard
        .edges
        .iter()
        .find(|e| e.peer == "pricing-service")
        .expect("edge");
    assert_eq!(
        (pricing_edge.calls, pricing_edge.answered, pricing_edge.errors),
        (2, 2, 2)
    );

    // 4 full traces, 1 with a gap (2 services vs 1 gap: low).
    let shares = &scorecard.assembly;
    assert_eq!((shares.full, shares.partial, shares.low), (4, 0, 1));
    assert_eq!((shares.full_per_mille, shares.low_per_mille), (800, 200));
}

#[test]
fn empty_scorecard_is_all_zero() {
    let scorecard = coverage(&[]);
    assert_eq!(scorecard.traces, 0);
    assert!(scorecard.instrumented_services.is_empty() && scorecard.ghost_services.is_empty());
    assert_eq!(scorecard.assembly.full_per_mille, 0);
}
