//! Assembly scenarios: gaps and ghosts under both linkage conventions,
//! cascades, latency alerts, uninstrumented roots, duplicates and cycles.

#[path = "support/builders.rs"]
mod builders;

use builders::*;
use causeway_assembly::graph::MAX_DEPTH;
use causeway_assembly::{CompletenessLabel, FrameLink, FrameType, SelectionReason, assemble, render_waterfall};
use causeway_model::{CausalEvent, Kind};

const LINKAGES: [Linkage; 2] = [Linkage::Otlp, Linkage::Sdk];

fn without(events: Vec<CausalEvent>, ids: &[u32]) -> Vec<CausalEvent> {
    events
        .into_iter()
        .filter(|e| !ids.iter().any(|&id| e.ce_id == ce(id)))
        .collect()
}

#[test]
fn uninstrumented_callee_is_a_ghost_not_a_gap_under_both_linkages() {
    for linkage in LINKAGES {
        // auth-service never reports: its HTTP_IN (9) is missing.
        let events = without(example_trace(linkage), &[9]);
        let artifact = assemble(&input(alert("api-gateway", fired_at(), None), events));
        let label = linkage.name();
        assert_eq!(
            artifact.completeness.gaps, 0,
            "{label}: nothing names the missing event"
        );
        assert_eq!(artifact.completeness.label, CompletenessLabel::Full, "{label}");
        assert_eq!(artifact.ghost_services.len(), 1, "{label}");
        let ghost = &artifact.ghost_services[0];
        assert_eq!(ghost.peer, "auth-service", "{label}");
        assert_eq!(ghost.callers, ["api-gateway"], "{label}");
        assert_eq!(ghost.calls_in_trace, 1, "{label}");
        assert_eq!(ghost.window.calls, 1, "{label}");
        assert_eq!(ghost.window.p99_ns, 1_000 * US, "{label}");
        assert!(
            !artifact.affected_services.contains(&"auth-service".to_owned()),
            "{label}"
        );
    }
}

#[test]
fn uninstrumented_root_service_leaves_gaps_counted_per_named_parent() {
    for linkage in LINKAGES {
        // api-gateway has no SDK: events 1, 2 and 8 are missing.
        let events = without(example_trace(linkage), &[1, 2, 8]);
        let artifact = assemble(&input(alert("order-service", fired_at(), None), events));
        let label = linkage.name();
        let gaps: Vec<_> = artifact
            .frames
            .iter()
            .filter(|f| f.frame_type == FrameType::Gap)
            .collect();
        assert!(
            gaps.iter().all(|g| g.depth == 0 && g.link == FrameLink::Root),
            "{label}"
        );
        assert_eq!(artifact.frames.len(), 6 + gaps.len(), "{label}");
        assert_eq!(artifact.affected_services.len(), 4, "{label}");
        match linkage {
            // SDK: order and auth both name the gateway's HTTP_IN: one gap.
            Linkage::Sdk => {
                assert_eq!(gaps.len(), 1, "{label}");
                assert_eq!(gaps[0].ce_id, ce(1));
                assert_eq!(gaps[0].named_by, Some(2));
                assert_eq!(
                    artifact.completeness.label,
                    CompletenessLabel::Partial,
                    "4 services, 1 gap"
                );
            }
            // OTLP: each callee names the gateway's CLIENT span: two gaps.
            Linkage::Otlp => {
                assert_eq!(gaps.len(), 2, "{label}");
                assert_eq!(
                    artifact.completeness.label,
                    CompletenessLabel::Low,
                    "4 services, 2 gaps"
                );
            }
        }
        assert!(artifact.ghost_services.is_empty(), "{label}: gaps are not ghosts");
        assert_eq!(
            artifact.first_confirmed_break.as_ref().map(|b| b.ce_id),
            Some(ce(7)),
            "{label}"
        );
        // The children of a gap hang under it.
        for gap in &gaps {
            let children = artifact
                .frames
                .iter()
                .filter(|f| f.parent_ce_id == Some(gap.ce_id))
                .count();
            assert_eq!(Some(children as u32), gap.named_by, "{label}");
        }
    }
}

