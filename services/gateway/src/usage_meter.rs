//! Usage metering off the request path: accepted counts add up in memory
//! per (tenant, month) and reach the store every `gateway.usage_flush_ms`,
//! not as a durable store write per request (one per request was ~6% of
//! standalone's CPU: BENCHMARKS.md, "Events stored as they came, progress
//! in a log, usage in batches"). The quota
//! check counts what is still pending, so a quota holds as before within
//! one gateway. A crash loses at most one interval's counts: usage then
//! reads low by that much, never high.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use causeway_store::TopologyStore;
use tokio_util::sync::CancellationToken;

use crate::metrics;

#[derive(Debug, Default)]
pub struct UsageMeter {
    pending: Mutex<BTreeMap<(String, u32), u64>>,
}

impl UsageMeter {
    fn pending_counts(&self) -> MutexGuard<'_, BTreeMap<(String, u32), u64>> {
        // Every change is a single insert or take: a panic elsewhere leaves
        // the counts whole.
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn add(&self, tenant_id: &str, month: u32, count: u64) {
        let mut pending = self.pending_counts();
        let key = (tenant_id.to_owned(), month);
        let entry = pending.entry(key).or_default();
        *entry = entry.saturating_add(count);
    }

    /// Counts accepted but not yet in the store.
    pub fn pending(&self, tenant_id: &str, month: u32) -> u64 {
        self.pending_counts()
            .get(&(tenant_id.to_owned(), month))
            .copied()
            .unwrap_or_default()
    }

    /// Writes every pending count to the store; a count the store refuses
    /// stays pending for the next flush. Returns how many writes failed.
    pub async fn flush(&self, store: &dyn TopologyStore) -> usize {
        let taken = std::mem::take(&mut *self.pending_counts());
        let mut failed = 0;
        for ((tenant_id, month), count) in taken {
            if let Err(err) = store.add_usage(&tenant_id, month, count).await {
                failed += 1;
                metrics::record_usage_write_failure();
                tracing::warn!(tenant = %tenant_id, events = count, error = %err, "usage not metered yet; kept for the next flush");
                self.add(&tenant_id, month, count);
            }
        }
        failed
    }

    /// Flushes every `interval` until `stop`; the caller flushes once more
    /// after the servers have answered their last request.
    pub async fn flush_every(&self, store: &dyn TopologyStore, interval: Duration, stop: CancellationToken) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = stop.cancelled() => return,
            }
            self.flush(store).await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report

    use std::sync::atomic::{AtomicBool, Ordering};

    use async_trait::async_trait;
    use causeway_store::{EdgeDelta, EmbeddedStore, StoreError, TopologyRange};

    use super::*;

    #[tokio::test]
    async fn counts_add_up_until_a_flush_writes_them_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).await.unwrap();
        let meter = UsageMeter::default();
        meter.add("acme", 202612, 3);
        meter.add("acme", 202612, 4);
        meter.add("acme", 202701, 1);
        meter.add("globex", 202612, 9);
        assert_eq!(meter.pending("acme", 202612), 7);
        assert_eq!(store.usage("acme", 202612).await.unwrap(), 0);
        assert_eq!(meter.flush(&store).await, 0);
        assert_eq!(meter.pending("acme", 202612), 0);
        assert_eq!(store.usage("acme", 202612).await.unwrap(), 7);
        assert_eq!(store.usage("acme", 202701).await.unwrap(), 1);
        assert_eq!(store.usage("globex", 202612).await.unwrap(), 9);
        meter.add("acme", 202612, 2);
        meter.flush(&store).await;
        meter.flush(&store).await;
        assert_eq!(store.usage("acme", 202612).await.unwrap(), 9, "each count written once");
    }

    /// A store that refuses usage writes while `down`.
    struct Flaky {
        inner: EmbeddedStore,
        down: AtomicBool,
    }

    #[async_trait]
    impl TopologyStore for Flaky {
        async fn add_usage(&self, tenant_id: &str, month: u32, count: u64) -> Result<u64, StoreError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(StoreError::Unavailable("down".to_owned()));
            }
            self.inner.add_usage(tenant_id, month, count).await
        }
        async fn usage(&self, tenant_id: &str, month: u32) -> Result<u64, StoreError> {
            self.inner.usage(tenant_id, month).await
        }
        async fn put_topology_slot(&self, tenant_id: &str, slot: u64, edges: &[EdgeDelta]) -> Result<(), StoreError> {
            self.inner.put_topology_slot(tenant_id, slot, edges).await
        }
        async fn topology(
            &self,
            tenant_id: &str,
            from_s: u64,
            to_s: u64,
            limit: usize,
        ) -> Result<TopologyRange, StoreError> {
            self.inner.topology(tenant_id, from_s, to_s, limit).await
        }
        async fn expire_topology(&self, now_s: u64) -> Result<u64, StoreError> {
            self.inner.expire_topology(now_s).await
        }
    }

    #[tokio::test]
    async fn a_refused_write_keeps_its_count_for_the_next_flush() {
        let dir = tempfile::tempdir().unwrap();
        let store = Flaky {
            inner: EmbeddedStore::open(dir.path()).await.unwrap(),
            down: AtomicBool::new(true),
        };
        let meter = UsageMeter::default();
        meter.add("acme", 202612, 5);
        assert_eq!(meter.flush(&store).await, 1);
        assert_eq!(meter.pending("acme", 202612), 5);
        meter.add("acme", 202612, 1);
        store.down.store(false, Ordering::SeqCst);
        assert_eq!(meter.flush(&store).await, 0);
        assert_eq!(store.usage("acme", 202612).await.unwrap(), 6);
    }
}
