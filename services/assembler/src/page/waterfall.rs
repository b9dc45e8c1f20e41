//! The causal waterfall as a table: one row per frame in tree order,
//! indented by depth, with a bar placed on the trace's own timeline. Gap
//! rows say what was not captured and where the SDK is missing; the first
//! confirmed break is marked in words, not only in colour.

use std::collections::{BTreeSet, HashMap, HashSet};

use causeway_assembly::{Artifact, Frame, FrameLink, FrameType, human_duration, human_lead, tree_order};
use causeway_model::CeId;
use maud::{Markup, html};

use super::format::{count, percent};

/// Deeper frames are drawn at this indent (the depth is still printed).
const MAX_INDENT: u32 = 24;

/// For each gap: the services of the captured events that name it.
fn gap_namers(frames: &[Frame]) -> HashMap<CeId, BTreeSet<&str>> {
    let mut namers: HashMap<CeId, BTreeSet<&str>> = HashMap::new();
    let gaps: HashSet<CeId> = frames
        .iter()
        .filter(|f| f.frame_type == FrameType::Gap)
        .map(|f| f.ce_id)
        .collect();
    for frame in frames {
        if let (Some(parent), Some(service)) = (frame.parent_ce_id, frame.service.as_deref())
            && gaps.contains(&parent)
        {
            namers.entry(parent).or_default().insert(service);
        }
    }
    namers
}

/// Frames that other frames hang under (they get a collapse toggle).
fn parents(frames: &[Frame]) -> HashSet<CeId> {
    frames
        .iter()
        .filter(|f| f.link == FrameLink::Child)
        .filter_map(|f| f.parent_ce_id)
        .collect()
}

pub fn waterfall(artifact: &Artifact) -> Markup {
    let frames = &artifact.frames;
    if frames.is_empty() {
        return html! {
            section #waterfall aria-labelledby="waterfall-h" {
                h2 #waterfall-h { "Causal waterfall" }
                p.empty { "No trace was found for this alert: " (artifact.selection.explanation) }
            }
        };
    }
    let (span_start, span_ns) = artifact
        .trace_span
        .as_ref()
        .map_or((0, 1), |s| (s.start_unix_ns, s.duration_ns.max(1)));
    let namers = gap_namers(frames);
    let parents = parents(frames);
    let ctx = RowContext {
        artifact,
        span_start,
        span_ns,
        namers: &namers,
        parents: &parents,
    };
    html! {
        section #waterfall aria-labelledby="waterfall-h" {
            h2 #waterfall-h { "Causal waterfall" }
            p.hint {
                "One row per recorded step, indented under the step that caused it. Bars sit on the trace's own "
                "timeline: " (human_duration(span_ns)) " from "
                @if let Some(span) = &artifact.trace_span { time datetime=(span.start) { (span.start) } } "."
                @if let Some(trace) = artifact.selection.trace_id { " Trace " code { (trace) } "." }
            }
            div.scroll {
                table.waterfall {
                    caption.sr { "Causal waterfall: " (count(frames.len() as u64, "step", "steps")) }
                    thead {
                        tr {
                            th scope="col" { "Step" }
                            th scope="col" .num { "Status" }
                            th scope="col" .num { "Duration" }
                            th scope="col" .timeline { "Timeline" }
                        }
                    }
                    tbody {
                        @for i in tree_order(frames) {
                            (row(&ctx, &frames[i]))
                        }
                    }
                }
            }
        }
    }
}

struct RowContext<'a> {
    artifact: &'a Artifact,
    span_start: u64,
    span_ns: u64,
    namers: &'a HashMap<CeId, BTreeSet<&'a str>>,
    parents: &'a HashSet<CeId>,
}

fn row(ctx: &RowContext<'_>, frame: &Frame) -> Markup {
    let first_break = ctx.artifact.first_confirmed_break.as_ref();
    let is_gap = frame.frame_type == FrameType::Gap;
    let is_break = !is_gap && first_break.is_some_and(|b| b.ce_id == frame.ce_id);
    let parent = (frame.link == FrameLink::Child).then_some(frame.parent_ce_id).flatten();
    let indent = format!("--depth:{}", frame.depth.min(MAX_INDENT));
    html! {
        tr #{ "f-" (frame.ce_id) } .frame .gap[is_gap] .fail[frame.non_success] .break[is_break]
            data-id=(frame.ce_id) data-parent=[parent] {
            th scope="row" .step style=(indent) {
                @if ctx.parents.contains(&frame.ce_id) {
                    button.toggle type="button" aria-expanded="true" hidden { span.sr { "collapse" } }
                }
                @if is_gap {
                    (gap_label(ctx, frame))
                } @else {
                    (event_label(frame))
                }
                @if is_break {
                    @if let Some(b) = first_break {
                        span.flag { "first confirmed break · " (human_lead(b.lead_ns)) }
                    }
                }
            }
            td.num.status {
                @match (is_gap, frame.status) {
                    (true, _) => span.muted { "—" },
                    (false, Some(status)) if frame.non_success => { span.sr { "failed: " } (status) },
                    (false, Some(status)) => (status),
                    (false, None) => span.muted { "—" },
                }
            }
            td.num { @if let Some(d) = frame.duration_ns { (human_duration(d)) } @else { span.muted { "—" } } }
            td.timeline { (bar(ctx, frame)) }
        }
    }
}

fn event_label(frame: &Frame) -> Markup {
    html! {
        span.svc { (frame.service.as_deref().unwrap_or("?")) }
        " " span.kind { (frame.kind.map_or("?", |k| k.as_str())) }
        @if let Some(operation) = &frame.operation { " " span.op { (operation) } }
        @if let Some(peer) = &frame.peer { " " span.peer { "→ " (peer) } }
    }
}

fn gap_label(ctx: &RowContext<'_>, frame: &Frame) -> Markup {
    let named_by = u64::from(frame.named_by.unwrap_or(0));
    let callees: Vec<&str> = ctx
        .namers
        .get(&frame.ce_id)
        .map(|set| set.iter().copied().collect())
        .unwrap_or_default();
    html! {
        span.kind.gapkind { "gap" }
        " not captured — "
        @if callees.is_empty() {
            "a step named as parent was never reported"
        } @else {
            "install the SDK on the caller of " strong { (callees.join(", ")) }
        }
        span.muted { " (named by " (count(named_by, "event", "events")) ")" }
    }
}

fn bar(ctx: &RowContext<'_>, frame: &Frame) -> Markup {
    let offset = frame.start_unix_ns.saturating_sub(ctx.span_start);
    let left = percent(offset, ctx.span_ns);
    match frame.duration_ns {
        Some(duration) => {
            let width = percent(duration.max(ctx.span_ns / 200), ctx.span_ns);
            let detail = format!(
                "starts +{} · lasts {}",
                human_duration(offset),
                human_duration(duration)
            );
            html! {
                div.track {
                    div.bar style={ "left:" (left) ";width:min(" (width) ",100% - " (left) ")" } title=(detail) {}
                }
            }
        }
        None => html! {
            div.track { div.bar.unknown style={ "left:" (left) } title="duration unknown" {} }
        },
    }
}
