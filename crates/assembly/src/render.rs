//! A terminal waterfall of an artifact: header, causal tree with time bars,
//! then ghost services, the window summary, pre-arm signals and claims.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::artifact::{Artifact, Frame, FrameLink, FrameType};

const BAR_WIDTH: u64 = 30;
const MAX_INDENT_LEVELS: u32 = 30;
const MAX_LABEL_CHARS: usize = 90;
const RED_BOLD: &str = "\x1b[1;31m";
const RED: &str = "\x1b[31m";
const DIM: &str = "\x1b[2m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

fn paint(text: &str, style: &str, color: bool) -> String {
    if color {
        format!("{style}{text}{RESET}")
    } else {
        text.to_owned()
    }
}

/// Human duration with integer math: `850ns`, `12.5µs`, `12.0ms`, `3.25s`, `4m07s`.
pub fn human_duration(ns: u64) -> String {
    match ns {
        0..1_000 => format!("{ns}ns"),
        1_000..1_000_000 => format!("{}.{}µs", ns / 1_000, ns % 1_000 / 100),
        1_000_000..1_000_000_000 => format!("{}.{}ms", ns / 1_000_000, ns % 1_000_000 / 100_000),
        1_000_000_000..60_000_000_000 => format!("{}.{:02}s", ns / 1_000_000_000, ns % 1_000_000_000 / 10_000_000),
        _ => format!("{}m{:02}s", ns / 60_000_000_000, ns % 60_000_000_000 / 1_000_000_000),
    }
}

/// `2.30s before the alert` / `1.0ms after the alert`.
pub fn human_lead(lead_ns: i64) -> String {
    let magnitude = human_duration(lead_ns.unsigned_abs());
    if lead_ns >= 0 {
        format!("{magnitude} before the alert")
    } else {
        format!("{magnitude} after the alert")
    }
}

fn per_mille_text(value: u32) -> String {
    format!("{}.{}%", value / 10, value % 10)
}

pub fn render_waterfall(artifact: &Artifact, color: bool) -> String {
    let mut out = String::new();
    render_header(artifact, color, &mut out);
    render_tree(artifact, color, &mut out);
    render_footer(artifact, &mut out);
    out
}

