//! The assembler's typed configuration.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssemblerConfig {
    /// How far before the alert the artifact looks (tenants may override).
    pub pre_arm_seconds: u64,
    /// Wait after `fired_at` for late SDK flushes (≥ 2 flush intervals).
    pub settle_ms: u64,
    /// Consumer group on the alert topic.
    pub group: String,
    /// Most traces touching the alerting service considered as candidates.
    pub max_candidate_traces: usize,
    /// Most events read of one trace (the chosen trace, or a trace read
    /// through the API); a longer trace is cut and the cut reported.
    pub max_trace_events: usize,
    /// Most window events read for the ghost services' caller-side
    /// figures (those nearest the alert; a cut is reported).
    pub max_window_events: usize,
    /// Base of share links, e.g. `https://causeway.example.com`. Empty: the
    /// links are relative (`/a/<token>`).
    pub public_url: String,
    /// How long shutdown may take to finish the alert in hand.
    pub drain_deadline_seconds: u64,
}

impl Default for AssemblerConfig {
    fn default() -> Self {
        Self {
            pre_arm_seconds: 300,
            settle_ms: 5_000,
            group: "causeway-assembler".to_owned(),
            max_candidate_traces: 2_000,
            max_trace_events: 100_000,
            max_window_events: 500_000,
            public_url: String::new(),
            drain_deadline_seconds: 15,
        }
    }
}

impl AssemblerConfig {
    pub fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.pre_arm_seconds == 0 {
            errors.push("assembler.pre_arm_seconds: must be above 0".to_owned());
        }
        if self.max_candidate_traces == 0 {
            errors.push("assembler.max_candidate_traces: must be above 0".to_owned());
        }
        if self.max_trace_events == 0 {
            errors.push("assembler.max_trace_events: must be above 0".to_owned());
        }
        if self.group.trim().is_empty() {
            errors.push("assembler.group: must not be empty".to_owned());
        }
        let has_scheme = self.public_url.starts_with("http://") || self.public_url.starts_with("https://");
        if !self.public_url.is_empty() && !has_scheme {
            errors.push(format!(
                "assembler.public_url: {:?} must start with http:// or https://",
                self.public_url
            ));
        }
        errors
    }

    /// The share link of a token.
    pub fn share_url(&self, token: &str) -> String {
        format!("{}/a/{token}", self.public_url.trim_end_matches('/'))
    }
}
