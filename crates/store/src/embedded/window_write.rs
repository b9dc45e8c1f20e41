//! Writes to the embedded window: events with their indexes (time,
//! service, failures), per-second activity counters, expiry, progress.

use std::collections::BTreeMap;

use causeway_model::CausalEvent;
use redb::{ReadableTable, WriteTransaction};

use super::{
    ACTIVITY, ACTIVITY_EXPIRY, BytesTable, EVENT_EXPIRY, EVENTS, EVENTS_BY_SERVICE, EVENTS_BY_TIME, FAILURES,
    NOTICE_EXPIRY, NOTICES, PROGRESS, codec, keys, open, put, read_err, remove,
};
use crate::api::{PartitionProgress, StoreError};

/// The event rows and their index tables, open in one write transaction.
struct EventTables<'txn> {
    rows: BytesTable<'txn>,
    expiry: BytesTable<'txn>,
    by_time: BytesTable<'txn>,
    by_service: BytesTable<'txn>,
    failures: BytesTable<'txn>,
}

impl<'txn> EventTables<'txn> {
    fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            rows: open(txn, EVENTS)?,
            expiry: open(txn, EVENT_EXPIRY)?,
            by_time: open(txn, EVENTS_BY_TIME)?,
            by_service: open(txn, EVENTS_BY_SERVICE)?,
            failures: open(txn, FAILURES)?,
        })
    }

    fn insert_indexes(&mut self, event: &CausalEvent) -> Result<(), StoreError> {
        let (tenant, trace, ce) = (&event.tenant_id, event.trace_id, event.ce_id);
        put(
            &mut self.by_time,
            &keys::by_time(tenant, event.start_unix_ns, trace, ce),
            &[],
        )?;
        let by_service = keys::by_service(tenant, &event.service, event.start_unix_ns, trace, ce);
        put(&mut self.by_service, &by_service, &[])?;
        if event.is_non_success() {
            let key = keys::failure(tenant, event.end_unix_ns(), trace, ce);
            // Value: start (8 bytes big-endian), then the service name.
            let value = [&event.start_unix_ns.to_be_bytes()[..], event.service.as_bytes()].concat();
            put(&mut self.failures, &key, &value)?;
        }
        Ok(())
    }

    fn remove_indexes(&mut self, event: &CausalEvent) -> Result<(), StoreError> {
        let (tenant, trace, ce) = (&event.tenant_id, event.trace_id, event.ce_id);
        remove(
            &mut self.by_time,
            &keys::by_time(tenant, event.start_unix_ns, trace, ce),
        )?;
        let by_service = keys::by_service(tenant, &event.service, event.start_unix_ns, trace, ce);
        remove(&mut self.by_service, &by_service)?;
        if event.is_non_success() {
            remove(
                &mut self.failures,
                &keys::failure(tenant, event.end_unix_ns(), trace, ce),
            )?;
        }
        Ok(())
    }
}

/// One `(tenant, second, service)` counter row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ActivityRow {
    pub expires_at: u64,
    pub events: u64,
    pub non_success: u64,
    /// `u64::MAX` when nothing failed.
    pub first_failure_end: u64,
}

impl ActivityRow {
    const EMPTY: ActivityRow = ActivityRow {
        expires_at: 0,
        events: 0,
        non_success: 0,
        first_failure_end: u64::MAX,
    };

    fn add(&mut self, event: &CausalEvent) {
        self.events += 1;
        if event.is_non_success() {
            self.non_success += 1;
            self.first_failure_end = self.first_failure_end.min(event.end_unix_ns());
        }
    }

    fn merge(&mut self, other: &ActivityRow) {
        self.expires_at = self.expires_at.max(other.expires_at);
        self.events += other.events;
        self.non_success += other.non_success;
        self.first_failure_end = self.first_failure_end.min(other.first_failure_end);
    }

