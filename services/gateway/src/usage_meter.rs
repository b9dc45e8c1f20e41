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

use causeway_store::{StoreError, TopologyStore};
use tokio_util::sync::CancellationToken;

use crate::metrics;

type Key = (String, u32);

/// How often a quota check reads the store again when a flush's write
/// overlapped its read, before it settles for the count that may hold
/// those events twice.
const SETTLED_READ_ATTEMPTS: usize = 3;

#[derive(Debug, Default)]
pub struct UsageMeter {
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    /// Accepted, not yet handed to a flush.
    pending: BTreeMap<Key, u64>,
    /// Handed to a flush whose store write has not returned: the store may
    /// or may not hold them yet.
    in_flight: BTreeMap<Key, u64>,
    /// Store writes begun and returned; equal when none is under way.
    writes_started: u64,
    writes_finished: u64,
}

/// What the meter holds for one tenant and month at one moment.
#[derive(Debug, Clone, Copy)]
struct Unwritten {
    count: u64,
    writes_started: u64,
    /// A flush's store write had begun and not returned.
    write_under_way: bool,
}

impl Counts {
    fn unwritten(&self, key: &Key) -> Unwritten {
        let held = |map: &BTreeMap<Key, u64>| map.get(key).copied().unwrap_or_default();
        Unwritten {
            count: held(&self.pending).saturating_add(held(&self.in_flight)),
            writes_started: self.writes_started,
            write_under_way: self.writes_started != self.writes_finished,
        }
    }

    /// A flush's store write of `count` for `key` returned (or was
    /// abandoned): the store now holds it or never will.
    fn write_returned(&mut self, key: &Key, count: u64) {
        self.writes_finished += 1;
        self.leave_in_flight(key, count);
    }

    fn leave_in_flight(&mut self, key: &Key, count: u64) {
        if let Some(held) = self.in_flight.get_mut(key) {
            *held = held.saturating_sub(count);
            if *held == 0 {
                self.in_flight.remove(key);
            }
        }
    }
}

/// A flush under way. Dropped before it finished, it leaves the counts
/// true: what it had not begun goes back to pending; the write it was
/// waiting on may or may not have landed, so its count leaves the meter
/// (usage may then read low by it, as after a crash, never high).
struct Flushing<'m> {
    meter: &'m UsageMeter,
    /// In reverse order, the next at the end.
    not_begun: Vec<(Key, u64)>,
    writing: Option<(Key, u64)>,
}

impl Drop for Flushing<'_> {
    fn drop(&mut self) {
        if self.not_begun.is_empty() && self.writing.is_none() {
            return;
        }
        let mut counts = self.meter.counts();
        if let Some((key, count)) = self.writing.take() {
            tracing::warn!(tenant = %key.0, events = count, "usage flush abandoned mid-write; this count may not be metered");
            counts.write_returned(&key, count);
        }
        for (key, count) in self.not_begun.drain(..) {
            counts.leave_in_flight(&key, count);
            add_to(&mut counts.pending, key, count);
        }
    }
}

fn add_to(map: &mut BTreeMap<Key, u64>, key: Key, count: u64) {
    let entry = map.entry(key).or_default();
    *entry = entry.saturating_add(count);
}

impl UsageMeter {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        // Every change under the lock is whole before it is released: a
        // panic elsewhere leaves the counts consistent.
        self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn add(&self, tenant_id: &str, month: u32, count: u64) {
        add_to(&mut self.counts().pending, (tenant_id.to_owned(), month), count);
    }

    /// Counts accepted but not yet known to be in the store.
    #[cfg(test)]
    pub fn pending(&self, tenant_id: &str, month: u32) -> u64 {
        self.counts().unwritten(&(tenant_id.to_owned(), month)).count
    }

    /// The tenant's usage this month as the quota sees it: the store's
    /// count plus what this gateway holds unwritten. Never low: an event is
    /// pending, in a flush, or in the store, and the meter is read before
    /// the store. It is exact when no flush's write overlapped the store
    /// read; otherwise the read is retried, and after
    /// [`SETTLED_READ_ATTEMPTS`] the count may hold the overlapping write's
    /// events twice (refusing early for that moment, never letting a tenant
    /// over its quota).
    pub async fn used(&self, store: &dyn TopologyStore, tenant_id: &str, month: u32) -> Result<u64, StoreError> {
        let key = (tenant_id.to_owned(), month);
        let mut used = 0;
        for _ in 0..SETTLED_READ_ATTEMPTS {
            let before = self.counts().unwritten(&key);
            let stored = store.usage(tenant_id, month).await?;
            used = stored.saturating_add(before.count);
            let after = self.counts().unwritten(&key);
            // None under way at the first read and none begun since: none
            // overlapped the store read.
            let no_write_overlapped = !before.write_under_way && after.writes_started == before.writes_started;
            if no_write_overlapped {
                break;
            }
        }
        Ok(used)
    }

