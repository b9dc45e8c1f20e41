//! The gateway's typed configuration (`[gateway]` in the config file).

use serde::{Deserialize, Serialize};

/// Largest body a deployment may configure: the decoders' own limit, so a
/// deployment can lower the limit but not raise it.
pub const MAX_CONFIGURABLE_BODY_BYTES: usize = causeway_model::limits::MAX_BODY_BYTES;

/// Largest record a deployment may configure: librdkafka refuses a message
/// (key, value and headers) above its `message.max.bytes`, 1,000,000 by
/// default, and the broker's own default (1,048,588) is above that; the
/// margin covers the record framing the broker counts.
pub const MAX_CONFIGURABLE_RECORD_BYTES: usize = 1_000_000 - 1_024;
/// Default in-flight body budget: 64 MiB (16 largest bodies, or 8 largest
/// gzip bodies with their inflated copies).
pub const DEFAULT_MAX_INFLIGHT_BYTES: usize = 64 * 1024 * 1024;
/// Largest in-flight request count a deployment may configure.
pub const MAX_CONFIGURABLE_INFLIGHT_REQUESTS: usize = 65_536;

/// The longest usage flush interval a deployment may configure.
const MAX_USAGE_FLUSH_MS: u64 = 60_000;

/// Smallest record a deployment may configure: several events of the
/// largest size the limits allow (well under 2 KiB each) must fit.
pub const MIN_RECORD_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Largest request body, before and after gzip decompression; larger is
    /// 413 (gRPC: `RESOURCE_EXHAUSTED`). At most the default, 4 MiB.
    pub max_body_bytes: usize,
    /// How long a request waits for the bus to accept its records before it
    /// is answered 503 (retryable).
    pub publish_timeout_ms: u64,
    /// The `Retry-After` seconds sent with 503 when the bus names no delay.
    pub retry_after_seconds: u64,
    /// Whether monthly CE quotas are enforced (usage is metered either way).
    pub enforce_quota: bool,
    /// Largest bus record (key, headers and value): a trace whose events do
    /// not fit in one is published as several, under the same key. Keep it
    /// below the broker's (and topic's) `message.max.bytes`.
    pub max_record_bytes: usize,
    /// A repeat of an alert with the same `(tenant, dedup_key)` (or provider
    /// incident id) within this many seconds is the same alert.
    pub alert_dedup_seconds: u64,
    /// Request body bytes the gateway holds at once over every route, HTTP
    /// and gRPC: raw bytes as they arrive plus the inflated size as gzip
    /// decompresses, until the request is answered. A request that would
    /// go over it is answered 503 (gRPC: `RESOURCE_EXHAUSTED`) at once.
    /// At least twice `max_body_bytes`, so one largest gzip body always fits.
    pub max_inflight_bytes: usize,
    /// Ingest requests (each with its decode) served at once over every
    /// route, HTTP and gRPC; one more is answered 503 / `RESOURCE_EXHAUSTED`.
    pub max_inflight_requests: usize,
    /// How long an HTTP request may take to send its whole body; a slower
    /// (or stalled) upload is answered 408 and its slot and bytes freed.
    pub body_read_timeout_ms: u64,
    /// With the windower in the same process (`standalone`): a batch of
    /// events (never an alert) is answered 503 / `RESOURCE_EXHAUSTED` while
    /// the windower has more than this many bus records (one per trace of a
    /// request) yet to write, so the window stays seconds, not minutes,
    /// behind. 0 turns it off.
    pub max_window_backlog_records: u64,
    /// How often accepted counts are written to the tenant's usage: they
    /// add up in memory meanwhile (and count against the quota at once).
    /// 0 writes on every request, a durable store write each. A crash
    /// loses at most this long's counts. At most 60,000.
    pub usage_flush_ms: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: causeway_model::limits::MAX_BODY_BYTES,
            publish_timeout_ms: 10_000,
            retry_after_seconds: 1,
            enforce_quota: true,
            max_record_bytes: 900 * 1024,
            alert_dedup_seconds: 600,
            // Sized for a 2-core gateway: a few dozen requests keep both
            // cores and the bus busy; more only queue and hold memory.
            max_inflight_bytes: DEFAULT_MAX_INFLIGHT_BYTES,
            max_inflight_requests: 64,
            // A 4 MiB body over a slow mobile uplink (~1 Mbit/s) takes ~35 s.
            body_read_timeout_ms: 60_000,
            // ~300k CEs of typical traces: a few seconds of a windower's work.
            max_window_backlog_records: 100_000,
            usage_flush_ms: 1_000,
        }
    }
}

