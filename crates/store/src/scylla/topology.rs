//! Usage and topology edges on the ScyllaDB store.
//!
//! Usage is a compare-and-set loop (lightweight transactions): the gateway
//! meters quota from the total an add returns, and that total must include
//! every earlier add from every gateway, which a counter column cannot
//! answer (its increment returns nothing and a read after it may include
//! later adds). Gateways add in batches, so this is a few statements per
//! second per tenant.
//!
//! A topology slot is one row holding the slot's edges: the roll-up's
//! insert replaces the whole slot, which counters could not (an add twice
//! is counted twice). Rows carry a TTL that ends eight days after the slot
//! started, so no expiry pass is needed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use super::ScyllaStore;
use super::exec::{big, unbig};
use crate::api::{EdgeDelta, StoreError, TOPOLOGY_RETENTION_S, TopologyRange, TopologyStore};
use crate::topology_sum::sum_slots;

/// Compare-and-set attempts before an add reports the store unavailable.
const CAS_ATTEMPTS: u32 = 64;

fn month_key(month: u32) -> i32 {
    i32::try_from(month).unwrap_or(i32::MAX)
}

/// One edge as stored: `(caller, peer, calls, answered, errors)`.
type EdgeTuple = (String, String, i64, i64, i64);

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

/// Seconds a slot has left before its retention ends, `None` when it has
/// ended (or has less than a second left) already.
fn slot_ttl(slot_start_s: u64, now_s: u64) -> Option<i32> {
    let left = slot_start_s.saturating_add(TOPOLOGY_RETENTION_S).checked_sub(now_s)?;
    (left > 0).then(|| i32::try_from(left).unwrap_or(i32::MAX))
}

#[async_trait]
impl TopologyStore for ScyllaStore {
    async fn add_usage(&self, tenant_id: &str, month: u32, count: u64) -> Result<u64, StoreError> {
        let st = &self.inner.statements;
        let month = month_key(month);
        let _local = self.inner.usage_lock.lock().await;
        for attempt in 0..CAS_ATTEMPTS {
            let current: Option<(Option<i64>,)> =
                self.first_row("usage_read", &st.usage_read, (tenant_id, month)).await?;
            let applied = match current {
                None => {
                    let total = big(count);
                    self.applied("usage_insert", &st.usage_insert, (tenant_id, month, total))
                        .await?
                        .then_some(total)
                }
                Some((current,)) => {
                    let total = current.unwrap_or(0).saturating_add(big(count));
                    self.applied("usage_cas", &st.usage_cas, (total, tenant_id, month, current))
                        .await?
                        .then_some(total)
                }
            };
            if let Some(total) = applied {
                return Ok(unbig(total));
            }
            // Another gateway won this round: back off a little, growing.
            tokio::time::sleep(Duration::from_millis(u64::from(attempt.min(20)) * 5)).await;
        }
        Err(StoreError::Unavailable(format!(
            "usage of tenant {tenant_id} is contended: {CAS_ATTEMPTS} compare-and-set attempts lost"
        )))
    }

    async fn usage(&self, tenant_id: &str, month: u32) -> Result<u64, StoreError> {
        let row: Option<(Option<i64>,)> = self
            .first_row(
                "usage_read",
                &self.inner.statements.usage_read,
                (tenant_id, month_key(month)),
            )
            .await?;
        Ok(row.and_then(|(total,)| total).map(unbig).unwrap_or(0))
    }

    async fn put_topology_slot(
        &self,
        tenant_id: &str,
        slot_start_s: u64,
        edges: &[EdgeDelta],
    ) -> Result<(), StoreError> {
        let Some(ttl) = slot_ttl(slot_start_s, now_s()) else {
            // Past retention: stored, it would expire at once.
            return Ok(());
        };
        let edges: Vec<EdgeTuple> = edges
            .iter()
            .map(|e| {
                (
                    e.caller.clone(),
                    e.peer.clone(),
                    big(e.calls),
                    big(e.answered),
                    big(e.errors),
                )
            })
            .collect();
        self.run(
            "topology_put",
            &self.inner.statements.topology_put,
            (tenant_id, big(slot_start_s), edges, ttl),
        )
        .await?;
        Ok(())
    }

    async fn topology(
        &self,
        tenant_id: &str,
        from_s: u64,
        to_s: u64,
        limit_slots: usize,
    ) -> Result<TopologyRange, StoreError> {
        if from_s > to_s {
            return Ok(TopologyRange::default());
        }
        // One more than the limit tells of a cut; clustering order is newest first.
        let limit = i32::try_from(limit_slots.saturating_add(1)).unwrap_or(i32::MAX);
        let rows: Vec<(i64, Option<Vec<EdgeTuple>>)> = self
            .rows(
                "topology_slice",
                &self.inner.statements.topology_slice,
                (tenant_id, big(from_s), big(to_s), limit),
            )
            .await?;
        let slots = rows.into_iter().map(|(start, edges)| {
            let edges = edges
                .unwrap_or_default()
                .into_iter()
                .map(|(caller, peer, calls, answered, errors)| EdgeDelta {
                    caller,
                    peer,
                    calls: unbig(calls),
                    answered: unbig(answered),
                    errors: unbig(errors),
                })
                .collect();
            (unbig(start), edges)
        });
        Ok(sum_slots(slots, limit_slots, false))
    }

    async fn expire_topology(&self, _now_s: u64) -> Result<u64, StoreError> {
        // Slot rows expire by their TTL.
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_ttl_ends_eight_days_after_the_slot() {
        assert_eq!(slot_ttl(1_000, 1_000), Some(8 * 86_400));
        assert_eq!(slot_ttl(1_000, 1_000 + 8 * 86_400 - 1), Some(1));
        assert_eq!(slot_ttl(1_000, 1_000 + 8 * 86_400), None);
        assert_eq!(slot_ttl(0, 9 * 86_400), None);
    }
}
