//! The windower loop: poll, write to the store, then acknowledge; expire on
//! an interval; on shutdown finish the batch in hand and commit. The loop
//! runs on a thread of its own, where the embedded bus and store read and
//! write in place instead of on the blocking pool.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use causeway_bus::{Backoff, Bus, Consumer, Delivery, Record, Topics, publish_with_retry};
use causeway_runtime::backlog::Backlog;
use causeway_runtime::blocking::run_on_own_thread;
use causeway_runtime::clock::now_unix_ns;
use causeway_runtime::supervise::Tasks;
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::{PartitionProgress, StoreError, WindowStore};
use tokio_util::sync::CancellationToken;

use crate::config::WindowerConfig;
use crate::metrics_names::*;
use crate::records::{Decoded, decode_deliveries};

/// Retries of a write error that is not "unavailable" before the batch is
/// written record by record.
const DETERMINISTIC_RETRIES: u32 = 3;
/// How often a busy windower reads its lag at most; in Kafka mode a reading
/// takes broker round trips, so it is spaced to at most a tenth of the time.
const LAG_REPORT_EVERY: Duration = Duration::from_millis(250);
const LAG_REPORT_SHARE: u32 = 10;

pub struct WindowerDeps {
    pub bus: Arc<dyn Bus>,
    pub topics: Topics,
    pub window: Arc<dyn WindowStore>,
    pub tenants: Arc<TenantRegistry>,
    /// Supervises the expiry loop (restarted when it fails; `/ready` says so).
    pub tasks: Tasks,
    /// Where the consumer lag is published for a gateway in this process;
    /// `None` when there is none (then the lag is read only when idle, as a
    /// reading costs broker round trips in Kafka mode).
    pub backlog: Option<Backlog>,
}

/// The consuming loop's thread (Linux shows 15 characters of it).
const THREAD_NAME: &str = "causeway-windower";

/// Runs until `shutdown`, then drains: the batch in hand is written and
/// acknowledged, offsets committed, within the drain deadline. Expiry runs
/// on the caller's runtime; the consuming loop on a thread of its own
/// (module docs).
pub async fn run(config: WindowerConfig, deps: WindowerDeps, shutdown: CancellationToken) -> anyhow::Result<()> {
    let expiry = {
        let (window, interval, shutdown) = (deps.window.clone(), config.expire_interval_seconds, shutdown.clone());
        deps.tasks.supervise("window_expiry", shutdown.clone(), move || {
            expire_loop(Arc::clone(&window), interval, shutdown.clone())
        })
    };
    let consumed = {
        let shutdown = shutdown.clone();
        run_on_own_thread(THREAD_NAME, move || consume(config, deps, shutdown)).await
    };
    shutdown.cancel();
    let _ = expiry.await;
    consumed.context("running the windower")?
}

/// Subscribes, then polls, writes and acknowledges until `shutdown`; on
/// the way out commits what was acknowledged.
async fn consume(config: WindowerConfig, deps: WindowerDeps, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut consumer = deps
        .bus
        .subscribe(&deps.topics.ce, &config.group)
        .await
        .with_context(|| format!("subscribing to {}", deps.topics.ce))?;
    tracing::info!(topic = %deps.topics.ce, group = %config.group, "windower consuming");
    let wait = Duration::from_millis(config.poll_wait_ms);
    let mut next_lag_report = Instant::now();
    let result = loop {
        if shutdown.is_cancelled() {
            break Ok(());
        }
        let deliveries = tokio::select! {
            polled = consumer.poll(config.poll_max_records, wait) => polled,
            () = shutdown.cancelled() => break Ok(()),
        };
        let deliveries = match deliveries {
            Ok(deliveries) => deliveries,
            Err(err) if err.is_retryable() => {
                tracing::warn!(error = %err, "poll failed, retrying");
                tokio::time::sleep(wait).await;
                continue;
            }
            Err(err) => break Err(anyhow::Error::new(err).context("polling the ce topic")),
        };
        if deliveries.is_empty() {
            next_lag_report = report_lag(consumer.as_mut(), deps.backlog.as_ref()).await;
            continue;
        }
        // The batch in hand is finished even when shutdown arrives meanwhile:
        // it is written and acknowledged, or (past the deadline) redelivered.
        if let Err(err) = process(&config, &deps, consumer.as_mut(), &deliveries).await {
            break Err(err);
        }
        // Under load polls are never empty: the lag (which a gateway in this
        // process admits intake by) is read every so often as well.
        if deps.backlog.is_some() && Instant::now() >= next_lag_report {
            next_lag_report = report_lag(consumer.as_mut(), deps.backlog.as_ref()).await;
        }
    };
    let drain = Duration::from_secs(config.drain_deadline_seconds);
    match tokio::time::timeout(drain, consumer.commit()).await {
        Ok(Ok(())) => tracing::info!("windower committed its offsets"),
        Ok(Err(err)) => tracing::warn!(error = %err, "windower final commit failed; records will be redelivered"),
        Err(_) => tracing::warn!("windower final commit passed the drain deadline"),
    }
    result
}