impl GatewayConfig {
    /// Every rule broken, as lowercase messages naming the keys.
    pub fn validate(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.max_body_bytes == 0 || self.max_body_bytes > MAX_CONFIGURABLE_BODY_BYTES {
            errors.push(format!(
                "gateway.max_body_bytes must be between 1 and {MAX_CONFIGURABLE_BODY_BYTES}, got {}",
                self.max_body_bytes
            ));
        }
        if self.publish_timeout_ms == 0 {
            errors.push("gateway.publish_timeout_ms must be at least 1".to_owned());
        }
        if self.alert_dedup_seconds == 0 {
            errors.push("gateway.alert_dedup_seconds must be at least 1".to_owned());
        }
        if self.retry_after_seconds == 0 {
            errors.push("gateway.retry_after_seconds must be at least 1".to_owned());
        }
        if self.usage_flush_ms > MAX_USAGE_FLUSH_MS {
            errors.push(format!(
                "gateway.usage_flush_ms must be at most {MAX_USAGE_FLUSH_MS} (a crash loses that long's usage), got {}",
                self.usage_flush_ms
            ));
        }
        if self.body_read_timeout_ms == 0 {
            errors.push("gateway.body_read_timeout_ms must be at least 1".to_owned());
        }
        if !(MIN_RECORD_BYTES..=MAX_CONFIGURABLE_RECORD_BYTES).contains(&self.max_record_bytes) {
            errors.push(format!(
                "gateway.max_record_bytes must be between {MIN_RECORD_BYTES} and {MAX_CONFIGURABLE_RECORD_BYTES} \
                 (below the kafka producer's and broker's message.max.bytes), got {}",
                self.max_record_bytes
            ));
        }
        let min_inflight_bytes = self.max_body_bytes.saturating_mul(2);
        if self.max_inflight_bytes < min_inflight_bytes || self.max_inflight_bytes > tokio::sync::Semaphore::MAX_PERMITS
        {
            errors.push(format!(
                "gateway.max_inflight_bytes must be at least twice gateway.max_body_bytes ({min_inflight_bytes}, \
                 one largest gzip body and its inflated copy) and at most {}, got {}",
                tokio::sync::Semaphore::MAX_PERMITS,
                self.max_inflight_bytes
            ));
        }
        if !(1..=MAX_CONFIGURABLE_INFLIGHT_REQUESTS).contains(&self.max_inflight_requests) {
            errors.push(format!(
                "gateway.max_inflight_requests must be between 1 and {MAX_CONFIGURABLE_INFLIGHT_REQUESTS}, got {}",
                self.max_inflight_requests
            ));
        }
        errors
    }
}

impl causeway_runtime::config::Validate for GatewayConfig {
    fn validate(&self) -> Vec<String> {
        GatewayConfig::validate(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_named() {
        assert!(GatewayConfig::default().validate().is_empty());
        let config = GatewayConfig {
            max_body_bytes: 0,
            publish_timeout_ms: 0,
            max_record_bytes: 1_048_588,
            ..GatewayConfig::default()
        };
        let errors = config.validate();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].contains("max_body_bytes"));
        assert!(errors[1].contains("publish_timeout_ms"));
        assert!(errors[2].contains("max_record_bytes") && errors[2].contains("1048588"));
        let small = GatewayConfig {
            max_record_bytes: MIN_RECORD_BYTES - 1,
            ..GatewayConfig::default()
        };
        assert_eq!(small.validate().len(), 1);
        let tight = GatewayConfig {
            max_body_bytes: 4096,
            max_inflight_bytes: 8191,
            max_inflight_requests: 0,
            ..GatewayConfig::default()
        };
        let errors = tight.validate();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("max_inflight_bytes") && errors[0].contains("8192"));
        assert!(errors[1].contains("max_inflight_requests"));
        let fits = GatewayConfig {
            max_inflight_bytes: 8192,
            ..tight
        };
        assert_eq!(fits.validate().len(), 1, "only the request count is wrong");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = serde_json::from_str::<GatewayConfig>(r#"{"max_body":1}"#).expect_err("unknown");
        assert!(err.to_string().contains("max_body"), "{err}");
        let config: GatewayConfig = serde_json::from_str(r#"{"enforce_quota":false}"#).expect("partial");
        assert!(!config.enforce_quota);
        assert_eq!(config.retry_after_seconds, 1);
    }
}