    /// Writes every pending count to the store; a count the store refuses
    /// goes back to pending for the next flush. Returns how many writes
    /// failed. Until a write returns, its count stays visible to
    /// [`UsageMeter::used`] as in flight, so a quota check during a flush
    /// does not lose it. A flush dropped part-way (its request gone, or
    /// shutdown's deadline) puts what it had not begun back to pending.
    pub async fn flush(&self, store: &dyn TopologyStore) -> usize {
        let mut flushing = {
            let mut counts = self.counts();
            let taken = std::mem::take(&mut counts.pending);
            for (key, count) in &taken {
                add_to(&mut counts.in_flight, key.clone(), *count);
            }
            Flushing {
                meter: self,
                not_begun: taken.into_iter().rev().collect(),
                writing: None,
            }
        };
        let mut failed = 0;
        while let Some((key, count)) = flushing.not_begun.pop() {
            self.counts().writes_started += 1;
            flushing.writing = Some((key.clone(), count));
            let written = store.add_usage(&key.0, key.1, count).await;
            flushing.writing = None;
            let mut counts = self.counts();
            counts.write_returned(&key, count);
            if let Err(err) = written {
                failed += 1;
                metrics::record_usage_write_failure();
                tracing::warn!(tenant = %key.0, events = count, error = %err, "usage not metered yet; kept for the next flush");
                add_to(&mut counts.pending, key, count);
            }
        }
        failed
    }

    /// Flushes every `interval` until `stop`, the first time one interval
    /// after the start; the caller flushes once more after the servers
    /// have answered their last request.
    pub async fn flush_every(&self, store: &dyn TopologyStore, interval: Duration, stop: CancellationToken) {
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
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

    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use async_trait::async_trait;
    use causeway_store::{EdgeDelta, EmbeddedStore, TopologyRange};
    use tokio::sync::Notify;

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

    /// A store that refuses usage writes while `down`, and with `gated`
    /// holds each usage write until released.
    struct Flaky {
        inner: EmbeddedStore,
        down: AtomicBool,
        gated: AtomicBool,
        write_begun: Notify,
        release_write: Notify,
    }

    impl Flaky {
        async fn open(dir: &std::path::Path, down: bool, gated: bool) -> Self {
            Self {
                inner: EmbeddedStore::open(dir).await.unwrap(),
                down: AtomicBool::new(down),
                gated: AtomicBool::new(gated),
                write_begun: Notify::new(),
                release_write: Notify::new(),
            }
        }
    }

    #[async_trait]
    impl TopologyStore for Flaky {
        async fn add_usage(&self, tenant_id: &str, month: u32, count: u64) -> Result<u64, StoreError> {
            if self.gated.load(Ordering::SeqCst) {
                self.write_begun.notify_one();
                self.release_write.notified().await;
            }
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
        let store = Flaky::open(dir.path(), true, false).await;
        let meter = UsageMeter::default();
        meter.add("acme", 202612, 5);
        assert_eq!(meter.flush(&store).await, 1);
        assert_eq!(meter.pending("acme", 202612), 5);
        meter.add("acme", 202612, 1);
        store.down.store(false, Ordering::SeqCst);
        assert_eq!(meter.flush(&store).await, 0);
        assert_eq!(store.usage("acme", 202612).await.unwrap(), 6);
    }

    #[tokio::test]
    async fn a_count_being_written_still_holds_the_quota() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Flaky::open(dir.path(), false, true).await);
        let meter = Arc::new(UsageMeter::default());
        meter.add("acme", 202612, 5);
        let flush = tokio::spawn({
            let (meter, store) = (meter.clone(), store.clone());
            async move { meter.flush(store.as_ref()).await }
        });
        store.write_begun.notified().await;
        assert_eq!(
            meter.used(store.as_ref(), "acme", 202612).await.unwrap(),
            5,
            "taken from pending, not yet in the store: counted once"
        );
        store.release_write.notify_one();
        assert_eq!(flush.await.unwrap(), 0);
        assert_eq!(meter.pending("acme", 202612), 0);
        assert_eq!(store.usage("acme", 202612).await.unwrap(), 5);
        assert_eq!(
            meter.used(store.as_ref(), "acme", 202612).await.unwrap(),
            5,
            "written: counted once"
        );
    }

    #[tokio::test]
    async fn a_flush_dropped_part_way_leaves_the_counts_true() {
        let dir = tempfile::tempdir().unwrap();
        let store = Flaky::open(dir.path(), false, true).await;
        let meter = UsageMeter::default();
        meter.add("acme", 202612, 3);
        meter.add("globex", 202612, 4);
        let abandoned = tokio::time::timeout(Duration::from_millis(50), meter.flush(&store)).await;
        assert!(
            abandoned.is_err(),
            "the first write is held, so the flush is dropped mid-write"
        );
        assert_eq!(
            meter.pending("acme", 202612),
            0,
            "mid-write: may have landed, never counted twice"
        );
        assert_eq!(meter.pending("globex", 202612), 4, "not begun: back to pending");
        store.gated.store(false, Ordering::SeqCst);
        assert_eq!(meter.flush(&store).await, 0);
        assert_eq!(store.usage("globex", 202612).await.unwrap(), 4);
        assert_eq!(meter.used(&store, "acme", 202612).await.unwrap(), 0);
        let counts = meter.counts();
        assert_eq!(counts.writes_started, counts.writes_finished, "no write left under way");
        assert!(counts.in_flight.is_empty());
    }
}
