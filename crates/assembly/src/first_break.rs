//! The first confirmed break (DESIGN §5.6): the non-success step observed
//! earliest by completion time; ties go to the deeper step, then `ce_id`.

use std::cmp::Reverse;

use causeway_model::time_parse::format_rfc3339;

use crate::artifact::FirstBreak;
use crate::graph::TraceGraph;

/// Why an artifact carries no first break.
pub const NO_BREAK_NOTE: &str = "no step in the chosen trace has a non-success status; \
    the alert may be a latency alert, and no break is inferred";

pub fn first_break(graph: &TraceGraph<'_>, fired_at_unix_ns: u64) -> Option<FirstBreak> {
    let (i, event) = graph
        .events()
        .filter(|(_, e)| e.is_non_success())
        .min_by_key(|(i, e)| (e.end_unix_ns(), Reverse(graph.nodes[*i].depth), e.ce_id))?;
    let at = event.end_unix_ns();
    Some(FirstBreak {
        summary: format!("{} {} {}", event.service, event.kind, event.status),
        service: event.service.clone(),
        kind: event.kind,
        status: event.status,
        operation: event.operation.clone(),
        ce_id: event.ce_id,
        depth: graph.nodes[i].depth,
        at_unix_ns: at,
        at: format_rfc3339(at),
        lead_ns: signed_diff(fired_at_unix_ns, at),
    })
}

/// `a - b` as a signed value, saturating at the i64 range.
pub fn signed_diff(a: u64, b: u64) -> i64 {
    let diff = i128::from(a) - i128::from(b);
    i64::try_from(diff).unwrap_or(if diff < 0 { i64::MIN } else { i64::MAX })
}
