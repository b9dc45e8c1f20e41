//! The coverage scorecard of one tenant: what is instrumented, what is
//! called but never reports (ranked by calls), how well each edge
//! propagates, how recent alerts' artifacts came out, and the concrete next
//! step for each gap; the topology as SVG.

use causeway_assembly::{Coverage, human_duration};
use maud::{Markup, html};

use super::format::{count, per_mille, percent};
use super::layout::{Head, document};
use super::period::{Period, period};
use super::topology_svg::topology;

/// The ranges the scorecard's calls and alerts can be read over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreRange {
    Hour,
    Day,
    Week,
}

impl ScoreRange {
    pub const ALL: [ScoreRange; 3] = [ScoreRange::Hour, ScoreRange::Day, ScoreRange::Week];

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "1h" => Some(ScoreRange::Hour),
            "24h" => Some(ScoreRange::Day),
            "7d" => Some(ScoreRange::Week),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ScoreRange::Hour => "1h",
            ScoreRange::Day => "24h",
            ScoreRange::Week => "7d",
        }
    }

    fn label(self) -> &'static str {
        match self {
            ScoreRange::Hour => "1 h",
            ScoreRange::Day => "24 h",
            ScoreRange::Week => "7 d",
        }
    }

    pub fn nanos(self) -> u64 {
        let hours: u64 = match self {
            ScoreRange::Hour => 1,
            ScoreRange::Day => 24,
            ScoreRange::Week => 7 * 24,
        };
        hours * 3_600 * 1_000_000_000
    }
}

/// One recent alert's artifact.
pub struct AlertRow {
    pub service: String,
    pub created_at: String,
    /// `full`, `partial`, `low`, or `None` when unreadable.
    pub label: Option<&'static str>,
    pub share_path: String,
}

pub struct ScorecardView<'a> {
    pub tenant_id: &'a str,
    pub range: ScoreRange,
    /// What period the call figures cover.
    pub period: &'a Period,
    /// The range's coverage: calls over the period.
    pub coverage: &'a Coverage,
    /// The live window's coverage alone: the ghost latencies' source.
    pub live: &'a Coverage,
    pub alerts: &'a [AlertRow],
    /// Whether there were more alerts in range than were read.
    pub alerts_truncated: bool,
    /// Signed in with the cookie (offer to sign out) or with a header.
    pub cookie_session: bool,
}

pub fn scorecard_page(view: &ScorecardView<'_>) -> String {
    let c = view.coverage;
    let title = format!("Coverage scorecard — {}", view.tenant_id);
    let description = format!(
        "{} instrumented, {} ghost services, {} call edges",
        count(c.instrumented_services.len() as u64, "service", "services"),
        c.ghost_services.len(),
        c.edges.len()
    );
    let body = html! {
        header.top {
            p.brand { "causeway · coverage scorecard" }
            h1 { "Coverage of " (view.tenant_id) }
            nav.ranges aria-label="Range of the figures" {
                "Calls and alerts over the last "
                @for range in ScoreRange::ALL {
                    @if range == view.range {
                        a.current href={ "?range=" (range.as_str()) } aria-current="page" { (range.label()) }
                    } @else {
                        a href={ "?range=" (range.as_str()) } { (range.label()) }
                    }
                    " "
                }
                @if view.cookie_session {
                    form.signout method="post" action="/coverage/sign-out" { button type="submit" { "Sign out" } }
                }
            }
        }
        main #main {
            (summary(view))
            section #topology aria-labelledby="topology-h" {
                h2 #topology-h { "Topology" }
                (period(view.period, view.range.label()))
                p.hint {
                    "Dashed: ghost services (called, never reporting). Edge colour: green when calls reach a "
                    "reporting callee, amber when some do, red when few do."
                }
                div.scroll.svgbox { (topology(c)) }
            }
            (ghosts(c, view.live, view.period.window_seconds))
            (edges(c))
            (alerts(view))
        }
    };
    let head = Head {
        title: &title,
        description: &description,
        url: None,
    };
    document(&head, false, body).into_string()
}

fn summary(view: &ScorecardView<'_>) -> Markup {
    let c = view.coverage;
    let tally = |label: &str| view.alerts.iter().filter(|a| a.label == Some(label)).count() as u64;
    let (full, partial, low) = (tally("full"), tally("partial"), tally("low"));
    let total = full + partial + low;
    html! {
        section.verdict aria-label="Summary" {
            div.card {
                h2 { "Instrumented services" }
                p.big #instrumented { (c.instrumented_services.len()) }
                ul.chips { @for s in &c.instrumented_services { li { (s) } } }
            }
            div.card {
                h2 { "Ghost services" }
                p.big #ghost-count { (c.ghost_services.len()) }
                p.small { "Called by your services but never reporting: each one is a hole in every chain through it." }
            }
            div.card {
                h2 { "Alerts in the last " (view.range.label()) }
                @if total == 0 {
                    p.big { "0" } p.small { "No alert was assembled in this range." }
                } @else {
                    p.big #alert-count { (total) @if view.alerts_truncated { "+" } }
                    div.sharebar role="img" aria-label={
                        (full) " full, " (partial) " partial, " (low) " low" } {
                        div.share-full style={ "width:" (percent(full, total)) } {}
                        div.share-partial style={ "width:" (percent(partial, total)) } {}
                        div.share-low style={ "width:" (percent(low, total)) } {}
                    }
                    p.small #alert-shares {
                        span.badge.badge-full { "FULL" } " " (percent(full, total)) " · "
                        span.badge.badge-partial { "PARTIAL" } " " (percent(partial, total)) " · "
                        span.badge.badge-low { "LOW" } " " (percent(low, total))
                    }
                }
            }
        }
    }
}

