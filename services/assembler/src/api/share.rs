//! The no-auth share link: `/a/{token}` (terminal-style text waterfall) and
//! `/a/{token}.json` (the canonical artifact). The token is the only key.

use axum::extract::{Path, State};
use axum::http::header;
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

pub async fn get_shared(State(state): State<ReadApiState>, Path(token): Path<String>) -> Result<Response, ApiError> {
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
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, immutable),
        ],
        text,
    )
        .into_response())
}
