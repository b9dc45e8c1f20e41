//! The path every event batch takes after decoding, whatever its format:
//! quota check, records per (tenant, trace) under the record size limit, one publish for the whole
//! request, then metering. The client is answered only after the bus
//! accepted everything; on any error nothing is acknowledged.

use std::time::Instant;

use causeway_bus::{BusError, Record};
use causeway_model::{CausalEvent, DecodeError, EventRef};
use causeway_runtime::tenants::Tenant;
use causeway_store::StoreError;

use crate::admission::Ticket;
use crate::clock::{month_of, now_unix_ns, seconds_until_next_month};
use crate::error::IngestError;
use crate::metrics;
use crate::state::GatewayState;
use crate::trace_records::trace_records;

/// The input format, a bounded metrics label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    SdkJson,
    OtlpHttpProtobuf,
    OtlpHttpJson,
    OtlpGrpc,
    GrpcIngest,
}

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Format::SdkJson => "sdk_json",
            Format::OtlpHttpProtobuf => "otlp_http_protobuf",
            Format::OtlpHttpJson => "otlp_http_json",
            Format::OtlpGrpc => "otlp_grpc",
            Format::GrpcIngest => "grpc_ingest",
        }
    }
}

/// Input up to this size is decoded in place on the runtime worker: about
/// 800 SDK events (decoded at ~370 MB/s, ~0.35 ms), or under a millisecond
/// of OTLP protobuf even for the smallest spans (~165 MB/s). Handing a
/// batch that small to the blocking pool and waking its request back cost
/// more CPU than it saves (BENCHMARKS.md, "One thread for the windower").
const DECODE_IN_PLACE_MAX_BYTES: usize = 128 * 1024;

/// Decodes a request's `input_bytes` of input: in place when small, and
/// off the runtime workers when large (a large batch takes milliseconds).
/// The blocking task holds a clone of the request's ticket, so the request
/// stays counted against the in-flight limits until the decode ends, even
/// when the client went away before.
pub(crate) async fn decode_request<T, F>(ticket: &Ticket, input_bytes: usize, decode: F) -> Result<T, IngestError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, DecodeError> + Send + 'static,
{
    if input_bytes <= DECODE_IN_PLACE_MAX_BYTES {
        return decode().map_err(IngestError::from);
    }
    let ticket = ticket.clone();
    tokio::task::spawn_blocking(move || {
        let decoded = decode();
        drop(ticket);
        decoded
    })
    .await
    .map_err(|err| IngestError::internal(format_args!("decode task failed: {err}")))?
    .map_err(IngestError::from)
}

/// Owned events read in place, for [`accept_events`].
pub(crate) fn event_refs(events: &[CausalEvent]) -> Vec<EventRef<'_>> {
    events.iter().map(CausalEvent::as_event_ref).collect()
}

/// Publishes decoded, validated events, read where the decoder left them;
/// returns how many were accepted.
pub(crate) async fn accept_events(
    state: &GatewayState,
    tenant: &Tenant,
    mut events: Vec<EventRef<'_>>,
    format: Format,
) -> Result<usize, IngestError> {
    let count = events.len();
    if count == 0 {
        return Ok(0);
    }
    let month = month_of(now_unix_ns());
    if let Err(err) = check_quota(state, tenant, month, count).await {
        metrics::record_rejected(err.reason(), count);
        return Err(err);
    }
    // Decoders set the tenant from the credential too; this makes it a
    // property of the gateway rather than of each decoder.
    for event in &mut events {
        event.tenant_id = &tenant.id;
    }
    let records = trace_records(&tenant.id, &events, state.config().max_record_bytes);
    drop(events);
    let record_count = records.len();
    if let Err(err) = publish(state, &state.deps().topics.ce, records).await {
        metrics::record_rejected(err.reason(), count);
        return Err(err);
    }
    state.published_events(record_count);
    metrics::record_accepted(format.label(), count);
    meter(state, tenant, month, count).await;
    Ok(count)
}

/// Refuses a batch that would take the tenant over its monthly quota.
async fn check_quota(state: &GatewayState, tenant: &Tenant, month: u32, count: usize) -> Result<(), IngestError> {
    let Some(limit) = tenant.monthly_ce_quota else {
        return Ok(());
    };
    if !state.config().enforce_quota {
        return Ok(());
    }
    let used = state
        .usage()
        .used(state.deps().topology.as_ref(), &tenant.id, month)
        .await
        .map_err(|err| store_error(state, err))?;
    if used.saturating_add(count as u64) <= limit {
        return Ok(());
    }
    metrics::record_quota_rejection();
    tracing::info!(tenant = %tenant.id, used, limit, batch = count, "monthly ce quota reached");
    Err(IngestError::QuotaExceeded {
        plan: tenant.plan.as_str(),
        limit,
        retry_after_seconds: seconds_until_next_month(now_unix_ns()),
    })
}

/// Adds accepted events to the tenant's usage: to the pending counts, and
/// with `usage_flush_ms = 0` through to the store at once. The events are
/// already on the bus, so a failed write is logged, counted and kept for
/// the next flush (see [`crate::usage_meter::UsageMeter::flush`]), never
/// returned: the client must not resend what was accepted.
async fn meter(state: &GatewayState, tenant: &Tenant, month: u32, count: usize) {
    state.usage().add(&tenant.id, month, count as u64);
    if state.config().usage_flush_ms == 0 {
        state.usage().flush(state.deps().topology.as_ref()).await;
    }
}

/// Publishes with the configured timeout; a timeout is retryable.
pub(crate) async fn publish(state: &GatewayState, topic: &str, records: Vec<Record>) -> Result<(), IngestError> {
    let started = Instant::now();
    let outcome = tokio::time::timeout(state.publish_timeout(), state.deps().bus.publish(topic, records)).await;
    metrics::record_publish(started.elapsed());
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(bus_error(state, topic, err)),
        Err(_elapsed) => Err(IngestError::unavailable(
            state.config().retry_after_seconds,
            format_args!(
                "bus publish to {topic} timed out after {} ms",
                state.config().publish_timeout_ms
            ),
        )),
    }
}

/// Bus and store text is logged under an error id, never answered: it can
/// name brokers, hosts and keyspaces.
fn bus_error(state: &GatewayState, topic: &str, err: BusError) -> IngestError {
    match err {
        // Round up: a client retrying early would only be refused again.
        BusError::Full { retry_after } => IngestError::unavailable(
            retry_after.as_secs_f64().ceil().max(1.0) as u64,
            format_args!("bus full publishing to {topic}"),
        ),
        BusError::Unavailable(detail) => IngestError::unavailable(
            state.config().retry_after_seconds,
            format_args!("bus unavailable publishing to {topic}: {detail}"),
        ),
        err @ (BusError::UnknownTopic(_) | BusError::Fatal(_)) => {
            IngestError::internal(format_args!("bus publish to {topic} failed: {err}"))
        }
    }
}

pub(crate) fn store_error(state: &GatewayState, err: StoreError) -> IngestError {
    match err {
        StoreError::Unavailable(detail) => IngestError::unavailable(
            state.config().retry_after_seconds,
            format_args!("store unavailable: {detail}"),
        ),
        err @ (StoreError::Conflict(_) | StoreError::Fatal(_)) => {
            IngestError::internal(format_args!("store failed: {err}"))
        }
    }
}
