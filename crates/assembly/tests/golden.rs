//! Golden artifacts for the seed's example trace under both linkage
//! conventions, compared byte for byte (UPDATE_GOLDEN=1 rewrites them), with
//! the key facts also asserted in code.

#[path = "support/builders.rs"]
mod builders;

use std::path::PathBuf;

use builders::*;
use causeway_assembly::{
    Artifact, AssemblyInput, CompletenessLabel, FrameType, SelectionReason, assemble, render_waterfall,
};
use causeway_model::{CausalEvent, Kind};

/// The example trace plus a later failing trace and a healthy one, all
/// touching api-gateway, and a pricing-service pre-arm notice.
fn golden_input(linkage: Linkage) -> AssemblyInput {
    let mut events = example_trace(linkage);
    let later = trace(0x51);
    events.push(ev(
        later,
        101,
        None,
        "api-gateway",
        Kind::HttpIn,
        502,
        10_000_000,
        30_000,
    ));
    events.push(with_peer(
        ev(
            later,
            102,
            Some(101),
            "api-gateway",
            Kind::HttpOut,
            502,
            10_001_000,
            28_000,
        ),
        "order-service",
    ));
    events.push(ev(
        later,
        103,
        Some(linkage.callee_parent(101, 102)),
        "order-service",
        Kind::HttpIn,
        502,
        10_002_000,
        26_000,
    ));
    let healthy = trace(0x22);
    events.push(ev(
        healthy,
        201,
        None,
        "api-gateway",
        Kind::HttpIn,
        200,
        5_000_000,
        4_000,
    ));
    let mut input = input(alert("api-gateway", fired_at(), None), events);
    input.pre_arm_signals.push(pre_arm("pricing-service", T0 + 9 * SECOND));
    input
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn check_golden(name: &str, actual: &[u8]) {
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|err| {
        panic!(
            "missing golden file {}: {err}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs from the assembled output; if the change is intended, rerun with UPDATE_GOLDEN=1\nactual:\n{}",
        path.display(),
        String::from_utf8_lossy(actual)
    );
}

fn assert_example_facts(artifact: &Artifact, linkage: Linkage) {
    let label = linkage.name();
    assert_eq!(artifact.selection.trace_id, Some(trace(EXAMPLE_TRACE)), "{label}");
    assert_eq!(
        artifact.selection.reason,
        SelectionReason::EarliestFirstBreak,
        "{label}"
    );
    assert_eq!(artifact.selection.candidates, 3, "{label}");
    assert_eq!(artifact.selection.failing_candidates, 2, "{label}");

    assert_eq!(artifact.frames.len(), 9, "{label}: 9 captured, no gaps");
    assert!(
        artifact.frames.iter().all(|f| f.frame_type == FrameType::Event),
        "{label}"
    );
    assert_eq!(artifact.completeness.label, CompletenessLabel::Full, "{label}");
    assert_eq!(artifact.completeness.gaps, 0, "{label}");
    assert_eq!(artifact.completeness.captured_services, 5, "{label}");

    let first = artifact.first_confirmed_break.as_ref().expect("pricing failed");
    assert_eq!(first.summary, "pricing-service HTTP_IN 500", "{label}");
    assert_eq!(first.ce_id, ce(7), "{label}");
    let pricing_end = T0 + 10 * SECOND + (1_700 + 7_600) * US;
    assert_eq!(first.at_unix_ns, pricing_end, "{label}");
    assert_eq!(first.lead_ns, (fired_at() - pricing_end) as i64, "{label}");
    assert!(artifact.first_break_note.is_none(), "{label}");

    assert_eq!(
        artifact.affected_services,
        [
            "api-gateway",
            "auth-service",
            "inventory-service",
            "order-service",
            "pricing-service"
        ],
        "{label}"
    );
    assert!(artifact.ghost_services.is_empty(), "{label}: every callee reported");

    // Depths differ by convention: OTLP puts each callee under the outbound step.
    let depth_of = |id: u32| artifact.frames.iter().find(|f| f.ce_id == ce(id)).map(|f| f.depth);
    match linkage {
        Linkage::Otlp => assert_eq!(depth_of(7), Some(4), "{label}"),
        Linkage::Sdk => assert_eq!(depth_of(7), Some(2), "{label}"),
    }
    let depths: Vec<u32> = artifact.frames.iter().map(|f| f.depth).collect();
    assert!(
        depths.windows(2).all(|w| w[0] <= w[1]),
        "{label}: frames ordered by depth"
    );

    let first_rows: Vec<(&str, u64)> = artifact
        .window_summary
        .iter()
        .map(|row| (row.service.as_str(), row.non_success))
        .collect();
    assert_eq!(first_rows[0], ("pricing-service", 1), "{label}: pricing failed first");
    assert!(
        first_rows.contains(&("api-gateway", 2)),
        "{label}: the later trace's 502 is counted"
    );
    assert_eq!(artifact.pre_arm_signals.len(), 1, "{label}");
    assert!(
        artifact.claims.iter().any(|c| c.contains("absence of evidence")),
        "{label}"
    );
    assert!(artifact.digest().starts_with("sha256:") && artifact.digest().len() == 7 + 64);
}

fn check_linkage(linkage: Linkage) {
    let input = golden_input(linkage);
    let artifact = assemble(&input);
    assert_example_facts(&artifact, linkage);
    let bytes = artifact.canonical_json();
    check_golden(&format!("example_{}.json", linkage.name()), &bytes);

    let decoded: Artifact = serde_json::from_slice(&bytes).expect("canonical JSON decodes");
    assert_eq!(decoded, artifact);
    assert_eq!(
        decoded.canonical_json(),
        bytes,
        "decode/encode round trip is byte-identical"
    );
    assert_eq!(assemble(&input).digest(), artifact.digest(), "same input, same digest");
}

#[test]
fn example_trace_under_otlp_linkage_matches_golden() {
    check_linkage(Linkage::Otlp);
}

#[test]
fn example_trace_under_sdk_linkage_matches_golden() {
    check_linkage(Linkage::Sdk);
}

#[test]
fn waterfall_of_example_trace_matches_golden() {
    let artifact = assemble(&golden_input(Linkage::Otlp));
    let text = render_waterfall(&artifact, false);
    check_golden("example_otlp_waterfall.txt", text.as_bytes());

    assert!(!text.contains('\x1b'), "no ANSI without color");
    assert!(text.contains("completeness: FULL"));
    assert!(text.contains("first break:  pricing-service HTTP_IN 500"));
    let break_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.ends_with("<- first confirmed break"))
        .collect();
    assert_eq!(break_lines.len(), 1);
    assert!(break_lines[0].trim_start().starts_with("pricing-service HTTP_IN"));
    // Tree order: each callee directly under its caller's outbound step.
    let tree: Vec<&str> = text.lines().filter(|l| l.contains('|')).collect();
    assert_eq!(tree.len(), 9);
    assert!(tree[0].starts_with("api-gateway HTTP_IN"));
    assert!(tree[1].starts_with("  api-gateway HTTP_OUT GET /orders/123 -> order-service"));
    assert!(tree[2].starts_with("    order-service HTTP_IN"));
    assert!(text.contains("ghost services: none"));
    assert!(text.contains("what this artifact does not claim:"));

    let colored = render_waterfall(&artifact, true);
    assert!(colored.contains("\x1b[1;31m"), "first break highlighted with color");
}

#[test]
fn waterfall_shows_gaps_and_ghosts() {
    // Gateway uninstrumented (SDK linkage: one gap) and auth never reports.
    let events: Vec<CausalEvent> = example_trace(Linkage::Sdk)
        .into_iter()
        .filter(|e| ![1, 2, 8, 9].contains(&e.ce_id.0[3]))
        .collect();
    let mut events = events;
    events.push(with_peer(
        ev(
            trace(EXAMPLE_TRACE),
            10,
            Some(3),
            "order-service",
            Kind::HttpOut,
            0,
            9_000,
            1_500,
        ),
        "stripe.com",
    ));
    let artifact = assemble(&input(alert("order-service", fired_at(), None), events));
    let text = render_waterfall(&artifact, false);
    assert!(
        text.contains("[gap] 00000001-0000-0000-0000-000000000001 not captured, named by 1 event(s)"),
        "{text}"
    );
    assert!(
        text.contains("stripe.com <- order-service: 1 call(s) in trace"),
        "{text}"
    );
}