fn render_header(artifact: &Artifact, color: bool, out: &mut String) {
    let alert = &artifact.alert;
    let _ = writeln!(
        out,
        "{}",
        paint(&format!("causeway artifact {}", artifact.digest()), BOLD, color)
    );
    let _ = writeln!(
        out,
        "alert:        {} (service {}, from {}, fired {})",
        alert.title, alert.service, alert.source, alert.fired_at
    );
    let selection = &artifact.selection;
    match selection.trace_id {
        Some(id) => {
            let _ = writeln!(out, "trace:        {id}");
        }
        None => {
            let _ = writeln!(out, "trace:        none found");
        }
    }
    let in_scope = selection
        .traces_in_scope
        .map(|count| format!(", {count} trace(s) in scope"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "selection:    {} ({} candidate(s), {} failing{in_scope})",
        selection.explanation, selection.candidates, selection.failing_candidates
    );
    if !artifact.window_complete {
        let _ = writeln!(
            out,
            "window:       NOT CAUGHT UP — {} record(s) were not yet written when this was assembled",
            artifact.window_lag_records.unwrap_or_default()
        );
    }
    for cut in &artifact.cuts {
        let total = cut
            .total
            .map(|total| format!(" of {total}"))
            .unwrap_or_else(|| " of more".to_owned());
        let _ = writeln!(
            out,
            "truncated:    {}: {}{total} (limit {}) — {}",
            cut.what, cut.kept, cut.limit, cut.note
        );
    }
    let c = &artifact.completeness;
    let _ = writeln!(
        out,
        "completeness: {} — {} service(s), {} event(s), {} gap(s), coverage {}",
        c.label.as_str().to_uppercase(),
        c.captured_services,
        c.captured_events,
        c.gaps,
        per_mille_text(c.coverage_per_mille)
    );
    match (&artifact.first_confirmed_break, &artifact.first_break_note) {
        (Some(b), _) => {
            let text = format!("first break:  {} at {} ({})", b.summary, b.at, human_lead(b.lead_ns));
            let _ = writeln!(out, "{}", paint(&text, RED_BOLD, color));
        }
        (None, Some(note)) => {
            let _ = writeln!(out, "first break:  none — {note}");
        }
        (None, None) => {
            let _ = writeln!(out, "first break:  none");
        }
    }
    if let Some(span) = &artifact.trace_span {
        let _ = writeln!(
            out,
            "trace span:   {} from {}",
            human_duration(span.duration_ns),
            span.start
        );
    }
    out.push('\n');
}

/// Depth-first order: a frame hangs under its parent when its link is
/// `Child`; every other frame starts a tree. Frames arrive ordered (depth,
/// start, ce_id), so children and roots come out in start order. The HTML
/// share page draws its rows in the same order.
pub fn tree_order(frames: &[Frame]) -> Vec<usize> {
    let position: HashMap<_, _> = frames.iter().enumerate().map(|(i, f)| (f.ce_id, i)).collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); frames.len()];
    let mut roots = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        let parent = match (frame.link, frame.parent_ce_id) {
            (FrameLink::Child, Some(parent)) => position.get(&parent).copied(),
            _ => None,
        };
        match parent {
            Some(p) if p != i => children[p].push(i),
            _ => roots.push(i),
        }
    }
    let mut order = Vec::with_capacity(frames.len());
    let mut visited = vec![false; frames.len()];
    let mut stack: Vec<usize> = roots.into_iter().rev().collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut visited[i], true) {
            continue;
        }
        order.push(i);
        stack.extend(children[i].iter().rev());
    }
    // Anything a malformed artifact left unreachable is still shown.
    order.extend((0..frames.len()).filter(|&i| !visited[i]));
    order
}

fn frame_label(frame: &Frame) -> String {
    let indent_levels = frame.depth.min(MAX_INDENT_LEVELS) as usize;
    let mut label = "  ".repeat(indent_levels);
    if frame.depth > MAX_INDENT_LEVELS {
        let _ = write!(label, "…({}) ", frame.depth);
    }
    match frame.frame_type {
        FrameType::Gap => {
            let _ = write!(
                label,
                "[gap] {} not captured, named by {} event(s)",
                frame.ce_id,
                frame.named_by.unwrap_or(0)
            );
        }
        FrameType::Event => {
            let _ = write!(
                label,
                "{} {}",
                frame.service.as_deref().unwrap_or("?"),
                frame.kind.map_or("?", |k| k.as_str())
            );
            if let Some(operation) = &frame.operation {
                let _ = write!(label, " {operation}");
            }
            if let Some(peer) = &frame.peer {
                let _ = write!(label, " -> {peer}");
            }
            let _ = write!(label, " {}", frame.status.unwrap_or(0));
            if let Some(duration) = frame.duration_ns {
                let _ = write!(label, " {}", human_duration(duration));
            }
        }
    }
    if label.chars().count() > MAX_LABEL_CHARS {
        label = label.chars().take(MAX_LABEL_CHARS - 1).collect::<String>() + "…";
    }
    label
}

fn time_bar(frame: &Frame, span_start: u64, span_ns: u64) -> String {
    let Some(duration) = frame.duration_ns else {
        return " ".repeat(BAR_WIDTH as usize);
    };
    let scale = |ns: u64| (u128::from(ns) * u128::from(BAR_WIDTH) / u128::from(span_ns.max(1))) as u64;
    let offset = scale(frame.start_unix_ns.saturating_sub(span_start)).min(BAR_WIDTH - 1);
    let length = scale(duration).clamp(1, BAR_WIDTH - offset);
    let rest = BAR_WIDTH - offset - length;
    format!(
        "{}{}{}",
        " ".repeat(offset as usize),
        "█".repeat(length as usize),
        " ".repeat(rest as usize)
    )
}

