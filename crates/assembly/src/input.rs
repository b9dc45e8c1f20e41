//! What the assembler passes in. Everything the artifact depends on is
//! here, including the assembly time: the crate reads no clock.

use causeway_model::{Alert, CausalEvent};
use serde::{Deserialize, Serialize};

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
    /// `[fired_at - pre_arm, fired_at + settle]`, saturating.
    pub fn scope_bounds(&self) -> (u64, u64) {
        let fired = self.alert.fired_at_unix_ns;
        (
            fired.saturating_sub(self.pre_arm_ns),
            fired.saturating_add(self.settle_ns),
        )
    }
}