#[test]
fn one_gap_in_two_services_is_low_and_in_twenty_services_is_partial() {
    let t = trace(9);
    // Chain of N services (SDK-style inbound chain) with one middle hop lost.
    let chain = |services: u32| -> Vec<CausalEvent> {
        (1..=services)
            .map(|i| {
                ev(
                    t,
                    i,
                    (i > 1).then(|| i - 1),
                    &format!("svc-{i:02}"),
                    Kind::HttpIn,
                    200,
                    u64::from(i),
                    100,
                )
            })
            .collect()
    };
    // 3-hop chain, lose the middle: 2 services captured, 1 gap.
    let small = assemble(&input(alert("svc-01", fired_at(), None), without(chain(3), &[2])));
    assert_eq!((small.completeness.captured_services, small.completeness.gaps), (2, 1));
    assert_eq!(small.completeness.label, CompletenessLabel::Low);
    // 21-hop chain, lose one: 20 services captured, 1 gap.
    let large = assemble(&input(alert("svc-01", fired_at(), None), without(chain(21), &[10])));
    assert_eq!((large.completeness.captured_services, large.completeness.gaps), (20, 1));
    assert_eq!(large.completeness.label, CompletenessLabel::Partial);
    assert_eq!(large.completeness.coverage_per_mille, 952);
}

#[test]
fn cascade_first_break_is_the_deepest_failure_that_completed_first() {
    for linkage in LINKAGES {
        let t = trace(0x0c);
        let events = vec![
            ev(t, 1, None, "frontend", Kind::HttpIn, 500, 0, 900_000),
            with_peer(
                ev(t, 2, Some(1), "frontend", Kind::HttpOut, 500, 100, 800_000),
                "checkout",
            ),
            ev(
                t,
                3,
                Some(linkage.callee_parent(1, 2)),
                "checkout",
                Kind::HttpIn,
                502,
                200,
                700_000,
            ),
            with_peer(
                ev(t, 4, Some(3), "checkout", Kind::HttpOut, 0, 300, 500_000),
                "payments",
            ),
            ev(
                t,
                5,
                Some(linkage.callee_parent(3, 4)),
                "payments",
                Kind::HttpIn,
                503,
                400,
                300_000,
            ),
        ];
        let artifact = assemble(&input(alert("frontend", fired_at(), None), events));
        let first = artifact.first_confirmed_break.expect("everything failed");
        assert_eq!(first.summary, "payments HTTP_IN 503", "{}", linkage.name());
        assert_eq!(first.at_unix_ns, T0 + 10 * SECOND + (400 + 300_000) * US);
        assert!(first.lead_ns > 0);
    }
}

#[test]
fn first_break_ties_go_to_the_deeper_step() {
    let t = trace(0x0d);
    // Outbound step and the callee's inbound complete at the same instant.
    let events = vec![
        ev(t, 1, None, "a", Kind::HttpIn, 200, 0, 1_000),
        with_peer(ev(t, 2, Some(1), "a", Kind::HttpOut, 500, 100, 500), "b"),
        ev(t, 3, Some(2), "b", Kind::HttpIn, 500, 200, 400),
    ];
    let artifact = assemble(&input(alert("a", fired_at(), None), events));
    assert_eq!(artifact.first_confirmed_break.map(|b| b.ce_id), Some(ce(3)));
}

#[test]
fn latency_alert_picks_the_slowest_trace_and_claims_no_break() {
    let fast = trace(1);
    let slow = trace(2);
    let events = vec![
        ev(fast, 1, None, "search", Kind::HttpIn, 200, 0, 50_000),
        ev(slow, 2, None, "search", Kind::HttpIn, 200, 1_000, 2_500_000),
        ev(slow, 3, Some(2), "search", Kind::Internal, 0, 2_000, 2_400_000),
    ];
    let artifact = assemble(&input(alert("search", fired_at(), None), events));
    assert_eq!(artifact.selection.trace_id, Some(slow));
    assert_eq!(artifact.selection.reason, SelectionReason::Slowest);
    assert_eq!(artifact.selection.candidates, 2);
    assert!(
        artifact.first_confirmed_break.is_none(),
        "status 0 on INTERNAL is not a failure"
    );
    assert!(
        artifact
            .first_break_note
            .as_deref()
            .is_some_and(|n| n.contains("latency alert"))
    );
    assert!(artifact.claims.iter().any(|c| c.contains("No first break")));
    assert!(artifact.window_summary.iter().all(|row| row.first_failure.is_none()));
    let text = render_waterfall(&artifact, false);
    assert!(text.contains("first break:  none — no step"), "{text}");
}

#[test]
fn alert_trace_id_wins_when_it_has_events() {
    let early = trace(1);
    let named = trace(2);
    let events = vec![
        ev(early, 1, None, "api", Kind::HttpIn, 500, 0, 100),
        ev(named, 2, None, "api", Kind::HttpIn, 200, 5_000, 100),
    ];
    let artifact = assemble(&input(alert("api", fired_at(), Some(named)), events.clone()));
    assert_eq!(artifact.selection.trace_id, Some(named));
    assert_eq!(artifact.selection.reason, SelectionReason::AlertTraceId);
    // A named trace with no events falls back to the rules, and says so.
    let missing = trace(3);
    let artifact = assemble(&input(alert("api", fired_at(), Some(missing)), events));
    assert_eq!(artifact.selection.trace_id, Some(early));
    assert!(artifact.selection.explanation.contains("no events in scope"));
}

