//! Generated `causeway.v1` protobuf types and gRPC stubs, and the conversions
//! between them and the model. Field numbers are a stable contract (see
//! `proto/causeway/v1/*.proto`).

#[allow(clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("causeway.v1");
}

use crate::alert::{Alert, AlertSource};
use crate::error::FieldError;
use crate::event::CausalEvent;
use crate::ids::{CeId, TraceId};
use crate::kind::Kind;

fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

impl From<&CausalEvent> for v1::CausalEvent {
    fn from(event: &CausalEvent) -> Self {
        v1::CausalEvent {
            tenant_id: event.tenant_id.clone(),
            trace_id: event.trace_id.0.to_vec(),
            ce_id: event.ce_id.0.to_vec(),
            parent_ce_id: event.parent_ce_id.map(|id| id.0.to_vec()).unwrap_or_default(),
            service: event.service.clone(),
            kind: event.kind.to_proto(),
            status: u32::from(event.status),
            start_unix_ns: event.start_unix_ns,
            duration_ns: event.duration_ns,
            operation: event.operation.clone().unwrap_or_default(),
            peer: event.peer.clone().unwrap_or_default(),
            environment: event.environment.clone().unwrap_or_default(),
        }
    }
}

impl TryFrom<v1::CausalEvent> for CausalEvent {
    type Error = FieldError;

    /// Structural conversion only (ids, kind, status range); callers run
    /// [`crate::validate::validate_event`] for limits and clock skew.
    fn try_from(raw: v1::CausalEvent) -> Result<Self, FieldError> {
        let checked = CheckedFields::check(&raw.trace_id, &raw.ce_id, &raw.parent_ce_id, raw.kind, raw.status)?;
        Ok(CausalEvent {
            tenant_id: raw.tenant_id,
            trace_id: checked.trace_id,
            ce_id: checked.ce_id,
            parent_ce_id: checked.parent_ce_id,
            service: raw.service,
            kind: checked.kind,
            status: checked.status,
            start_unix_ns: raw.start_unix_ns,
            duration_ns: raw.duration_ns,
            operation: non_empty(raw.operation),
            peer: non_empty(raw.peer),
            environment: non_empty(raw.environment),
        })
    }
}

/// The fields of a `causeway.v1.CausalEvent` that take more than a copy
/// to become the model's: ids, kind and status. Shared by the owned decode
/// and the in-place reading (`ce_batch_view`), so both accept the same.
pub(crate) struct CheckedFields {
    pub trace_id: TraceId,
    pub ce_id: CeId,
    pub parent_ce_id: Option<CeId>,
    pub kind: Kind,
    pub status: u16,
}

impl CheckedFields {
    pub(crate) fn check(
        trace_id: &[u8],
        ce_id: &[u8],
        parent_ce_id: &[u8],
        kind: i32,
        status: u32,
    ) -> Result<Self, FieldError> {
        let trace_id = TraceId::from_bytes(trace_id).map_err(|err| FieldError::new("trace_id", err.to_string()))?;
        let ce_id = CeId::from_bytes(ce_id).map_err(|err| FieldError::new("ce_id", err.to_string()))?;
        let parent_ce_id = if parent_ce_id.is_empty() {
            None
        } else {
            Some(CeId::from_bytes(parent_ce_id).map_err(|err| FieldError::new("parent_ce_id", err.to_string()))?)
        };
        let kind =
            Kind::from_proto(kind).ok_or_else(|| FieldError::new("kind", format!("unknown kind value {kind}")))?;
        let status = u16::try_from(status)
            .ok()
            .filter(|status| *status <= crate::limits::MAX_STATUS)
            .ok_or_else(|| {
                FieldError::over_limit("status", status.into(), crate::limits::MAX_STATUS.into(), "(status)")
            })?;
        Ok(Self {
            trace_id,
            ce_id,
            parent_ce_id,
            kind,
            status,
        })
    }
}

impl From<&Alert> for v1::Alert {
    fn from(alert: &Alert) -> Self {
        v1::Alert {
            alert_id: alert.alert_id.clone(),
            tenant_id: alert.tenant_id.clone(),
            service: alert.service.clone(),
            fired_at_unix_ns: alert.fired_at_unix_ns,
            title: alert.title.clone(),
            source: alert
                .source_label
                .clone()
                .unwrap_or_else(|| alert.source.as_str().to_owned()),
            dedup_key: alert.dedup_key.clone().unwrap_or_default(),
            trace_id: alert.trace_id.map(|id| id.0.to_vec()).unwrap_or_default(),
            severity: alert.severity.clone().unwrap_or_default(),
        }
    }
}

impl TryFrom<v1::Alert> for Alert {
    type Error = FieldError;

    fn try_from(raw: v1::Alert) -> Result<Self, FieldError> {
        let trace_id = if raw.trace_id.is_empty() {
            None
        } else {
            Some(TraceId::from_bytes(&raw.trace_id).map_err(|err| FieldError::new("trace_id", err.to_string()))?)
        };
        if raw.service.is_empty() {
            return Err(FieldError::new("service", "must not be empty"));
        }
        let source = AlertSource::parse_lenient(&raw.source);
        let source_label = (source == AlertSource::Generic && !raw.source.is_empty() && raw.source != "generic")
            .then(|| raw.source.clone());
        Ok(Alert {
            alert_id: raw.alert_id,
            tenant_id: raw.tenant_id,
            service: raw.service,
            fired_at_unix_ns: raw.fired_at_unix_ns,
            title: raw.title,
            source,
            source_label,
            dedup_key: non_empty(raw.dedup_key),
            trace_id,
            severity: non_empty(raw.severity),
        })
    }
}
