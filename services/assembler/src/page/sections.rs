//! The share page's sections around the waterfall: the verdict cards,
//! ghost services, the window summary timeline, pre-arm signals, graph
//! repairs and the claims. Each renders from the `Artifact` alone and
//! shows nothing when its part of the artifact is empty.

use causeway_assembly::{Artifact, CompletenessLabel, human_duration, human_lead};
use maud::{Markup, html};

use super::format::{count, per_mille, percent};

/// What a completeness label means to the reader (the artifact's own
/// explanation says why this one got it).
fn label_meaning(label: CompletenessLabel) -> &'static str {
    match label {
        CompletenessLabel::Full => {
            "Every step that a captured event names as its cause was captured: the chain has no holes."
        }
        CompletenessLabel::Partial => {
            "Some steps of the chain were not captured. Most of it was: read the gaps as unknowns, not as healthy."
        }
        CompletenessLabel::Low => "A large share of the chain was not captured: an earlier break may sit in a gap.",
    }
}

pub fn verdict(artifact: &Artifact) -> Markup {
    let c = &artifact.completeness;
    let label = c.label.as_str();
    html! {
        section.verdict aria-label="Summary" {
            div.card {
                h2 { "Completeness" }
                p { span.badge.{ "badge-" (label) } #completeness { (label.to_uppercase()) } }
                p { (label_meaning(c.label)) }
                p.small {
                    (count(c.captured_services, "service", "services")) ", "
                    (count(c.captured_events, "event", "events")) ", "
                    (count(c.gaps, "gap", "gaps")) "; coverage " (per_mille(c.coverage_per_mille)) ". "
                    (c.explanation)
                }
            }
            div.card.breakcard {
                h2 { "First confirmed break" }
                @if let Some(b) = &artifact.first_confirmed_break {
                    p.big #first-break { a href={ "#f-" (b.ce_id) } { (b.summary) } }
                    @if let Some(operation) = &b.operation { p { code { (operation) } } }
                    p.lead { (human_lead(b.lead_ns)) }
                    p.small { "Completed " time datetime=(b.at) { (b.at) } ", depth " (b.depth) "." }
                } @else {
                    p.big #first-break { "None" }
                    p { (artifact.first_break_note.as_deref().unwrap_or("No step of the chosen trace failed.")) }
                }
            }
            div.card {
                h2 { "Affected services" }
                ul.chips { @for service in &artifact.affected_services { li { (service) } } }
                @if !artifact.ghost_services.is_empty() {
                    h2 { "Ghost services" }
                    ul.chips.ghostchips {
                        @for ghost in &artifact.ghost_services { li { a href="#ghosts" { (ghost.peer) } } }
                    }
                }
                p.small { (artifact.selection.explanation) "." }
            }
        }
    }
}

pub fn ghosts(artifact: &Artifact) -> Markup {
    if artifact.ghost_services.is_empty() {
        return html! {};
    }
    html! {
        section #ghosts aria-labelledby="ghosts-h" {
            h2 #ghosts-h { "Ghost services" }
            p.hint {
                "Called, but never reported: no instrumented service answered these calls, so the figures come "
                "from the callers' side over the whole window. Install the SDK on them to see inside."
            }
            div.scroll {
                table.data {
                    thead {
                        tr {
                            th scope="col" { "Service (as called)" }
                            th scope="col" { "Called by" }
                            th scope="col" .num { "Calls in trace" }
                            th scope="col" .num { "Calls in window" }
                            th scope="col" .num { "Error rate" }
                            th scope="col" .num { "p50" }
                            th scope="col" .num { "p95" }
                            th scope="col" .num { "p99" }
                        }
                    }
                    tbody {
                        @for ghost in &artifact.ghost_services {
                            tr {
                                th scope="row" { span.svc { (ghost.peer) } }
                                td { (ghost.callers.join(", ")) }
                                td.num { (ghost.calls_in_trace) }
                                td.num { (ghost.window.calls) }
                                td.num.fail[ghost.window.errors > 0] { (per_mille(ghost.window.error_rate_per_mille)) }
                                td.num { (human_duration(ghost.window.p50_ns)) }
                                td.num { (human_duration(ghost.window.p95_ns)) }
                                td.num { (human_duration(ghost.window.p99_ns)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Per service over the whole pre-arm window: a track from the window's
/// start to its end, the alert as a line, the first failure as a marker.
pub fn window_summary(artifact: &Artifact) -> Markup {
    if artifact.window_summary.is_empty() {
        return html! {};
    }
    let scope = &artifact.scope;
    let span = scope.to_unix_ns.saturating_sub(scope.from_unix_ns).max(1);
    let alert_at = percent(artifact.alert.fired_at_unix_ns.saturating_sub(scope.from_unix_ns), span);
    html! {
        section #window aria-labelledby="window-h" {
            h2 #window-h { "Where failures started across the window" }
            p.hint {
                "Every service's events from " time datetime=(scope.from) { (scope.from) } " to "
                time datetime=(scope.to) { (scope.to) } ", not only the chosen trace. "
                span.legend.failmark aria-hidden="true" {} " first failure, "
                span.legend.alertmark aria-hidden="true" {} " the alert."
            }
            div.scroll {
                table.data.windowtable {
                    thead {
                        tr {
                            th scope="col" { "Service" }
                            th scope="col" .num { "Non-success" }
                            th scope="col" { "First failed" }
                            th scope="col" .timeline { "Window" }
                        }
                    }
                    tbody {
                        @for row in &artifact.window_summary {
                            tr.fail[row.non_success > 0] {
                                th scope="row" { span.svc { (row.service) } }
                                td.num { (row.non_success) " / " (row.events) }
                                td {
                                    @match (&row.first_failure, row.first_failure_lead_ns) {
                                        (Some(at), Some(lead)) => {
                                            (human_lead(lead)) br; span.small { (at) }
                                        },
                                        _ => span.muted { "no failures" },
                                    }
                                }
                                td.timeline {
                                    div.track.windowtrack {
                                        div.alertline style={ "left:" (alert_at) } {}
                                        @if let Some(at) = row.first_failure_unix_ns {
                                            div.failpoint
                                                style={ "left:" (percent(at.saturating_sub(scope.from_unix_ns), span)) }
                                                title={ (row.service) " first failed " (row.first_failure.as_deref().unwrap_or("")) } {}
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

pub fn pre_arm(artifact: &Artifact) -> Markup {
    if artifact.pre_arm_signals.is_empty() {
        return html! {};
    }
    html! {
        section #prearm aria-labelledby="prearm-h" {
            h2 #prearm-h { "Pre-arm signals" }
            p.hint { "SDKs that sensed trouble before the alert and raised their capture." }
            ul.signals {
                @for signal in &artifact.pre_arm_signals {
                    li {
                        span.svc { (signal.service) } " at "
                        time datetime=(signal.received_at) { (signal.received_at) }
                        pre { code { (signal.metadata_json) } }
                    }
                }
            }
        }
    }
}

pub fn repairs(artifact: &Artifact) -> Markup {
    let r = &artifact.graph_repairs;
    if r.duplicates_collapsed + r.self_parents + r.cycles_broken + r.depth_cuts + r.out_of_scope_events == 0 {
        return html! {};
    }
    html! {
        section #repairs aria-labelledby="repairs-h" {
            h2 #repairs-h { "Repairs to the recorded links" }
            p {
                (count(r.duplicates_collapsed, "duplicate", "duplicates")) " collapsed, "
                (count(r.self_parents, "self-parent", "self-parents")) " and "
                (count(r.cycles_broken, "cycle", "cycles")) " cut, "
                (count(r.depth_cuts, "depth cut", "depth cuts")) ", "
                (count(r.out_of_scope_events, "event", "events")) " outside the window."
            }
        }
    }
}

pub fn claims(artifact: &Artifact) -> Markup {
    html! {
        section #claims aria-labelledby="claims-h" {
            h2 #claims-h { "What this artifact does not claim" }
            ul { @for claim in &artifact.claims { li { (claim) } } }
        }
    }
}
