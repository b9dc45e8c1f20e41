//! Choosing the one trace an artifact shows (DESIGN §5.2), deterministically.

use std::collections::BTreeMap;

use causeway_model::{Alert, CausalEvent, TraceId};

use crate::artifact::{Selection, SelectionReason};

/// Events in scope, one copy per `ce_id`, grouped by trace.
pub type TracesInScope<'a> = BTreeMap<TraceId, Vec<&'a CausalEvent>>;

/// Completion time of a trace's earliest non-success step.
fn earliest_break_end(events: &[&CausalEvent]) -> Option<u64> {
    events
        .iter()
        .filter(|e| e.is_non_success())
        .map(|e| e.end_unix_ns())
        .min()
}

/// Earliest start to latest end.
fn span_ns(events: &[&CausalEvent]) -> u64 {
    let start = events.iter().map(|e| e.start_unix_ns).min().unwrap_or(0);
    let end = events.iter().map(|e| e.end_unix_ns()).max().unwrap_or(0);
    end.saturating_sub(start)
}

/// Picks the trace: the alert's own trace id if it has events in scope;
/// else, among traces with an event of the alerting service (or, when
/// none has, traces calling it as a peer), the failing one whose first
/// break completed earliest; else the slowest. Ties go to the smaller
/// trace id (the map iterates in trace id order and only a strictly
/// better trace replaces the current choice).
pub fn select(alert: &Alert, traces: &TracesInScope<'_>) -> Selection {
    let in_scope = traces.len() as u64;
    if let Some(wanted) = alert.trace_id
        && traces.contains_key(&wanted)
    {
        return Selection {
            trace_id: Some(wanted),
            reason: SelectionReason::AlertTraceId,
            explanation: format!("the alert named trace {wanted}"),
            traces_in_scope: Some(in_scope),
            candidates: 1,
            failing_candidates: u64::from(traces.get(&wanted).and_then(|e| earliest_break_end(e)).is_some()),
        };
    }
    let named_but_missing = alert
        .trace_id
        .map(|id| format!("the alert named trace {id} but it had no events in scope; "))
        .unwrap_or_default();

    let mut candidates: Vec<(&TraceId, &Vec<&CausalEvent>)> = traces
        .iter()
        .filter(|(_, events)| events.iter().any(|e| e.service == alert.service))
        .collect();
    let mut how = "touching";
    if candidates.is_empty() {
        how = "calling";
        candidates = traces
            .iter()
            .filter(|(_, events)| {
                events
                    .iter()
                    .any(|e| e.kind.is_outbound() && e.peer.as_deref() == Some(&alert.service))
            })
            .collect();
    }
    let count = candidates.len() as u64;
    let mut earliest: Option<(u64, TraceId)> = None;
    let mut failing = 0u64;
    for (id, events) in &candidates {
        if let Some(end) = earliest_break_end(events) {
            failing += 1;
            if earliest.is_none_or(|(best, _)| end < best) {
                earliest = Some((end, **id));
            }
        }
    }
    if let Some((_, id)) = earliest {
        return Selection {
            trace_id: Some(id),
            reason: SelectionReason::EarliestFirstBreak,
            explanation: format!(
                "{named_but_missing}of {count} trace(s) {how} {}, {failing} failed; this one's first break completed earliest",
                alert.service
            ),
            traces_in_scope: Some(in_scope),
            candidates: count,
            failing_candidates: failing,
        };
    }
    let mut slowest: Option<(u64, TraceId)> = None;
    for (id, events) in &candidates {
        let span = span_ns(events);
        if slowest.is_none_or(|(best, _)| span > best) {
            slowest = Some((span, **id));
        }
    }
    match slowest {
        Some((_, id)) => Selection {
            trace_id: Some(id),
            reason: SelectionReason::Slowest,
            explanation: format!(
                "{named_but_missing}none of {count} trace(s) {how} {} had a non-success step; this one took longest from first start to last end",
                alert.service
            ),
            traces_in_scope: Some(in_scope),
            candidates: count,
            failing_candidates: 0,
        },
        None => Selection {
            trace_id: None,
            reason: SelectionReason::NoTrace,
            explanation: format!(
                "{named_but_missing}no trace in scope touched or called {} ({in_scope} trace(s) in scope)",
                alert.service
            ),
            traces_in_scope: Some(in_scope),
            candidates: 0,
            failing_candidates: 0,
        },
    }
}
