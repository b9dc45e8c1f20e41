//! The artifact: what an alert's assembly produces, and its canonical form.
//!
//! Field order here IS the canonical JSON order (serde writes struct fields
//! in declaration order). There are no maps and no floats: every list is
//! sorted by a documented key and every ratio is an integer per-mille, so
//! the same input always encodes to the same bytes.

use causeway_model::{CeId, Kind, TraceId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The artifact schema name; bumped when a field changes meaning.
pub const ARTIFACT_SCHEMA: &str = "causeway.artifact/v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    pub schema: String,
    pub alert: AlertInfo,
    pub assembled_at_unix_ns: u64,
    pub assembled_at: String,
    pub scope: Scope,
    pub selection: Selection,
    /// Whether every record accepted before the settle delay ended was in
    /// the window when it was read; when not, the completeness is never
    /// `full` and `window_lag_records` says how far behind it was.
    pub window_complete: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_lag_records: Option<u64>,
    /// Whether any read was cut (`cuts` says which, with the true counts
    /// where known): counts in this artifact are then over what was read.
    pub truncated: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cuts: Vec<ReadCut>,
    pub completeness: Completeness,
    /// Absent when no step of the chosen trace failed; see `first_break_note`.
    pub first_confirmed_break: Option<FirstBreak>,
    /// Why there is no first break, when there is none.
    pub first_break_note: Option<String>,
    /// Earliest start to latest end over the chosen trace's captured events.
    pub trace_span: Option<TraceSpan>,
    pub frames: Vec<Frame>,
    /// Distinct services with captured events in the chosen trace, sorted.
    pub affected_services: Vec<String>,
    pub ghost_services: Vec<GhostService>,
    pub window_summary: Vec<ServiceWindow>,
    pub pre_arm_signals: Vec<PreArmNotice>,
    pub graph_repairs: GraphRepairs,
    /// What this artifact does not claim, stated in the artifact itself.
    pub claims: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertInfo {
    pub alert_id: String,
    pub tenant_id: String,
    pub service: String,
    pub title: String,
    pub source: String,
    pub source_label: Option<String>,
    pub dedup_key: Option<String>,
    pub severity: Option<String>,
    pub trace_id: Option<TraceId>,
    pub fired_at_unix_ns: u64,
    pub fired_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    pub from_unix_ns: u64,
    pub from: String,
    pub to_unix_ns: u64,
    pub to: String,
    pub pre_arm_ns: u64,
    pub settle_ns: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelectionReason {
    /// The alert carried a trace id and that trace had events in scope.
    AlertTraceId,
    /// Among traces touching the alerting service, the failing one whose
    /// first break completed earliest.
    EarliestFirstBreak,
    /// No candidate failed (a latency alert): the longest root-to-end span.
    Slowest,
    /// No trace in scope touched the alerting service.
    NoTrace,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub trace_id: Option<TraceId>,
    pub reason: SelectionReason,
    pub explanation: String,
    /// Distinct traces with events in scope, when counted (offline
    /// assembly counts them; the live path reads by index and does not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traces_in_scope: Option<u64>,
    /// Traces considered for selection (those touching the alerting service,
    /// or calling it as a peer when none does).
    pub candidates: u64,
    /// How many of the candidates had a non-success step.
    pub failing_candidates: u64,
}

/// A read the assembler cut at a limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadCut {
    /// What was cut: `trace_events`, `window_events`, `scope_traces`,
    /// `failures`, `latency_candidates`.
    pub what: String,
    pub limit: u64,
    /// How many were used.
    pub kept: u64,
    /// The true count, when it is known; `None`: more than `kept`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    pub note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompletenessLabel {
    Low,
    Partial,
    Full,
}

impl CompletenessLabel {
    pub fn as_str(self) -> &'static str {
        match self {
            CompletenessLabel::Full => "full",
            CompletenessLabel::Partial => "partial",
            CompletenessLabel::Low => "low",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Completeness {
    pub label: CompletenessLabel,
    pub captured_services: u64,
    pub captured_events: u64,
    pub gaps: u64,
    /// captured_services * 1000 / (captured_services + gaps), floored.
    pub coverage_per_mille: u32,
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstBreak {
    /// `{service} {kind} {status}`, e.g. `payments HTTP_IN 503`.
    pub summary: String,
    pub service: String,
    pub kind: Kind,
    pub status: u16,
    pub operation: Option<String>,
    pub ce_id: CeId,
    pub depth: u32,
    /// Completion time of the failing step (start + duration).
    pub at_unix_ns: u64,
    pub at: String,
    /// fired_at - at: positive when the break preceded the alert.
    pub lead_ns: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceSpan {
    pub start_unix_ns: u64,
    pub start: String,
    pub end_unix_ns: u64,
    pub duration_ns: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameType {
    /// A captured event.
    Event,
    /// A parent that captured events named but that was not captured.
    Gap,
}

/// How a frame hangs in the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameLink {
    /// Depth 0: no parent named (or a gap, whose own parent is unknown).
    Root,
    /// Under `parent_ce_id` (a captured event or a gap).
    Child,
    /// Named itself as its parent; shown as a root.
    CutSelfParent,
    /// Its parent link closed a cycle; cut here and shown as a root.
    CutCycle,
    /// Deeper than the depth limit; cut here and shown as a root.
    CutDepthLimit,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    pub frame_type: FrameType,
    pub depth: u32,
    pub link: FrameLink,
    pub ce_id: CeId,
    /// The parent as recorded by the event (None for gaps).
    pub parent_ce_id: Option<CeId>,
    pub service: Option<String>,
    pub kind: Option<Kind>,
    pub operation: Option<String>,
    pub peer: Option<String>,
    pub status: Option<u16>,
    pub non_success: bool,
    /// For gaps: the earliest start among the events that name it.
    pub start_unix_ns: u64,
    pub start: String,
    pub duration_ns: Option<u64>,
    /// For gaps: how many captured events name it as their parent.
    pub named_by: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GhostService {
    /// The peer as the callers named it (host or service name).
    pub peer: String,
    pub callers: Vec<String>,
    /// Outbound steps to this peer in the chosen trace (none answered).
    pub calls_in_trace: u64,
    /// Caller-side statistics over every outbound step to this peer in scope.
    pub window: CallStats,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStats {
    pub calls: u64,
    pub errors: u64,
    pub error_rate_per_mille: u32,
    /// Nearest-rank percentiles of caller-side duration.
    pub p50_ns: u64,
    pub p95_ns: u64,
    pub p99_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceWindow {
    pub service: String,
    pub events: u64,
    pub non_success: u64,
    /// Completion time of the service's earliest non-success step in scope.
    pub first_failure_unix_ns: Option<u64>,
    pub first_failure: Option<String>,
    /// fired_at - first failure: positive when it preceded the alert.
    pub first_failure_lead_ns: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreArmNotice {
    pub service: String,
    pub received_at_unix_ns: u64,
    pub received_at: String,
    /// The SDK notice's metadata object, verbatim.
    pub metadata_json: String,
}

/// Repairs made to the recorded parent links, reported rather than hidden.
/// Id lists hold at most [`crate::graph::MAX_REPORTED_IDS`] ids each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphRepairs {
    /// Extra copies of an already-seen `ce_id` (at-least-once delivery).
    pub duplicates_collapsed: u64,
    pub self_parents: u64,
    pub self_parent_ids: Vec<CeId>,
    pub cycles_broken: u64,
    pub cycle_cut_ids: Vec<CeId>,
    pub depth_limit: u32,
    pub depth_cuts: u64,
    pub depth_cut_ids: Vec<CeId>,
    /// Events of the chosen trace that started outside the scope.
    pub out_of_scope_events: u64,
    /// Events of another tenant than the alert's, ignored.
    pub foreign_tenant_events: u64,
}

impl Artifact {
    /// The canonical encoding: compact JSON in declaration order.
    pub fn canonical_json(&self) -> Vec<u8> {
        // Serializing these plain types cannot fail (no maps with non-string
        // keys, no custom serializers that error); an empty encoding would
        // still digest deterministically.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// `sha256:<hex>` over [`Artifact::canonical_json`].
    pub fn digest(&self) -> String {
        let hash = Sha256::digest(self.canonical_json());
        format!("sha256:{}", hex::encode(hash))
    }
}
