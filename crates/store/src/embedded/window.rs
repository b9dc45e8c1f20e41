//! The pre-alert window on the embedded store: events with three indexes
//! and an expiry index, and SDK notices.

use async_trait::async_trait;
use causeway_model::{CausalEvent, TraceId};
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};

use super::{
    BytesTable, EVENT_EXPIRY, EVENTS, EVENTS_BY_SERVICE, EVENTS_BY_TIME, EVENTS_BY_TRACE, EmbeddedStore, NOTICE_EXPIRY,
    NOTICES, codec, engine_error, keys, open, put, read_err, remove,
};
use crate::api::{ServiceNotice, StoreError, WindowStore};

/// The event rows and their index tables, open in one write transaction.
struct EventTables<'txn> {
    rows: BytesTable<'txn>,
    expiry: BytesTable<'txn>,
    /// By time, by service, by trace: the order of [`index_keys`].
    indexes: [BytesTable<'txn>; 3],
}

impl<'txn> EventTables<'txn> {
    fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            rows: open(txn, EVENTS)?,
            expiry: open(txn, EVENT_EXPIRY)?,
            indexes: [
                open(txn, EVENTS_BY_TIME)?,
                open(txn, EVENTS_BY_SERVICE)?,
                open(txn, EVENTS_BY_TRACE)?,
            ],
        })
    }
}

/// The index keys of one event, in the order of `EventTables::indexes`.
fn index_keys(event: &CausalEvent) -> [Vec<u8>; 3] {
    [
        keys::by_time(&event.tenant_id, event.start_unix_ns, event.ce_id),
        keys::by_service(
            &event.tenant_id,
            &event.service,
            event.start_unix_ns,
            event.trace_id,
            event.ce_id,
        ),
        keys::by_trace(&event.tenant_id, event.trace_id, event.ce_id),
    ]
}

/// Writes events in one transaction. An event already stored keeps its
/// first content (ids are unique; a re-delivery is the same event) and the
/// later of its two expiries, with the expiry index moved to match.
fn put_events_txn(txn: &WriteTransaction, events: &[CausalEvent], expires_at: u64) -> Result<(), StoreError> {
    let EventTables {
        mut rows,
        mut expiry,
        mut indexes,
    } = EventTables::open(txn)?;
    for event in events {
        let row_key = keys::event(&event.tenant_id, event.ce_id);
        let existing = rows
            .get(row_key.as_slice())
            .map_err(read_err)?
            .map(|value| value.value().to_vec());
        if let Some(existing) = existing {
            let old_expiry = codec::event_expiry(&existing)?;
            if old_expiry >= expires_at {
                continue;
            }
            remove(&mut expiry, &keys::expiry(old_expiry, &row_key))?;
            let mut updated = existing;
            updated[..8].copy_from_slice(&expires_at.to_be_bytes());
            put(&mut rows, &row_key, &updated)?;
            put(&mut expiry, &keys::expiry(expires_at, &row_key), &[])?;
            continue;
        }
        put(&mut rows, &row_key, &codec::encode_event(event, expires_at))?;
        put(&mut expiry, &keys::expiry(expires_at, &row_key), &[])?;
        for (table, key) in indexes.iter_mut().zip(index_keys(event)) {
            put(table, &key, &[])?;
        }
    }
    Ok(())
}

/// Removes expired events and notices; returns how many events went.
fn expire_txn(txn: &WriteTransaction, now: u64) -> Result<u64, StoreError> {
    let bound = keys::expiry(now.saturating_add(1), &[]);
    let mut removed = 0;
    {
        let EventTables {
            mut rows,
            mut expiry,
            mut indexes,
        } = EventTables::open(txn)?;
        let due: Vec<Vec<u8>> = expiry
            .range(..bound.as_slice())
            .map_err(read_err)?
            .map(|entry| entry.map(|(key, _)| key.value().to_vec()).map_err(read_err))
            .collect::<Result<_, _>>()?;
        for expiry_key in due {
            remove(&mut expiry, &expiry_key)?;
            let Some((expires_at, row_key)) = keys::split_expiry(&expiry_key) else {
                continue;
            };
            let Some(value) = rows.get(row_key).map_err(read_err)?.map(|value| value.value().to_vec()) else {
                continue;
            };
            // An entry left behind by an extended expiry is not the row's own.
            if codec::event_expiry(&value)? != expires_at {
                continue;
            }
            let event = codec::decode_event(&value)?;
            remove(&mut rows, row_key)?;
            for (table, key) in indexes.iter_mut().zip(index_keys(&event)) {
                remove(table, &key)?;
            }
            removed += 1;
        }
    }
    let mut notice_expiry = open(txn, NOTICE_EXPIRY)?;
    let mut notices = open(txn, NOTICES)?;
    let due: Vec<Vec<u8>> = notice_expiry
        .range(..bound.as_slice())
        .map_err(read_err)?
        .map(|entry| entry.map(|(key, _)| key.value().to_vec()).map_err(read_err))
        .collect::<Result<_, _>>()?;
    for expiry_key in due {
        remove(&mut notice_expiry, &expiry_key)?;
        if let Some((_, row_key)) = keys::split_expiry(&expiry_key) {
            remove(&mut notices, row_key)?;
        }
    }
    Ok(removed)
}

