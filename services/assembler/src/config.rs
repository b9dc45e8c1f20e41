//! The assembler's typed configuration.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AssemblerConfig {
    /// How far before the alert the artifact looks (tenants may override).
    pub pre_arm_seconds: u64,
    /// How long events stay in the window after the pre-arm (the
    /// windower's `grace_seconds`): an alert older than pre-arm + grace
    /// would find its events expired and is refused.
    pub grace_seconds: u64,
    /// Wait after `fired_at` for late SDK flushes (≥ 2 flush intervals).
    pub settle_ms: u64,
    /// Longest extra wait, after the settle delay, for the window to catch
    /// up with everything the bus had accepted by then; past it the
    /// artifact is assembled and says the window was behind.
    pub max_settle_ms: u64,
    /// Alerts assembled at once: one waiting or slow alert never holds up
    /// another.
    pub max_concurrent_alerts: usize,
    /// How long reading the window and storing one artifact may take,
    /// retries included, before the alert is failed and dead-lettered.
    pub assembly_timeout_seconds: u64,
    /// Consumer group on the alert topic.
    pub group: String,
    /// Most traces touching the alerting service that selection considers
    /// (ids only; a cut is reported).
    pub max_scope_traces: usize,
    /// Most non-success events selection reads from the failure index (a
    /// cut is reported).
    pub max_failures: usize,
    /// Most traces read in full to find the slowest when none failed (a
    /// latency alert; a cut is reported).
    pub max_candidate_traces: usize,
    /// Most events read of one trace (the chosen trace, or a trace read
    /// through the API); a longer trace is cut and the cut reported.
    pub max_trace_events: usize,
    /// Most window events the coverage and topology answers read (the
    /// answer says when it was capped).
    pub max_window_events: usize,
    /// Most calls read from the peer index per peer: for each ghost
    /// service's caller-side figures, and to find the traces calling an
    /// alerting service that does not report (those nearest the alert; a
    /// cut is reported).
    pub max_peer_calls: usize,
    /// Most window events the topology roll-up reads for one 5-minute slot
    /// (the latest; a cut is logged and counted, and that slot's calls are
    /// undercounted).
    pub topology_rollup_max_events: usize,
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
            grace_seconds: 300,
            settle_ms: 5_000,
            max_settle_ms: 30_000,
            max_concurrent_alerts: 16,
            assembly_timeout_seconds: 60,
            group: "causeway-assembler".to_owned(),
            max_scope_traces: 1_000_000,
            max_failures: 200_000,
            max_candidate_traces: 2_000,
            max_trace_events: 100_000,
            max_window_events: 100_000,
            max_peer_calls: 100_000,
            topology_rollup_max_events: 200_000,
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
        for (key, value) in [
            ("max_scope_traces", self.max_scope_traces),
            ("max_failures", self.max_failures),
            ("max_concurrent_alerts", self.max_concurrent_alerts),
            ("max_window_events", self.max_window_events),
            ("max_peer_calls", self.max_peer_calls),
        ] {
            if value == 0 {
                errors.push(format!("assembler.{key}: must be above 0"));
            }
        }
        if self.assembly_timeout_seconds == 0 {
            errors.push("assembler.assembly_timeout_seconds: must be above 0".to_owned());
        }
        if self.topology_rollup_max_events == 0 {
            errors.push("assembler.topology_rollup_max_events: must be above 0".to_owned());
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
