//! Writes to the embedded store's window tables that stay in the database:
//! notice expiry and the windower's progress. Events are in
//! `segment_window`.

use redb::{ReadableTable, WriteTransaction};

use super::{BytesTable, NOTICE_EXPIRY, NOTICES, PROGRESS, codec, keys, open, put, read_err, remove};
use crate::api::{PartitionProgress, StoreError};

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

/// Removes up to [`EXPIRE_BATCH`] expired notices; returns whether more
/// may be due (the caller commits and goes again).
pub(super) fn expire_notices_txn(txn: &WriteTransaction, now: u64) -> Result<bool, StoreError> {
    let bound = keys::expiry(now.saturating_add(1), &[]);
    let mut expiry = open(txn, NOTICE_EXPIRY)?;
    let mut rows = open(txn, NOTICES)?;
    let due = take_due(&mut expiry, &bound)?;
    for expiry_key in &due {
        if let Some((_, row_key)) = keys::split_expiry(expiry_key) {
            remove(&mut rows, row_key)?;
        }
    }
    Ok(due.len() == EXPIRE_BATCH)
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
