//! The causal event: one captured operation, naming its parent.

use serde::{Deserialize, Serialize};

use crate::ids::{CeId, TraceId};
use crate::kind::Kind;

/// One causal event, normalized: every decoder produces this shape, whatever
/// the wire format (the SDK's completion-time `wall_ts_ns` and OTLP's start
/// time both become `start_unix_ns`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CausalEvent {
    /// Set by the gateway from the credential; never trusted from a payload.
    pub tenant_id: String,
    pub trace_id: TraceId,
    pub ce_id: CeId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_ce_id: Option<CeId>,
    pub service: String,
    pub kind: Kind,
    /// HTTP-equivalent status; see [`Kind::is_non_success`].
    pub status: u16,
    /// Start of the operation, unix epoch nanoseconds.
    pub start_unix_ns: u64,
    pub duration_ns: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The callee of an outbound step (host or service name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

impl CausalEvent {
    /// When the operation completed: start + duration (saturating). The
    /// rule is [`crate::EventRef::end_unix_ns`]'s, kept there once.
    pub fn end_unix_ns(&self) -> u64 {
        self.as_event_ref().end_unix_ns()
    }

    pub fn is_non_success(&self) -> bool {
        self.as_event_ref().is_non_success()
    }
}

/// `METHOD route`, the operation of an HTTP step. Built once per event on
/// the decode path, so sized up front rather than through `format!`.
pub(crate) fn method_route(method: &str, route: &str) -> String {
    let mut operation = String::with_capacity(method.len() + 1 + route.len());
    operation.push_str(method);
    operation.push(' ');
    operation.push_str(route);
    operation
}
