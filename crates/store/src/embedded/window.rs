//! The pre-alert window on the embedded store: events, their indexes,
//! per-second activity and the windower's progress in `segment_window`;
//! notices in the database.

use std::sync::Arc;

use async_trait::async_trait;
use causeway_model::{CausalEvent, EncodedEvents, TraceId};
use redb::{ReadableDatabase, ReadableTable};

use super::window_write::expire_notices_txn;
use super::{EmbeddedStore, NOTICE_EXPIRY, NOTICES, codec, engine_error, keys, open, put, read_err};
use crate::api::{FailureRef, PartitionProgress, PeerCall, ServiceActivity, ServiceNotice, StoreError, WindowStore};

#[async_trait]
impl WindowStore for EmbeddedStore {
    async fn put_events(&self, events: &[CausalEvent], expires_at_unix_ns: u64) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let events = EncodedEvents::from_events(events)
            .map_err(|err| StoreError::Fatal(format!("an event the window could not read back: {err}")))?;
        self.on_window(move |window| window.put_events(&events, expires_at_unix_ns))
            .await
    }

    async fn put_encoded_events(&self, events: Arc<EncodedEvents>, expires_at_unix_ns: u64) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        // The events go to the writing thread shared, not copied; no event
        // is decoded or encoded on the way to its segment.
        self.on_window(move |window| window.put_events(&events, expires_at_unix_ns))
            .await
    }

    async fn trace_events(
        &self,
        tenant_id: &str,
        trace_id: TraceId,
        limit: usize,
    ) -> Result<Vec<CausalEvent>, StoreError> {
        let tenant_id = tenant_id.to_owned();
        self.on_window(move |window| window.trace_events(&tenant_id, trace_id, limit))
            .await
    }

    async fn service_traces(
        &self,
        tenant_id: &str,
        service: &str,
        from_unix_ns: u64,
        to_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<TraceId>, StoreError> {
        if from_unix_ns > to_unix_ns || limit == 0 {
            return Ok(Vec::new());
        }
        self.window
            .service_traces(tenant_id, service, from_unix_ns, to_unix_ns, limit)
    }

    async fn failures(
        &self,
        tenant_id: &str,
        from_end_unix_ns: u64,
        to_end_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<FailureRef>, StoreError> {
        if from_end_unix_ns > to_end_unix_ns || limit == 0 {
            return Ok(Vec::new());
        }
        self.window.failures(tenant_id, from_end_unix_ns, to_end_unix_ns, limit)
    }

    async fn service_activity(
        &self,
        tenant_id: &str,
        from_second: u64,
        to_second: u64,
    ) -> Result<Vec<ServiceActivity>, StoreError> {
        if from_second > to_second {
            return Ok(Vec::new());
        }
        self.window.service_activity(tenant_id, from_second, to_second)
    }

    async fn window_events(
        &self,
        tenant_id: &str,
        from_unix_ns: u64,
        to_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<CausalEvent>, StoreError> {
        if from_unix_ns > to_unix_ns || limit == 0 {
            return Ok(Vec::new());
        }
        let tenant_id = tenant_id.to_owned();
        self.on_window(move |window| window.window_events(&tenant_id, from_unix_ns, to_unix_ns, limit))
            .await
    }

    async fn peer_calls(
        &self,
        tenant_id: &str,
        peer: &str,
        from_unix_ns: u64,
        to_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<PeerCall>, StoreError> {
        if from_unix_ns > to_unix_ns || limit == 0 {
            return Ok(Vec::new());
        }
        // From the in-memory index alone: no segment is read.
        self.window.peer_calls(tenant_id, peer, from_unix_ns, to_unix_ns, limit)
    }

    async fn put_notice(&self, notice: &ServiceNotice, expires_at_unix_ns: u64) -> Result<(), StoreError> {
        let value = codec::to_json("notice", notice)?;
        let hash = keys::fnv1a64(&[
            notice.service.as_bytes(),
            notice.event.as_bytes(),
            notice.metadata_json.as_bytes(),
        ]);
        let row_key = keys::notice(&notice.tenant_id, notice.received_at_unix_ns, hash);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
            {
                let mut notices = open(&txn, NOTICES)?;
                if notices.get(row_key.as_slice()).map_err(read_err)?.is_none() {
                    put(&mut notices, &row_key, &value)?;
                    put(
                        &mut open(&txn, NOTICE_EXPIRY)?,
                        &keys::expiry(expires_at_unix_ns, &row_key),
                        &[],
                    )?;
                }
            }
            txn.commit().map_err(|err| engine_error("store commit", err))
        })
        .await
    }

    async fn notices(
        &self,
        tenant_id: &str,
        from_unix_ns: u64,
        to_unix_ns: u64,
    ) -> Result<Vec<ServiceNotice>, StoreError> {
        if from_unix_ns > to_unix_ns {
            return Ok(Vec::new());
        }
        let tenant_id = tenant_id.to_owned();
        self.blocking(move |db| {
            let (from, to) = tenant_time_range(&tenant_id, from_unix_ns, to_unix_ns);
            let txn = db.begin_read().map_err(read_err)?;
            let notices = txn.open_table(NOTICES).map_err(read_err)?;
            notices
                .range(from.as_slice()..to.as_slice())
                .map_err(read_err)?
                .map(|entry| {
                    let (_, value) = entry.map_err(read_err)?;
                    codec::from_json("notice", value.value())
                })
                .collect()
        })
        .await
    }

    async fn put_progress(&self, topic: &str, progress: &[PartitionProgress]) -> Result<(), StoreError> {
        if progress.is_empty() {
            return Ok(());
        }
        let topic = topic.to_owned();
        let progress = progress.to_vec();
        self.on_window(move |window| window.put_progress(&topic, &progress))
            .await
    }

    async fn progress(&self, topic: &str) -> Result<Vec<PartitionProgress>, StoreError> {
        Ok(self.window.progress(topic))
    }

    async fn expire(&self, now_unix_ns: u64) -> Result<u64, StoreError> {
        let removed = self.on_window(move |window| window.expire(now_unix_ns)).await?;
        // Notices in bounded transactions, so a long backlog neither holds
        // the writer's lock nor every due key in memory at once.
        self.blocking(move |db| {
            loop {
                let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
                let more = expire_notices_txn(&txn, now_unix_ns)?;
                txn.commit().map_err(|err| engine_error("store commit", err))?;
                if !more {
                    return Ok(());
                }
            }
        })
        .await?;
        Ok(removed)
    }

    async fn ready(&self) -> bool {
        self.probe().await
    }
}

/// Key bounds `[from, to)` of a tenant's rows keyed by time, covering
/// `[from_unix_ns, to_unix_ns]` inclusive.
fn tenant_time_range(tenant_id: &str, from_unix_ns: u64, to_unix_ns: u64) -> (Vec<u8>, Vec<u8>) {
    let prefix = keys::tenant(tenant_id);
    let from = [prefix.as_slice(), &from_unix_ns.to_be_bytes()].concat();
    let to = match to_unix_ns.checked_add(1) {
        Some(end) => [prefix.as_slice(), &end.to_be_bytes()].concat(),
        None => keys::prefix_end(&prefix),
    };
    (from, to)
}
