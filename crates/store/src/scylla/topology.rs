//! Usage and topology edges on the ScyllaDB store.
//!
//! Usage is a compare-and-set loop (lightweight transactions): the gateway
//! meters quota from the total an add returns, and that total must include
//! every earlier add from every gateway, which a counter column cannot
//! answer (its increment returns nothing and a read after it may include
//! later adds). Gateways add in batches, so this is a few statements per
//! second per tenant. Edges are plain counters: they only need summing.

use std::time::Duration;

use async_trait::async_trait;
use scylla::value::Counter;

use super::ScyllaStore;
use super::exec::{big, unbig};
use crate::api::{EdgeDelta, StoreError, TopologyStore};

/// Compare-and-set attempts before an add reports the store unavailable.
const CAS_ATTEMPTS: u32 = 64;

fn month_key(month: u32) -> i32 {
    i32::try_from(month).unwrap_or(i32::MAX)
}

fn counter(value: u64) -> Counter {
    Counter(big(value))
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

    async fn merge_edges(&self, tenant_id: &str, deltas: &[EdgeDelta]) -> Result<(), StoreError> {
        let st = &self.inner.statements;
        let updates = deltas.iter().map(|delta| {
            self.run(
                "edges_add",
                &st.edges_add,
                (
                    counter(delta.calls),
                    counter(delta.answered),
                    counter(delta.errors),
                    tenant_id,
                    &delta.caller,
                    &delta.peer,
                ),
            )
        });
        futures::future::try_join_all(updates).await?;
        Ok(())
    }

    async fn edges(&self, tenant_id: &str) -> Result<Vec<EdgeDelta>, StoreError> {
        type EdgeRow = (String, String, Option<Counter>, Option<Counter>, Option<Counter>);
        let rows: Vec<EdgeRow> = self
            .rows("edges_list", &self.inner.statements.edges_list, (tenant_id,))
            .await?;
        let value = |counter: Option<Counter>| counter.map(|Counter(n)| unbig(n)).unwrap_or(0);
        // Clustering order is byte order of UTF-8, the order of Rust strings.
        Ok(rows
            .into_iter()
            .map(|(caller, peer, calls, answered, errors)| EdgeDelta {
                caller,
                peer,
                calls: value(calls),
                answered: value(answered),
                errors: value(errors),
            })
            .collect())
    }
}
