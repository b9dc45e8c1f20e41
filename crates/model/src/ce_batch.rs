//! causeway's own protobuf batch (`causeway.v1.CeBatch`): the gRPC Ingest
//! payload and the value of every record on the `causeway.ce` topic.

use prost::Message;

use crate::error::DecodeError;
use crate::event::CausalEvent;
use crate::limits::{MAX_BODY_BYTES, MAX_EVENTS_PER_BATCH};
use crate::proto::v1;
use crate::validate::validate_batch;

/// Encodes events as one `CeBatch`, lossless (`decode_ce_batch` inverts it).
pub fn encode_ce_batch(events: &[CausalEvent]) -> Vec<u8> {
    v1::CeBatch {
        events: events.iter().map(v1::CausalEvent::from).collect(),
    }
    .encode_to_vec()
}

/// Decodes and validates a `CeBatch`. `tenant_id: Some(t)` overrides every
/// event's tenant (ingest: the tenant comes from the credential); `None`
/// keeps the tenant in the record (bus consumers). All or nothing.
pub fn decode_ce_batch(
    bytes: &[u8],
    tenant_id: Option<&str>,
    now_unix_ns: u64,
) -> Result<Vec<CausalEvent>, DecodeError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(
            crate::error::FieldError::over_limit("body", bytes.len() as u64, MAX_BODY_BYTES as u64, "bytes").into(),
        );
    }
    let batch = v1::CeBatch::decode(bytes).map_err(|err| DecodeError::malformed("causeway protobuf", err))?;
    events_from_ce_batch(batch, tenant_id, now_unix_ns)
}

/// Converts and validates an already-decoded batch (the gRPC Ingest path).
/// Errors are named `events[i].field`.
pub fn events_from_ce_batch(
    batch: v1::CeBatch,
    tenant_id: Option<&str>,
    now_unix_ns: u64,
) -> Result<Vec<CausalEvent>, DecodeError> {
    if batch.events.len() > MAX_EVENTS_PER_BATCH {
        return Err(DecodeError::TooManyEvents {
            actual: batch.events.len(),
            limit: MAX_EVENTS_PER_BATCH,
        });
    }
    let events = batch
        .events
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let mut event = CausalEvent::try_from(raw).map_err(|err| err.within(&format!("events[{index}]")))?;
            if let Some(tenant) = tenant_id {
                tenant.clone_into(&mut event.tenant_id);
            }
            Ok(event)
        })
        .collect::<Result<Vec<_>, DecodeError>>()?;
    validate_batch(&events, now_unix_ns)?;
    Ok(events)
}
