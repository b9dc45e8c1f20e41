//! A causal event borrowed from where it lies (an encoded record, or an
//! owned [`CausalEvent`]): what validation and the window's indexes read,
//! so a consumer of encoded events needs no owned copy of each.

use crate::event::CausalEvent;
use crate::ids::{CeId, TraceId};
use crate::kind::Kind;

/// The fields of one causal event, text borrowed; see [`CausalEvent`] for
/// what each means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    pub tenant_id: &'a str,
    pub trace_id: TraceId,
    pub ce_id: CeId,
    pub parent_ce_id: Option<CeId>,
    pub service: &'a str,
    pub kind: Kind,
    pub status: u16,
    pub start_unix_ns: u64,
    pub duration_ns: u64,
    pub operation: Option<&'a str>,
    pub peer: Option<&'a str>,
    pub environment: Option<&'a str>,
}

impl EventRef<'_> {
    /// When the operation completed: start + duration (saturating).
    pub fn end_unix_ns(&self) -> u64 {
        self.start_unix_ns.saturating_add(self.duration_ns)
    }

    pub fn is_non_success(&self) -> bool {
        self.kind.is_non_success(self.status)
    }

    pub fn to_owned_event(&self) -> CausalEvent {
        CausalEvent {
            tenant_id: self.tenant_id.to_owned(),
            trace_id: self.trace_id,
            ce_id: self.ce_id,
            parent_ce_id: self.parent_ce_id,
            service: self.service.to_owned(),
            kind: self.kind,
            status: self.status,
            start_unix_ns: self.start_unix_ns,
            duration_ns: self.duration_ns,
            operation: self.operation.map(str::to_owned),
            peer: self.peer.map(str::to_owned),
            environment: self.environment.map(str::to_owned),
        }
    }
}

impl CausalEvent {
    pub fn as_event_ref(&self) -> EventRef<'_> {
        EventRef {
            tenant_id: &self.tenant_id,
            trace_id: self.trace_id,
            ce_id: self.ce_id,
            parent_ce_id: self.parent_ce_id,
            service: &self.service,
            kind: self.kind,
            status: self.status,
            start_unix_ns: self.start_unix_ns,
            duration_ns: self.duration_ns,
            operation: self.operation.as_deref(),
            peer: self.peer.as_deref(),
            environment: self.environment.as_deref(),
        }
    }
}