#[test]
fn window_summary_shows_an_earlier_failure_outside_the_chosen_trace() {
    let chosen = trace(1);
    let earlier = trace(2);
    let mut events = vec![ev(chosen, 1, None, "checkout", Kind::HttpIn, 502, 45_000_000, 100)];
    // payments failed three minutes before the alert, in another trace.
    let mut old = ev(earlier, 2, None, "payments", Kind::HttpIn, 503, 0, 100);
    old.start_unix_ns = fired_at() - 180 * SECOND;
    events.push(old.clone());
    let mut input = input(alert("checkout", fired_at(), None), vec![events[0].clone()]);
    input.window_events = events;
    let artifact = assemble(&input);
    let payments = artifact
        .window_summary
        .iter()
        .find(|r| r.service == "payments")
        .expect("payments row");
    assert_eq!(payments.non_success, 1);
    assert_eq!(payments.first_failure_unix_ns, Some(old.end_unix_ns()));
    assert_eq!(payments.first_failure_lead_ns, Some((180 * SECOND - 100 * US) as i64));
    assert_eq!(artifact.window_summary[0].service, "payments", "earliest failure first");
}

#[test]
fn no_candidates_gives_an_artifact_that_says_no_trace_was_found() {
    let artifact = assemble(&input(alert("api", fired_at(), None), Vec::new()));
    assert_eq!(artifact.selection.reason, SelectionReason::NoTrace);
    assert!(artifact.frames.is_empty());
    assert_eq!(artifact.completeness.label, CompletenessLabel::Low);
    assert!(artifact.first_confirmed_break.is_none());
    assert!(
        artifact.first_break_note.is_none(),
        "no trace, so no latency note either"
    );
    assert!(artifact.claims.iter().any(|c| c.contains("No trace was found")));
    assert!(render_waterfall(&artifact, false).contains("no frames"));
}

#[test]
fn duplicates_collapse_and_cycles_and_self_parents_are_cut() {
    let t = trace(7);
    let mut events = vec![
        ev(t, 1, None, "a", Kind::HttpIn, 200, 0, 100),
        ev(t, 2, Some(1), "a", Kind::Internal, 200, 10, 50),
        // A three-cycle: 3 -> 5 -> 4 -> 3.
        ev(t, 3, Some(5), "b", Kind::HttpIn, 200, 20, 10),
        ev(t, 4, Some(3), "b", Kind::HttpIn, 200, 30, 10),
        ev(t, 5, Some(4), "b", Kind::HttpIn, 200, 40, 10),
        // Its own parent.
        ev(t, 6, Some(6), "c", Kind::HttpIn, 200, 50, 10),
    ];
    events.push(events[1].clone());
    events.push(events[1].clone());
    events.push(events[4].clone());
    let artifact = assemble(&input(alert("a", fired_at(), None), events));
    let repairs = &artifact.graph_repairs;
    assert_eq!(repairs.duplicates_collapsed, 3);
    assert_eq!(repairs.cycles_broken, 1);
    assert_eq!(repairs.cycle_cut_ids, [ce(3)], "smallest ce_id in the cycle is cut");
    assert_eq!(repairs.self_parents, 1);
    assert_eq!(repairs.self_parent_ids, [ce(6)]);
    assert_eq!(artifact.frames.len(), 6, "one frame per unique ce_id, no gaps");
    let frame = |id| artifact.frames.iter().find(|f| f.ce_id == ce(id)).expect("frame");
    assert_eq!((frame(3).depth, frame(3).link), (0, FrameLink::CutCycle));
    assert_eq!(frame(5).depth, 2);
    assert_eq!((frame(6).depth, frame(6).link), (0, FrameLink::CutSelfParent));
    assert!(render_waterfall(&artifact, false).contains("1 cycle(s) broken"));
}

#[test]
fn absurd_depth_is_cut_and_reported() {
    let t = trace(8);
    let length = MAX_DEPTH + 5;
    let events: Vec<CausalEvent> = (1..=length)
        .map(|i| {
            ev(
                t,
                i,
                (i > 1).then(|| i - 1),
                "deep",
                Kind::Internal,
                200,
                u64::from(i),
                1,
            )
        })
        .collect();
    let artifact = assemble(&input(alert("deep", fired_at(), None), events));
    assert_eq!(artifact.graph_repairs.depth_cuts, 1);
    assert_eq!(artifact.frames.len(), length as usize);
    assert!(artifact.frames.iter().all(|f| f.depth <= MAX_DEPTH));
}

