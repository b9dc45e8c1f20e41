//! Writes to the embedded store's window tables that stay in the database:
//! notice expiry. Events and the windower's progress are in
//! `segment_window`.

use redb::{Database, ReadableDatabase, ReadableTable, WriteTransaction};

use super::segment_window::Offsets;
use super::{BytesTable, NOTICE_EXPIRY, NOTICES, PROGRESS, codec, keys, open, read_err, remove};
use crate::api::StoreError;

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

/// The windower's progress as versions before the window's progress log
/// kept it (`(topic, partition)` keys, big-endian offsets); empty in a
/// store created since.
pub(super) fn stored_progress(db: &Database) -> Result<Offsets, StoreError> {
    let txn = db.begin_read().map_err(read_err)?;
    let table = txn.open_table(PROGRESS).map_err(read_err)?;
    let mut offsets = Offsets::new();
    for entry in table.iter().map_err(read_err)? {
        let (key, value) = entry.map_err(read_err)?;
        let (topic, partition) = keys::split_progress(key.value())
            .ok_or_else(|| StoreError::Fatal("progress key is malformed".to_owned()))?;
        let next = codec::decode_u64("progress", value.value())?;
        offsets.entry(topic.to_owned()).or_default().insert(partition, next);
    }
    Ok(offsets)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report

    use super::super::{EmbeddedStore, put};
    use super::*;
    use crate::api::{PartitionProgress, WindowStore};

    fn at(partition: u32, next_offset: u64) -> PartitionProgress {
        PartitionProgress { partition, next_offset }
    }

    #[tokio::test]
    async fn progress_an_earlier_version_kept_in_the_database_still_counts() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = EmbeddedStore::open(dir.path()).await.unwrap();
            let txn = store.db.begin_write().unwrap();
            put(
                &mut open(&txn, PROGRESS).unwrap(),
                &keys::progress("causeway.ce", 2),
                &41u64.to_be_bytes(),
            )
            .unwrap();
            txn.commit().unwrap();
        }
        let store = EmbeddedStore::open(dir.path()).await.unwrap();
        assert_eq!(store.progress("causeway.ce").await.unwrap(), vec![at(2, 41)]);
        store.put_progress("causeway.ce", &[at(2, 40), at(0, 5)]).await.unwrap();
        assert_eq!(
            store.progress("causeway.ce").await.unwrap(),
            vec![at(0, 5), at(2, 41)],
            "never lowered below the database's"
        );
        store.put_progress("causeway.ce", &[at(2, 50)]).await.unwrap();
        drop(store);
        let store = EmbeddedStore::open(dir.path()).await.unwrap();
        assert_eq!(store.progress("causeway.ce").await.unwrap(), vec![at(0, 5), at(2, 50)]);
    }
}
