//! The gateway's metrics. Labels come from bounded sets only (route, code,
//! format, reason); nothing is labelled by tenant. Recorded once per request.

use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};

pub const REQUESTS: &str = "causeway_gateway_requests_total";
pub const EVENTS_ACCEPTED: &str = "causeway_gateway_events_accepted_total";
pub const EVENTS_REJECTED: &str = "causeway_gateway_events_rejected_total";
pub const PUBLISH_DURATION: &str = "causeway_gateway_publish_duration_seconds";
pub const QUOTA_REJECTIONS: &str = "causeway_gateway_quota_rejections_total";
pub const USAGE_WRITE_FAILURES: &str = "causeway_gateway_usage_write_failures_total";
pub const INFLIGHT_BYTES: &str = "causeway_gateway_inflight_bytes";
pub const INFLIGHT_REQUESTS: &str = "causeway_gateway_inflight_requests";
pub const OVERLOAD_REJECTIONS: &str = "causeway_gateway_overload_rejections_total";

/// The `reason` labels of [`OVERLOAD_REJECTIONS`]: which limit refused.
const OVERLOAD_REASONS: [&str; 3] = ["inflight_bytes", "inflight_requests", "window_backlog"];

/// Describes every gateway metric; the binary calls it once at startup.
pub fn describe_metrics() {
    describe_counter!(REQUESTS, Unit::Count, "requests answered, by route and status code");
    describe_counter!(
        EVENTS_ACCEPTED,
        Unit::Count,
        "causal events published to the bus, by input format"
    );
    describe_counter!(
        EVENTS_REJECTED,
        Unit::Count,
        "decoded causal events refused (reason: quota, unavailable, internal)"
    );
    describe_histogram!(
        PUBLISH_DURATION,
        Unit::Seconds,
        "time for the bus to accept one request's records"
    );
    describe_counter!(
        QUOTA_REJECTIONS,
        Unit::Count,
        "requests refused with 429 because a monthly ce quota was reached"
    );
    describe_counter!(
        USAGE_WRITE_FAILURES,
        Unit::Count,
        "usage writes the store refused (their counts are kept for the next flush)"
    );
    describe_gauge!(
        INFLIGHT_BYTES,
        Unit::Bytes,
        "request body bytes held now (raw and inflated) against gateway.max_inflight_bytes"
    );
    describe_gauge!(
        INFLIGHT_REQUESTS,
        Unit::Count,
        "ingest requests served now against gateway.max_inflight_requests"
    );
    describe_counter!(
        OVERLOAD_REJECTIONS,
        Unit::Count,
        "requests refused with 503 / RESOURCE_EXHAUSTED at an in-flight limit or a windower backlog (reason: inflight_bytes, inflight_requests, window_backlog)"
    );
    // Exported at zero from startup (the exporter renders only touched
    // metrics), so the store-error alert sees a series before the first one.
    counter!(USAGE_WRITE_FAILURES).increment(0);
    for reason in OVERLOAD_REASONS {
        counter!(OVERLOAD_REJECTIONS, "reason" => reason).increment(0);
    }
    record_inflight(0, 0);
}

/// `code` is the HTTP status (`"200"`) or the gRPC code name (`"Ok"`).
pub(crate) fn record_request(route: &'static str, code: String) {
    counter!(REQUESTS, "route" => route, "code" => code).increment(1);
}

pub(crate) fn record_accepted(format: &'static str, events: usize) {
    counter!(EVENTS_ACCEPTED, "format" => format).increment(events as u64);
}

pub(crate) fn record_rejected(reason: &'static str, events: usize) {
    counter!(EVENTS_REJECTED, "reason" => reason).increment(events as u64);
}

pub(crate) fn record_publish(elapsed: Duration) {
    histogram!(PUBLISH_DURATION).record(elapsed.as_secs_f64());
}

pub(crate) fn record_quota_rejection() {
    counter!(QUOTA_REJECTIONS).increment(1);
}

pub(crate) fn record_usage_write_failure() {
    counter!(USAGE_WRITE_FAILURES).increment(1);
}

/// `reason` is one of [`OVERLOAD_REASONS`].
pub(crate) fn record_overload(reason: &'static str) {
    debug_assert!(OVERLOAD_REASONS.contains(&reason), "unknown overload reason {reason}");
    counter!(OVERLOAD_REJECTIONS, "reason" => reason).increment(1);
}

/// What the gateway holds now, set whenever it changes.
pub(crate) fn record_inflight(bytes: usize, requests: usize) {
    gauge!(INFLIGHT_BYTES).set(bytes as f64);
    gauge!(INFLIGHT_REQUESTS).set(requests as f64);
}

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;

    #[test]
    fn names_and_labels_render() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe_metrics();
            record_request("/api/v1/ingest/batch", "200".to_owned());
            record_accepted("sdk_json", 3);
            record_rejected("quota", 2);
            record_publish(Duration::from_millis(5));
            record_quota_rejection();
            record_overload("inflight_bytes");
            record_inflight(4096, 2);
        });
        let text = handle.render();
        for expected in [
            r#"causeway_gateway_requests_total{route="/api/v1/ingest/batch",code="200"} 1"#,
            r#"causeway_gateway_events_accepted_total{format="sdk_json"} 3"#,
            r#"causeway_gateway_events_rejected_total{reason="quota"} 2"#,
            "causeway_gateway_quota_rejections_total 1",
            r#"causeway_gateway_overload_rejections_total{reason="inflight_bytes"} 1"#,
            r#"causeway_gateway_overload_rejections_total{reason="inflight_requests"} 0"#,
            "causeway_gateway_inflight_bytes 4096",
            "causeway_gateway_inflight_requests 2",
            "causeway_gateway_publish_duration_seconds",
            "# HELP causeway_gateway_requests_total requests answered",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }
}
