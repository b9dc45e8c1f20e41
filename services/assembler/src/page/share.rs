//! The share page: what the war room opens from the alert channel. It reads
//! top-down in the order an on-call engineer asks: how complete is this,
//! what broke first and how long before the alert, where in the chain,
//! what was called but never reported, and what this does not claim.

use causeway_assembly::{Artifact, human_lead};
use maud::html;

use super::layout::{Head, document};
use super::{sections, waterfall};

pub struct ShareView<'a> {
    pub artifact: &'a Artifact,
    /// The stored digest (`sha256:<hex>` over the canonical JSON).
    pub digest: &'a str,
    /// The share link as handed out (absolute when `public_url` is set).
    pub share_url: &'a str,
    /// The share token: the page links its canonical JSON as `<token>.json`.
    pub token: &'a str,
    /// RFC 3339 time the link expires, when it does.
    pub expires_at: Option<&'a str>,
}

/// `<alert title> — <service> <kind> <status> broke first` (what a chat
/// unfurl shows as the headline).
fn headline(artifact: &Artifact) -> String {
    match &artifact.first_confirmed_break {
        Some(b) => format!("{} — {} broke first", artifact.alert.title, b.summary),
        None => format!("{} — no confirmed break", artifact.alert.title),
    }
}

/// One sentence for link previews: completeness, the break and its lead.
fn description(artifact: &Artifact) -> String {
    let c = &artifact.completeness;
    let first = match &artifact.first_confirmed_break {
        Some(b) => format!("First confirmed break: {}, {}.", b.summary, human_lead(b.lead_ns)),
        None => "No step of the chosen trace failed.".to_owned(),
    };
    format!(
        "Completeness {} ({} services, {} gaps). {} Affected: {}.",
        c.label.as_str().to_uppercase(),
        c.captured_services,
        c.gaps,
        first,
        artifact.affected_services.join(", ")
    )
}

pub fn share_page(view: &ShareView<'_>) -> String {
    let artifact = view.artifact;
    let alert = &artifact.alert;
    let title = headline(artifact);
    let description = description(artifact);
    let body = html! {
        header.top {
            p.brand { "causeway · incident artifact" }
            h1 { (alert.title) }
            p.meta {
                "Alert on " strong { (alert.service) } " from " (alert.source)
                @if let Some(severity) = &alert.severity { " (" (severity) ")" }
                ", fired " time datetime=(alert.fired_at) { (alert.fired_at) }
            }
        }
        main #main {
            (sections::verdict(artifact))
            (waterfall::waterfall(artifact))
            (sections::ghosts(artifact))
            (sections::window_summary(artifact))
            (sections::pre_arm(artifact))
            (sections::repairs(artifact))
            (sections::claims(artifact))
        }
        footer.identity {
            p {
                "Digest " code #digest { (view.digest) }
            }
            p {
                "Created " time datetime=(artifact.assembled_at) { (artifact.assembled_at) }
                " · " (artifact.schema)
                " · " a href={ (view.token) ".json" } { "canonical JSON" }
                @if let Some(expires) = view.expires_at {
                    " · link expires " time datetime=(expires) { (expires) }
                }
            }
            p.small {
                "Everyone who opens " span.url { (view.share_url) }
                " sees this same immutable artifact: compare the digest to be sure."
            }
        }
    };
    let head = Head {
        title: &title,
        description: &description,
        url: Some(view.share_url),
    };
    document(&head, true, body).into_string()
}
