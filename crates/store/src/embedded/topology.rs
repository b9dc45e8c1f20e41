//! Usage counters and topology edges on the embedded store. Each update is
//! a read-modify-write inside one write transaction; the engine runs write
//! transactions one at a time, so concurrent adds never lose an update.

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable};

use super::{EDGES, EmbeddedStore, USAGE, codec, engine_error, keys, open, put, read_err};
use crate::api::{EdgeDelta, StoreError, TopologyStore};

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

    async fn merge_edges(&self, tenant_id: &str, deltas: &[EdgeDelta]) -> Result<(), StoreError> {
        if deltas.is_empty() {
            return Ok(());
        }
        let tenant_id = tenant_id.to_owned();
        let deltas = deltas.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
            {
                let mut edges = open(&txn, EDGES)?;
                for delta in &deltas {
                    let key = keys::edge(&tenant_id, &delta.caller, &delta.peer);
                    let (calls, answered, errors) = match edges.get(key.as_slice()).map_err(read_err)? {
                        Some(value) => codec::decode_edge_counts(value.value())?,
                        None => (0, 0, 0),
                    };
                    let merged = EdgeDelta {
                        caller: delta.caller.clone(),
                        peer: delta.peer.clone(),
                        calls: calls.saturating_add(delta.calls),
                        answered: answered.saturating_add(delta.answered),
                        errors: errors.saturating_add(delta.errors),
                    };
                    put(&mut edges, &key, &codec::encode_edge_counts(&merged))?;
                }
            }
            txn.commit().map_err(|err| engine_error("store commit", err))
        })
        .await
    }

    async fn edges(&self, tenant_id: &str) -> Result<Vec<EdgeDelta>, StoreError> {
        let prefix = keys::tenant(tenant_id);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(read_err)?;
            let edges = txn.open_table(EDGES).map_err(read_err)?;
            let mut out = Vec::new();
            for entry in edges
                .range(prefix.as_slice()..keys::prefix_end(&prefix).as_slice())
                .map_err(read_err)?
            {
                let (key, value) = entry.map_err(read_err)?;
                let rest = &key.value()[prefix.len()..];
                let Some((caller, rest)) = keys::take_str(rest) else {
                    continue;
                };
                let Some((peer, _)) = keys::take_str(rest) else {
                    continue;
                };
                let (calls, answered, errors) = codec::decode_edge_counts(value.value())?;
                out.push(EdgeDelta {
                    caller,
                    peer,
                    calls,
                    answered,
                    errors,
                });
            }
            // Length-prefixed keys sort by length first; the contract orders by name.
            out.sort_by(|a, b| (&a.caller, &a.peer).cmp(&(&b.caller, &b.peer)));
            Ok(out)
        })
        .await
    }
}
