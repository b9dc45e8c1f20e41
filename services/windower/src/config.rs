//! The windower's typed configuration.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WindowerConfig {
    /// How far before an alert the window reaches (tenants may override).
    pub pre_arm_seconds: u64,
    /// Extra time events are kept after the pre-arm window, so a late alert
    /// still finds them.
    pub grace_seconds: u64,
    /// Consumer group on the CE topic.
    pub group: String,
    /// Most records taken per poll.
    pub poll_max_records: usize,
    /// Longest wait for the first record of a poll.
    pub poll_wait_ms: u64,
    /// How often expired events are dropped.
    pub expire_interval_seconds: u64,
    /// How long shutdown may take to finish the batch in hand and commit.
    pub drain_deadline_seconds: u64,
}

impl Default for WindowerConfig {
    fn default() -> Self {
        Self {
            pre_arm_seconds: 300,
            grace_seconds: 300,
            group: "causeway-windower".to_owned(),
            poll_max_records: 512,
            poll_wait_ms: 200,
            expire_interval_seconds: 30,
            drain_deadline_seconds: 10,
        }
    }
}

impl WindowerConfig {
    /// Cross-field rules, as lowercase messages naming the keys.
    pub fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.pre_arm_seconds == 0 {
            errors.push("windower.pre_arm_seconds: must be above 0".to_owned());
        }
        if self.poll_max_records == 0 {
            errors.push("windower.poll_max_records: must be above 0".to_owned());
        }
        if self.group.trim().is_empty() {
            errors.push("windower.group: must not be empty".to_owned());
        }
        if self.expire_interval_seconds == 0 {
            errors.push("windower.expire_interval_seconds: must be above 0".to_owned());
        }
        errors
    }
}
