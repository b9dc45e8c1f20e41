//! Choosing the artifact's trace over everything in scope (DESIGN §5.2),
//! through the store's indexes instead of loading traces: the failure index
//! gives non-success events in completion order, so the first one whose
//! trace touches the alerting service is that service's earliest first
//! break, whatever the number of traces. Any limit that still applies is
//! returned as a cut with the true count where it is known.

use std::collections::BTreeSet;

use causeway_assembly::{ReadCut, Selection, SelectionReason};
use causeway_model::limits::MAX_DURATION_NS;
use causeway_model::{Alert, CausalEvent, TraceId};
use causeway_store::{StoreError, WindowStore};

use crate::config::AssemblerConfig;

/// The chosen trace's events and the cuts made on the way.
#[derive(Debug)]
pub struct Chosen {
    pub selection: Selection,
    /// The chosen trace's events (empty when none was chosen).
    pub events: Vec<CausalEvent>,
    pub cuts: Vec<ReadCut>,
}

/// Reads at most `limit` items, asking one more to learn whether there
/// were more; records the cut.
fn cut_to<T>(mut items: Vec<T>, limit: usize, what: &str, note: &str, cuts: &mut Vec<ReadCut>) -> Vec<T> {
    if items.len() > limit {
        items.truncate(limit);
        cuts.push(ReadCut {
            what: what.to_owned(),
            limit: limit as u64,
            kept: limit as u64,
            total: None,
            note: note.to_owned(),
        });
    }
    items
}

async fn read_trace(
    window: &dyn WindowStore,
    config: &AssemblerConfig,
    tenant: &str,
    trace_id: TraceId,
    cuts: &mut Vec<ReadCut>,
) -> Result<Vec<CausalEvent>, StoreError> {
    let limit = config.max_trace_events;
    let events = window.trace_events(tenant, trace_id, limit.saturating_add(1)).await?;
    let note = format!("trace {trace_id} has more events than are read; frames show the first {limit} by ce_id");
    Ok(cut_to(events, limit, "trace_events", &note, cuts))
}

fn in_scope(event: &CausalEvent, from: u64, to: u64) -> bool {
    (from..=to).contains(&event.start_unix_ns)
}

pub async fn select_live(
    window: &dyn WindowStore,
    config: &AssemblerConfig,
    alert: &Alert,
    (from, to): (u64, u64),
) -> Result<Chosen, StoreError> {
    let tenant = alert.tenant_id.as_str();
    let service = alert.service.as_str();
    let mut cuts = Vec::new();

    let mut named_but_missing = String::new();
    if let Some(wanted) = alert.trace_id {
        let events = read_trace(window, config, tenant, wanted, &mut cuts).await?;
        let scoped: Vec<&CausalEvent> = events.iter().filter(|e| in_scope(e, from, to)).collect();
        if !scoped.is_empty() {
            let failing = scoped.iter().any(|e| e.is_non_success());
            return Ok(Chosen {
                selection: Selection {
                    trace_id: Some(wanted),
                    reason: SelectionReason::AlertTraceId,
                    explanation: format!("the alert named trace {wanted}"),
                    traces_in_scope: None,
                    candidates: 1,
                    failing_candidates: u64::from(failing),
                },
                events,
                cuts,
            });
        }
        cuts.clear();
        named_but_missing = format!("the alert named trace {wanted} but it had no events in scope; ");
    }

    let touching = window
        .service_traces(tenant, service, from, to, config.max_scope_traces.saturating_add(1))
        .await?;
    let touching: BTreeSet<TraceId> = cut_to(
        touching,
        config.max_scope_traces,
        "scope_traces",
        &format!("more traces touched {service} than are considered; selection looked at the first by trace id"),
        &mut cuts,
    )
    .into_iter()
    .collect();
    let count = touching.len() as u64;

    // Failures that completed by `to` plus the longest allowed duration
    // include every non-success step that started in scope.
    let failures = window
        .failures(
            tenant,
            from,
            to.saturating_add(MAX_DURATION_NS),
            config.max_failures.saturating_add(1),
        )
        .await?;
    let failures = cut_to(
        failures,
        config.max_failures,
        "failures",
        "more non-success events than are read; the failing count covers the earliest ones",
        &mut cuts,
    );
    let mut failing_traces: BTreeSet<TraceId> = BTreeSet::new();
    let mut earliest: Option<TraceId> = None;
    for failure in failures.iter().filter(|f| (from..=to).contains(&f.start_unix_ns)) {
        if touching.contains(&failure.trace_id) {
            failing_traces.insert(failure.trace_id);
            earliest.get_or_insert(failure.trace_id);
        }
    }
    let failing = failing_traces.len() as u64;
    if let Some(chosen) = earliest {
        let events = read_trace(window, config, tenant, chosen, &mut cuts).await?;
        return Ok(Chosen {
            selection: Selection {
                trace_id: Some(chosen),
                reason: SelectionReason::EarliestFirstBreak,
                explanation: format!(
                    "{named_but_missing}of {count} trace(s) touching {service}, {failing} failed; this one's first break completed earliest"
                ),
                traces_in_scope: None,
                candidates: count,
                failing_candidates: failing,
            },
            events,
            cuts,
        });
    }
    slowest(window, config, alert, (from, to), touching, named_but_missing, cuts).await
}

