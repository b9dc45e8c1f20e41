//! The pre-alert window on the embedded store, read side: events by
//! trace, by service and time, by failure; per-second activity; notices;
//! progress. Writes are in `window_write`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use causeway_model::{CausalEvent, TraceId};
use redb::{ReadableDatabase, ReadableTable};

use super::window_write::{ActivityRow, expire_txn, put_events_txn, put_progress_txn};
use super::{
    ACTIVITY, EVENTS, EVENTS_BY_SERVICE, EVENTS_BY_TIME, EmbeddedStore, FAILURES, NOTICE_EXPIRY, NOTICES, PROGRESS,
    codec, engine_error, keys, open, put, read_err,
};
use crate::api::{FailureRef, PartitionProgress, ServiceActivity, ServiceNotice, StoreError, WindowStore};

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

    async fn trace_events(
        &self,
        tenant_id: &str,
        trace_id: TraceId,
        limit: usize,
    ) -> Result<Vec<CausalEvent>, StoreError> {
        let prefix = keys::trace_prefix(tenant_id, trace_id);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(read_err)?;
            let rows = txn.open_table(EVENTS).map_err(read_err)?;
            rows.range(prefix.as_slice()..keys::prefix_end(&prefix).as_slice())
                .map_err(read_err)?
                .take(limit)
                .map(|entry| {
                    let (_, value) = entry.map_err(read_err)?;
                    codec::decode_event(value.value())
                })
                .collect()
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
        let (from, to) = tenant_time_range(tenant_id, from_end_unix_ns, to_end_unix_ns);
        let prefix_len = keys::tenant(tenant_id).len();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(read_err)?;
            let failures = txn.open_table(FAILURES).map_err(read_err)?;
            failures
                .range(from.as_slice()..to.as_slice())
                .map_err(read_err)?
                .take(limit)
                .map(|entry| {
                    let (key, value) = entry.map_err(read_err)?;
                    let (key, value) = (key.value(), value.value());
                    let corrupt = || StoreError::Fatal("failure index entry is malformed".to_owned());
                    let (trace_id, ce_id) = keys::ids_at_end(key).ok_or_else(corrupt)?;
                    let end = key.get(prefix_len..prefix_len + 8).ok_or_else(corrupt)?;
                    let (start, service) = value.split_at_checked(8).ok_or_else(corrupt)?;
                    Ok(FailureRef {
                        trace_id,
                        ce_id,
                        service: String::from_utf8_lossy(service).into_owned(),
                        start_unix_ns: codec::decode_u64("failure start", start)?,
                        end_unix_ns: codec::decode_u64("failure end", end)?,
                    })
                })
                .collect()
        })
        .await
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
        let prefix = keys::tenant(tenant_id);
        self.blocking(move |db| {
            let from = [prefix.as_slice(), &from_second.to_be_bytes()].concat();
            let to = match to_second.checked_add(1) {
                Some(end) => [prefix.as_slice(), &end.to_be_bytes()].concat(),
                None => keys::prefix_end(&prefix),
            };
            let txn = db.begin_read().map_err(read_err)?;
            let table = txn.open_table(ACTIVITY).map_err(read_err)?;
            let mut per_service: BTreeMap<String, ActivityRow> = BTreeMap::new();
            for entry in table.range(from.as_slice()..to.as_slice()).map_err(read_err)? {
                let (key, value) = entry.map_err(read_err)?;
                let service_part = key.value().get(prefix.len() + 8..).unwrap_or_default();
                let (service, _) = keys::take_str(service_part)
                    .ok_or_else(|| StoreError::Fatal("activity key is malformed".to_owned()))?;
                let row = ActivityRow::decode(value.value())?;
                let total = per_service.entry(service).or_insert(ActivityRow {
                    expires_at: 0,
                    events: 0,
                    non_success: 0,
                    first_failure_end: u64::MAX,
                });
                total.events += row.events;
                total.non_success += row.non_success;
                total.first_failure_end = total.first_failure_end.min(row.first_failure_end);
            }
            Ok(per_service
                .into_iter()
                .map(|(service, row)| ServiceActivity {
                    service,
                    events: row.events,
                    non_success: row.non_success,
                    first_failure_end_unix_ns: (row.first_failure_end != u64::MAX).then_some(row.first_failure_end),
                })
                .collect())
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
            // Newest first, so a cut drops the events farthest from the alert.
            let txn = db.begin_read().map_err(read_err)?;
            let index = txn.open_table(EVENTS_BY_TIME).map_err(read_err)?;
            let mut rows: Vec<Vec<u8>> = index
                .range(from.as_slice()..to.as_slice())
                .map_err(read_err)?
                .rev()
                .take(limit)
                .map(|entry| {
                    entry
                        .map(|(key, _)| keys::row_from_index(&tenant_id, key.value()))
                        .map_err(read_err)
                })
                .collect::<Result<_, _>>()?;
            rows.reverse();
            drop(index);
            drop(txn);
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

    async fn put_progress(&self, topic: &str, progress: &[PartitionProgress]) -> Result<(), StoreError> {
        if progress.is_empty() {
            return Ok(());
        }
        let topic = topic.to_owned();
        let progress = progress.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
            put_progress_txn(&txn, &topic, &progress)?;
            txn.commit().map_err(|err| engine_error("store commit", err))
        })
        .await
    }

    async fn progress(&self, topic: &str) -> Result<Vec<PartitionProgress>, StoreError> {
        let mut prefix = Vec::new();
        keys::push_str(&mut prefix, topic);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(read_err)?;
            let table = txn.open_table(PROGRESS).map_err(read_err)?;
            table
                .range(prefix.as_slice()..keys::prefix_end(&prefix).as_slice())
                .map_err(read_err)?
                .map(|entry| {
                    let (key, value) = entry.map_err(read_err)?;
                    let partition = key
                        .value()
                        .get(prefix.len()..)
                        .and_then(|bytes| <[u8; 4]>::try_from(bytes).ok())
                        .map(u32::from_be_bytes)
                        .ok_or_else(|| StoreError::Fatal("progress key is malformed".to_owned()))?;
                    Ok(PartitionProgress {
                        partition,
                        next_offset: codec::decode_u64("progress", value.value())?,
                    })
                })
                .collect()
        })
        .await
    }

    async fn expire(&self, now_unix_ns: u64) -> Result<u64, StoreError> {
        // One bounded transaction after another, so a long backlog neither
        // holds the writer's lock nor every due key in memory at once.
        self.blocking(move |db| {
            let mut removed = 0;
            loop {
                let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
                let (batch, more) = expire_txn(&txn, now_unix_ns)?;
                txn.commit().map_err(|err| engine_error("store commit", err))?;
                removed += batch;
                if !more {
                    return Ok(removed);
                }
            }
        })
        .await
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
