//! `assemble`: alert + window -> artifact. Total and deterministic: any
//! input gives an artifact, and the same input gives the same bytes.

use std::collections::BTreeSet;

use causeway_model::time_parse::format_rfc3339;
use causeway_model::{Alert, CausalEvent};

use crate::artifact::{
    ARTIFACT_SCHEMA, AlertInfo, Artifact, Frame, FrameType, PreArmNotice, Scope, Selection, TraceSpan,
};
use crate::claims::claims_for;
use crate::completeness::completeness;
use crate::dedupe::dedupe_by_ce_id;
use crate::first_break::{NO_BREAK_NOTE, first_break};
use crate::ghosts::{InstrumentedServices, ghost_peer_names, ghost_services};
use crate::graph::TraceGraph;
use crate::input::AssemblyInput;
use crate::linkage::outbound_calls;
use crate::selection::{TracesInScope, select};
use crate::window_summary::{summary_from_tallies, window_summary};

/// What the artifact is built from: the selection, the chosen trace's
/// graph, every event in scope (one per `ce_id`) and the services known to
/// report.
struct Chosen<'a> {
    selection: Selection,
    graph: TraceGraph<'a>,
    scope_events: Vec<&'a CausalEvent>,
    instrumented: InstrumentedServices,
}

impl<'a> Chosen<'a> {
    fn new(input: &'a AssemblyInput) -> Self {
        let alert = &input.alert;
        let (from, to) = input.scope_bounds();
        let in_scope = |e: &CausalEvent| (from..=to).contains(&e.start_unix_ns);
        let same_tenant = |e: &&CausalEvent| e.tenant_id == alert.tenant_id;

        let foreign_tenant_events = input.candidates.iter().filter(|e| !same_tenant(e)).count() as u64;
        let (candidates, _) = dedupe_by_ce_id(input.candidates.iter().filter(same_tenant));
        let mut traces = TracesInScope::new();
        for event in candidates.iter().copied().filter(|e| in_scope(e)) {
            traces.entry(event.trace_id).or_default().push(event);
        }
        let selection = match &input.preselection {
            Some(preselected) => preselected.clone(),
            None => select(alert, &traces),
        };

        // The chosen trace's raw events (duplicates included, so the graph
        // counts what it collapses).
        let chosen: Vec<&CausalEvent> = match selection.trace_id {
            Some(id) => input
                .candidates
                .iter()
                .filter(|e| e.trace_id == id && same_tenant(e))
                .collect(),
            None => Vec::new(),
        };
        let out_of_scope = candidates
            .iter()
            .filter(|e| Some(e.trace_id) == selection.trace_id && !in_scope(e))
            .count() as u64;
        let mut graph = TraceGraph::build(chosen.into_iter().filter(|e| in_scope(e)));
        graph.repairs.out_of_scope_events = out_of_scope;
        graph.repairs.foreign_tenant_events = foreign_tenant_events;

        let (scope_events, _) = dedupe_by_ce_id(
            input
                .candidates
                .iter()
                .chain(input.window_events.iter())
                .filter(same_tenant)
                .filter(|e| in_scope(e)),
        );
        let mut instrumented = InstrumentedServices::from_events(scope_events.iter().copied());
        if let Some(activity) = &input.activity {
            instrumented.extend(
                activity
                    .iter()
                    .filter(|tally| tally.events > 0)
                    .map(|tally| tally.service.as_str()),
            );
        }
        Self {
            selection,
            graph,
            scope_events,
            instrumented,
        }
    }
}

/// The peers [`assemble`] will report as ghost services of the chosen
/// trace. A caller with an index of calls by peer reads their calls over
/// the whole scope and passes them in as [`AssemblyInput::peer_calls`],
/// instead of passing every event of the window.
pub fn ghost_peers(input: &AssemblyInput) -> Vec<String> {
    let chosen = Chosen::new(input);
    ghost_peer_names(&outbound_calls(&chosen.graph), &chosen.instrumented)
}

