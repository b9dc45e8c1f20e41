//! One alert to one stored artifact: read the window, assemble, store.
//! Idempotent: the artifact id derives from the alert, so a redelivered
//! alert returns the artifact already stored.

use causeway_assembly::{
    AssemblyInput, PreArmSignal, SelectionReason, ServiceTally, WindowProgress, assemble, scope_bounds,
};
use causeway_model::Alert;
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::{ArtifactStore, StoreError, StoredArtifact, WindowStore};

use crate::config::AssemblerConfig;
use crate::ghost_calls::read_ghost_calls;
use crate::ids::{artifact_id, share_token};
use crate::select::{caller_traces, select_live};

const SECOND_NS: u64 = 1_000_000_000;

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

/// Reads what the artifact needs from the window, by index: the chosen
/// trace (see [`crate::select`]), per-service counts over the scope, the
/// calls to each ghost service over the scope (see [`crate::ghost_calls`]),
/// SDK notices. No read is proportional to the window's size.
/// `progress` says whether the window had caught up when it was read.
pub async fn materialize(
    config: &AssemblerConfig,
    tenants: &TenantRegistry,
    window: &dyn WindowStore,
    artifacts: &dyn ArtifactStore,
    alert: &Alert,
    progress: WindowProgress,
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
    let (from, to) = scope_bounds(alert.fired_at_unix_ns, pre_arm_ns, settle_ns);

    let chosen = select_live(window, config, alert, (from, to)).await?;
    let mut cuts = chosen.cuts;
    // Nothing of the alerting service in scope: weigh the traces calling it
    // with the offline rules (which look for callers when nothing touches
    // the service); their count is not the scope's, so it is not claimed.
    let mut candidates = chosen.events;
    let mut preselection = Some(chosen.selection);
    if preselection
        .as_ref()
        .is_some_and(|s| s.reason == SelectionReason::NoTrace)
    {
        let callers = caller_traces(window, config, alert, (from, to), &mut cuts).await?;
        if !callers.is_empty() {
            candidates = callers;
            preselection = None;
        }
    }
    let counted_live = preselection.is_some();
    let activity = window
        .service_activity(&alert.tenant_id, from / SECOND_NS, to / SECOND_NS)
        .await?
        .into_iter()
        .map(|row| ServiceTally {
            service: row.service,
            events: row.events,
            non_success: row.non_success,
            first_failure_end_unix_ns: row.first_failure_end_unix_ns,
        })
        .collect();
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
    let mut input = AssemblyInput {
        alert: alert.clone(),
        pre_arm_ns,
        settle_ns,
        candidates,
        window_events: Vec::new(),
        pre_arm_signals,
        assembled_at_unix_ns: now_unix_ns,
        preselection,
        activity: Some(activity),
        window: progress,
        cuts,
        peer_calls: Default::default(),
    };
    read_ghost_calls(window, config, &mut input).await?;
    let mut artifact = assemble(&input);
    if !counted_live {
        artifact.selection.traces_in_scope = None;
    }
    let stored = StoredArtifact {
        artifact_id: id.clone(),
        tenant_id: alert.tenant_id.clone(),
        alert_id: alert.alert_id.clone(),
        service: alert.service.clone(),
        created_at_unix_ns: now_unix_ns,
        digest: artifact.digest(),
        share_token: share_token(),
        canonical_json: artifact.canonical_json(),
        expires_at_unix_ns: expiry(tenants, &alert.tenant_id, now_unix_ns),
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

/// Artifacts and their share links live for the tenant plan's retention.
fn expiry(tenants: &TenantRegistry, tenant_id: &str, now_unix_ns: u64) -> Option<u64> {
    const DAY_NS: u64 = 86_400 * 1_000_000_000;
    let tenant = tenants.get(tenant_id)?;
    Some(now_unix_ns.saturating_add(u64::from(tenant.retention_days).saturating_mul(DAY_NS)))
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
