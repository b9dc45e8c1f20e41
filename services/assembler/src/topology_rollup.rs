//! The topology roll-up: the window keeps minutes of events, the coverage
//! scorecard reads up to 7 days. Every minute, each tenant's 5-minute slots
//! that ended two to five minutes ago are read from the window, counted into
//! call edges by the scorecard's own rule, and stored whole with
//! `put_topology_slot`. A slot is rolled up three or four times (late events
//! land in the later passes) before its events leave the window; every pass
//! replaces the slot, so passes, restarts and several assemblers never
//! count a call twice.

use std::sync::Arc;
use std::time::Duration;

use causeway_assembly::call_edges;
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::{EdgeDelta, StoreError, TopologyStore, WindowStore};
use tokio_util::sync::CancellationToken;

use crate::clock::now_unix_ns;
use crate::metrics_names::TOPOLOGY_SLOTS;

/// Slot length, and the step of slot starts (unix seconds, aligned).
pub const SLOT_SECONDS: u64 = 300;
const ROLLUP_INTERVAL: Duration = Duration::from_secs(60);
/// A slot is rolled once its end is this old (late SDK flushes are in)…
const SETTLED_S: u64 = 120;
/// …and again until its end is this old (before its events expire).
const LAST_ROLL_S: u64 = 300;
/// Events read past a slot's end: the answer to a call made late in the
/// slot starts after it, and counts only when read.
const ANSWER_MARGIN_S: u64 = 60;
const NS: u64 = 1_000_000_000;

/// Starts of the slots whose end lies in `[now - 5 min, now - 2 min]`.
pub fn due_slots(now_s: u64) -> Vec<u64> {
    let first_end = now_s.saturating_sub(LAST_ROLL_S).div_ceil(SLOT_SECONDS) * SLOT_SECONDS;
    let last_end = now_s.saturating_sub(SETTLED_S);
    (first_end..=last_end)
        .step_by(SLOT_SECONDS as usize)
        .filter(|end| *end >= SLOT_SECONDS)
        .map(|end| end - SLOT_SECONDS)
        .collect()
}

/// The edges of calls that started in the slot, from events read past its end.
pub fn slot_edges(events: &[causeway_model::CausalEvent], slot_start_s: u64) -> Vec<EdgeDelta> {
    let from = slot_start_s.saturating_mul(NS);
    let to = slot_start_s.saturating_add(SLOT_SECONDS).saturating_mul(NS);
    call_edges(events, from, to)
        .into_iter()
        .map(|edge| EdgeDelta {
            caller: edge.caller,
            peer: edge.peer,
            calls: edge.calls,
            answered: edge.answered,
            errors: edge.errors,
        })
        .collect()
}

#[derive(Clone)]
pub struct Rollup {
    pub window: Arc<dyn WindowStore>,
    pub topology: Arc<dyn TopologyStore>,
    pub tenants: Arc<TenantRegistry>,
    pub max_events: usize,
}

impl Rollup {
    pub fn new(config: &crate::config::AssemblerConfig, deps: &crate::consume::AssemblerDeps) -> Self {
        Rollup {
            window: Arc::clone(&deps.window),
            topology: Arc::clone(&deps.topology),
            tenants: Arc::clone(&deps.tenants),
            max_events: config.topology_rollup_max_events,
        }
    }

    /// Rolls one slot of one tenant; returns whether the read was cut.
    async fn roll_slot(&self, tenant_id: &str, slot_start_s: u64) -> Result<bool, StoreError> {
        let from = slot_start_s.saturating_mul(NS);
        let to = slot_start_s
            .saturating_add(SLOT_SECONDS + ANSWER_MARGIN_S)
            .saturating_mul(NS)
            .saturating_sub(1);
        let limit = self.max_events.saturating_add(1);
        let events = self.window.window_events(tenant_id, from, to, limit).await?;
        let cut = events.len() > self.max_events;
        self.topology
            .put_topology_slot(tenant_id, slot_start_s, &slot_edges(&events, slot_start_s))
            .await?;
        Ok(cut)
    }

