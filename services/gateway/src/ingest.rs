//! The path every event batch takes after decoding, whatever its format:
//! quota check, one record per (tenant, trace), one publish for the whole
//! request, then metering. The client is answered only after the bus
//! accepted everything; on any error nothing is acknowledged.

use std::collections::BTreeMap;
use std::time::Instant;

use causeway_bus::{BusError, Record, headers};
use causeway_model::{CausalEvent, DecodeError, TraceId};
use causeway_runtime::tenants::Tenant;
use causeway_store::StoreError;

use crate::clock::{month_of, now_unix_ns, seconds_until_next_month};
use crate::error::IngestError;
use crate::metrics;
use crate::state::GatewayState;

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

/// Decoding a large batch takes milliseconds of CPU: off the runtime threads.
pub(crate) async fn decode_off_runtime<T, F>(decode: F) -> Result<T, IngestError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, DecodeError> + Send + 'static,
{
    tokio::task::spawn_blocking(decode)
        .await
        .map_err(|err| IngestError::Internal(format!("decode task failed: {err}")))?
        .map_err(IngestError::from)
}

/// Publishes decoded, validated events; returns how many were accepted.
pub(crate) async fn accept_events(
    state: &GatewayState,
    tenant: &Tenant,
    mut events: Vec<CausalEvent>,
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
        if event.tenant_id != tenant.id {
            event.tenant_id.clone_from(&tenant.id);
        }
    }
    let records = trace_records(&tenant.id, events);
    if let Err(err) = publish(state, &state.deps().topics.ce, records).await {
        metrics::record_rejected(err.reason(), count);
        return Err(err);
    }
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
        .deps()
        .topology
        .usage(&tenant.id, month)
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

/// Adds accepted events to the tenant's usage. The events are already on
/// the bus, so a failure here is logged and counted, not returned: the
/// client must not resend what was accepted.
async fn meter(state: &GatewayState, tenant: &Tenant, month: u32, count: usize) {
    if let Err(err) = state.deps().topology.add_usage(&tenant.id, month, count as u64).await {
        metrics::record_usage_write_failure();
        tracing::warn!(tenant = %tenant.id, events = count, error = %err, "usage not metered");
    }
}

/// One record per trace: key `{tenant}/{trace uuid}` keeps a trace in one
/// partition, in order; the value is that trace's `CeBatch`.
fn trace_records(tenant_id: &str, events: Vec<CausalEvent>) -> Vec<Record> {
    let mut by_trace: BTreeMap<TraceId, Vec<CausalEvent>> = BTreeMap::new();
    for event in events {
        by_trace.entry(event.trace_id).or_default().push(event);
    }
    by_trace
        .into_iter()
        .map(|(trace_id, events)| {
            Record::new(
                format!("{tenant_id}/{trace_id}"),
                causeway_model::ce_batch::encode_ce_batch(&events),
            )
            .with_header(headers::RECORD_TYPE, headers::TYPE_CE_BATCH)
            .with_header(headers::SCHEMA_VERSION, headers::SCHEMA_V1)
        })
        .collect()
}

/// Publishes with the configured timeout; a timeout is retryable.
pub(crate) async fn publish(state: &GatewayState, topic: &str, records: Vec<Record>) -> Result<(), IngestError> {
    let started = Instant::now();
    let outcome = tokio::time::timeout(state.publish_timeout(), state.deps().bus.publish(topic, records)).await;
    metrics::record_publish(started.elapsed());
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(err)) => Err(bus_error(state, err)),
        Err(_elapsed) => {
            tracing::warn!(
                topic,
                timeout_ms = state.config().publish_timeout_ms,
                "bus publish timed out"
            );
            Err(IngestError::Unavailable {
                retry_after_seconds: state.config().retry_after_seconds,
                detail: "the bus did not accept the batch in time".to_owned(),
            })
        }
    }
}

fn bus_error(state: &GatewayState, err: BusError) -> IngestError {
    match err {
        BusError::Full { retry_after } => IngestError::Unavailable {
            // Round up: a client retrying early would only be refused again.
            retry_after_seconds: retry_after.as_secs_f64().ceil().max(1.0) as u64,
            detail: "the bus is full".to_owned(),
        },
        BusError::Unavailable(detail) => {
            tracing::warn!(error = %detail, "bus unavailable");
            IngestError::Unavailable {
                retry_after_seconds: state.config().retry_after_seconds,
                detail,
            }
        }
        err @ (BusError::UnknownTopic(_) | BusError::Fatal(_)) => {
            tracing::error!(error = %err, "bus publish failed");
            IngestError::Internal(err.to_string())
        }
    }
}

pub(crate) fn store_error(state: &GatewayState, err: StoreError) -> IngestError {
    match err {
        StoreError::Unavailable(detail) => {
            tracing::warn!(error = %detail, "store unavailable");
            IngestError::Unavailable {
                retry_after_seconds: state.config().retry_after_seconds,
                detail,
            }
        }
        err @ (StoreError::Conflict(_) | StoreError::Fatal(_)) => {
            tracing::error!(error = %err, "store failed");
            IngestError::Internal(err.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use causeway_model::{CeId, Kind};

    use super::*;

    fn event(trace: u8, ce: u8) -> CausalEvent {
        CausalEvent {
            tenant_id: "acme".into(),
            trace_id: TraceId([trace; 16]),
            ce_id: CeId([ce; 16]),
            parent_ce_id: None,
            service: "svc".into(),
            kind: Kind::HttpIn,
            status: 200,
            start_unix_ns: 1_795_219_200_000_000_000,
            duration_ns: 1,
            operation: None,
            peer: None,
            environment: None,
        }
    }

    #[test]
    fn groups_one_record_per_trace_in_arrival_order() {
        let records = trace_records("acme", vec![event(2, 1), event(1, 2), event(2, 3)]);
        assert_eq!(records.len(), 2);
        let keys: Vec<String> = records
            .iter()
            .map(|r| String::from_utf8_lossy(&r.key).into_owned())
            .collect();
        assert_eq!(
            keys,
            [
                format!("acme/{}", TraceId([1; 16])),
                format!("acme/{}", TraceId([2; 16]))
            ]
        );
        assert_eq!(
            records[1].value,
            causeway_model::ce_batch::encode_ce_batch(&[event(2, 1), event(2, 3)])
        );
        assert_eq!(records[0].header(headers::RECORD_TYPE), Some(headers::TYPE_CE_BATCH));
        assert_eq!(records[0].header(headers::SCHEMA_VERSION), Some(headers::SCHEMA_V1));
    }
}
