//! The windower's metrics, described once at startup.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

pub const EVENTS_WRITTEN: &str = "causeway_windower_events_written_total";
pub const RECORDS_CONSUMED: &str = "causeway_windower_records_consumed_total";
pub const DEAD_LETTERS: &str = "causeway_windower_dead_letter_records_total";
pub const EXPIRED: &str = "causeway_windower_events_expired_total";
pub const WRITE_DURATION: &str = "causeway_windower_write_duration_seconds";
pub const CONSUMER_LAG: &str = "causeway_windower_consumer_lag_records";
pub const WRITE_FAILURES: &str = "causeway_windower_write_failures_total";

pub fn describe_metrics() {
    describe_counter!(EVENTS_WRITTEN, Unit::Count, "causal events written to the window store");
    describe_counter!(RECORDS_CONSUMED, Unit::Count, "bus records consumed, by record type");
    describe_counter!(
        DEAD_LETTERS,
        Unit::Count,
        "undecodable records sent to the dead-letter topic"
    );
    describe_counter!(
        EXPIRED,
        Unit::Count,
        "events dropped from the window after their expiry"
    );
    describe_histogram!(
        WRITE_DURATION,
        Unit::Seconds,
        "time to write one polled batch to the store"
    );
    describe_counter!(
        WRITE_FAILURES,
        Unit::Count,
        "window store writes that failed and were retried"
    );
    describe_gauge!(
        CONSUMER_LAG,
        Unit::Count,
        "records on the CE topic not yet acknowledged by this windower"
    );
    // Exported at zero from startup, so dashboards and rate() see them before
    // the first event (the exporter renders only metrics that were touched).
    for name in [EVENTS_WRITTEN, RECORDS_CONSUMED, DEAD_LETTERS, EXPIRED, WRITE_FAILURES] {
        metrics::counter!(name).increment(0);
    }
}
