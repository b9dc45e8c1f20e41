//! Every statement of the store, prepared once per process.

use scylla::client::session::Session;
use scylla::statement::Consistency;
use scylla::statement::prepared::PreparedStatement;

use super::ScyllaConfig;
use crate::api::StoreError;

/// Whether running a statement twice leaves the same state: the driver
/// retries (and speculates) only idempotent ones.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Retry {
    Idempotent,
    Once,
}

pub(crate) struct Statements {
    // Window.
    pub put_trace: PreparedStatement,
    pub put_time: PreparedStatement,
    pub put_service: PreparedStatement,
    pub put_time_bucket: PreparedStatement,
    pub put_expiry_bucket: PreparedStatement,
    pub put_event_expiry: PreparedStatement,
    pub trace_events: PreparedStatement,
    pub event_expiry_check: PreparedStatement,
    pub put_peer_call: PreparedStatement,
    pub peer_call_slice: PreparedStatement,
    pub delete_peer_call: PreparedStatement,
    pub time_buckets: PreparedStatement,
    pub window_slice: PreparedStatement,
    pub service_slice: PreparedStatement,
    pub activity_slice: PreparedStatement,
    pub put_failure: PreparedStatement,
    pub failure_slice: PreparedStatement,
    pub delete_failure: PreparedStatement,
    pub put_progress: PreparedStatement,
    pub progress: PreparedStatement,
    pub put_notice: PreparedStatement,
    pub put_notice_expiry: PreparedStatement,
    pub notice_slice: PreparedStatement,
    pub expiry_buckets: PreparedStatement,
    pub event_expiry_due: PreparedStatement,
    pub notice_expiry_due: PreparedStatement,
    pub delete_trace_row: PreparedStatement,
    pub delete_time_row: PreparedStatement,
    pub delete_service_row: PreparedStatement,
    pub delete_event_expiry: PreparedStatement,
    pub delete_notice: PreparedStatement,
    pub delete_notice_expiry: PreparedStatement,
    pub delete_expiry_bucket: PreparedStatement,
    // Artifacts and alert states.
    pub insert_artifact: PreparedStatement,
    pub artifact_digest: PreparedStatement,
    pub get_artifact: PreparedStatement,
    pub insert_token: PreparedStatement,
    pub token_owner: PreparedStatement,
    pub insert_listing: PreparedStatement,
    pub list_artifacts: PreparedStatement,
    pub put_alert_state: PreparedStatement,
    pub get_alert_state: PreparedStatement,
    pub put_artifact_expiry: PreparedStatement,
    pub artifact_expiry_due: PreparedStatement,
    pub delete_artifact_expiry: PreparedStatement,
    pub delete_artifact: PreparedStatement,
    pub delete_token: PreparedStatement,
    pub delete_listing: PreparedStatement,
    pub insert_share_end: PreparedStatement,
    pub get_share_end: PreparedStatement,
    pub dedup_insert: PreparedStatement,
    pub dedup_read: PreparedStatement,
    pub dedup_take_over: PreparedStatement,
    pub dedup_release: PreparedStatement,
    // Usage and topology.
    pub usage_read: PreparedStatement,
    pub usage_insert: PreparedStatement,
    pub usage_cas: PreparedStatement,
    pub topology_put: PreparedStatement,
    pub topology_slice: PreparedStatement,
}

async fn prepare(session: &Session, cql: String, retry: Retry) -> Result<PreparedStatement, StoreError> {
    let mut statement = session
        .prepare(cql.as_str())
        .await
        .map_err(|err| StoreError::Fatal(format!("preparing `{cql}`: {err}")))?;
    statement.set_is_idempotent(retry == Retry::Idempotent);
    Ok(statement)
}

