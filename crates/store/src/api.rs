//! The store traits and their data types.

use std::sync::Arc;

use async_trait::async_trait;
use causeway_model::{CausalEvent, CeId, EncodedEvents, TraceId};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Retryable: the store cannot be reached or is overloaded now.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// An immutable record exists with different content.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Not retryable: corruption, misconfiguration.
    #[error("store failure: {0}")]
    Fatal(String),
}

/// An SDK service notice (`POST /api/v1/services/events`), e.g. `pre_arm_start`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceNotice {
    pub tenant_id: String,
    pub service: String,
    /// `pre_arm_start`, `pre_arm_end`, …
    pub event: String,
    pub received_at_unix_ns: u64,
    /// The notice's `metadata` object, as JSON text (kept verbatim).
    pub metadata_json: String,
}

/// A non-success event as the failure index holds it: enough to find its
/// trace without reading the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRef {
    pub trace_id: TraceId,
    pub ce_id: CeId,
    pub service: String,
    pub start_unix_ns: u64,
    /// Completion time (start + duration): the order of first breaks.
    pub end_unix_ns: u64,
}

/// One service's activity over whole seconds of the window, counted from
/// every event stored, not from a sample.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceActivity {
    pub service: String,
    pub events: u64,
    pub non_success: u64,
    /// Completion time of the earliest non-success event counted.
    pub first_failure_end_unix_ns: Option<u64>,
}

/// An outbound step (a call, a publish, a webhook) as the peer index holds
/// it: the caller's side of one call, enough for caller-side figures and to
/// find the calling trace without reading the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerCall {
    pub trace_id: TraceId,
    pub ce_id: CeId,
    pub start_unix_ns: u64,
    pub duration_ns: u64,
    pub non_success: bool,
}

/// How far a windower has written one partition of the CE topic: every
/// record below `next_offset` is in the window (or dead-lettered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartitionProgress {
    pub partition: u32,
    pub next_offset: u64,
}