/// A ghost's latency percentile, known only when the live window called it.
fn latency(known: bool, ns: u64) -> Markup {
    html! { @if known { (human_duration(ns)) } @else { span.muted title="not called in the live window" { "—" } } }
}

fn ghosts(c: &Coverage, live: &Coverage, window_seconds: u64) -> Markup {
    let window = human_duration(window_seconds.saturating_mul(1_000_000_000));
    html! {
        section #ghosts aria-labelledby="ghosts-h" {
            h2 #ghosts-h { "Ghost services, most called first" }
            @if c.ghost_services.is_empty() {
                p.empty { "None: every called peer answered with events of its own." }
            } @else {
                div.scroll {
                    table.data {
                        thead { tr {
                            th scope="col" { "Service (as called)" } th scope="col" { "Called by" }
                            th scope="col" .num { "Calls" } th scope="col" .num { "Error rate" }
                            th scope="col" .num { "p50 (last " (window) ")" }
                            th scope="col" .num { "p95 (last " (window) ")" }
                            th scope="col" .num { "p99 (last " (window) ")" }
                            th scope="col" { "Next step" }
                        } }
                        tbody {
                            @for g in &c.ghost_services {
                                @let known = live.ghost_services.iter().any(|l| l.peer == g.peer);
                                tr {
                                    th scope="row" { span.svc { (g.peer) } }
                                    td { (g.callers.join(", ")) }
                                    td.num { (g.stats.calls) }
                                    td.num.fail[g.stats.errors > 0] { (per_mille(g.stats.error_rate_per_mille)) }
                                    td.num { (latency(known, g.stats.p50_ns)) }
                                    td.num { (latency(known, g.stats.p95_ns)) }
                                    td.num { (latency(known, g.stats.p99_ns)) }
                                    td { "Install the SDK (or an OpenTelemetry exporter) on " strong { (g.peer) } "." }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn edge_next_step(answered: u64, calls: u64, caller: &str, peer: &str) -> Markup {
    match (answered, calls) {
        (a, c) if a >= c => html! { span.muted { "None: every call propagated." } },
        (0, _) => html! {
            "Nothing " (peer) " reports links to these calls: install the SDK on " strong { (peer) }
            ", or make " (caller) "'s client send the trace headers."
        },
        _ => html! {
            "Some calls lose their context: check that every client in " strong { (caller) }
            " forwards " code { "x-incidentary-trace-id" } " / " code { "traceparent" } "."
        },
    }
}

fn edges(c: &Coverage) -> Markup {
    html! {
        section #edges aria-labelledby="edges-h" {
            h2 #edges-h { "Propagation health per edge" }
            @if c.edges.is_empty() {
                p.empty { "No outbound calls were recorded in this range." }
            } @else {
                div.scroll {
                    table.data {
                        thead { tr {
                            th scope="col" { "Caller → peer" } th scope="col" .num { "Calls" }
                            th scope="col" .num { "Propagated" } th scope="col" .num { "Errors" }
                            th scope="col" { "Next step" }
                        } }
                        tbody {
                            @for e in &c.edges {
                                tr.fail[e.propagation_per_mille < 500] {
                                    th scope="row" { span.svc { (e.caller) } " → " (e.peer) }
                                    td.num { (e.calls) }
                                    td.num { (per_mille(e.propagation_per_mille)) }
                                    td.num { (e.errors) }
                                    td { (edge_next_step(e.answered, e.calls, &e.caller, &e.peer)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn alerts(view: &ScorecardView<'_>) -> Markup {
    html! {
        section #alerts aria-labelledby="alerts-h" {
            h2 #alerts-h { "Recent alerts" }
            @if view.alerts.is_empty() {
                p.empty { "No alert was assembled in the last " (view.range.label()) "." }
            } @else {
                div.scroll {
                    table.data {
                        thead { tr {
                            th scope="col" { "Created" } th scope="col" { "Service" }
                            th scope="col" { "Completeness" } th scope="col" { "Artifact" }
                        } }
                        tbody {
                            @for a in view.alerts {
                                tr {
                                    td { time datetime=(a.created_at) { (a.created_at) } }
                                    th scope="row" { (a.service) }
                                    td {
                                        @match a.label {
                                            Some(label) => span.badge.{ "badge-" (label) } { (label.to_uppercase()) },
                                            None => span.muted { "unreadable" },
                                        }
                                    }
                                    td { a href=(a.share_path) { "open" } }
                                }
                            }
                        }
                    }
                }
                @if view.alerts_truncated { p.small { "Only the most recent alerts are listed." } }
            }
        }
    }
}