/// Keys of `table` in `[from, to)`, in order, at most `limit`.
fn scan_keys(
    db: &redb::Database,
    table: super::TableDef,
    from: &[u8],
    to: &[u8],
    limit: usize,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let txn = db.begin_read().map_err(read_err)?;
    let table = txn.open_table(table).map_err(read_err)?;
    table
        .range(from..to)
        .map_err(read_err)?
        .take(limit)
        .map(|entry| entry.map(|(key, _)| key.value().to_vec()).map_err(read_err))
        .collect()
}

/// Loads the events whose row keys are given, skipping any gone meanwhile.
fn load_events(db: &redb::Database, row_keys: &[Vec<u8>]) -> Result<Vec<CausalEvent>, StoreError> {
    let txn = db.begin_read().map_err(read_err)?;
    let rows = txn.open_table(EVENTS).map_err(read_err)?;
    let mut out = Vec::with_capacity(row_keys.len());
    for key in row_keys {
        if let Some(value) = rows.get(key.as_slice()).map_err(read_err)? {
            out.push(codec::decode_event(value.value())?);
        }
    }
    Ok(out)
}

/// The `(tenant, ce_id)` row key of an index key ending in the 16-byte ce_id.
fn row_key_from_index(tenant_id: &str, index_key: &[u8]) -> Vec<u8> {
    let mut key = keys::tenant(tenant_id);
    key.extend_from_slice(&index_key[index_key.len().saturating_sub(16)..]);
    key
}

#[async_trait]
impl WindowStore for EmbeddedStore {
    async fn put_events(&self, events: &[CausalEvent], expires_at_unix_ns: u64) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let events = events.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
            put_events_txn(&txn, &events, expires_at_unix_ns)?;
            txn.commit().map_err(|err| engine_error("store commit", err))
        })
        .await
    }

    async fn trace_events(&self, tenant_id: &str, trace_id: TraceId) -> Result<Vec<CausalEvent>, StoreError> {
        let tenant_id = tenant_id.to_owned();
        self.blocking(move |db| {
            let mut prefix = keys::tenant(&tenant_id);
            prefix.extend_from_slice(trace_id.as_bytes());
            let index = scan_keys(db, EVENTS_BY_TRACE, &prefix, &keys::prefix_end(&prefix), usize::MAX)?;
            let rows: Vec<Vec<u8>> = index.iter().map(|key| row_key_from_index(&tenant_id, key)).collect();
            load_events(db, &rows)
        })
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
        let prefix = keys::service_prefix(tenant_id, service);
        self.blocking(move |db| {
            let from = [prefix.as_slice(), &from_unix_ns.to_be_bytes()].concat();
            let to = match to_unix_ns.checked_add(1) {
                Some(end) => [prefix.as_slice(), &end.to_be_bytes()].concat(),
                None => keys::prefix_end(&prefix),
            };
            let index = scan_keys(db, EVENTS_BY_SERVICE, &from, &to, usize::MAX)?;
            let mut traces: Vec<TraceId> = index
                .iter()
                .filter_map(|key| {
                    let trace = key.get(prefix.len() + 8..prefix.len() + 24)?;
                    TraceId::from_bytes(trace).ok()
                })
                .collect();
            traces.sort_unstable();
            traces.dedup();
            traces.truncate(limit);
            Ok(traces)
        })
        .await
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
        self.blocking(move |db| {
            let (from, to) = tenant_time_range(&tenant_id, from_unix_ns, to_unix_ns);
            let index = scan_keys(db, EVENTS_BY_TIME, &from, &to, limit)?;
            let rows: Vec<Vec<u8>> = index.iter().map(|key| row_key_from_index(&tenant_id, key)).collect();
            load_events(db, &rows)
        })
        .await
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

    async fn expire(&self, now_unix_ns: u64) -> Result<u64, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
            let removed = expire_txn(&txn, now_unix_ns)?;
            txn.commit().map_err(|err| engine_error("store commit", err))?;
            Ok(removed)
        })
        .await
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
