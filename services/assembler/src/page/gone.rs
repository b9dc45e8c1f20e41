//! The page an unknown, expired or revoked share link answers in a browser.

use maud::html;

use super::layout::{Head, document};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoneReason {
    /// No artifact was ever shared under this token (404).
    Unknown,
    /// The tenant plan's retention ran out (410).
    Expired,
    /// Someone with the tenant's key revoked the link (410).
    Revoked,
}

impl GoneReason {
    pub fn heading(self) -> &'static str {
        match self {
            GoneReason::Unknown => "No artifact at this link",
            GoneReason::Expired => "This link has expired",
            GoneReason::Revoked => "This link was revoked",
        }
    }

    pub fn explanation(self) -> &'static str {
        match self {
            GoneReason::Unknown => {
                "Nothing was shared under this address. Check that the whole link was copied: share links are long and \
                 unguessable on purpose."
            }
            GoneReason::Expired => {
                "The artifact behind this link was kept for the retention of its workspace's plan and has been \
                 deleted. Ask whoever shared it whether a copy of its JSON was saved."
            }
            GoneReason::Revoked => {
                "The workspace that shared this artifact revoked the link, so it is no longer public. People with \
                 the workspace's API key can still read the artifact through the API."
            }
        }
    }
}

/// `when` is the RFC 3339 time the link expired or was revoked, if known.
pub fn gone_page(reason: GoneReason, when: Option<&str>) -> String {
    let body = html! {
        main #main .gone {
            p.brand { "causeway" }
            h1 { (reason.heading()) }
            p { (reason.explanation()) }
            @if let Some(when) = when {
                p.small { "Since " time datetime=(when) { (when) } "." }
            }
        }
    };
    let head = Head {
        title: reason.heading(),
        description: reason.explanation(),
        url: None,
    };
    document(&head, false, body).into_string()
}
