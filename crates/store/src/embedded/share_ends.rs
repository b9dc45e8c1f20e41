//! The end of share links on the embedded store: revocation, and the
//! expiry pass that deletes artifacts past their retention. Either way the
//! token moves from `share_tokens` to `share_ends`, so the link can say
//! why it is gone.

use redb::ReadableTable;

use super::artifacts::get_value;
use super::{
    ARTIFACT_EXPIRY, ARTIFACT_LISTING, ARTIFACTS, SHARE_ENDS, SHARE_TOKENS, codec, engine_error, keys, open, put,
    read_err, remove,
};
use crate::api::{EndedShare, ShareEnd, StoreError, StoredArtifact};

/// Most artifacts one expiry transaction deletes; the pass loops until done.
const EXPIRE_BATCH: usize = 1_000;

pub fn revoke(db: &redb::Database, row_key: &[u8], at_unix_ns: u64) -> Result<bool, StoreError> {
    let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
    {
        let rows = open(&txn, ARTIFACTS)?;
        let Some(value) = rows.get(row_key).map_err(read_err)? else {
            return Ok(false);
        };
        let artifact = codec::decode_artifact(value.value())?;
        drop(value);
        end_token(&txn, &artifact, ShareEnd::Revoked, at_unix_ns)?;
    }
    txn.commit().map_err(|err| engine_error("store commit", err))?;
    Ok(true)
}

pub fn ended(db: &redb::Database, token: &[u8]) -> Result<Option<EndedShare>, StoreError> {
    get_value(db, SHARE_ENDS, token)?
        .map(|value| codec::from_json("share end", &value))
        .transpose()
}

/// Moves a live token to `share_ends`; a token already ended keeps its
/// first end (a revoked link that later expires stays "revoked").
fn end_token(
    txn: &redb::WriteTransaction,
    artifact: &StoredArtifact,
    reason: ShareEnd,
    at_unix_ns: u64,
) -> Result<(), StoreError> {
    let token = artifact.share_token.as_bytes();
    let mut tokens = open(txn, SHARE_TOKENS)?;
    if tokens.get(token).map_err(read_err)?.is_none() {
        return Ok(());
    }
    remove(&mut tokens, token)?;
    let end = EndedShare {
        tenant_id: artifact.tenant_id.clone(),
        artifact_id: artifact.artifact_id.clone(),
        reason,
        at_unix_ns,
    };
    put(&mut open(txn, SHARE_ENDS)?, token, &codec::to_json("share end", &end)?)
}

pub fn expire(db: &redb::Database, now_unix_ns: u64) -> Result<u64, StoreError> {
    let mut removed = 0;
    loop {
        let batch = expire_batch(db, now_unix_ns)?;
        removed += batch as u64;
        if batch < EXPIRE_BATCH {
            return Ok(removed);
        }
    }
}

/// One transaction: up to [`EXPIRE_BATCH`] expired artifacts deleted.
fn expire_batch(db: &redb::Database, now_unix_ns: u64) -> Result<usize, StoreError> {
    let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
    let due: Vec<(Vec<u8>, u64, Vec<u8>)> = {
        let expiry = open(&txn, ARTIFACT_EXPIRY)?;
        let end = now_unix_ns.checked_add(1).map(u64::to_be_bytes);
        let range = match &end {
            Some(end) => expiry.range(..end.as_slice()),
            None => expiry.range::<&[u8]>(..),
        }
        .map_err(read_err)?;
        let mut due = Vec::new();
        for entry in range.take(EXPIRE_BATCH) {
            let (key, _) = entry.map_err(read_err)?;
            let key = key.value().to_vec();
            if let Some((at, row)) = keys::split_expiry(&key) {
                let row = row.to_vec();
                due.push((key, at, row));
            }
        }
        due
    };
    let count = due.len();
    {
        let mut expiry = open(&txn, ARTIFACT_EXPIRY)?;
        let mut rows = open(&txn, ARTIFACTS)?;
        let mut listing = open(&txn, ARTIFACT_LISTING)?;
        for (expiry_key, at, row_key) in due {
            remove(&mut expiry, &expiry_key)?;
            let artifact = match rows.get(row_key.as_slice()).map_err(read_err)? {
                Some(value) => codec::decode_artifact(value.value())?,
                None => continue,
            };
            remove(&mut rows, &row_key)?;
            let listed =
                keys::artifact_listing(&artifact.tenant_id, artifact.created_at_unix_ns, &artifact.artifact_id);
            remove(&mut listing, &listed)?;
            end_token(&txn, &artifact, ShareEnd::Expired, at)?;
        }
    }
    txn.commit().map_err(|err| engine_error("store commit", err))?;
    Ok(count)
}