fn render_tree(artifact: &Artifact, color: bool, out: &mut String) {
    if artifact.frames.is_empty() {
        let _ = writeln!(out, "(no frames: no trace was found for this alert)\n");
        return;
    }
    let (span_start, span_ns) = artifact
        .trace_span
        .as_ref()
        .map_or((0, 1), |s| (s.start_unix_ns, s.duration_ns));
    let break_id = artifact.first_confirmed_break.as_ref().map(|b| b.ce_id);
    let order = tree_order(&artifact.frames);
    let labels: Vec<String> = artifact.frames.iter().map(frame_label).collect();
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for i in order {
        let frame = &artifact.frames[i];
        let label = &labels[i];
        let pad = " ".repeat(width - label.chars().count());
        let line = format!("{label}{pad}  |{}|", time_bar(frame, span_start, span_ns));
        let is_break = frame.frame_type == FrameType::Event && Some(frame.ce_id) == break_id;
        let line = if is_break {
            paint(&format!("{line}  <- first confirmed break"), RED_BOLD, color)
        } else if frame.frame_type == FrameType::Gap {
            paint(&line, DIM, color)
        } else if frame.non_success {
            paint(&line, RED, color)
        } else {
            line
        };
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
}

fn render_footer(artifact: &Artifact, out: &mut String) {
    if artifact.ghost_services.is_empty() {
        let _ = writeln!(out, "ghost services: none");
    } else {
        let _ = writeln!(
            out,
            "ghost services (called, never reported; caller-side figures over the window):"
        );
        for ghost in &artifact.ghost_services {
            let w = &ghost.window;
            let _ = writeln!(
                out,
                "  {} <- {}: {} call(s) in trace, {} in window, errors {}, p50 {} p95 {} p99 {}",
                ghost.peer,
                ghost.callers.join(", "),
                ghost.calls_in_trace,
                w.calls,
                per_mille_text(w.error_rate_per_mille),
                human_duration(w.p50_ns),
                human_duration(w.p95_ns),
                human_duration(w.p99_ns)
            );
        }
    }
    let _ = writeln!(
        out,
        "\nwindow summary ({} to {}):",
        artifact.scope.from, artifact.scope.to
    );
    for row in &artifact.window_summary {
        match (&row.first_failure, row.first_failure_lead_ns) {
            (Some(at), Some(lead)) => {
                let _ = writeln!(
                    out,
                    "  {}: {} of {} event(s) non-success, first failed {at} ({})",
                    row.service,
                    row.non_success,
                    row.events,
                    human_lead(lead)
                );
            }
            _ => {
                let _ = writeln!(out, "  {}: {} event(s), no failures", row.service, row.events);
            }
        }
    }
    if !artifact.pre_arm_signals.is_empty() {
        let _ = writeln!(out, "\npre-arm signals:");
        for signal in &artifact.pre_arm_signals {
            let _ = writeln!(
                out,
                "  {} at {}: {}",
                signal.service, signal.received_at, signal.metadata_json
            );
        }
    }
    let repairs = &artifact.graph_repairs;
    if repairs.duplicates_collapsed + repairs.self_parents + repairs.cycles_broken + repairs.depth_cuts > 0 {
        let _ = writeln!(
            out,
            "\ngraph repairs: {} duplicate(s) collapsed, {} self-parent(s), {} cycle(s) broken, {} depth cut(s)",
            repairs.duplicates_collapsed, repairs.self_parents, repairs.cycles_broken, repairs.depth_cuts
        );
    }
    let _ = writeln!(out, "\nwhat this artifact does not claim:");
    for claim in &artifact.claims {
        let _ = writeln!(out, "  - {claim}");
    }
}
