//! Value encodings: events as `expires_at:u64be` + the model's protobuf,
//! artifacts as a JSON header + the canonical JSON bytes verbatim, counters
//! as big-endian integers.

use causeway_model::CausalEvent;
use causeway_model::ce_batch_view::{EncodedEvent, read_causal_event};
use serde::{Deserialize, Serialize};

use crate::api::{StoreError, StoredArtifact};

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Fatal(format!("corrupt stored {what}: {detail}"))
}

pub fn event_expiry(value: &[u8]) -> Result<u64, StoreError> {
    let head = value.get(..8).ok_or_else(|| corrupt("event", "too short"))?;
    Ok(u64::from_be_bytes(
        head.try_into().map_err(|err| corrupt("event", err))?,
    ))
}

/// A stored event read in place (its text borrowed from `value`).
pub fn read_event(value: &[u8]) -> Result<EncodedEvent<'_>, StoreError> {
    let body = value.get(8..).ok_or_else(|| corrupt("event", "too short"))?;
    read_causal_event(body).map_err(|err| corrupt("event", err))
}

pub fn decode_event(value: &[u8]) -> Result<CausalEvent, StoreError> {
    Ok(read_event(value)?.event().to_owned_event())
}

/// Every artifact field but the canonical JSON, which follows verbatim.
#[derive(Serialize, Deserialize)]
struct ArtifactHeader {
    artifact_id: String,
    tenant_id: String,
    alert_id: String,
    service: String,
    created_at_unix_ns: u64,
    digest: String,
    share_token: String,
    /// Absent in artifacts stored before expiry existed: never expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_unix_ns: Option<u64>,
}

pub fn encode_artifact(artifact: &StoredArtifact) -> Result<Vec<u8>, StoreError> {
    let header = ArtifactHeader {
        artifact_id: artifact.artifact_id.clone(),
        tenant_id: artifact.tenant_id.clone(),
        alert_id: artifact.alert_id.clone(),
        service: artifact.service.clone(),
        created_at_unix_ns: artifact.created_at_unix_ns,
        digest: artifact.digest.clone(),
        share_token: artifact.share_token.clone(),
        expires_at_unix_ns: artifact.expires_at_unix_ns,
    };
    let header = serde_json::to_vec(&header).map_err(|err| StoreError::Fatal(format!("encoding artifact: {err}")))?;
    let mut out = Vec::with_capacity(4 + header.len() + artifact.canonical_json.len());
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&artifact.canonical_json);
    Ok(out)
}

pub fn decode_artifact(value: &[u8]) -> Result<StoredArtifact, StoreError> {
    let (len, rest) = value
        .split_at_checked(4)
        .ok_or_else(|| corrupt("artifact", "too short"))?;
    let len = u32::from_be_bytes(len.try_into().map_err(|err| corrupt("artifact", err))?) as usize;
    let (header, canonical_json) = rest
        .split_at_checked(len)
        .ok_or_else(|| corrupt("artifact", "bad header length"))?;
    let header: ArtifactHeader = serde_json::from_slice(header).map_err(|err| corrupt("artifact", err))?;
    Ok(StoredArtifact {
        artifact_id: header.artifact_id,
        tenant_id: header.tenant_id,
        alert_id: header.alert_id,
        service: header.service,
        created_at_unix_ns: header.created_at_unix_ns,
        digest: header.digest,
        share_token: header.share_token,
        canonical_json: canonical_json.to_vec(),
        expires_at_unix_ns: header.expires_at_unix_ns,
    })
}

pub fn to_json<T: Serialize>(what: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|err| StoreError::Fatal(format!("encoding {what}: {err}")))
}

pub fn from_json<T: for<'de> Deserialize<'de>>(what: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|err| corrupt(what, err))
}

pub fn decode_u64(what: &str, bytes: &[u8]) -> Result<u64, StoreError> {
    Ok(u64::from_be_bytes(bytes.try_into().map_err(|err| corrupt(what, err))?))
}
