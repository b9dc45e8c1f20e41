//! Incidentary wire format v1: the JSON batch the `incidentary` SDKs send
//! to `POST /api/v1/ingest/batch`. Accepts exactly what the real Python SDK
//! 0.2.0 sends (see docs/wire-formats.md for every mapping rule).

mod event_map;
mod json_fields;
pub(crate) mod typed;

use serde_json::Value;

use crate::error::{DecodeError, FieldError};
use crate::event::CausalEvent;
use crate::event_batch::EventBatch;
use crate::limits::{
    MAX_BODY_BYTES, MAX_ENVELOPE_FIELD_LEN, MAX_ENVIRONMENT_LEN, MAX_EVENTS_PER_BATCH, MAX_SERVICE_LEN,
};
use crate::validate::{check_text, validate_event_refs};
use event_map::{EnvelopeDefaults, map_event};
use json_fields::JsonObject;

const FORMAT: &str = "incidentary v1 json";
/// The only `schema_version` this decoder reads.
pub const SCHEMA_VERSION: &str = "1";

/// The batch envelope. `flushed_at_unix_ns` is the wire's `flushed_at`;
/// `sdk_version`, `sdk_language` and `dropped_ce_count` come from
/// `sdk_telemetry`. `capture_mode` is kept as sent (the SDK sends
/// `SKELETON` normally and `FULL` while pre-armed or in an incident).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkEnvelope {
    pub schema_version: String,
    pub workspace_id: String,
    pub service_id: String,
    pub environment: Option<String>,
    pub flushed_at_unix_ns: Option<u64>,
    pub capture_mode: Option<String>,
    pub sdk_version: Option<String>,
    pub sdk_language: Option<String>,
    pub dropped_ce_count: Option<u64>,
}

/// A decoded, validated batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdkBatch {
    pub envelope: SdkEnvelope,
    pub events: Vec<CausalEvent>,
}

fn envelope_text(envelope: &JsonObject<'_>, key: &str, max: usize) -> Result<Option<String>, FieldError> {
    let Some(text) = envelope.str_opt(key)? else {
        return Ok(None);
    };
    check_text(&envelope.path_of(key), text, max, false)?;
    Ok(Some(text.to_owned()))
}

fn decode_envelope(top: &JsonObject<'_>) -> Result<SdkEnvelope, FieldError> {
    let schema_version = top.str_req("schema_version")?;
    if schema_version != SCHEMA_VERSION {
        return Err(FieldError::new(
            "schema_version",
            format!("unsupported schema version {schema_version:?}, expected \"{SCHEMA_VERSION}\""),
        ));
    }
    let telemetry = top.object_opt("sdk_telemetry")?;
    let (sdk_version, sdk_language, dropped_ce_count) = match &telemetry {
        Some(telemetry) => (
            envelope_text(telemetry, "sdk_version", MAX_ENVELOPE_FIELD_LEN)?,
            envelope_text(telemetry, "sdk_language", MAX_ENVELOPE_FIELD_LEN)?,
            telemetry.u64_opt("dropped_ce_count")?,
        ),
        None => (None, None, None),
    };
    Ok(SdkEnvelope {
        schema_version: schema_version.to_owned(),
        workspace_id: envelope_text(top, "workspace_id", MAX_ENVELOPE_FIELD_LEN)?.unwrap_or_default(),
        service_id: envelope_text(top, "service_id", MAX_SERVICE_LEN)?.unwrap_or_default(),
        environment: envelope_text(top, "environment", MAX_ENVIRONMENT_LEN)?
            .filter(|environment| !environment.trim().is_empty()),
        flushed_at_unix_ns: top.u64_opt("flushed_at")?,
        capture_mode: envelope_text(top, "capture_mode", MAX_ENVELOPE_FIELD_LEN)?,
        sdk_version,
        sdk_language,
        dropped_ce_count,
    })
}

/// Decodes and validates one SDK batch. `tenant_id` comes from the
/// credential (never from the payload); `now_unix_ns` bounds future
/// timestamps (`u64::MAX` disables that check). All or nothing: the first
/// invalid field rejects the batch, named like `events[2].status`.
pub fn decode_sdk_batch(body: &[u8], tenant_id: &str, now_unix_ns: u64) -> Result<SdkBatch, DecodeError> {
    let (envelope, events) = decode_sdk_events(body, tenant_id, now_unix_ns)?;
    Ok(SdkBatch {
        envelope,
        events: events.to_events(),
    })
}

/// [`decode_sdk_batch`] with the events packed rather than owned one by
/// one: the gateway's path, which only reads and encodes them.
pub fn decode_sdk_events(
    body: &[u8],
    tenant_id: &str,
    now_unix_ns: u64,
) -> Result<(SdkEnvelope, EventBatch), DecodeError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(FieldError::over_limit("body", body.len() as u64, MAX_BODY_BYTES as u64, "bytes").into());
    }
    // The typed pass decodes the usual batch; whatever it refuses,
    // the precise pass decodes again to name the field (or accepts, for the
    // odd batch the typed pass is stricter about). Both map identically, so
    // validation sees the same events either way.
    let (envelope, events) = match typed::decode(body, tenant_id) {
        Some(decoded) => decoded,
        None => {
            let (envelope, events) = decode_precisely(body, tenant_id)?;
            (envelope, EventBatch::from_events(tenant_id, &events))
        }
    };
    validate_event_refs(events.iter(), now_unix_ns)?;
    Ok((envelope, events))
}

/// Checks that the typed pass, where it reads `body` at all, reads what the
/// precise pass reads: the same envelope and events. For fuzzing; returns
/// what differs.
pub fn fast_pass_agrees(body: &[u8]) -> Result<(), String> {
    let Some((envelope, events)) = typed::decode(body, "tenant") else {
        return Ok(());
    };
    let fast = (envelope, events.to_events());
    match decode_precisely(body, "tenant") {
        Ok(precise) if precise == fast => Ok(()),
        precise => Err(format!("typed pass {fast:?}, precise pass {precise:?}")),
    }
}

/// The precise pass: a JSON tree, read field by field with full paths.
pub(crate) fn decode_precisely(body: &[u8], tenant_id: &str) -> Result<(SdkEnvelope, Vec<CausalEvent>), DecodeError> {
    let root: Value = serde_json::from_slice(body).map_err(|err| DecodeError::malformed(FORMAT, err))?;
    let top = JsonObject::new(&root, "").map_err(|_| DecodeError::malformed(FORMAT, "expected a JSON object"))?;
    let envelope = decode_envelope(&top)?;
    let raw_events = top.array_req("events")?;
    if raw_events.len() > MAX_EVENTS_PER_BATCH {
        return Err(DecodeError::TooManyEvents {
            actual: raw_events.len(),
            limit: MAX_EVENTS_PER_BATCH,
        });
    }
    let defaults = EnvelopeDefaults {
        tenant_id,
        service_id: &envelope.service_id,
        environment: envelope.environment.as_deref(),
    };
    let events = raw_events
        .iter()
        .enumerate()
        .map(|(index, raw)| map_event(raw, format!("events[{index}]"), &defaults))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((envelope, events))
}
