//! Usage counters and topology slots on the embedded store. Each update is
//! one write transaction; the engine runs write transactions one at a time,
//! so concurrent adds never lose an update and a slot put is atomic.

use super::window_write::EXPIRE_BATCH;
use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable};

use super::{
    EmbeddedStore, TOPOLOGY_SLOT_EXPIRY, TOPOLOGY_SLOTS, USAGE, codec, engine_error, keys, open, put, read_err, remove,
};
use crate::api::{EdgeDelta, StoreError, TOPOLOGY_RETENTION_S, TopologyRange, TopologyStore};
use crate::topology_sum::sum_slots;

#[async_trait]
impl TopologyStore for EmbeddedStore {
    async fn add_usage(&self, tenant_id: &str, month: u32, count: u64) -> Result<u64, StoreError> {
        let key = keys::usage(tenant_id, month);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
            let total = {
                let mut usage = open(&txn, USAGE)?;
                let current = match usage.get(key.as_slice()).map_err(read_err)? {
                    Some(value) => codec::decode_u64("usage", value.value())?,
                    None => 0,
                };
                let total = current.saturating_add(count);
                put(&mut usage, &key, &total.to_be_bytes())?;
                total
            };
            txn.commit().map_err(|err| engine_error("store commit", err))?;
            Ok(total)
        })
        .await
    }

    async fn usage(&self, tenant_id: &str, month: u32) -> Result<u64, StoreError> {
        let key = keys::usage(tenant_id, month);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(read_err)?;
            let usage = txn.open_table(USAGE).map_err(read_err)?;
            match usage.get(key.as_slice()).map_err(read_err)? {
                Some(value) => codec::decode_u64("usage", value.value()),
                None => Ok(0),
            }
        })
        .await
    }

    async fn put_topology_slot(
        &self,
        tenant_id: &str,
        slot_start_s: u64,
        edges: &[EdgeDelta],
    ) -> Result<(), StoreError> {
        let key = keys::topology_slot(tenant_id, slot_start_s);
        let index = keys::topology_slot_expiry(slot_start_s, tenant_id);
        let value = codec::to_json("topology slot", &edges)?;
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
            {
                // One row per slot: the insert replaces the whole slot.
                put(&mut open(&txn, TOPOLOGY_SLOTS)?, &key, &value)?;
                put(&mut open(&txn, TOPOLOGY_SLOT_EXPIRY)?, &index, &[])?;
            }
            txn.commit().map_err(|err| engine_error("store commit", err))
        })
        .await
    }

    async fn topology(
        &self,
        tenant_id: &str,
        from_s: u64,
        to_s: u64,
        limit_slots: usize,
    ) -> Result<TopologyRange, StoreError> {
        let from = keys::topology_slot(tenant_id, from_s);
        let to = keys::topology_slot(tenant_id, to_s);
        self.blocking(move |db| {
            if from > to {
                return Ok(TopologyRange::default());
            }
            let txn = db.begin_read().map_err(read_err)?;
            let slots = txn.open_table(TOPOLOGY_SLOTS).map_err(read_err)?;
            let mut read = Vec::new();
            let mut more = false;
            // Newest first, so a cut leaves out the oldest slots.
            for entry in slots.range(from.as_slice()..=to.as_slice()).map_err(read_err)?.rev() {
                if read.len() == limit_slots {
                    more = true;
                    break;
                }
                let (key, value) = entry.map_err(read_err)?;
                let start = key
                    .value()
                    .get(key.value().len().saturating_sub(8)..)
                    .map(|tail| codec::decode_u64("topology slot key", tail))
                    .transpose()?
                    .unwrap_or_default();
                let edges: Vec<EdgeDelta> = codec::from_json("topology slot", value.value())?;
                read.push((start, edges));
            }
            Ok(sum_slots(read, limit_slots, more))
        })
        .await
    }

    async fn expire_topology(&self, now_s: u64) -> Result<u64, StoreError> {
        let cutoff = now_s.saturating_sub(TOPOLOGY_RETENTION_S);
        let end = cutoff.to_be_bytes();
        // Bounded transactions, one after another (as the window's expiry).
        self.blocking(move |db| {
            let mut removed = 0;
            loop {
                let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
                let batch = {
                    let mut index = open(&txn, TOPOLOGY_SLOT_EXPIRY)?;
                    let mut slots = open(&txn, TOPOLOGY_SLOTS)?;
                    let due: Vec<Vec<u8>> = index
                        .range(..end.as_slice())
                        .map_err(read_err)?
                        .take(EXPIRE_BATCH)
                        .map(|entry| entry.map(|(key, _)| key.value().to_vec()).map_err(read_err))
                        .collect::<Result<_, _>>()?;
                    for index_key in &due {
                        let (start, tenant) = index_key.split_at(8);
                        let Some((tenant, _)) = keys::take_str(tenant) else {
                            return Err(StoreError::Fatal("corrupt stored topology slot index key".into()));
                        };
                        let start = codec::decode_u64("topology slot index", start)?;
                        remove(&mut slots, &keys::topology_slot(&tenant, start))?;
                        remove(&mut index, index_key)?;
                    }
                    due.len()
                };
                txn.commit().map_err(|err| engine_error("store commit", err))?;
                removed += batch as u64;
                if batch < EXPIRE_BATCH {
                    return Ok(removed);
                }
            }
        })
        .await
    }
}