impl Statements {
    pub(crate) async fn prepare(session: &Session, config: &ScyllaConfig) -> Result<Self, StoreError> {
        use Retry::{Idempotent, Once};
        let ks = &config.keyspace;
        let p = |cql: String, retry| prepare(session, cql, retry);
        // Reads that must see a compare-and-set's outcome go through Paxos.
        let serial = |mut statement: PreparedStatement| {
            statement.set_consistency(Consistency::LocalSerial);
            statement
        };
        Ok(Self {
            put_trace: p(format!("INSERT INTO {ks}.events_by_trace (tenant_id, trace_id, ce_id, service, start_unix_ns, expires_at, event) VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?"), Idempotent).await?,
            put_time: p(format!("INSERT INTO {ks}.events_by_time (tenant_id, bucket, start_unix_ns, ce_id, trace_id, service, non_success, end_unix_ns, event) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?"), Idempotent).await?,
            put_service: p(format!("INSERT INTO {ks}.events_by_service (tenant_id, service, bucket, start_unix_ns, trace_id, ce_id) VALUES (?, ?, ?, ?, ?, ?) USING TTL ?"), Idempotent).await?,
            put_time_bucket: p(format!("INSERT INTO {ks}.time_buckets (tenant_id, kind, bucket) VALUES (?, ?, ?) USING TTL ?"), Idempotent).await?,
            put_expiry_bucket: p(format!("INSERT INTO {ks}.expiry_buckets (kind, bucket) VALUES (?, ?) USING TTL ?"), Idempotent).await?,
            put_event_expiry: p(format!("INSERT INTO {ks}.event_expiry (bucket, expires_at, tenant_id, trace_id, ce_id, service, start_unix_ns, failure_end_unix_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?"), Idempotent).await?,
            trace_events: p(format!("SELECT event FROM {ks}.events_by_trace WHERE tenant_id = ? AND trace_id = ? LIMIT ?"), Idempotent).await?,
            event_expiry_check: p(format!("SELECT expires_at, event FROM {ks}.events_by_trace WHERE tenant_id = ? AND trace_id = ? AND ce_id = ?"), Idempotent).await?,
            put_peer_call: p(format!("INSERT INTO {ks}.events_by_peer (tenant_id, peer, bucket, start_unix_ns, trace_id, ce_id, duration_ns, non_success) VALUES (?, ?, ?, ?, ?, ?, ?, ?) USING TTL ?"), Idempotent).await?,
            peer_call_slice: p(format!("SELECT start_unix_ns, trace_id, ce_id, duration_ns, non_success FROM {ks}.events_by_peer WHERE tenant_id = ? AND peer = ? AND bucket = ? AND start_unix_ns >= ? AND start_unix_ns <= ? ORDER BY start_unix_ns DESC, trace_id DESC, ce_id DESC LIMIT ?"), Idempotent).await?,
            delete_peer_call: p(format!("DELETE FROM {ks}.events_by_peer WHERE tenant_id = ? AND peer = ? AND bucket = ? AND start_unix_ns = ? AND trace_id = ? AND ce_id = ?"), Idempotent).await?,
            time_buckets: p(format!("SELECT bucket FROM {ks}.time_buckets WHERE tenant_id = ? AND kind = ? AND bucket >= ? AND bucket <= ?"), Idempotent).await?,
            window_slice: p(format!("SELECT event FROM {ks}.events_by_time WHERE tenant_id = ? AND bucket = ? AND start_unix_ns >= ? AND start_unix_ns <= ? ORDER BY start_unix_ns DESC, ce_id DESC, trace_id DESC LIMIT ?"), Idempotent).await?,
            service_slice: p(format!("SELECT trace_id FROM {ks}.events_by_service WHERE tenant_id = ? AND service = ? AND bucket = ? AND start_unix_ns >= ? AND start_unix_ns <= ?"), Idempotent).await?,
            activity_slice: p(format!("SELECT service, non_success, end_unix_ns FROM {ks}.events_by_time WHERE tenant_id = ? AND bucket = ? AND start_unix_ns >= ? AND start_unix_ns <= ?"), Idempotent).await?,
            put_failure: p(format!("INSERT INTO {ks}.failures_by_time (tenant_id, bucket, end_unix_ns, trace_id, ce_id, service, start_unix_ns) VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ?"), Idempotent).await?,
            failure_slice: p(format!("SELECT end_unix_ns, trace_id, ce_id, service, start_unix_ns FROM {ks}.failures_by_time WHERE tenant_id = ? AND bucket = ? AND end_unix_ns >= ? AND end_unix_ns <= ? LIMIT ?"), Idempotent).await?,
            delete_failure: p(format!("DELETE FROM {ks}.failures_by_time WHERE tenant_id = ? AND bucket = ? AND end_unix_ns = ? AND trace_id = ? AND ce_id = ?"), Idempotent).await?,
            put_progress: p(format!("INSERT INTO {ks}.progress (topic, partition, next_offset) VALUES (?, ?, ?) USING TIMESTAMP ?"), Idempotent).await?,
            progress: p(format!("SELECT partition, next_offset FROM {ks}.progress WHERE topic = ?"), Idempotent).await?,
            put_notice: p(format!("INSERT INTO {ks}.notices (tenant_id, bucket, received_at_unix_ns, hash, notice) VALUES (?, ?, ?, ?, ?) USING TTL ?"), Idempotent).await?,
            put_notice_expiry: p(format!("INSERT INTO {ks}.notice_expiry (bucket, expires_at, tenant_id, received_at_unix_ns, hash) VALUES (?, ?, ?, ?, ?) USING TTL ?"), Idempotent).await?,
            notice_slice: p(format!("SELECT notice FROM {ks}.notices WHERE tenant_id = ? AND bucket = ? AND received_at_unix_ns >= ? AND received_at_unix_ns <= ?"), Idempotent).await?,
            expiry_buckets: p(format!("SELECT bucket FROM {ks}.expiry_buckets WHERE kind = ? AND bucket <= ?"), Idempotent).await?,
            event_expiry_due: p(format!("SELECT expires_at, tenant_id, trace_id, ce_id, service, start_unix_ns, failure_end_unix_ns FROM {ks}.event_expiry WHERE bucket = ? AND expires_at <= ?"), Idempotent).await?,
            notice_expiry_due: p(format!("SELECT expires_at, tenant_id, received_at_unix_ns, hash FROM {ks}.notice_expiry WHERE bucket = ? AND expires_at <= ?"), Idempotent).await?,
            delete_trace_row: p(format!("DELETE FROM {ks}.events_by_trace WHERE tenant_id = ? AND trace_id = ? AND ce_id = ?"), Idempotent).await?,
            delete_time_row: p(format!("DELETE FROM {ks}.events_by_time WHERE tenant_id = ? AND bucket = ? AND start_unix_ns = ? AND ce_id = ? AND trace_id = ?"), Idempotent).await?,
            delete_service_row: p(format!("DELETE FROM {ks}.events_by_service WHERE tenant_id = ? AND service = ? AND bucket = ? AND start_unix_ns = ? AND trace_id = ? AND ce_id = ?"), Idempotent).await?,
            delete_event_expiry: p(format!("DELETE FROM {ks}.event_expiry WHERE bucket = ? AND expires_at = ? AND tenant_id = ? AND trace_id = ? AND ce_id = ?"), Idempotent).await?,
            delete_notice: p(format!("DELETE FROM {ks}.notices WHERE tenant_id = ? AND bucket = ? AND received_at_unix_ns = ? AND hash = ?"), Idempotent).await?,
            delete_notice_expiry: p(format!("DELETE FROM {ks}.notice_expiry WHERE bucket = ? AND expires_at = ? AND tenant_id = ? AND received_at_unix_ns = ? AND hash = ?"), Idempotent).await?,
            delete_expiry_bucket: p(format!("DELETE FROM {ks}.expiry_buckets WHERE kind = ? AND bucket = ?"), Idempotent).await?,
            insert_artifact: p(format!("INSERT INTO {ks}.artifacts (tenant_id, artifact_id, alert_id, service, created_at_unix_ns, digest, share_token, canonical_json, expires_at_unix_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS USING TTL ?"), Once).await?,
            artifact_digest: serial(p(format!("SELECT digest FROM {ks}.artifacts WHERE tenant_id = ? AND artifact_id = ?"), Idempotent).await?),
            get_artifact: p(format!("SELECT alert_id, service, created_at_unix_ns, digest, share_token, canonical_json, expires_at_unix_ns FROM {ks}.artifacts WHERE tenant_id = ? AND artifact_id = ?"), Idempotent).await?,
            insert_token: p(format!("INSERT INTO {ks}.share_tokens (share_token, tenant_id, artifact_id) VALUES (?, ?, ?) IF NOT EXISTS USING TTL ?"), Once).await?,
            token_owner: serial(p(format!("SELECT tenant_id, artifact_id FROM {ks}.share_tokens WHERE share_token = ?"), Idempotent).await?),
            insert_listing: p(format!("INSERT INTO {ks}.artifact_listing (tenant_id, created_at_unix_ns, artifact_id, alert_id, service, digest) VALUES (?, ?, ?, ?, ?, ?) USING TTL ?"), Idempotent).await?,
            list_artifacts: p(format!("SELECT artifact_id, alert_id, service, created_at_unix_ns, digest FROM {ks}.artifact_listing WHERE tenant_id = ? AND created_at_unix_ns >= ?"), Idempotent).await?,
            put_alert_state: p(format!("INSERT INTO {ks}.alert_states (tenant_id, alert_id, state) VALUES (?, ?, ?)"), Idempotent).await?,
            get_alert_state: p(format!("SELECT state FROM {ks}.alert_states WHERE tenant_id = ? AND alert_id = ?"), Idempotent).await?,
            put_artifact_expiry: p(format!("INSERT INTO {ks}.artifact_expiry (bucket, expires_at, tenant_id, artifact_id) VALUES (?, ?, ?, ?) USING TTL ?"), Idempotent).await?,
            artifact_expiry_due: p(format!("SELECT expires_at, tenant_id, artifact_id FROM {ks}.artifact_expiry WHERE bucket = ? AND expires_at <= ?"), Idempotent).await?,
            delete_artifact_expiry: p(format!("DELETE FROM {ks}.artifact_expiry WHERE bucket = ? AND expires_at = ? AND tenant_id = ? AND artifact_id = ?"), Idempotent).await?,
            delete_artifact: p(format!("DELETE FROM {ks}.artifacts WHERE tenant_id = ? AND artifact_id = ?"), Idempotent).await?,
            delete_token: p(format!("DELETE FROM {ks}.share_tokens WHERE share_token = ?"), Idempotent).await?,
            delete_listing: p(format!("DELETE FROM {ks}.artifact_listing WHERE tenant_id = ? AND created_at_unix_ns = ? AND artifact_id = ?"), Idempotent).await?,
            insert_share_end: p(format!("INSERT INTO {ks}.share_ends (share_token, tenant_id, artifact_id, reason, at_unix_ns) VALUES (?, ?, ?, ?, ?) IF NOT EXISTS"), Once).await?,
            get_share_end: serial(p(format!("SELECT tenant_id, artifact_id, reason, at_unix_ns FROM {ks}.share_ends WHERE share_token = ?"), Idempotent).await?),
            dedup_insert: p(format!("INSERT INTO {ks}.alert_dedup (tenant_id, dedup_key, alert_id, expires_at) VALUES (?, ?, ?, ?) IF NOT EXISTS USING TTL ?"), Once).await?,
            dedup_read: serial(p(format!("SELECT alert_id, expires_at FROM {ks}.alert_dedup WHERE tenant_id = ? AND dedup_key = ?"), Idempotent).await?),
            dedup_take_over: p(format!("UPDATE {ks}.alert_dedup USING TTL ? SET alert_id = ?, expires_at = ? WHERE tenant_id = ? AND dedup_key = ? IF alert_id = ? AND expires_at = ?"), Once).await?,
            dedup_release: p(format!("DELETE FROM {ks}.alert_dedup WHERE tenant_id = ? AND dedup_key = ? IF alert_id = ?"), Once).await?,
            usage_read: serial(p(format!("SELECT total FROM {ks}.usage WHERE tenant_id = ? AND month = ?"), Idempotent).await?),
            usage_insert: p(format!("INSERT INTO {ks}.usage (tenant_id, month, total) VALUES (?, ?, ?) IF NOT EXISTS"), Once).await?,
            usage_cas: p(format!("UPDATE {ks}.usage SET total = ? WHERE tenant_id = ? AND month = ? IF total = ?"), Once).await?,
            topology_put: p(format!("INSERT INTO {ks}.topology_slots (tenant_id, slot_start_s, edges) VALUES (?, ?, ?) USING TTL ?"), Idempotent).await?,
            topology_slice: p(format!("SELECT slot_start_s, edges FROM {ks}.topology_slots WHERE tenant_id = ? AND slot_start_s >= ? AND slot_start_s <= ? LIMIT ?"), Idempotent).await?,
        })
    }
}
