//! The no-auth share link: `/a/{token}` (terminal-style text waterfall) and
//! `/a/{token}.json` (the canonical artifact). The token is the only key.
//! A browser or a link unfurler (Slack, chat apps) asking for HTML gets the
//! waterfall in a page with Open Graph tags, so a pasted link shows the
//! alert's title and the first break.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use causeway_assembly::{Artifact, render_waterfall};

use super::ReadApiState;
use super::error::ApiError;
use crate::metrics_names::SHARE_VIEWS;

/// Tokens are 32 URL-safe characters; anything else is not looked up.
fn plausible_token(token: &str) -> bool {
    (16..=64).contains(&token.len())
        && token
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

pub async fn get_shared(
    State(state): State<ReadApiState>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let (token, as_json) = match token.strip_suffix(".json") {
        Some(bare) => (bare.to_owned(), true),
        None => (token, false),
    };
    if !plausible_token(&token) {
        return Err(ApiError::not_found("shared artifact"));
    }
    let stored = state
        .artifacts
        .get_by_share_token(&token)
        .await?
        .ok_or_else(|| ApiError::not_found("shared artifact"))?;
    metrics::counter!(SHARE_VIEWS, "format" => if as_json { "json" } else { "text" }).increment(1);
    let immutable = "public, max-age=31536000, immutable";
    if as_json {
        return Ok((
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, immutable),
            ],
            [("x-causeway-digest", stored.digest.clone())],
            stored.canonical_json,
        )
            .into_response());
    }
    let artifact: Artifact = serde_json::from_slice(&stored.canonical_json).map_err(|err| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("stored artifact unreadable: {err}"),
        )
    })?;
    let text = render_waterfall(&artifact, false);
    if wants_html(&headers) {
        return Ok((
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, immutable),
            ],
            html_page(&artifact, &text),
        )
            .into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, immutable),
        ],
        text,
    )
        .into_response())
}

/// Unfurlers that fetch a pasted link for its preview.
const UNFURLERS: [&str; 6] = [
    "slackbot",
    "slack-imgproxy",
    "facebookexternalhit",
    "twitterbot",
    "discordbot",
    "linkedinbot",
];

/// A browser (`Accept: text/html`) or a known link unfurler.
fn wants_html(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let agent = text(header::USER_AGENT).to_ascii_lowercase();
    text(header::ACCEPT).contains("text/html") || UNFURLERS.iter().any(|bot| agent.contains(bot))
}

/// The waterfall in a page whose Open Graph tags carry the alert's title
/// and, as the description, the first confirmed break.
fn html_page(artifact: &Artifact, waterfall: &str) -> String {
    let title = format!("{} ({})", artifact.alert.title, artifact.alert.service);
    let description = match &artifact.first_confirmed_break {
        Some(found) => format!(
            "First confirmed break: {}, {}. Completeness {}.",
            found.summary,
            crate::notify::lead_text(found.lead_ns),
            completeness_word(artifact)
        ),
        None => format!("No confirmed break. Completeness {}.", completeness_word(artifact)),
    };
    let (title, description, waterfall) = (escape(&title), escape(&description), escape(waterfall));
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">\n<title>{title}</title>\n\
         <meta property=\"og:type\" content=\"article\">\n\
         <meta property=\"og:site_name\" content=\"causeway\">\n\
         <meta property=\"og:title\" content=\"{title}\">\n\
         <meta property=\"og:description\" content=\"{description}\">\n\
         <meta name=\"description\" content=\"{description}\">\n\
         <meta name=\"robots\" content=\"noindex\">\n\
         </head><body><pre>{waterfall}</pre></body></html>\n"
    )
}

fn completeness_word(artifact: &Artifact) -> String {
    serde_json::to_value(artifact.completeness.label)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// HTML text and attribute escaping.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_for_browsers_and_unfurlers_only() {
        let mut headers = HeaderMap::new();
        assert!(!wants_html(&headers));
        headers.insert(header::USER_AGENT, "curl/8.5".parse().expect("value"));
        assert!(!wants_html(&headers));
        headers.insert(
            header::USER_AGENT,
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
                .parse()
                .expect("value"),
        );
        assert!(wants_html(&headers));
        let mut browser = HeaderMap::new();
        browser.insert(
            header::ACCEPT,
            "text/html,application/xhtml+xml".parse().expect("value"),
        );
        assert!(wants_html(&browser));
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
