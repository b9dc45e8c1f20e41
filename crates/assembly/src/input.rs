//! What the assembler passes in. Everything the artifact depends on is
//! here, including the assembly time: the crate reads no clock.

use std::collections::BTreeMap;

use causeway_model::{Alert, CausalEvent};
use serde::{Deserialize, Serialize};

use crate::artifact::{ReadCut, Selection};

/// Default look-back before the alert (DESIGN §5.1): 5 minutes.
pub const DEFAULT_PRE_ARM_NS: u64 = 300 * 1_000_000_000;
/// Default wait after the alert for late flushes: 5 seconds.
pub const DEFAULT_SETTLE_NS: u64 = 5 * 1_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssemblyInput {
    pub alert: Alert,
    pub pre_arm_ns: u64,
    pub settle_ns: u64,
    /// Events of every candidate trace in scope, any order, duplicates allowed.
    pub candidates: Vec<CausalEvent>,
    /// The tenant's window, for the per-service summary; may overlap `candidates`.
    pub window_events: Vec<CausalEvent>,
    pub pre_arm_signals: Vec<PreArmSignal>,
    /// When the assembly ran, passed in so the result is reproducible.
    pub assembled_at_unix_ns: u64,
    /// The selection, when the caller made it over the whole window through
    /// the store's indexes (the live path); `candidates` then holds the
    /// chosen trace. `None`: assembly selects among `candidates` (files).
    #[serde(default)]
    pub preselection: Option<Selection>,
    /// Per-service activity over the whole scope from the store's counters;
    /// `None`: counted from the events given.
    #[serde(default)]
    pub activity: Option<Vec<ServiceTally>>,
    /// Whether the window had caught up with everything accepted before
    /// the settle delay ended.
    #[serde(default)]
    pub window: WindowProgress,
    /// Reads the caller had to cut, reported in the artifact as they are.
    #[serde(default)]
    pub cuts: Vec<ReadCut>,
    /// Per ghost peer ([`crate::ghost_peers`]), the caller side of every
    /// outbound step in scope naming it, read through the store's peer
    /// index (the live path). A ghost peer not here is counted from
    /// `candidates` and `window_events`.
    #[serde(default)]
    pub peer_calls: BTreeMap<String, Vec<CallSample>>,
}

/// The caller's side of one outbound step: how long it took, whether it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSample {
    pub duration_ns: u64,
    pub non_success: bool,
}

/// One service's events over the scope, counted by the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceTally {
    pub service: String,
    pub events: u64,
    pub non_success: u64,
    pub first_failure_end_unix_ns: Option<u64>,
}

/// How far the window was written when the assembly read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowProgress {
    /// Every record accepted before the settle delay ended was written.
    pub complete: bool,
    /// Records still unwritten when the wait ended (0 when complete).
    pub lag_records: u64,
}

impl Default for WindowProgress {
    /// Files given to an offline assembly are the whole window.
    fn default() -> Self {
        Self {
            complete: true,
            lag_records: 0,
        }
    }
}

/// An SDK `pre_arm_start` notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreArmSignal {
    pub service: String,
    pub received_at_unix_ns: u64,
    /// The SDK notice's metadata object verbatim.
    pub metadata_json: String,
}

impl AssemblyInput {
    /// `[fired_at - pre_arm, fired_at + settle]`, saturating, widened to
    /// whole seconds (the store counts activity per second).
    pub fn scope_bounds(&self) -> (u64, u64) {
        scope_bounds(self.alert.fired_at_unix_ns, self.pre_arm_ns, self.settle_ns)
    }
}

const SECOND_NS: u64 = 1_000_000_000;

/// See [`AssemblyInput::scope_bounds`]: from the start of the second of
/// `fired_at - pre_arm` to the last nanosecond of the second of
/// `fired_at + settle`.
pub fn scope_bounds(fired_at_unix_ns: u64, pre_arm_ns: u64, settle_ns: u64) -> (u64, u64) {
    let from = fired_at_unix_ns.saturating_sub(pre_arm_ns);
    let to = fired_at_unix_ns.saturating_add(settle_ns);
    let to_second_end = (to / SECOND_NS).saturating_mul(SECOND_NS).saturating_add(SECOND_NS - 1);
    (from - from % SECOND_NS, to_second_end.max(to))
}
