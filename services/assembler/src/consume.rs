//! The alert loop: poll alerts and assemble them concurrently (a bounded
//! pool, so one alert waiting for its settle delay or a slow window never
//! holds up another), each within a deadline; acknowledge in partition
//! order. An alert that cannot be decoded, is outside the time bounds, or
//! cannot be assembled in time is recorded as failed and dead-lettered
//! with its reason instead of stalling the partition.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use causeway_bus::{Backoff, Bus, Consumer, Delivery, Record, Topics, headers, publish_with_retry};
use causeway_model::Alert;
use causeway_model::proto::v1;
use causeway_runtime::supervise::Tasks;
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::{AlertPhase, AlertState, ArtifactStore, StoreError, TopologyStore, WindowStore};
use prost::Message;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::ack_order::AckOrder;
use crate::alert_record::decode_alert;
use crate::clock::now_unix_ns;
use crate::config::AssemblerConfig;
use crate::materialize::materialize;
use crate::metrics_names::*;
use crate::window_wait::wait_for_window;

pub struct AssemblerDeps {
    pub bus: Arc<dyn Bus>,
    pub topics: Topics,
    pub window: Arc<dyn WindowStore>,
    pub artifacts: Arc<dyn ArtifactStore>,
    /// Topology slots the scorecard reads, rolled up from the window.
    pub topology: Arc<dyn TopologyStore>,
    pub tenants: Arc<TenantRegistry>,
    /// Slack notices of stored artifacts.
    pub notifier: crate::notify::Notifier,
    /// Supervises the retention and roll-up loops (restarted when they
    /// fail; `/ready` says so).
    pub tasks: Tasks,
}

/// Retries of a store error that may be deterministic (`Fatal`,
/// `Conflict`) before the alert is failed; `Unavailable` is retried until
/// the assembly deadline.
const DETERMINISTIC_RETRIES: u32 = 3;

/// How one alert ended, for acknowledging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Assembled, or failed and dead-lettered: acknowledge.
    Finished,
    /// Left for redelivery (shutdown before its settle delay passed, or its
    /// dead letter could not be published).
    Left,
}

