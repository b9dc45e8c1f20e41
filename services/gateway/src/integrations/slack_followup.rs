//! After a slash command: wait for the alert's artifact and post its link
//! to the command's `response_url` once (Slack keeps a `response_url`
//! valid for 30 minutes). The gateway shares the store the assembler
//! records alert states in, so it sees the artifact as soon as it exists.

use std::time::Duration;

use causeway_store::AlertPhase;
use serde_json::json;

use crate::state::GatewayState;

/// How often the alert's state is read.
const POLL: Duration = Duration::from_millis(500);
/// Longest wait for the artifact before saying it is still assembling.
const DEADLINE: Duration = Duration::from_secs(15 * 60);

/// Starts the wait in the background; the command was already answered.
pub(super) fn spawn(state: GatewayState, tenant_id: String, alert_id: String, response_url: String) {
    tokio::spawn(async move {
        let message = wait_for_artifact(&state, &tenant_id, &alert_id).await;
        let body = json!({"response_type": "ephemeral", "replace_original": false, "text": message});
        match causeway_runtime::webhook::post_json(state.http_client(), &response_url, &body).await {
            Ok(()) => tracing::info!(alert_id, "slash command answered with the artifact"),
            Err(err) => tracing::warn!(alert_id, error = %err, "could not post to the slash command's response url"),
        }
    });
}

/// The message to post: the link, the failure, or where to look later.
async fn wait_for_artifact(state: &GatewayState, tenant_id: &str, alert_id: &str) -> String {
    let started = tokio::time::Instant::now();
    while started.elapsed() < DEADLINE {
        match state.deps().artifacts.get_alert_state(tenant_id, alert_id).await {
            Ok(Some(stored)) if stored.state == AlertPhase::Assembled => {
                if let Some(token) = &stored.share_token {
                    return format!("Artifact ready: {}", state.deps().alerts.share_url(token));
                }
            }
            Ok(Some(stored)) if stored.state == AlertPhase::Failed => {
                let reason = stored.error.unwrap_or_else(|| "no reason recorded".to_owned());
                return format!("The artifact for alert `{alert_id}` could not be assembled: {reason}");
            }
            Ok(_) => {}
            Err(err) => tracing::debug!(alert_id, error = %err, "reading the alert state failed; retrying"),
        }
        tokio::time::sleep(POLL).await;
    }
    format!("Still assembling alert `{alert_id}`; GET /api/v1/alerts/{alert_id} shows its state.")
}
