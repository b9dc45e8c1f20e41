//! The Slack slash command `/causeway <service> [minutes-ago]`
//! (`POST /api/v1/integrations/slack`, form-encoded).
//!
//! The tenant is the one whose signing secret verifies `X-Slack-Signature`
//! (`v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>">`); a timestamp more
//! than 5 minutes from now is refused (a replayed request). The answer is
//! an ephemeral acknowledgement at once (Slack waits 3 s); the artifact
//! link follows on the command's `response_url` when it is ready.
//! Payload: <https://api.slack.com/interactivity/slash-commands>;
//! signing: <https://api.slack.com/authentication/verifying-requests-from-slack>.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use causeway_model::webhooks::slack::{self, SlashCommand};
use causeway_runtime::tenants::Tenant;
use serde_json::json;

use super::signature::{any_matches, hex_decode};
use super::{ROUTE_SLACK, slack_followup};
use crate::alert_intake::{Accepted, accept, check_window, new_alert_id};
use crate::clock::now_unix_ns;
use crate::error::IngestError;
use crate::http::{answer, body::media_type, read_body};
use crate::state::GatewayState;

pub const SIGNATURE_HEADER: &str = "X-Slack-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Slack-Request-Timestamp";
/// Oldest (or furthest ahead) request timestamp accepted, as Slack advises.
const MAX_TIMESTAMP_SKEW_SECONDS: u64 = 5 * 60;

pub(super) async fn slash_command(State(state): State<GatewayState>, headers: HeaderMap, body: Body) -> Response {
    answer(ROUTE_SLACK, slash_command_inner(&state, &headers, body).await)
}

async fn slash_command_inner(state: &GatewayState, headers: &HeaderMap, body: Body) -> Result<Response, IngestError> {
    let (timestamp, signatures) = signed_headers(headers)?;
    match media_type(headers).as_deref() {
        Some("application/x-www-form-urlencoded") => {}
        other => {
            return Err(IngestError::UnsupportedMediaType(other.unwrap_or("(none)").to_owned()));
        }
    }
    let body = read_body(state, headers, body).await?;
    let bytes = &body.bytes[..];
    let tenant = verified_tenant(state, &timestamp, &signatures, bytes)?;
    let command = slack::decode(bytes, &tenant.id, new_alert_id(), now_unix_ns())?;
    let (alert, minutes_ago, response_url) = match command {
        SlashCommand::Usage(usage) => return Ok(ephemeral(&usage)),
        SlashCommand::Alert {
            alert,
            minutes_ago,
            response_url,
        } => (alert, minutes_ago, response_url),
    };
    let service = &alert.service;
    if let Err(err) = check_window(state, &alert) {
        // A person typed this: say what is wrong where they typed it.
        return Ok(ephemeral(&format!("Cannot assemble that: {err}")));
    }
    let accepted = accept(state, &alert).await?;
    let Accepted::New { alert_id } = accepted else {
        return Err(IngestError::internal("a slash command alert has no dedup key"));
    };
    slack_followup::spawn(state.clone(), tenant.id.clone(), alert_id.clone(), response_url);
    Ok(ephemeral(&format!(
        "Assembling the artifact for *{service}* ({minutes_ago} min ago, alert `{alert_id}`); the link follows here when it is ready."
    )))
}

fn ephemeral(text: &str) -> Response {
    (
        StatusCode::OK,
        Json(json!({"response_type": "ephemeral", "text": text})),
    )
        .into_response()
}

/// The timestamp and the `v0=` signatures; both headers are required and
/// the timestamp must be within 5 minutes of now.
fn signed_headers(headers: &HeaderMap) -> Result<(String, Vec<Vec<u8>>), IngestError> {
    let refuse = |header: &'static str, reason: String| IngestError::BadSignature { header, reason };
    let timestamp = headers
        .get(TIMESTAMP_HEADER)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| refuse(TIMESTAMP_HEADER, "missing".into()))?
        .trim()
        .to_owned();
    let seconds: u64 = timestamp
        .parse()
        .map_err(|_| refuse(TIMESTAMP_HEADER, "must be unix seconds".into()))?;
    let now = now_unix_ns() / 1_000_000_000;
    if now.abs_diff(seconds) > MAX_TIMESTAMP_SKEW_SECONDS {
        return Err(refuse(
            TIMESTAMP_HEADER,
            format!(
                "is {} s from now, over the limit of {MAX_TIMESTAMP_SKEW_SECONDS} s (a replayed request?)",
                now.abs_diff(seconds)
            ),
        ));
    }
    let signatures: Vec<Vec<u8>> = headers
        .get_all(SIGNATURE_HEADER)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|entry| entry.trim().strip_prefix("v0="))
        .filter_map(hex_decode)
        .collect();
    if signatures.is_empty() {
        return Err(refuse(SIGNATURE_HEADER, "missing or no v0= signature".into()));
    }
    Ok((timestamp, signatures))
}

fn verified_tenant(
    state: &GatewayState,
    timestamp: &str,
    signatures: &[Vec<u8>],
    body: &[u8],
) -> Result<Arc<Tenant>, IngestError> {
    let message: [&[u8]; 4] = [b"v0:", timestamp.as_bytes(), b":", body];
    state
        .deps()
        .tenants
        .tenants()
        .into_iter()
        .find(|tenant| {
            tenant.integrations.slack.as_ref().is_some_and(|slack| {
                any_matches(
                    slack.signing_secrets.iter().map(|secret| secret.expose()),
                    signatures,
                    &message,
                )
            })
        })
        .ok_or_else(|| IngestError::BadSignature {
            header: SIGNATURE_HEADER,
            reason: "does not verify with a configured signing secret".to_owned(),
        })
}
