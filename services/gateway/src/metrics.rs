//! The gateway's metrics. Labels come from bounded sets only (route, code,
//! format, reason); nothing is labelled by tenant. Recorded once per request.

use std::time::Duration;

use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

pub const REQUESTS: &str = "causeway_gateway_requests_total";
pub const EVENTS_ACCEPTED: &str = "causeway_gateway_events_accepted_total";
pub const EVENTS_REJECTED: &str = "causeway_gateway_events_rejected_total";
pub const PUBLISH_DURATION: &str = "causeway_gateway_publish_duration_seconds";
pub const QUOTA_REJECTIONS: &str = "causeway_gateway_quota_rejections_total";
pub const USAGE_WRITE_FAILURES: &str = "causeway_gateway_usage_write_failures_total";

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
        "accepted batches whose usage could not be metered (the store failed after the bus accepted)"
    );
    // Exported at zero from startup (the exporter renders only touched
    // metrics), so the store-error alert sees a series before the first one.
    counter!(USAGE_WRITE_FAILURES).increment(0);
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
        });
        let text = handle.render();
        for expected in [
            r#"causeway_gateway_requests_total{route="/api/v1/ingest/batch",code="200"} 1"#,
            r#"causeway_gateway_events_accepted_total{format="sdk_json"} 3"#,
            r#"causeway_gateway_events_rejected_total{reason="quota"} 2"#,
            "causeway_gateway_quota_rejections_total 1",
            "causeway_gateway_publish_duration_seconds",
            "# HELP causeway_gateway_requests_total requests answered",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
        }
    }
}
