//! The assembler's metrics, described once at startup.

use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

pub const ALERTS_CONSUMED: &str = "causeway_assembler_alerts_consumed_total";
pub const ARTIFACTS_ASSEMBLED: &str = "causeway_assembler_artifacts_assembled_total";
pub const ASSEMBLY_FAILURES: &str = "causeway_assembler_failures_total";
/// The `reason` label's values: a record that is no alert, an alert whose
/// fired_at is outside the window, an assembly that gave up, a store error
/// that was retried.
pub const FAILURE_REASONS: [&str; 4] = ["undecodable", "out_of_bounds", "assembly", "store"];
pub const ASSEMBLY_DURATION: &str = "causeway_assembler_assembly_duration_seconds";
pub const ALERT_TO_ARTIFACT: &str = "causeway_assembler_alert_to_artifact_seconds";
pub const CONSUMER_LAG: &str = "causeway_assembler_consumer_lag_records";
pub const SHARE_VIEWS: &str = "causeway_assembler_share_views_total";
pub const WINDOW_LAG: &str = "causeway_assembler_window_lag_records";
pub const WINDOW_BEHIND: &str = "causeway_assembler_window_behind_total";
pub const ARTIFACTS_EXPIRED: &str = "causeway_assembler_artifacts_expired_total";
pub const SHARES_REVOKED: &str = "causeway_assembler_shares_revoked_total";
pub const NOTICES_POSTED: &str = "causeway_assembler_notices_total";
pub const TOPOLOGY_SLOTS: &str = "causeway_assembler_topology_slots_total";
/// The `outcome` label's values: a slot written whole, a slot written from
/// events cut at `topology_rollup_max_events`, a slot not written (read or
/// store error).
pub const TOPOLOGY_OUTCOMES: [&str; 3] = ["written", "cut", "failed"];

pub fn describe_metrics() {
    describe_counter!(ALERTS_CONSUMED, Unit::Count, "alert records consumed");
    describe_counter!(
        ARTIFACTS_ASSEMBLED,
        Unit::Count,
        "artifacts stored, by completeness label"
    );
    describe_counter!(
        ASSEMBLY_FAILURES,
        Unit::Count,
        "alerts that could not be assembled, by reason"
    );
    describe_histogram!(
        ASSEMBLY_DURATION,
        Unit::Seconds,
        "time to read the window and assemble one artifact"
    );
    describe_histogram!(
        ALERT_TO_ARTIFACT,
        Unit::Seconds,
        "from the alert's fired_at to its stored artifact"
    );
    describe_gauge!(
        CONSUMER_LAG,
        Unit::Count,
        "alert records not yet acknowledged by this assembler"
    );
    describe_counter!(SHARE_VIEWS, Unit::Count, "share link reads");
    describe_counter!(
        NOTICES_POSTED,
        Unit::Count,
        "slack artifact notices, by outcome (posted, failed)"
    );
    describe_counter!(
        ARTIFACTS_EXPIRED,
        Unit::Count,
        "artifacts deleted at the end of their tenant's retention"
    );
    describe_counter!(
        TOPOLOGY_SLOTS,
        Unit::Count,
        "topology slot roll-ups, by outcome (written, cut, failed)"
    );
    describe_counter!(SHARES_REVOKED, Unit::Count, "share links revoked by their tenant");
    describe_gauge!(
        WINDOW_LAG,
        Unit::Count,
        "ce records not yet in the window when the last alert's settle wait ended"
    );
    describe_counter!(
        WINDOW_BEHIND,
        Unit::Count,
        "alerts assembled from a window that had not caught up within max_settle_ms"
    );
    // Exported at zero from startup (the exporter renders only touched metrics),
    // so alert rules on failures see a series before the first one.
    metrics::counter!(ALERTS_CONSUMED).increment(0);
    for reason in FAILURE_REASONS {
        metrics::counter!(ASSEMBLY_FAILURES, "reason" => reason).increment(0);
    }
    metrics::counter!(WINDOW_BEHIND).increment(0);
    for outcome in TOPOLOGY_OUTCOMES {
        metrics::counter!(TOPOLOGY_SLOTS, "outcome" => outcome).increment(0);
    }
    metrics::gauge!(WINDOW_LAG).set(0.0);
}