/// The pre-alert window: events kept until they expire.
///
/// Events are identified by `(tenant_id, trace_id, ce_id)`: OTLP span ids
/// are only unique within their trace, so two traces may reuse one.
#[async_trait]
pub trait WindowStore: Send + Sync + 'static {
    /// Writes events (all of one tenant or several) that expire at
    /// `expires_at_unix_ns`. Idempotent by `(tenant_id, trace_id, ce_id)`:
    /// writing an event again keeps one copy. Returns once durable.
    async fn put_events(&self, events: &[CausalEvent], expires_at_unix_ns: u64) -> Result<(), StoreError>;

    /// [`WindowStore::put_events`] for events as the bus records hold them
    /// (the windower's path). A store that keeps events encoded stores
    /// each message as it is; the others decode them and put those.
    async fn put_encoded_events(&self, events: Arc<EncodedEvents>, expires_at_unix_ns: u64) -> Result<(), StoreError> {
        self.put_events(&events.to_events(), expires_at_unix_ns).await
    }

    /// Stored events of one trace, ordered by `ce_id`, at most `limit`
    /// (callers ask for one more than they keep to learn of a cut).
    async fn trace_events(
        &self,
        tenant_id: &str,
        trace_id: TraceId,
        limit: usize,
    ) -> Result<Vec<CausalEvent>, StoreError>;

    /// Ids of traces with at least one event of `service` starting in
    /// `[from_unix_ns, to_unix_ns]`, ascending, at most `limit`.
    async fn service_traces(
        &self,
        tenant_id: &str,
        service: &str,
        from_unix_ns: u64,
        to_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<TraceId>, StoreError>;

    /// Non-success events of a tenant (any service) completing in
    /// `[from_end_unix_ns, to_end_unix_ns]`, ordered by
    /// `(end_unix_ns, trace_id, ce_id)`, at most `limit`.
    async fn failures(
        &self,
        tenant_id: &str,
        from_end_unix_ns: u64,
        to_end_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<FailureRef>, StoreError>;

    /// Per service (ordered by name), the events of a tenant that started in
    /// the whole seconds `[from_second, to_second]` (unix seconds, inclusive).
    async fn service_activity(
        &self,
        tenant_id: &str,
        from_second: u64,
        to_second: u64,
    ) -> Result<Vec<ServiceActivity>, StoreError>;

    /// The `limit` events of a tenant starting in `[from_unix_ns,
    /// to_unix_ns]` that started latest (nearest the alert), returned
    /// ordered by start time then `ce_id`.
    async fn window_events(
        &self,
        tenant_id: &str,
        from_unix_ns: u64,
        to_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<CausalEvent>, StoreError>;

    /// The `limit` outbound steps of a tenant naming `peer` (`""`: naming
    /// none) that started in `[from_unix_ns, to_unix_ns]` latest (nearest
    /// the alert), returned ordered by `(start_unix_ns, trace_id, ce_id)`.
    /// Read from an index of outbound steps by peer, not from the events.
    async fn peer_calls(
        &self,
        tenant_id: &str,
        peer: &str,
        from_unix_ns: u64,
        to_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<PeerCall>, StoreError>;

    /// Stores an SDK notice with the same expiry rule as events.
    async fn put_notice(&self, notice: &ServiceNotice, expires_at_unix_ns: u64) -> Result<(), StoreError>;

    /// Notices of a tenant received in `[from_unix_ns, to_unix_ns]`, in order.
    async fn notices(
        &self,
        tenant_id: &str,
        from_unix_ns: u64,
        to_unix_ns: u64,
    ) -> Result<Vec<ServiceNotice>, StoreError>;

    /// Records how far the window has been written for partitions of
    /// `topic`; per partition the highest `next_offset` ever recorded wins,
    /// so a late or replayed write never moves it back.
    async fn put_progress(&self, topic: &str, progress: &[PartitionProgress]) -> Result<(), StoreError>;

    /// Every partition of `topic` with recorded progress, by partition.
    async fn progress(&self, topic: &str) -> Result<Vec<PartitionProgress>, StoreError>;

    /// Drops what expired at or before `now_unix_ns` without scanning what
    /// has not; returns how many events were removed.
    async fn expire(&self, now_unix_ns: u64) -> Result<u64, StoreError>;

    /// Whether the backend serves now, for `/ready`: one cheap read, bounded
    /// in time (the window, artifact and topology stores of one backend
    /// share it).
    async fn ready(&self) -> bool;
}

/// An assembled, immutable artifact as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredArtifact {
    pub artifact_id: String,
    pub tenant_id: String,
    pub alert_id: String,
    pub service: String,
    pub created_at_unix_ns: u64,
    /// `sha256:<hex>` over `canonical_json`.
    pub digest: String,
    /// ≥128 random bits, URL-safe; the only key of the no-auth share link.
    pub share_token: String,
    pub canonical_json: Vec<u8>,
    /// When the artifact and its share link expire: creation plus the
    /// tenant plan's retention. `None` keeps it until deleted otherwise.
    /// [`ArtifactStore::expire_artifacts`] deletes it after this time; until
    /// that pass runs, readers compare with their own clock.
    #[serde(default)]
    pub expires_at_unix_ns: Option<u64>,
}

/// Why a share token no longer serves its artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShareEnd {
    /// The artifact reached its `expires_at_unix_ns` and was deleted.
    Expired,
    /// The tenant revoked the link ([`ArtifactStore::revoke_share`]).
    Revoked,
}

/// A share token that served an artifact once and no longer does. Kept
/// after the artifact is gone (a few dozen bytes per token) so the link
/// answers "gone" rather than "never existed".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndedShare {
    pub tenant_id: String,
    pub artifact_id: String,
    pub reason: ShareEnd,
    pub at_unix_ns: u64,
}

/// A listing row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactSummary {
    pub artifact_id: String,
    pub alert_id: String,
    pub service: String,
    pub created_at_unix_ns: u64,
    pub digest: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertPhase {
    Pending,
    Assembled,
    Failed,
}

/// What `GET /api/v1/alerts/{id}` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertState {
    pub alert_id: String,
    pub tenant_id: String,
    pub state: AlertPhase,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub updated_at_unix_ns: u64,
}

/// Who holds an alert dedup key: the first alert with `(tenant_id,
/// dedup_key)` until `expires_at_unix_ns`. Repeats within that time are the
/// same alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DedupClaim {
    pub tenant_id: String,
    pub dedup_key: String,
    pub alert_id: String,
    pub expires_at_unix_ns: u64,
}

