//! The no-auth share link. `/a/{token}` answers browsers (`Accept:
//! text/html`) with the HTML share page and everyone else (curl, scripts)
//! with the terminal waterfall; `/a/{token}.json` is the canonical artifact.
//! The token is the only key. Unknown links are 404; expired (the tenant
//! plan's retention) and revoked links are 410; in a browser every answer,
//! including those, is a readable page.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use causeway_assembly::{Artifact, render_waterfall};
use causeway_model::time_parse::format_rfc3339;
use causeway_store::{ShareEnd, StoredArtifact};
use serde_json::json;

use super::ReadApiState;
use super::error::ApiError;
use super::negotiate::wants_html;
use crate::clock::now_unix_ns;
use crate::metrics_names::SHARE_VIEWS;
use crate::page::{GoneReason, ShareView, gone_page, share_page};

/// How long a client or proxy may reuse a share answer. Short, so that a
/// revoked link stops being served within minutes, not never.
const SHARE_MAX_AGE_SECONDS: u64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Html,
    Text,
}

impl Format {
    fn label(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Html => "html",
            Format::Text => "text",
        }
    }
}

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
    let (token, format) = match token.strip_suffix(".json") {
        Some(bare) => (bare.to_owned(), Format::Json),
        None if wants_html(&headers) => (token, Format::Html),
        None => (token, Format::Text),
    };
    if !plausible_token(&token) {
        return Ok(unavailable_link(GoneReason::Unknown, None, format));
    }
    let now = now_unix_ns();
    let Some(stored) = state.artifacts.get_by_share_token(&token).await? else {
        let ended = state.artifacts.ended_share(&token).await?;
        return Ok(match ended {
            Some(end) => {
                let reason = match end.reason {
                    ShareEnd::Expired => GoneReason::Expired,
                    ShareEnd::Revoked => GoneReason::Revoked,
                };
                unavailable_link(reason, Some(&format_rfc3339(end.at_unix_ns)), format)
            }
            None => unavailable_link(GoneReason::Unknown, None, format),
        });
    };
    // Past its retention but not yet deleted by the expiry pass.
    if let Some(expires_at) = stored.expires_at_unix_ns.filter(|&at| at <= now) {
        return Ok(unavailable_link(
            GoneReason::Expired,
            Some(&format_rfc3339(expires_at)),
            format,
        ));
    }
    metrics::counter!(SHARE_VIEWS, "format" => format.label()).increment(1);
    serve(&state, &stored, &token, format, now)
}

/// Reusable for [`SHARE_MAX_AGE_SECONDS`], never past the link's expiry.
fn cache_control(stored: &StoredArtifact, now: u64) -> String {
    let left = stored
        .expires_at_unix_ns
        .map_or(u64::MAX, |at| at.saturating_sub(now) / 1_000_000_000);
    format!("public, max-age={}", left.min(SHARE_MAX_AGE_SECONDS))
}

fn serve(
    state: &ReadApiState,
    stored: &StoredArtifact,
    token: &str,
    format: Format,
    now: u64,
) -> Result<Response, ApiError> {
    let cache = cache_control(stored, now);
    let digest = ("x-causeway-digest", stored.digest.clone());
    let vary = (header::VARY, "accept");
    if format == Format::Json {
        return Ok((
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (header::CACHE_CONTROL, cache),
            ],
            [digest],
            stored.canonical_json.clone(),
        )
            .into_response());
    }
    let artifact: Artifact = serde_json::from_slice(&stored.canonical_json)
        .map_err(|err| ApiError::internal(format_args!("stored artifact unreadable: {err}")))?;
    let (content_type, body) = match format {
        Format::Html => {
            let share_url = state.config.share_url(token);
            let expires_at = stored.expires_at_unix_ns.map(format_rfc3339);
            let view = ShareView {
                artifact: &artifact,
                digest: &stored.digest,
                share_url: &share_url,
                token,
                expires_at: expires_at.as_deref(),
            };
            ("text/html; charset=utf-8", share_page(&view))
        }
        _ => ("text/plain; charset=utf-8", render_waterfall(&artifact, false)),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CACHE_CONTROL, cache),
        ],
        [digest],
        [vary],
        body,
    )
        .into_response())
}

/// A link that serves nothing: 404 when unknown, 410 when it expired or
/// was revoked; a page for browsers, JSON or text for the others.
fn unavailable_link(reason: GoneReason, when: Option<&str>, format: Format) -> Response {
    let status = match reason {
        GoneReason::Unknown => StatusCode::NOT_FOUND,
        GoneReason::Expired | GoneReason::Revoked => StatusCode::GONE,
    };
    let code = match reason {
        GoneReason::Unknown => "not_found",
        GoneReason::Expired => "expired",
        GoneReason::Revoked => "revoked",
    };
    let message = match when {
        Some(when) => format!("{} (since {when}): {}", reason.heading(), reason.explanation()),
        None => format!("{}: {}", reason.heading(), reason.explanation()),
    };
    let no_store = (header::CACHE_CONTROL, "no-store");
    match format {
        Format::Html => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8"), no_store],
            gone_page(reason, when),
        )
            .into_response(),
        Format::Json => (
            status,
            [(header::CONTENT_TYPE, "application/json"), no_store],
            json!({ "error": code, "message": message }).to_string(),
        )
            .into_response(),
        Format::Text => (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), no_store],
            format!("{message}\n"),
        )
            .into_response(),
    }
}