/// Consumes alerts until `shutdown`; alerts in hand whose settle delay has
/// passed are finished within the drain deadline, then offsets are
/// committed. (The read API is served separately: see
/// [`crate::http_router`].)
pub async fn run(config: AssemblerConfig, deps: AssemblerDeps, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut consumer = deps
        .bus
        .subscribe(&deps.topics.alerts, &config.group)
        .await
        .with_context(|| format!("subscribing to {}", deps.topics.alerts))?;
    tracing::info!(topic = %deps.topics.alerts, group = %config.group, "assembler consuming alerts");
    // The lag is known from the start (then refreshed whenever the assembler
    // is idle), so dashboards and alert rules see the series at once.
    if let Ok(lag) = consumer.lag().await {
        metrics::gauge!(CONSUMER_LAG).set(lag as f64);
    }
    let expiry = {
        let (artifacts, shutdown) = (Arc::clone(&deps.artifacts), shutdown.clone());
        deps.tasks.supervise("artifact_expiry", shutdown.clone(), move || {
            crate::retention::expire_loop(Arc::clone(&artifacts), shutdown.clone())
        })
    };
    let rollup = {
        let (rollup, shutdown) = (crate::topology_rollup::Rollup::new(&config, &deps), shutdown.clone());
        deps.tasks.supervise("topology_rollup", shutdown.clone(), move || {
            crate::topology_rollup::rollup_loop(rollup.clone(), shutdown.clone())
        })
    };
    let (config, deps) = (Arc::new(config), Arc::new(deps));
    let mut in_flight: JoinSet<(Delivery, Outcome)> = JoinSet::new();
    let mut order = AckOrder::default();
    let max = config.max_concurrent_alerts.max(1);
    // A bus poll is not cancel-safe (records it took from the client would
    // be lost until a restart), so it is never raced against finishing
    // tasks: finished ones are collected between polls, and the poll is
    // short while alerts are in hand.
    let result: anyhow::Result<()> = loop {
        let mut failed = None;
        while let Some(joined) = in_flight.try_join_next() {
            if let Err(err) = acknowledge(consumer.as_mut(), &mut order, joined).await {
                failed = Some(err);
                break;
            }
        }
        if let Some(err) = failed {
            break Err(err);
        }
        let room = max.saturating_sub(in_flight.len());
        if room == 0 {
            tokio::select! {
                () = shutdown.cancelled() => break Ok(()),
                Some(joined) = in_flight.join_next() => {
                    if let Err(err) = acknowledge(consumer.as_mut(), &mut order, joined).await {
                        break Err(err);
                    }
                }
            }
            continue;
        }
        let wait = Duration::from_millis(if in_flight.is_empty() { 250 } else { 20 });
        let polled = tokio::select! {
            () = shutdown.cancelled() => break Ok(()),
            polled = consumer.poll(room, wait) => polled,
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
        if deliveries.is_empty()
            && in_flight.is_empty()
            && let Ok(lag) = consumer.lag().await
        {
            metrics::gauge!(CONSUMER_LAG).set(lag as f64);
        }
        metrics::counter!(ALERTS_CONSUMED).increment(deliveries.len() as u64);
        for delivery in deliveries {
            order.start(&delivery);
            let (config, deps, shutdown) = (Arc::clone(&config), Arc::clone(&deps), shutdown.clone());
            in_flight.spawn(async move {
                let outcome = handle(&config, &deps, &delivery, &shutdown).await;
                (delivery, outcome)
            });
        }
    };
    expiry.abort();
    rollup.abort();
    drain(&config, consumer.as_mut(), &mut in_flight, &mut order).await;
    result
}

/// Records a finished alert and acknowledges what is now in order.
async fn acknowledge(
    consumer: &mut dyn Consumer,
    order: &mut AckOrder,
    joined: Result<(Delivery, Outcome), tokio::task::JoinError>,
) -> anyhow::Result<()> {
    let (delivery, outcome) = joined.context("an alert task panicked")?;
    if let Some(ack) = order.finish(&delivery, outcome == Outcome::Finished) {
        consumer.ack(&ack).await.context("acknowledging an alert")?;
    }
    Ok(())
}

/// Finishes the alerts in hand (those still settling give up at once and
/// are redelivered), then commits, all within the drain deadline.
async fn drain(
    config: &AssemblerConfig,
    consumer: &mut dyn Consumer,
    in_flight: &mut JoinSet<(Delivery, Outcome)>,
    order: &mut AckOrder,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(config.drain_deadline_seconds);
    while !in_flight.is_empty() {
        match tokio::time::timeout_at(deadline, in_flight.join_next()).await {
            Ok(Some(Ok((delivery, outcome)))) => {
                if let Some(ack) = order.finish(&delivery, outcome == Outcome::Finished)
                    && let Err(err) = consumer.ack(&ack).await
                {
                    tracing::warn!(error = %err, "acknowledging an alert at shutdown failed");
                }
            }
            Ok(Some(Err(err))) => tracing::warn!(error = %err, "an alert task failed at shutdown"),
            Ok(None) => break,
            Err(_) => {
                tracing::warn!(
                    left = in_flight.len(),
                    "drain deadline passed; the alerts left are redelivered"
                );
                in_flight.abort_all();
                break;
            }
        }
    }
    let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
    match tokio::time::timeout(remaining.max(Duration::from_millis(500)), consumer.commit()).await {
        Ok(Ok(())) => tracing::info!("assembler committed its offsets"),
        Ok(Err(err)) => tracing::warn!(error = %err, "assembler final commit failed; alerts will be redelivered"),
        Err(_) => tracing::warn!("assembler final commit passed the drain deadline"),
    }
}

/// One alert from record to artifact (or to a dead letter).
async fn handle(
    config: &AssemblerConfig,
    deps: &AssemblerDeps,
    delivery: &Delivery,
    shutdown: &CancellationToken,
) -> Outcome {
    let alert = match decode_alert(delivery, &deps.tenants) {
        Ok(alert) => alert,
        Err(reason) => return refuse(deps, delivery, None, "undecodable", &reason).await,
    };
    let state = deps
        .artifacts
        .get_alert_state(&alert.tenant_id, &alert.alert_id)
        .await
        .ok()
        .flatten();
    let already_assembled = state.as_ref().is_some_and(|s| s.state == AlertPhase::Assembled);
    if !already_assembled {
        let pre_arm = deps.tenants.pre_arm_seconds(&alert.tenant_id, config.pre_arm_seconds);
        let max_age_ns = pre_arm
            .saturating_add(config.grace_seconds)
            .saturating_mul(1_000_000_000);
        if let Err(err) = alert.check_fired_at(now_unix_ns(), max_age_ns) {
            return refuse(deps, delivery, Some(&alert), "out_of_bounds", &err.to_string()).await;
        }
    }
    if state.is_none() {
        put_state(deps, &alert, AlertPhase::Pending, None, None, None).await;
    }
    wait_settle(config, &alert, shutdown).await;
    if shutdown.is_cancelled() && settle_remaining(config, &alert) > Duration::ZERO {
        return Outcome::Left;
    }
    // A redelivered alert that was assembled gets its stored artifact back:
    // the window's progress no longer matters to it.
    let progress = if already_assembled {
        causeway_assembly::WindowProgress::default()
    } else {
        let max_wait = Duration::from_millis(config.max_settle_ms);
        wait_for_window(
            deps.bus.as_ref(),
            deps.window.as_ref(),
            &deps.topics.ce,
            max_wait,
            shutdown,
        )
        .await
    };
    // Stopping while the window catches up: leave the alert for redelivery
    // rather than freeze an artifact that a restart could have completed.
    if !progress.complete && shutdown.is_cancelled() {
        return Outcome::Left;
    }
    metrics::gauge!(WINDOW_LAG).set(progress.lag_records as f64);
    if !progress.complete {
        metrics::counter!(WINDOW_BEHIND).increment(1);
        tracing::warn!(alert_id = %alert.alert_id, lag_records = progress.lag_records, "window had not caught up; assembling anyway");
    }
    let deadline = Duration::from_secs(config.assembly_timeout_seconds);
    let failure = match tokio::time::timeout(deadline, assemble_one(config, deps, &alert, progress)).await {
        Ok(Ok(())) => return Outcome::Finished,
        Ok(Err(err)) => format!("{err:#}"),
        Err(_) => format!("assembly did not finish within {} s", deadline.as_secs()),
    };
    refuse(deps, delivery, Some(&alert), "assembly", &failure).await
}

/// Fails an alert: its state says why (when it has one), the record goes
/// to the dead-letter topic with the reason, and it is acknowledged.
async fn refuse(
    deps: &AssemblerDeps,
    delivery: &Delivery,
    alert: Option<&Alert>,
    kind: &'static str,
    reason: &str,
) -> Outcome {
    tracing::warn!(
        partition = delivery.partition,
        offset = delivery.offset,
        alert_id = alert.map(|a| a.alert_id.as_str()).unwrap_or_default(),
        reason = %reason,
        "alert refused, dead-lettering"
    );
    metrics::counter!(ASSEMBLY_FAILURES, "reason" => kind).increment(1);
    if let Some(alert) = alert {
        put_state(deps, alert, AlertPhase::Failed, None, None, Some(reason.to_owned())).await;
    }
    match publish_with_retry(
        deps.bus.as_ref(),
        &deps.topics.dead_letter,
        vec![delivery.to_dead_letter(reason)],
    )
    .await
    {
        Ok(()) => Outcome::Finished,
        Err(err) => {
            tracing::error!(error = %err, "cannot dead-letter an alert; it will be redelivered");
            Outcome::Left
        }
    }
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

/// Reads the window and stores the artifact, retrying store errors:
/// `Unavailable` until the caller's deadline, a possibly deterministic
/// error a bounded number of times.
async fn assemble_one(
    config: &AssemblerConfig,
    deps: &AssemblerDeps,
    alert: &Alert,
    progress: causeway_assembly::WindowProgress,
) -> anyhow::Result<()> {
    let mut backoff = Backoff::new(Duration::from_millis(200), Duration::from_secs(10));
    let mut deterministic = Backoff::new(Duration::ZERO, Duration::ZERO).bounded(DETERMINISTIC_RETRIES);
    let started = Instant::now();
    let materialized = loop {
        let now = now_unix_ns();
        let attempt = materialize(
            config,
            &deps.tenants,
            deps.window.as_ref(),
            deps.artifacts.as_ref(),
            alert,
            progress,
            now,
        )
        .await;
        match attempt {
            Ok(materialized) => break materialized,
            Err(err) => {
                metrics::counter!(ASSEMBLY_FAILURES, "reason" => "store").increment(1);
                tracing::warn!(alert_id = %alert.alert_id, error = %err, "assembly failed, retrying");
                if !matches!(err, StoreError::Unavailable(_)) && !deterministic.wait().await {
                    return Err(anyhow::Error::new(err).context("reading the window or storing the artifact"));
                }
                put_state(deps, alert, AlertPhase::Pending, None, None, Some(err.to_string())).await;
                backoff.wait().await;
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