pub fn assemble(input: &AssemblyInput) -> Artifact {
    let alert = &input.alert;
    let (from, to) = input.scope_bounds();
    let Chosen {
        selection,
        graph,
        scope_events,
        instrumented,
    } = Chosen::new(input);
    let calls = outbound_calls(&graph);

    let affected_services: Vec<String> = graph
        .events()
        .map(|(_, e)| e.service.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(str::to_owned)
        .collect();
    let first = first_break(&graph, alert.fired_at_unix_ns);
    let first_break_note = match (&first, selection.trace_id) {
        (None, Some(_)) => Some(NO_BREAK_NOTE.to_owned()),
        _ => None,
    };

    let mut artifact = Artifact {
        schema: ARTIFACT_SCHEMA.to_owned(),
        alert: alert_info(alert),
        assembled_at_unix_ns: input.assembled_at_unix_ns,
        assembled_at: format_rfc3339(input.assembled_at_unix_ns),
        scope: Scope {
            from_unix_ns: from,
            from: format_rfc3339(from),
            to_unix_ns: to,
            to: format_rfc3339(to),
            pre_arm_ns: input.pre_arm_ns,
            settle_ns: input.settle_ns,
        },
        selection,
        window_complete: input.window.complete,
        window_lag_records: (!input.window.complete).then_some(input.window.lag_records),
        truncated: !input.cuts.is_empty(),
        cuts: input.cuts.clone(),
        completeness: completeness(
            affected_services.len() as u64,
            graph.captured as u64,
            graph.gaps() as u64,
            input.window,
        ),
        first_confirmed_break: first,
        first_break_note,
        trace_span: trace_span(&graph),
        frames: frames(&graph),
        affected_services,
        ghost_services: ghost_services(&calls, &instrumented, &scope_events, &input.peer_calls),
        window_summary: match &input.activity {
            Some(activity) => summary_from_tallies(activity, alert.fired_at_unix_ns),
            None => window_summary(&scope_events, alert.fired_at_unix_ns),
        },
        pre_arm_signals: pre_arm_notices(input),
        graph_repairs: graph.repairs.clone(),
        claims: Vec::new(),
    };
    artifact.claims = claims_for(&artifact);
    artifact
}

fn alert_info(alert: &Alert) -> AlertInfo {
    AlertInfo {
        alert_id: alert.alert_id.clone(),
        tenant_id: alert.tenant_id.clone(),
        service: alert.service.clone(),
        title: alert.title.clone(),
        source: alert.source.as_str().to_owned(),
        source_label: alert.source_label.clone(),
        dedup_key: alert.dedup_key.clone(),
        severity: alert.severity.clone(),
        trace_id: alert.trace_id,
        fired_at_unix_ns: alert.fired_at_unix_ns,
        fired_at: format_rfc3339(alert.fired_at_unix_ns),
    }
}

fn trace_span(graph: &TraceGraph<'_>) -> Option<TraceSpan> {
    let start = graph.events().map(|(_, e)| e.start_unix_ns).min()?;
    let end = graph.events().map(|(_, e)| e.end_unix_ns()).max()?;
    Some(TraceSpan {
        start_unix_ns: start,
        start: format_rfc3339(start),
        end_unix_ns: end,
        duration_ns: end.saturating_sub(start),
    })
}

/// One frame per captured event and per gap, ordered depth, start, `ce_id`.
fn frames(graph: &TraceGraph<'_>) -> Vec<Frame> {
    // Sort small keys, not the (large) frames.
    let mut order: Vec<usize> = (0..graph.nodes.len()).collect();
    order.sort_unstable_by_key(|&i| {
        let node = &graph.nodes[i];
        (node.depth, node.start_unix_ns, node.ce_id)
    });
    order
        .into_iter()
        .map(|i| &graph.nodes[i])
        .map(|node| match node.event {
            Some(event) => Frame {
                frame_type: FrameType::Event,
                depth: node.depth,
                link: node.link,
                ce_id: node.ce_id,
                parent_ce_id: event.parent_ce_id,
                service: Some(event.service.clone()),
                kind: Some(event.kind),
                operation: event.operation.clone(),
                peer: event.peer.clone(),
                status: Some(event.status),
                non_success: event.is_non_success(),
                start_unix_ns: event.start_unix_ns,
                start: format_rfc3339(event.start_unix_ns),
                duration_ns: Some(event.duration_ns),
                named_by: None,
            },
            None => Frame {
                frame_type: FrameType::Gap,
                depth: node.depth,
                link: node.link,
                ce_id: node.ce_id,
                parent_ce_id: None,
                service: None,
                kind: None,
                operation: None,
                peer: None,
                status: None,
                non_success: false,
                start_unix_ns: node.start_unix_ns,
                start: format_rfc3339(node.start_unix_ns),
                duration_ns: None,
                named_by: Some(u32::try_from(node.children.len()).unwrap_or(u32::MAX)),
            },
        })
        .collect()
}

fn pre_arm_notices(input: &AssemblyInput) -> Vec<PreArmNotice> {
    let mut notices: Vec<PreArmNotice> = input
        .pre_arm_signals
        .iter()
        .map(|signal| PreArmNotice {
            service: signal.service.clone(),
            received_at_unix_ns: signal.received_at_unix_ns,
            received_at: format_rfc3339(signal.received_at_unix_ns),
            metadata_json: signal.metadata_json.clone(),
        })
        .collect();
    notices.sort_by(|a, b| {
        (a.received_at_unix_ns, &a.service, &a.metadata_json).cmp(&(
            b.received_at_unix_ns,
            &b.service,
            &b.metadata_json,
        ))
    });
    notices.dedup();
    notices
}
