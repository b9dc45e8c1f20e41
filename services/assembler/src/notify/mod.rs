//! Telling people an artifact is ready: a Slack notice on the tenant's
//! incoming webhook (`[tenants.integrations.slack] notice_webhook_url`)
//! when an artifact is first stored. Posting runs in the background with a
//! timeout and bounded retries, so a slow Slack never holds the alert loop.

mod slack;

use std::sync::Arc;

use causeway_model::Alert;
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::StoredArtifact;

pub use slack::notice_body;

/// Posts notices for stored artifacts; cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    tenants: Arc<TenantRegistry>,
    client: reqwest::Client,
}

impl Notifier {
    pub fn new(tenants: Arc<TenantRegistry>) -> Self {
        Self {
            tenants,
            client: causeway_runtime::webhook::client(),
        }
    }

    /// Called after each artifact publish; posts only for a newly stored
    /// artifact (`created`), so a redelivered alert is not announced twice.
    /// Returns at once.
    pub fn artifact_stored(&self, alert: &Alert, stored: &StoredArtifact, created: bool, share_url: String) {
        if !created {
            return;
        }
        let Some(tenant) = self.tenants.get(&alert.tenant_id) else {
            return;
        };
        let Some(url) = tenant
            .integrations
            .slack
            .as_ref()
            .and_then(|slack| slack.notice_webhook_url.clone())
        else {
            return;
        };
        let body = notice_body(&stored.canonical_json, &share_url);
        let client = self.client.clone();
        let alert_id = alert.alert_id.clone();
        tokio::spawn(async move {
            match causeway_runtime::webhook::post_json(&client, url.expose(), &body).await {
                Ok(()) => {
                    metrics::counter!(crate::metrics_names::NOTICES_POSTED, "outcome" => "posted").increment(1);
                    tracing::info!(alert_id, "slack notice posted");
                }
                Err(err) => {
                    metrics::counter!(crate::metrics_names::NOTICES_POSTED, "outcome" => "failed").increment(1);
                    tracing::warn!(alert_id, error = %err, "slack notice not posted");
                }
            }
        });
    }
}
