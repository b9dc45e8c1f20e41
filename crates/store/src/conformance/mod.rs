//! The conformance suite every store implementation passes, written once
//! over the store traits. An implementation supplies a [`StoreHarness`] and
//! instantiates the suite with
//! [`store_conformance_suite!`](crate::store_conformance_suite), which
//! expands to one `#[tokio::test]` per case.

use async_trait::async_trait;
use causeway_model::{CausalEvent, CeId, Kind, TraceId};

use crate::api::StoredArtifact;
use crate::open::Stores;

mod artifacts;
mod encoded_events;
mod peer_calls;
mod shared;
mod topology;
mod window;
mod window_index;

pub use artifacts::*;
pub use encoded_events::*;
pub use peer_calls::*;
pub use shared::*;
pub use topology::*;
pub use window::*;
pub use window_index::*;

/// How the suite reaches one implementation.
#[async_trait]
pub trait StoreHarness: Send + Sync {
    /// Opens the stores over this harness's storage; every call opens the
    /// same storage (after the previous handles were dropped), so it is
    /// also a restart.
    async fn open(&self) -> Stores;
}

fn id16(seed: u64, salt: u8) -> [u8; 16] {
    let mut bytes = [salt; 16];
    bytes[8..].copy_from_slice(&(seed + 1).to_be_bytes());
    bytes
}

pub fn trace(n: u64) -> TraceId {
    TraceId(id16(n, 0x77))
}

/// An event of `tenant` in trace `trace_n`, id `ce_n`, starting at `start`.
pub fn event(tenant: &str, trace_n: u64, ce_n: u64, service: &str, start: u64) -> CausalEvent {
    CausalEvent {
        tenant_id: tenant.to_owned(),
        trace_id: trace(trace_n),
        ce_id: CeId(id16(ce_n, 0x11)),
        parent_ce_id: None,
        service: service.to_owned(),
        kind: Kind::HttpIn,
        status: 200,
        start_unix_ns: start,
        duration_ns: 5,
        operation: Some("GET /x".into()),
        peer: None,
        environment: Some("prod".into()),
    }
}

pub fn artifact(tenant: &str, id: &str, service: &str, created: u64) -> StoredArtifact {
    StoredArtifact {
        artifact_id: id.to_owned(),
        tenant_id: tenant.to_owned(),
        alert_id: format!("alert-{id}"),
        service: service.to_owned(),
        created_at_unix_ns: created,
        digest: format!("sha256:{id}"),
        share_token: format!("token-{tenant}-{id}"),
        canonical_json: format!("{{\"id\":\"{id}\"}}").into_bytes(),
        expires_at_unix_ns: None,
    }
}

/// Expands to one `#[tokio::test]` per conformance case; `$harness` is an
/// expression evaluated afresh for each test, giving a value whose
/// reference is a `&dyn StoreHarness`. With `optional`, the expression gives
/// an `Option` of such a value, and `None` (a backend not reachable here,
/// which the expression reports with a `SKIPPED:` line) ends each test.
#[macro_export]
macro_rules! store_conformance_suite {
    (optional $harness:expr) => {
        $crate::store_conformance_suite!(@list optional $harness);
    };
    (@list $mode:ident $harness:expr) => {
        $crate::store_conformance_suite!(@cases $mode $harness;
            put_events_is_idempotent,
            encoded_events_store_as_put_events_do,
            trace_events_are_ordered_by_ce_id,
            service_traces_range_and_limit,
            window_events_ordered_by_start_then_id,
            expire_removes_exactly_the_expired,
            notices_in_range_and_expiring,
            trace_events_limit_and_span_id_reuse,
            failures_by_completion_time,
            service_activity_counts_every_event_once,
            progress_only_moves_forward,
            artifacts_put_get_conflict_and_share,
            artifacts_list_newest_first_with_filter,
            alert_state_upserts,
            share_revocation_ends_the_token_not_the_artifact,
            artifacts_expire_with_their_tokens,
            alert_dedup_claims_once_until_expiry,
            alert_dedup_concurrent_claims_have_one_winner,
            tenants_are_isolated,
            usage_adds_are_atomic,
            topology_slots_replace_sum_and_expire,
            data_survives_reopen,
            window_indexes_survive_reopen,
            peer_calls_by_peer_range_limit_and_expiry,
            a_healthy_store_is_ready
        );
    };
    (@cases required $harness:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let harness = $harness;
                $crate::conformance::$case(&harness).await;
            }
        )*
    };
    (@cases optional $harness:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(harness) = $harness else {
                    return;
                };
                $crate::conformance::$case(&harness).await;
            }
        )*
    };
    ($harness:expr) => {
        $crate::store_conformance_suite!(@list required $harness);
    };
}