    /// One pass: every due slot of every tenant, then the expiry of old slots.
    pub async fn pass(&self, now_s: u64) {
        for tenant in self.tenants.tenants() {
            for slot in due_slots(now_s) {
                let outcome = match self.roll_slot(&tenant.id, slot).await {
                    Ok(false) => "written",
                    Ok(true) => {
                        tracing::warn!(
                            tenant = %tenant.id,
                            slot_start_s = slot,
                            max_events = self.max_events,
                            "topology slot rolled up from cut events: calls undercounted"
                        );
                        "cut"
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, tenant = %tenant.id, slot_start_s = slot, "topology roll-up failed");
                        "failed"
                    }
                };
                metrics::counter!(TOPOLOGY_SLOTS, "outcome" => outcome).increment(1);
            }
        }
        match self.topology.expire_topology(now_s).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "expired topology slots deleted"),
            Err(err) => tracing::warn!(error = %err, "topology slot expiry failed"),
        }
    }
}

pub async fn rollup_loop(rollup: Rollup, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(ROLLUP_INTERVAL);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = shutdown.cancelled() => return,
        }
        rollup.pass(now_unix_ns() / NS).await;
    }
}

#[cfg(test)]
mod tests {
    use causeway_model::{CausalEvent, CeId, Kind, TraceId};

    use super::*;

    #[test]
    fn due_slots_end_two_to_five_minutes_ago() {
        // now = 1000: ends in [700, 880]; the slot ending at 900 is not settled.
        assert_eq!(due_slots(1_000), Vec::<u64>::new());
        // now = 1020: ends in [720, 900] -> the slot ending at 900.
        assert_eq!(due_slots(1_020), vec![600]);
        // now = 1200: ends in [900, 1080] -> still the slot ending at 900.
        assert_eq!(due_slots(1_200), vec![600]);
        assert_eq!(due_slots(1_201), Vec::<u64>::new());
        // Passes a minute apart, at any phase, roll each slot three or four
        // times, the first at least two minutes after it ended.
        for phase in 0..60 {
            let passes: Vec<u64> = (0..20)
                .map(|minute| 3_000 + phase + minute * 60)
                .filter(|now| due_slots(*now).contains(&3_000))
                .collect();
            assert!((3..=4).contains(&passes.len()), "phase {phase}: {passes:?}");
            assert!(passes.iter().all(|now| (3_420..=3_600).contains(now)));
        }
        assert!(due_slots(100).is_empty(), "no slot before the epoch");
    }

    fn event(ce: u8, parent: Option<u8>, service: &str, kind: Kind, peer: Option<&str>, start_s: u64) -> CausalEvent {
        CausalEvent {
            tenant_id: "t".into(),
            trace_id: TraceId([ce / 10; 16]),
            ce_id: CeId([ce; 16]),
            parent_ce_id: parent.map(|p| CeId([p; 16])),
            service: service.into(),
            kind,
            status: if service == "api" { 500 } else { 200 },
            start_unix_ns: start_s * NS,
            duration_ns: 1_000,
            operation: None,
            peer: peer.map(str::to_owned),
            environment: None,
        }
    }

    #[test]
    fn slot_edges_count_calls_started_in_the_slot_with_answers_past_it() {
        let events = vec![
            // A call late in the slot, answered just after its end.
            event(1, None, "web", Kind::HttpIn, None, 898),
            event(2, Some(1), "web", Kind::HttpOut, Some("api"), 899),
            event(3, Some(2), "api", Kind::HttpIn, None, 901),
            // A call of the next slot: not this slot's.
            event(11, None, "web", Kind::HttpIn, None, 905),
            event(12, Some(11), "web", Kind::HttpOut, Some("ghost"), 905),
            // An unanswered, failing call inside the slot.
            event(21, None, "api", Kind::HttpIn, None, 700),
            event(22, Some(21), "api", Kind::HttpOut, Some("db"), 701),
        ];
        let edges = slot_edges(&events, 600);
        let got: Vec<(&str, &str, u64, u64, u64)> = edges
            .iter()
            .map(|e| (e.caller.as_str(), e.peer.as_str(), e.calls, e.answered, e.errors))
            .collect();
        assert_eq!(got, vec![("api", "db", 1, 0, 1), ("web", "api", 1, 1, 0)]);
        assert_eq!(slot_edges(&events, 900).len(), 1, "the next slot holds the ghost call");
    }
}