/// No candidate failed (a latency alert): the trace with the longest span,
/// among at most `max_candidate_traces` read in full.
async fn slowest(
    window: &dyn WindowStore,
    config: &AssemblerConfig,
    alert: &Alert,
    (from, to): (u64, u64),
    touching: BTreeSet<TraceId>,
    named_but_missing: String,
    mut cuts: Vec<ReadCut>,
) -> Result<Chosen, StoreError> {
    let service = alert.service.as_str();
    let count = touching.len() as u64;
    if touching.is_empty() {
        return Ok(Chosen {
            selection: Selection {
                trace_id: None,
                reason: SelectionReason::NoTrace,
                explanation: format!("{named_but_missing}no trace in scope touched {service}"),
                traces_in_scope: None,
                candidates: 0,
                failing_candidates: 0,
            },
            events: Vec::new(),
            cuts,
        });
    }
    if touching.len() > config.max_candidate_traces {
        cuts.push(ReadCut {
            what: "latency_candidates".to_owned(),
            limit: config.max_candidate_traces as u64,
            kept: config.max_candidate_traces as u64,
            total: Some(count),
            note: format!(
                "the slowest trace was chosen among the first {} by trace id",
                config.max_candidate_traces
            ),
        });
    }
    // (span, trace, its events, the cut of its read); ties keep the
    // smaller trace id (ascending order, strictly longer replaces).
    let mut best: Option<(u64, TraceId, Vec<CausalEvent>, Vec<ReadCut>)> = None;
    for trace_id in touching.into_iter().take(config.max_candidate_traces) {
        let mut trace_cut = Vec::new();
        let events = read_trace(window, config, &alert.tenant_id, trace_id, &mut trace_cut).await?;
        let scoped = events.iter().filter(|e| in_scope(e, from, to));
        let (start, end) = scoped.fold((u64::MAX, 0), |(s, e), ev| {
            (s.min(ev.start_unix_ns), e.max(ev.end_unix_ns()))
        });
        let span = end.saturating_sub(start);
        if best.as_ref().is_none_or(|(longest, ..)| span > *longest) {
            best = Some((span, trace_id, events, trace_cut));
        }
    }
    let Some((_, chosen, events, trace_cut)) = best else {
        return Err(StoreError::Fatal("no latency candidate could be read".to_owned()));
    };
    cuts.extend(trace_cut);
    Ok(Chosen {
        selection: Selection {
            trace_id: Some(chosen),
            reason: SelectionReason::Slowest,
            explanation: format!(
                "{named_but_missing}none of {count} trace(s) touching {service} had a non-success step; this one took longest from first start to last end"
            ),
            traces_in_scope: None,
            candidates: count,
            failing_candidates: 0,
        },
        events,
        cuts,
    })
}

/// No trace of the alerting service is in scope — an alert on a dependency
/// without the SDK: the traces that call it (an outbound step naming it as
/// peer), from the store's peer index over the scope (the calls nearest the
/// alert, at most `max_peer_calls`), each read in full (at most
/// `max_candidate_traces`).
pub async fn caller_traces(
    window: &dyn WindowStore,
    config: &AssemblerConfig,
    alert: &Alert,
    (from, to): (u64, u64),
    cuts: &mut Vec<ReadCut>,
) -> Result<Vec<CausalEvent>, StoreError> {
    let service = alert.service.as_str();
    let limit = config.max_peer_calls;
    let mut calls = window
        .peer_calls(&alert.tenant_id, service, from, to, limit.saturating_add(1))
        .await?;
    if calls.len() > limit {
        // The read keeps the latest: drop the oldest extra one.
        calls.remove(0);
        cuts.push(ReadCut {
            what: "caller_traces".to_owned(),
            limit: limit as u64,
            kept: limit as u64,
            total: None,
            note: format!("traces calling {service} were looked for among the {limit} calls to it nearest the alert"),
        });
    }
    let callers: BTreeSet<TraceId> = calls.into_iter().map(|call| call.trace_id).collect();
    if callers.len() > config.max_candidate_traces {
        cuts.push(ReadCut {
            what: "caller_candidates".to_owned(),
            limit: config.max_candidate_traces as u64,
            kept: config.max_candidate_traces as u64,
            total: Some(callers.len() as u64),
            note: format!(
                "the first {} traces calling {service} by trace id were weighed",
                config.max_candidate_traces
            ),
        });
    }
    let mut events = Vec::new();
    for trace_id in callers.into_iter().take(config.max_candidate_traces) {
        events.extend(read_trace(window, config, &alert.tenant_id, trace_id, cuts).await?);
    }
    Ok(events)
}
