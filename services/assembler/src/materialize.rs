//! One alert to one stored artifact: read the window, assemble, store.
//! Idempotent: the artifact id derives from the alert, so a redelivered
//! alert returns the artifact already stored.

use std::collections::BTreeSet;

use causeway_assembly::{AssemblyInput, PreArmSignal, assemble};
use causeway_model::{Alert, TraceId};
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::{ArtifactStore, StoreError, StoredArtifact, WindowStore};

use crate::config::AssemblerConfig;
use crate::ids::{artifact_id, share_token};

/// What the read side and the artifact topic need of a new artifact.
#[derive(Debug, Clone)]
pub struct Materialized {
    pub stored: StoredArtifact,
    /// `full`, `partial` or `low` (a bounded metric label).
    pub completeness: &'static str,
    /// False when the alert had been assembled before (a redelivery).
    pub created: bool,
}

/// The SDK notice that opens a pre-arm window.
const PRE_ARM_START: &str = "pre_arm_start";

pub async fn materialize(
    config: &AssemblerConfig,
    tenants: &TenantRegistry,
    window: &dyn WindowStore,
    artifacts: &dyn ArtifactStore,
    alert: &Alert,
    now_unix_ns: u64,
) -> Result<Materialized, StoreError> {
    let id = artifact_id(&alert.tenant_id, &alert.alert_id);
    if let Some(existing) = artifacts.get_artifact(&alert.tenant_id, &id).await? {
        return Ok(Materialized {
            completeness: label_of(&existing),
            stored: existing,
            created: false,
        });
    }
    let pre_arm_seconds = tenants.pre_arm_seconds(&alert.tenant_id, config.pre_arm_seconds);
    let pre_arm_ns = pre_arm_seconds.saturating_mul(1_000_000_000);
    let settle_ns = config.settle_ms.saturating_mul(1_000_000);
    let from = alert.fired_at_unix_ns.saturating_sub(pre_arm_ns);
    let to = alert.fired_at_unix_ns.saturating_add(settle_ns);

    let mut trace_ids: BTreeSet<TraceId> = window
        .service_traces(&alert.tenant_id, &alert.service, from, to, config.max_candidate_traces)
        .await?
        .into_iter()
        .collect();
    trace_ids.extend(alert.trace_id);
    let mut candidates = Vec::new();
    for trace_id in trace_ids {
        candidates.extend(
            window
                .trace_events(&alert.tenant_id, trace_id, config.max_trace_events)
                .await?,
        );
    }
    let window_events = window
        .window_events(&alert.tenant_id, from, to, config.max_window_events)
        .await?;
    let pre_arm_signals = window
        .notices(&alert.tenant_id, from, to)
        .await?
        .into_iter()
        .filter(|notice| notice.event == PRE_ARM_START)
        .map(|notice| PreArmSignal {
            service: notice.service,
            received_at_unix_ns: notice.received_at_unix_ns,
            metadata_json: notice.metadata_json,
        })
        .collect();
    let input = AssemblyInput {
        alert: alert.clone(),
        pre_arm_ns,
        settle_ns,
        candidates,
        window_events,
        pre_arm_signals,
        assembled_at_unix_ns: now_unix_ns,
    };
    let artifact = assemble(&input);
    let stored = StoredArtifact {
        artifact_id: id.clone(),
        tenant_id: alert.tenant_id.clone(),
        alert_id: alert.alert_id.clone(),
        service: alert.service.clone(),
        created_at_unix_ns: now_unix_ns,
        digest: artifact.digest(),
        share_token: share_token(),
        canonical_json: artifact.canonical_json(),
    };
    match artifacts.put_artifact(&stored).await {
        Ok(()) => Ok(Materialized {
            completeness: artifact.completeness.label.as_str(),
            stored,
            created: true,
        }),
        // Another assembler stored this alert's artifact first: keep theirs.
        Err(StoreError::Conflict(_)) => match artifacts.get_artifact(&alert.tenant_id, &id).await? {
            Some(existing) => Ok(Materialized {
                completeness: label_of(&existing),
                stored: existing,
                created: false,
            }),
            None => Err(StoreError::Fatal(format!(
                "artifact {id} conflicted but cannot be read"
            ))),
        },
        Err(err) => Err(err),
    }
}

/// The completeness label of a stored artifact, read back from its JSON.
fn label_of(stored: &StoredArtifact) -> &'static str {
    let value: serde_json::Value = serde_json::from_slice(&stored.canonical_json).unwrap_or_default();
    match value.pointer("/completeness/label").and_then(|label| label.as_str()) {
        Some("full") => "full",
        Some("partial") => "partial",
        Some("low") => "low",
        _ => "unknown",
    }
}