#[test]
fn sdk_linkage_matches_peers_by_name_host_and_count() {
    let t = trace(0x5d);
    // caller's inbound (1) makes four calls; three callees report as siblings.
    let out = |id, peer: &str, start| with_peer(ev(t, id, Some(1), "orders", Kind::HttpOut, 200, start, 100), peer);
    let events = vec![
        ev(t, 1, None, "orders", Kind::HttpIn, 200, 0, 1_000),
        out(2, "inventory", 10),
        out(3, "http://pricing.prod.svc:8080/p", 20),
        out(4, "10.0.3.7:9000", 30),
        out(5, "stripe.com", 40),
        ev(t, 6, Some(1), "inventory", Kind::HttpIn, 200, 11, 50),
        ev(t, 7, Some(1), "pricing", Kind::HttpIn, 200, 21, 50),
        ev(t, 8, Some(1), "tax", Kind::HttpIn, 200, 31, 50),
    ];
    let artifact = assemble(&input(alert("orders", fired_at(), None), events));
    let ghosts: Vec<&str> = artifact.ghost_services.iter().map(|g| g.peer.as_str()).collect();
    // Three callees reported, so three of four calls are answered; the
    // address is answered by count (tax), leaving stripe.com the ghost.
    assert_eq!(ghosts, ["stripe.com"]);
}

#[test]
fn unanswered_calls_to_a_reporting_service_are_not_ghosts() {
    let t = trace(0x5e);
    let mut events = vec![
        ev(t, 1, None, "orders", Kind::HttpIn, 200, 0, 1_000),
        with_peer(ev(t, 2, Some(1), "orders", Kind::HttpOut, 200, 10, 100), "inventory"),
    ];
    // inventory reports elsewhere in the window (another trace).
    events.push(ev(trace(0x5f), 3, None, "inventory", Kind::HttpIn, 200, 0, 10));
    let artifact = assemble(&input(alert("orders", fired_at(), Some(t)), events));
    assert!(artifact.ghost_services.is_empty());
}

#[test]
fn ghost_statistics_cover_every_call_in_scope() {
    let mut events = Vec::new();
    for n in 0..20u32 {
        let t = trace(n as u8 + 1);
        events.push(ev(
            t,
            100 + n,
            None,
            "api",
            Kind::HttpIn,
            200,
            u64::from(n) * 1_000,
            900,
        ));
        let status = if n % 5 == 0 { 504 } else { 200 };
        events.push(with_peer(
            ev(
                t,
                200 + n,
                Some(100 + n),
                "api",
                Kind::HttpOut,
                status,
                u64::from(n) * 1_000 + 1,
                u64::from(n + 1) * 10,
            ),
            "legacy-db:5432",
        ));
    }
    let artifact = assemble(&input(alert("api", fired_at(), None), events));
    let ghost = &artifact.ghost_services[0];
    assert_eq!(ghost.peer, "legacy-db:5432");
    assert_eq!(ghost.calls_in_trace, 1);
    assert_eq!(ghost.window.calls, 20);
    assert_eq!(ghost.window.errors, 4);
    assert_eq!(ghost.window.error_rate_per_mille, 200);
    // Durations 10..=200 µs in steps of 10: nearest rank 50% = 10th = 100 µs.
    assert_eq!(ghost.window.p50_ns, 100 * US);
    assert_eq!(ghost.window.p95_ns, 190 * US);
    assert_eq!(ghost.window.p99_ns, 200 * US);
}

#[test]
fn other_tenants_and_out_of_scope_events_are_ignored_and_counted() {
    let t = trace(1);
    let mut foreign = ev(t, 2, Some(1), "api", Kind::HttpIn, 500, 5, 10);
    foreign.tenant_id = "other".into();
    let mut late = ev(t, 3, Some(1), "api", Kind::Internal, 500, 0, 10);
    late.start_unix_ns = fired_at() + 10 * SECOND;
    let events = vec![ev(t, 1, None, "api", Kind::HttpIn, 200, 0, 100), foreign, late];
    let artifact = assemble(&input(alert("api", fired_at(), None), events));
    assert_eq!(artifact.frames.len(), 1);
    assert_eq!(artifact.graph_repairs.foreign_tenant_events, 1);
    assert_eq!(artifact.graph_repairs.out_of_scope_events, 1);
    assert!(artifact.first_confirmed_break.is_none());
}

#[test]
fn alert_on_an_uninstrumented_service_uses_traces_that_call_it() {
    for linkage in LINKAGES {
        let events = without(example_trace(linkage), &[9]);
        let artifact = assemble(&input(alert("auth-service", fired_at(), None), events));
        assert_eq!(
            artifact.selection.trace_id,
            Some(trace(EXAMPLE_TRACE)),
            "{}",
            linkage.name()
        );
        assert!(artifact.selection.explanation.contains("calling auth-service"));
    }
}
