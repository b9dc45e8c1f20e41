//! Collapsing duplicate events (at-least-once delivery) deterministically.
//! An event is identified by `(trace_id, ce_id)`: OTLP span ids are only
//! unique within their trace.

use std::cmp::Ordering;

use causeway_model::CausalEvent;

/// A total order over copies of one event, so that when two deliveries of
/// the same `ce_id` differ (a retried batch re-encoded by another SDK
/// version, say) the kept copy does not depend on arrival order.
fn copy_order(a: &CausalEvent, b: &CausalEvent) -> Ordering {
    a.start_unix_ns
        .cmp(&b.start_unix_ns)
        .then(a.duration_ns.cmp(&b.duration_ns))
        .then(a.status.cmp(&b.status))
        .then(a.kind.cmp(&b.kind))
        .then_with(|| a.service.cmp(&b.service))
        .then(a.parent_ce_id.cmp(&b.parent_ce_id))
        .then_with(|| a.operation.cmp(&b.operation))
        .then_with(|| a.peer.cmp(&b.peer))
        .then_with(|| a.environment.cmp(&b.environment))
        .then_with(|| a.tenant_id.cmp(&b.tenant_id))
        .then(a.trace_id.cmp(&b.trace_id))
}

/// Returns one copy per `(trace_id, ce_id)`, sorted by them, and how many
/// extra copies were dropped.
pub fn dedupe_by_ce_id<'a>(events: impl IntoIterator<Item = &'a CausalEvent>) -> (Vec<&'a CausalEvent>, u64) {
    let mut sorted: Vec<&CausalEvent> = events.into_iter().collect();
    sorted.sort_unstable_by(|a, b| {
        (a.trace_id, a.ce_id)
            .cmp(&(b.trace_id, b.ce_id))
            .then_with(|| copy_order(a, b))
    });
    let before = sorted.len();
    sorted.dedup_by(|later, kept| (later.trace_id, later.ce_id) == (kept.trace_id, kept.ce_id));
    let dropped = (before - sorted.len()) as u64;
    (sorted, dropped)
}