#[async_trait]
pub trait ArtifactStore: Send + Sync + 'static {
    /// Stores an artifact once. Storing the same id again with the same
    /// digest succeeds (idempotent); with another digest is `Conflict`.
    async fn put_artifact(&self, artifact: &StoredArtifact) -> Result<(), StoreError>;

    /// Tenant-scoped: another tenant's artifact is `None`.
    async fn get_artifact(&self, tenant_id: &str, artifact_id: &str) -> Result<Option<StoredArtifact>, StoreError>;

    /// The artifact a live token shares. A revoked token is `None` at
    /// once; an expired artifact is `None` once the expiry pass deleted it
    /// (before that it is returned with its past `expires_at_unix_ns`).
    async fn get_by_share_token(&self, token: &str) -> Result<Option<StoredArtifact>, StoreError>;

    /// Revokes the artifact's share link: the token stops resolving and
    /// [`ArtifactStore::ended_share`] reports it revoked at `at_unix_ns`.
    /// The artifact itself stays readable by id. Tenant-scoped: `false`
    /// when the tenant has no such artifact. Revoking again is `true` and
    /// keeps the first revocation's time.
    async fn revoke_share(&self, tenant_id: &str, artifact_id: &str, at_unix_ns: u64) -> Result<bool, StoreError>;

    /// Why a token no longer resolves (revoked, or its artifact expired);
    /// `None` for a live token or one never issued.
    async fn ended_share(&self, token: &str) -> Result<Option<EndedShare>, StoreError>;

    /// Deletes every artifact whose `expires_at_unix_ns` is at or before
    /// `now_unix_ns` (row, listing row and token, whose end is recorded as
    /// expired unless it was revoked before), without scanning what has not
    /// expired; returns how many artifacts were deleted. Alert states stay.
    async fn expire_artifacts(&self, now_unix_ns: u64) -> Result<u64, StoreError>;

    /// Newest first; `service` filters when given.
    async fn list_artifacts(
        &self,
        tenant_id: &str,
        service: Option<&str>,
        since_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<ArtifactSummary>, StoreError>;

    /// Upserts an alert's state.
    async fn put_alert_state(&self, state: &AlertState) -> Result<(), StoreError>;

    /// Tenant-scoped.
    async fn get_alert_state(&self, tenant_id: &str, alert_id: &str) -> Result<Option<AlertState>, StoreError>;

    /// Atomic insert-if-absent of an alert dedup key: stores `claim` unless
    /// an unexpired claim (expiry after `now_unix_ns`) holds the key, and
    /// returns the claim that holds it afterwards. Concurrent callers with
    /// the same key all get the one winner.
    async fn claim_alert_dedup(&self, claim: &DedupClaim, now_unix_ns: u64) -> Result<DedupClaim, StoreError>;

    /// Drops the claim on `(tenant_id, dedup_key)` if `alert_id` holds it
    /// (an alert that was not accepted after all); another holder is kept.
    async fn release_alert_dedup(&self, tenant_id: &str, dedup_key: &str, alert_id: &str) -> Result<(), StoreError>;
}

/// Caller-side aggregate of one outbound edge over time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeDelta {
    pub caller: String,
    /// The peer the caller named (host or service).
    pub peer: String,
    pub calls: u64,
    /// Calls whose callee reported an event (propagation worked).
    pub answered: u64,
    pub errors: u64,
}

/// How long topology slots are kept: past the longest scorecard range (7 d)
/// with a day to spare.
pub const TOPOLOGY_RETENTION_S: u64 = 8 * 24 * 3_600;

/// Edges summed over the topology slots of a time range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopologyRange {
    /// Per `(caller, peer)`, ordered by `(caller, peer)`: the sums over the
    /// slots read.
    pub edges: Vec<EdgeDelta>,
    /// How many slots (with at least one edge) were summed.
    pub slots: usize,
    /// Start of the oldest and of the newest slot summed.
    pub oldest_slot_s: Option<u64>,
    pub newest_slot_s: Option<u64>,
    /// Whether more slots were in range than the limit: the newest ones
    /// were summed, the oldest left out.
    pub truncated: bool,
}

#[async_trait]
pub trait TopologyStore: Send + Sync + 'static {
    /// Adds `count` CEs to a tenant's usage for `month` (`yyyymm`) and
    /// returns the new total.
    async fn add_usage(&self, tenant_id: &str, month: u32, count: u64) -> Result<u64, StoreError>;

    async fn usage(&self, tenant_id: &str, month: u32) -> Result<u64, StoreError>;

    /// Replaces everything stored for the tenant's slot starting at
    /// `slot_start_s` (unix seconds) with `edges`: a put, not an add, so a
    /// slot rolled up again (late events, redelivery, two assemblers) is
    /// never counted twice. Empty `edges` leaves the slot empty. A slot
    /// already older than [`TOPOLOGY_RETENTION_S`] may be dropped at once.
    async fn put_topology_slot(
        &self,
        tenant_id: &str,
        slot_start_s: u64,
        edges: &[EdgeDelta],
    ) -> Result<(), StoreError>;

    /// Sums `calls`, `answered` and `errors` per `(caller, peer)` over the
    /// tenant's slots starting in `[from_s, to_s]`, reading at most
    /// `limit_slots` slots (the newest; a cut is reported).
    async fn topology(
        &self,
        tenant_id: &str,
        from_s: u64,
        to_s: u64,
        limit_slots: usize,
    ) -> Result<TopologyRange, StoreError>;

    /// Drops every slot that started more than [`TOPOLOGY_RETENTION_S`]
    /// before `now_s`; returns how many slots were removed. (A store whose
    /// rows expire by themselves may remove them without this call.)
    async fn expire_topology(&self, now_s: u64) -> Result<u64, StoreError>;
}