/// Writes one polled batch, records how far each partition is written,
/// then acknowledges. An unavailable store is retried (the records stay
/// unacknowledged meanwhile). An error that may be deterministic is retried
/// a few times, then the batch is written record by record so the one
/// record the store refuses is dead-lettered instead of blocking its
/// partition for good; a record that can never be decoded is dead-lettered
/// at once.
async fn process(
    config: &WindowerConfig,
    deps: &WindowerDeps,
    consumer: &mut dyn Consumer,
    deliveries: &[Delivery],
) -> anyhow::Result<()> {
    let mut decoded = decode_deliveries(deliveries);
    let started = Instant::now();
    match write_retrying(config, deps, &decoded).await {
        Ok(()) => {}
        Err(err) => {
            tracing::warn!(error = %err, records = deliveries.len(), "window write keeps failing; writing the batch record by record");
            decoded.poison.extend(write_one_by_one(config, deps, deliveries).await);
        }
    }
    metrics::histogram!(WRITE_DURATION).record(started.elapsed().as_secs_f64());
    let written: usize = decoded.events_by_tenant.values().map(|events| events.len()).sum();
    metrics::counter!(EVENTS_WRITTEN).increment(written as u64);
    metrics::counter!(RECORDS_CONSUMED).increment(deliveries.len() as u64);
    dead_letter(deps, &decoded.poison).await?;
    record_progress(deps, deliveries).await;
    for delivery in deliveries {
        consumer.ack(delivery).await.context("acknowledging consumed records")?;
    }
    Ok(())
}

/// Retries a write: without end while the store is unavailable, a bounded
/// number of times for any other error (which may be deterministic).
async fn write_retrying(config: &WindowerConfig, deps: &WindowerDeps, decoded: &Decoded) -> Result<(), StoreError> {
    let mut unavailable = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    let mut other = Backoff::new(Duration::from_millis(100), Duration::from_secs(1)).bounded(DETERMINISTIC_RETRIES);
    loop {
        let err = match write(config, deps, decoded).await {
            Ok(()) => return Ok(()),
            Err(err) => err,
        };
        metrics::counter!(WRITE_FAILURES).increment(1);
        let backoff = if matches!(err, StoreError::Unavailable(_)) {
            &mut unavailable
        } else {
            &mut other
        };
        tracing::warn!(error = %err, backoff_ms = backoff.delay().as_millis() as u64, "window write failed, retrying");
        if !backoff.wait().await {
            return Err(err);
        }
    }
}

/// The fallback for a batch the store keeps refusing: each record alone,
/// retried like a batch; those still refused are returned as dead letters.
async fn write_one_by_one(
    config: &WindowerConfig,
    deps: &WindowerDeps,
    deliveries: &[Delivery],
) -> Vec<(Delivery, String)> {
    let mut refused = Vec::new();
    for delivery in deliveries {
        let one = decode_deliveries(std::slice::from_ref(delivery));
        if !one.poison.is_empty() {
            continue; // already dead-lettered by the batch decode
        }
        if let Err(err) = write_retrying(config, deps, &one).await {
            refused.push((delivery.clone(), format!("the window store refused the record: {err}")));
        }
    }
    refused
}

