//! What every alert route shares once it holds a decoded `Alert`: the
//! `fired_at` check against the tenant's window, dedup by `(tenant,
//! dedup_key)`, the `pending` state, and the publish.
//!
//! The `pending` state is stored before the alert is published, so the
//! assembler's later `assembled` state can never be overwritten by it.

use causeway_bus::{Record, headers as record_headers};
use causeway_model::{Alert, DecodeError, proto};
use causeway_store::{AlertPhase, AlertState, DedupClaim};
use prost::Message;
use serde_json::{Value, json};

use crate::clock::now_unix_ns;
use crate::error::IngestError;
use crate::ingest::{publish, store_error};
use crate::state::GatewayState;

/// How an alert was taken.
#[derive(Debug, Clone)]
pub(crate) enum Accepted {
    /// Published now under this id.
    New { alert_id: String },
    /// A repeat of an alert accepted within the dedup window: its id and
    /// its state as stored now (`None` while the first is being stored).
    Duplicate {
        alert_id: String,
        state: Option<AlertState>,
    },
}

impl Accepted {
    /// The JSON a route answers for this alert.
    pub(crate) fn body(&self, state: &GatewayState) -> Value {
        match self {
            Accepted::New { alert_id } => json!({"alert_id": alert_id}),
            Accepted::Duplicate {
                alert_id,
                state: stored,
            } => {
                let mut body = json!({"alert_id": alert_id, "duplicate": true, "state": "pending"});
                if let Some(stored) = stored {
                    body["state"] = json!(stored.state);
                    if let Some(artifact_id) = &stored.artifact_id {
                        body["artifact_id"] = json!(artifact_id);
                    }
                    if let Some(token) = &stored.share_token {
                        body["share_url"] = json!(state.deps().alerts.share_url(token));
                    }
                }
                body
            }
        }
    }
}

/// A new alert id.
pub(crate) fn new_alert_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Refuses a `fired_at` too far in the future or older than the tenant's
/// window plus grace (a "poison" alert: its events are gone, or it would
/// hold the assembler until the year it names).
pub(crate) fn check_window(state: &GatewayState, alert: &Alert) -> Result<(), IngestError> {
    let max_age_ns = state.deps().alerts.max_age_ns(&state.deps().tenants, &alert.tenant_id);
    alert
        .check_fired_at(now_unix_ns(), max_age_ns)
        .map_err(|err| IngestError::Decode(DecodeError::from(err)))
}

/// Takes one checked alert: a repeat within the dedup window answers the
/// first alert; otherwise the alert is stored `pending` and published.
pub(crate) async fn accept(state: &GatewayState, alert: &Alert) -> Result<Accepted, IngestError> {
    let artifacts = &state.deps().artifacts;
    if let Some(dedup_key) = &alert.dedup_key {
        let now = now_unix_ns();
        let claim = DedupClaim {
            tenant_id: alert.tenant_id.clone(),
            dedup_key: dedup_key.clone(),
            alert_id: alert.alert_id.clone(),
            expires_at_unix_ns: now.saturating_add(state.config().alert_dedup_seconds.saturating_mul(1_000_000_000)),
        };
        let holder = artifacts
            .claim_alert_dedup(&claim, now)
            .await
            .map_err(|err| store_error(state, err))?;
        if holder.alert_id != alert.alert_id {
            let stored = artifacts
                .get_alert_state(&alert.tenant_id, &holder.alert_id)
                .await
                .map_err(|err| store_error(state, err))?;
            tracing::info!(tenant = %alert.tenant_id, alert_id = %holder.alert_id, "repeated alert answered with the first");
            return Ok(Accepted::Duplicate {
                alert_id: holder.alert_id,
                state: stored,
            });
        }
    }
    match store_and_publish(state, alert).await {
        Ok(()) => Ok(Accepted::New {
            alert_id: alert.alert_id.clone(),
        }),
        Err(err) => {
            // Not accepted: the sender's retry must not find this id.
            if let Some(dedup_key) = &alert.dedup_key
                && let Err(store_err) = artifacts
                    .release_alert_dedup(&alert.tenant_id, dedup_key, &alert.alert_id)
                    .await
            {
                tracing::warn!(alert_id = %alert.alert_id, error = %store_err, "could not release the dedup key of an unaccepted alert");
            }
            Err(err)
        }
    }
}

async fn store_and_publish(state: &GatewayState, alert: &Alert) -> Result<(), IngestError> {
    let artifacts = &state.deps().artifacts;
    let mut alert_state = AlertState {
        alert_id: alert.alert_id.clone(),
        tenant_id: alert.tenant_id.clone(),
        state: AlertPhase::Pending,
        artifact_id: None,
        share_token: None,
        error: None,
        updated_at_unix_ns: now_unix_ns(),
    };
    artifacts
        .put_alert_state(&alert_state)
        .await
        .map_err(|err| store_error(state, err))?;
    let record = Record::new(alert.tenant_id.clone(), proto::v1::Alert::from(alert).encode_to_vec())
        .with_header(record_headers::RECORD_TYPE, record_headers::TYPE_ALERT_PROTO)
        .with_header(record_headers::SCHEMA_VERSION, record_headers::SCHEMA_V1);
    if let Err(err) = publish(state, &state.deps().topics.alerts, vec![record]).await {
        // The sender retries under a new id; this one will never assemble.
        alert_state.state = AlertPhase::Failed;
        alert_state.error = Some(format!("not accepted: {err}; the sender was asked to retry"));
        alert_state.updated_at_unix_ns = now_unix_ns();
        if let Err(store_err) = artifacts.put_alert_state(&alert_state).await {
            tracing::warn!(alert_id = %alert.alert_id, error = %store_err, "could not mark the unpublished alert failed");
        }
        return Err(err);
    }
    tracing::info!(tenant = %alert.tenant_id, alert_id = %alert.alert_id, service = %alert.service, source = alert.source.as_str(), "alert accepted");
    Ok(())
}
