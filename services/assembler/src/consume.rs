//! The alert loop: poll alerts, wait each one's settle delay, materialize,
//! record the alert's state, publish the artifact, then acknowledge.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use causeway_bus::{Bus, Consumer, Delivery, Record, Topics, headers, publish_with_retry};
use causeway_model::Alert;
use causeway_model::proto::v1;
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::{AlertPhase, AlertState, ArtifactStore, WindowStore};
use prost::Message;
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::clock::now_unix_ns;
use crate::config::AssemblerConfig;
use crate::materialize::materialize;
use crate::metrics_names::*;

pub struct AssemblerDeps {
    pub bus: Arc<dyn Bus>,
    pub topics: Topics,
    pub window: Arc<dyn WindowStore>,
    pub artifacts: Arc<dyn ArtifactStore>,
    pub tenants: Arc<TenantRegistry>,
    /// Slack notices of stored artifacts.
    pub notifier: crate::notify::Notifier,
}

/// Consumes alerts until `shutdown`; the alert in hand is finished within
/// the drain deadline, then offsets are committed. (The read API is served
/// separately: see [`crate::http_router`].)
pub async fn run(config: AssemblerConfig, deps: AssemblerDeps, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut consumer = deps
        .bus
        .subscribe(&deps.topics.alerts, &config.group)
        .await
        .with_context(|| format!("subscribing to {}", deps.topics.alerts))?;
    tracing::info!(topic = %deps.topics.alerts, group = %config.group, "assembler consuming alerts");
    let result = loop {
        let polled = tokio::select! {
            polled = consumer.poll(16, Duration::from_millis(250)) => polled,
            () = shutdown.cancelled() => break Ok(()),
        };
        let deliveries = match polled {
            Ok(deliveries) => deliveries,
            Err(err) if err.is_retryable() => {
                tracing::warn!(error = %err, "alert poll failed, retrying");
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
            Err(err) => break Err(anyhow::Error::new(err).context("polling the alert topic")),
        };
        if deliveries.is_empty() {
            if let Ok(lag) = consumer.lag().await {
                metrics::gauge!(CONSUMER_LAG).set(lag as f64);
            }
            continue;
        }
        if let Err(err) = handle_batch(&config, &deps, consumer.as_mut(), &deliveries, &shutdown).await {
            break Err(err);
        }
    };
    let drain = Duration::from_secs(config.drain_deadline_seconds);
    match tokio::time::timeout(drain, consumer.commit()).await {
        Ok(Ok(())) => tracing::info!("assembler committed its offsets"),
        Ok(Err(err)) => tracing::warn!(error = %err, "assembler final commit failed; alerts will be redelivered"),
        Err(_) => tracing::warn!("assembler final commit passed the drain deadline"),
    }
    result
}

async fn handle_batch(
    config: &AssemblerConfig,
    deps: &AssemblerDeps,
    consumer: &mut dyn Consumer,
    deliveries: &[Delivery],
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    metrics::counter!(ALERTS_CONSUMED).increment(deliveries.len() as u64);
    for delivery in deliveries {
        match decode_alert(delivery, &deps.tenants) {
            Ok(alert) => {
                mark_pending(deps, &alert).await;
                wait_settle(config, &alert, shutdown).await;
                if shutdown.is_cancelled() && settle_remaining(config, &alert) > Duration::ZERO {
                    // Not acknowledged: the next assembler picks it up.
                    return Ok(());
                }
                assemble_one(config, deps, &alert).await?;
            }
            Err(reason) => {
                tracing::warn!(offset = delivery.offset, partition = delivery.partition, reason = %reason, "undecodable alert, dead-lettering");
                metrics::counter!(ASSEMBLY_FAILURES, "reason" => "undecodable").increment(1);
                publish_with_retry(
                    deps.bus.as_ref(),
                    &deps.topics.dead_letter,
                    vec![delivery.to_dead_letter(&reason)],
                )
                .await
                .context("dead-lettering an alert")?;
            }
        }
        consumer.ack(delivery).await.context("acknowledging an alert")?;
    }
    Ok(())
}

fn settle_remaining(config: &AssemblerConfig, alert: &Alert) -> Duration {
    let due = alert
        .fired_at_unix_ns
        .saturating_add(config.settle_ms.saturating_mul(1_000_000));
    Duration::from_nanos(due.saturating_sub(now_unix_ns()))
}

/// Waits until `fired_at + settle` so SDK flushes in flight at the alert
/// are in the window (SDKs flush every 2 s; settle defaults to 5 s).
async fn wait_settle(config: &AssemblerConfig, alert: &Alert, shutdown: &CancellationToken) {
    let remaining = settle_remaining(config, alert);
    if remaining > Duration::ZERO {
        tokio::select! {
            () = tokio::time::sleep(remaining) => {}
            () = shutdown.cancelled() => {}
        }
    }
}

/// Assembles one alert; store failures are retried (the alert stays
/// unacknowledged meanwhile), so an acknowledged alert always has a state.
async fn assemble_one(config: &AssemblerConfig, deps: &AssemblerDeps, alert: &Alert) -> anyhow::Result<()> {
    let mut backoff = Duration::from_millis(200);
    let started = Instant::now();
    let materialized = loop {
        let now = now_unix_ns();
        match materialize(
            config,
            &deps.tenants,
            deps.window.as_ref(),
            deps.artifacts.as_ref(),
            alert,
            now,
        )
        .await
        {
            Ok(materialized) => break materialized,
            Err(err) => {
                metrics::counter!(ASSEMBLY_FAILURES, "reason" => "store").increment(1);
                tracing::warn!(alert_id = %alert.alert_id, error = %err, "assembly failed, retrying");
                put_state(deps, alert, AlertPhase::Pending, None, None, Some(err.to_string())).await;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    };
    metrics::histogram!(ASSEMBLY_DURATION).record(started.elapsed().as_secs_f64());
    let stored = &materialized.stored;
    if materialized.created {
        metrics::counter!(ARTIFACTS_ASSEMBLED, "completeness" => materialized.completeness).increment(1);
        let lag_ns = stored.created_at_unix_ns.saturating_sub(alert.fired_at_unix_ns);
        metrics::histogram!(ALERT_TO_ARTIFACT).record(lag_ns as f64 / 1e9);
    }
    let share_path = format!("/a/{}", stored.share_token);
    let message = v1::Artifact {
        artifact_id: stored.artifact_id.clone(),
        tenant_id: stored.tenant_id.clone(),
        alert_id: stored.alert_id.clone(),
        digest: stored.digest.clone(),
        canonical_json: stored.canonical_json.clone(),
        share_path,
    };
    let record = Record::new(stored.tenant_id.clone().into_bytes(), message.encode_to_vec())
        .with_header(headers::RECORD_TYPE, headers::TYPE_ARTIFACT)
        .with_header(headers::SCHEMA_VERSION, headers::SCHEMA_V1);
    // State first: whoever reads the artifact topic finds the alert assembled.
    // A publish that fails leaves the alert unacknowledged; its redelivery
    // reuses the stored artifact and publishes again.
    put_state(
        deps,
        alert,
        AlertPhase::Assembled,
        Some(stored.artifact_id.clone()),
        Some(stored.share_token.clone()),
        None,
    )
    .await;
    publish_with_retry(deps.bus.as_ref(), &deps.topics.artifacts, vec![record])
        .await
        .context("publishing the artifact")?;
    deps.notifier.artifact_stored(
        alert,
        stored,
        materialized.created,
        config.share_url(&stored.share_token),
    );
    tracing::info!(
        alert_id = %alert.alert_id,
        artifact_id = %stored.artifact_id,
        completeness = materialized.completeness,
        share_url = %config.share_url(&stored.share_token),
        "artifact assembled"
    );
    Ok(())
}

/// Records `pending` unless the alert already has a state: the gateway
/// writes it first when it shares this store, but an alert from the topic
/// (or a gateway with its own store) is first seen here.
async fn mark_pending(deps: &AssemblerDeps, alert: &Alert) {
    match deps.artifacts.get_alert_state(&alert.tenant_id, &alert.alert_id).await {
        Ok(Some(_)) => {}
        Ok(None) => put_state(deps, alert, AlertPhase::Pending, None, None, None).await,
        Err(err) => tracing::warn!(alert_id = %alert.alert_id, error = %err, "cannot read alert state"),
    }
}

async fn put_state(
    deps: &AssemblerDeps,
    alert: &Alert,
    state: AlertPhase,
    artifact_id: Option<String>,
    share_token: Option<String>,
    error: Option<String>,
) {
    let record = AlertState {
        alert_id: alert.alert_id.clone(),
        tenant_id: alert.tenant_id.clone(),
        state,
        artifact_id,
        share_token,
        error,
        updated_at_unix_ns: now_unix_ns(),
    };
    if let Err(err) = deps.artifacts.put_alert_state(&record).await {
        tracing::warn!(alert_id = %alert.alert_id, error = %err, "cannot record alert state");
    }
}

/// An alert record: our protobuf (from the gateway) or the generic alert
/// JSON of DESIGN §4 written by an outside producer, keyed by tenant id.
fn decode_alert(delivery: &Delivery, tenants: &TenantRegistry) -> Result<Alert, String> {
    let record_type = delivery
        .record
        .header(headers::RECORD_TYPE)
        .unwrap_or(headers::TYPE_ALERT_PROTO);
    let alert = if record_type == headers::TYPE_ALERT_JSON {
        let tenant =
            String::from_utf8(delivery.record.key.clone()).map_err(|_| "record key is not a tenant id".to_owned())?;
        // Derived from the record's position, so a redelivery is the same alert.
        let origin = format!("{}/{}/{}", delivery.topic, delivery.partition, delivery.offset);
        let alert_id = format!("topic-{}", &hex::encode(Sha256::digest(origin.as_bytes()))[..32]);
        Alert::from_generic_json(&delivery.record.value, &tenant, alert_id).map_err(|err| err.to_string())?
    } else if record_type == headers::TYPE_ALERT_PROTO {
        let raw =
            v1::Alert::decode(delivery.record.value.as_slice()).map_err(|err| format!("undecodable alert: {err}"))?;
        Alert::try_from(raw).map_err(|err| err.to_string())?
    } else {
        return Err(format!(
            "unknown record type {:?}",
            String::from_utf8_lossy(record_type)
        ));
    };
    if tenants.get(&alert.tenant_id).is_none() {
        return Err(format!("unknown tenant {:?}", alert.tenant_id));
    }
    Ok(alert)
}