    pub fn encode(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (slot, value) in
            out.chunks_exact_mut(8)
                .zip([self.expires_at, self.events, self.non_success, self.first_failure_end])
        {
            slot.copy_from_slice(&value.to_be_bytes());
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<ActivityRow, StoreError> {
        let field = |i: usize| -> Result<u64, StoreError> {
            let slice = bytes
                .get(i * 8..i * 8 + 8)
                .ok_or_else(|| StoreError::Fatal(format!("activity row of {} bytes, want 32", bytes.len())))?;
            let array: [u8; 8] = slice
                .try_into()
                .map_err(|_| StoreError::Fatal("activity row field".to_owned()))?;
            Ok(u64::from_be_bytes(array))
        };
        Ok(ActivityRow {
            expires_at: field(0)?,
            events: field(1)?,
            non_success: field(2)?,
            first_failure_end: field(3)?,
        })
    }
}

/// Writes events in one transaction. An event already stored keeps its
/// first content (ids are unique within a trace; a re-delivery is the same
/// event) and the later of its two expiries, with the expiry index moved to
/// match; it is not counted twice.
pub(super) fn put_events_txn(
    txn: &WriteTransaction,
    events: &[CausalEvent],
    expires_at: u64,
) -> Result<(), StoreError> {
    let mut tables = EventTables::open(txn)?;
    // Counted in memory first: one counter update per (tenant, second,
    // service) per batch, not per event.
    let mut activity: BTreeMap<Vec<u8>, ActivityRow> = BTreeMap::new();
    for event in events {
        let row_key = keys::event(&event.tenant_id, event.trace_id, event.ce_id);
        let existing = tables
            .rows
            .get(row_key.as_slice())
            .map_err(read_err)?
            .map(|value| value.value().to_vec());
        if let Some(existing) = existing {
            let old_expiry = codec::event_expiry(&existing)?;
            if old_expiry >= expires_at {
                continue;
            }
            remove(&mut tables.expiry, &keys::expiry(old_expiry, &row_key))?;
            let mut updated = existing;
            updated[..8].copy_from_slice(&expires_at.to_be_bytes());
            put(&mut tables.rows, &row_key, &updated)?;
            put(&mut tables.expiry, &keys::expiry(expires_at, &row_key), &[])?;
            continue;
        }
        put(&mut tables.rows, &row_key, &codec::encode_event(event, expires_at))?;
        put(&mut tables.expiry, &keys::expiry(expires_at, &row_key), &[])?;
        tables.insert_indexes(event)?;
        let second = event.start_unix_ns / 1_000_000_000;
        let counter = activity
            .entry(keys::activity(&event.tenant_id, second, &event.service))
            .or_insert(ActivityRow {
                expires_at,
                ..ActivityRow::EMPTY
            });
        counter.add(event);
    }
    drop(tables);
    merge_activity(txn, activity)
}

fn merge_activity(txn: &WriteTransaction, deltas: BTreeMap<Vec<u8>, ActivityRow>) -> Result<(), StoreError> {
    if deltas.is_empty() {
        return Ok(());
    }
    let mut rows = open(txn, ACTIVITY)?;
    let mut expiry = open(txn, ACTIVITY_EXPIRY)?;
    for (key, delta) in deltas {
        let stored = rows
            .get(key.as_slice())
            .map_err(read_err)?
            .map(|value| ActivityRow::decode(value.value()))
            .transpose()?;
        let mut row = stored.unwrap_or(ActivityRow::EMPTY);
        let old_expiry = stored.map(|row| row.expires_at);
        row.merge(&delta);
        if old_expiry != Some(row.expires_at) {
            if let Some(old) = old_expiry {
                remove(&mut expiry, &keys::expiry(old, &key))?;
            }
            put(&mut expiry, &keys::expiry(row.expires_at, &key), &[])?;
        }
        put(&mut rows, &key, &row.encode())?;
    }
    Ok(())
}

/// How many expiry entries of one table one transaction takes: expiry holds
/// a transaction's work (and its keys in memory) to this, however far behind
/// it is.
pub(super) const EXPIRE_BATCH: usize = 10_000;

/// Up to [`EXPIRE_BATCH`] keys of `expiry` due at or before `bound`,
/// removed from it.
fn take_due(expiry: &mut BytesTable<'_>, bound: &[u8]) -> Result<Vec<Vec<u8>>, StoreError> {
    let due: Vec<Vec<u8>> = expiry
        .range(..bound)
        .map_err(read_err)?
        .take(EXPIRE_BATCH)
        .map(|entry| entry.map(|(key, _)| key.value().to_vec()).map_err(read_err))
        .collect::<Result<_, _>>()?;
    for key in &due {
        remove(expiry, key)?;
    }
    Ok(due)
}

/// Removes up to [`EXPIRE_BATCH`] expired events, counters and notices of
/// each kind; returns how many events went and whether any kind may have
/// more due (the caller commits and goes again).
pub(super) fn expire_txn(txn: &WriteTransaction, now: u64) -> Result<(u64, bool), StoreError> {
    let bound = keys::expiry(now.saturating_add(1), &[]);
    let mut removed = 0;
    let mut more = false;
    {
        let mut tables = EventTables::open(txn)?;
        let due = take_due(&mut tables.expiry, &bound)?;
        more |= due.len() == EXPIRE_BATCH;
        for expiry_key in due {
            let Some((expires_at, row_key)) = keys::split_expiry(&expiry_key) else {
                continue;
            };
            let Some(value) = tables
                .rows
                .get(row_key)
                .map_err(read_err)?
                .map(|value| value.value().to_vec())
            else {
                continue;
            };
            // An entry left behind by an extended expiry is not the row's own.
            if codec::event_expiry(&value)? != expires_at {
                continue;
            }
            let event = codec::decode_event(&value)?;
            remove(&mut tables.rows, row_key)?;
            tables.remove_indexes(&event)?;
            removed += 1;
        }
    }
    for (expiry_table, row_table) in [(ACTIVITY_EXPIRY, ACTIVITY), (NOTICE_EXPIRY, NOTICES)] {
        let mut expiry = open(txn, expiry_table)?;
        let mut rows = open(txn, row_table)?;
        let due = take_due(&mut expiry, &bound)?;
        more |= due.len() == EXPIRE_BATCH;
        for expiry_key in due {
            if let Some((_, row_key)) = keys::split_expiry(&expiry_key) {
                remove(&mut rows, row_key)?;
            }
        }
    }
    Ok((removed, more))
}

/// Raises each partition's recorded progress; never lowers it.
pub(super) fn put_progress_txn(
    txn: &WriteTransaction,
    topic: &str,
    progress: &[PartitionProgress],
) -> Result<(), StoreError> {
    let mut table = open(txn, PROGRESS)?;
    for entry in progress {
        let key = keys::progress(topic, entry.partition);
        let stored = table
            .get(key.as_slice())
            .map_err(read_err)?
            .map(|value| codec::decode_u64("progress", value.value()))
            .transpose()?;
        if stored.is_none_or(|offset| offset < entry.next_offset) {
            put(&mut table, &key, &entry.next_offset.to_be_bytes())?;
        }
    }
    Ok(())
}