/// Records, per partition, the offset after the last record handled (written
/// or dead-lettered), so the assembler can tell when the window has caught
/// up with what the gateway accepted. A failure here loses nothing: the
/// assembler then reports the window as behind.
async fn record_progress(deps: &WindowerDeps, deliveries: &[Delivery]) {
    let mut next: BTreeMap<u32, u64> = BTreeMap::new();
    for delivery in deliveries {
        let entry = next.entry(delivery.partition).or_default();
        *entry = (*entry).max(delivery.offset.saturating_add(1));
    }
    let progress: Vec<PartitionProgress> = next
        .into_iter()
        .map(|(partition, next_offset)| PartitionProgress { partition, next_offset })
        .collect();
    if let Err(err) = deps.window.put_progress(&deps.topics.ce, &progress).await {
        tracing::warn!(error = %err, "recording window progress failed");
    }
}

async fn write(config: &WindowerConfig, deps: &WindowerDeps, decoded: &Decoded) -> Result<(), StoreError> {
    let now = now_unix_ns();
    for (tenant, events) in &decoded.events_by_tenant {
        let expires_at = now.saturating_add(keep_ns(config, deps, tenant));
        deps.window.put_encoded_events(Arc::clone(events), expires_at).await?;
    }
    for notice in &decoded.notices {
        let expires_at = now.saturating_add(keep_ns(config, deps, &notice.tenant_id));
        deps.window.put_notice(notice, expires_at).await?;
    }
    Ok(())
}

/// How long a tenant's events are kept after they arrive: its pre-arm
/// window plus the grace for late alerts.
fn keep_ns(config: &WindowerConfig, deps: &WindowerDeps, tenant: &str) -> u64 {
    let pre_arm = deps.tenants.pre_arm_seconds(tenant, config.pre_arm_seconds);
    pre_arm
        .saturating_add(config.grace_seconds)
        .saturating_mul(1_000_000_000)
}

async fn dead_letter(deps: &WindowerDeps, poison: &[(Delivery, String)]) -> anyhow::Result<()> {
    if poison.is_empty() {
        return Ok(());
    }
    let records: Vec<Record> = poison
        .iter()
        .map(|(delivery, reason)| {
            tracing::warn!(topic = %delivery.topic, partition = delivery.partition, offset = delivery.offset, reason = %reason, "dead-lettering record");
            delivery.to_dead_letter(reason)
        })
        .collect();
    publish_with_retry(deps.bus.as_ref(), &deps.topics.dead_letter, records)
        .await
        .context("publishing dead letters")?;
    metrics::counter!(DEAD_LETTERS).increment(poison.len() as u64);
    Ok(())
}

/// Publishes the consumer lag; returns when a busy windower reads it next.
async fn report_lag(consumer: &mut dyn Consumer, backlog: Option<&Backlog>) -> Instant {
    let started = Instant::now();
    let mark = backlog.map(Backlog::mark);
    if let Ok(lag) = consumer.lag().await {
        metrics::gauge!(CONSUMER_LAG).set(lag as f64);
        if let (Some(backlog), Some(mark)) = (backlog, mark) {
            backlog.set(lag, mark);
        }
    }
    let now = Instant::now();
    now + LAG_REPORT_EVERY.max(now.duration_since(started) * LAG_REPORT_SHARE)
}

async fn expire_loop(window: Arc<dyn WindowStore>, interval_seconds: u64, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(Duration::from_secs(interval_seconds.max(1)));
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = shutdown.cancelled() => return,
        }
        match window.expire(now_unix_ns()).await {
            Ok(removed) => metrics::counter!(EXPIRED).increment(removed),
            Err(err) => tracing::warn!(error = %err, "window expiry failed"),
        }
    }
}
