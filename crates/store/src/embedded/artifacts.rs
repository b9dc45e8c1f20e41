//! Artifacts, share tokens, the newest-first listing and alert states on
//! the embedded store; revocation and the expiry of artifacts are in
//! `share_ends.rs`.

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable};

use super::{
    ALERT_DEDUP, ALERT_STATES, ARTIFACT_EXPIRY, ARTIFACT_LISTING, ARTIFACTS, EmbeddedStore, SHARE_TOKENS, codec,
    engine_error, keys, open, put, read_err, remove, share_ends,
};
use crate::api::{AlertState, ArtifactStore, ArtifactSummary, DedupClaim, EndedShare, StoreError, StoredArtifact};

fn summary(artifact: &StoredArtifact) -> ArtifactSummary {
    ArtifactSummary {
        artifact_id: artifact.artifact_id.clone(),
        alert_id: artifact.alert_id.clone(),
        service: artifact.service.clone(),
        created_at_unix_ns: artifact.created_at_unix_ns,
        digest: artifact.digest.clone(),
    }
}

pub(super) fn get_value(
    db: &redb::Database,
    table: super::TableDef,
    key: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    let txn = db.begin_read().map_err(read_err)?;
    let table = txn.open_table(table).map_err(read_err)?;
    Ok(table.get(key).map_err(read_err)?.map(|value| value.value().to_vec()))
}

#[async_trait]
impl ArtifactStore for EmbeddedStore {
    async fn put_artifact(&self, artifact: &StoredArtifact) -> Result<(), StoreError> {
        let artifact = artifact.clone();
        self.blocking(move |db| {
            let row_key = keys::tenant_id_key(&artifact.tenant_id, &artifact.artifact_id);
            let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
            {
                let mut rows = open(&txn, ARTIFACTS)?;
                let existing = rows
                    .get(row_key.as_slice())
                    .map_err(read_err)?
                    .map(|value| value.value().to_vec());
                if let Some(existing) = existing {
                    let existing = codec::decode_artifact(&existing)?;
                    if existing.digest == artifact.digest {
                        return Ok(());
                    }
                    return Err(StoreError::Conflict(format!(
                        "artifact {} already stored with digest {}",
                        artifact.artifact_id, existing.digest
                    )));
                }
                let mut tokens = open(&txn, SHARE_TOKENS)?;
                if tokens.get(artifact.share_token.as_bytes()).map_err(read_err)?.is_some() {
                    return Err(StoreError::Conflict("share token already in use".into()));
                }
                put(&mut rows, &row_key, &codec::encode_artifact(&artifact)?)?;
                put(&mut tokens, artifact.share_token.as_bytes(), &row_key)?;
                if let Some(expires_at) = artifact.expires_at_unix_ns {
                    put(
                        &mut open(&txn, ARTIFACT_EXPIRY)?,
                        &keys::expiry(expires_at, &row_key),
                        &[],
                    )?;
                }
                let listing_key =
                    keys::artifact_listing(&artifact.tenant_id, artifact.created_at_unix_ns, &artifact.artifact_id);
                put(
                    &mut open(&txn, ARTIFACT_LISTING)?,
                    &listing_key,
                    &codec::to_json("artifact summary", &summary(&artifact))?,
                )?;
            }
            txn.commit().map_err(|err| engine_error("store commit", err))
        })
        .await
    }

    async fn get_artifact(&self, tenant_id: &str, artifact_id: &str) -> Result<Option<StoredArtifact>, StoreError> {
        let row_key = keys::tenant_id_key(tenant_id, artifact_id);
        self.blocking(move |db| {
            get_value(db, ARTIFACTS, &row_key)?
                .map(|value| codec::decode_artifact(&value))
                .transpose()
        })
        .await
    }

    async fn get_by_share_token(&self, token: &str) -> Result<Option<StoredArtifact>, StoreError> {
        let token = token.as_bytes().to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(read_err)?;
            let tokens = txn.open_table(SHARE_TOKENS).map_err(read_err)?;
            let Some(row_key) = tokens.get(token.as_slice()).map_err(read_err)? else {
                return Ok(None);
            };
            let rows = txn.open_table(ARTIFACTS).map_err(read_err)?;
            let artifact = rows.get(row_key.value()).map_err(read_err)?;
            artifact.map(|value| codec::decode_artifact(value.value())).transpose()
        })
        .await
    }

    async fn revoke_share(&self, tenant_id: &str, artifact_id: &str, at_unix_ns: u64) -> Result<bool, StoreError> {
        let row_key = keys::tenant_id_key(tenant_id, artifact_id);
        self.blocking(move |db| share_ends::revoke(db, &row_key, at_unix_ns))
            .await
    }

    async fn ended_share(&self, token: &str) -> Result<Option<EndedShare>, StoreError> {
        let token = token.as_bytes().to_vec();
        self.blocking(move |db| share_ends::ended(db, &token)).await
    }

    async fn expire_artifacts(&self, now_unix_ns: u64) -> Result<u64, StoreError> {
        self.blocking(move |db| share_ends::expire(db, now_unix_ns)).await
    }

    async fn list_artifacts(
        &self,
        tenant_id: &str,
        service: Option<&str>,
        since_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<ArtifactSummary>, StoreError> {
        let prefix = keys::tenant(tenant_id);
        let service = service.map(str::to_owned);
        self.blocking(move |db| {
            // Inverted times: everything created at or after `since` sorts
            // before the inverted `since` + 1.
            let to = match (u64::MAX - since_unix_ns).checked_add(1) {
                Some(end) => [prefix.as_slice(), &end.to_be_bytes()].concat(),
                None => keys::prefix_end(&prefix),
            };
            let txn = db.begin_read().map_err(read_err)?;
            let listing = txn.open_table(ARTIFACT_LISTING).map_err(read_err)?;
            let mut out = Vec::new();
            for entry in listing.range(prefix.as_slice()..to.as_slice()).map_err(read_err)? {
                if out.len() >= limit {
                    break;
                }
                let (_, value) = entry.map_err(read_err)?;
                let row: ArtifactSummary = codec::from_json("artifact summary", value.value())?;
                if service.as_deref().is_none_or(|wanted| wanted == row.service) {
                    out.push(row);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn put_alert_state(&self, state: &AlertState) -> Result<(), StoreError> {
        let row_key = keys::tenant_id_key(&state.tenant_id, &state.alert_id);
        let value = codec::to_json("alert state", state)?;
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
            put(&mut open(&txn, ALERT_STATES)?, &row_key, &value)?;
            txn.commit().map_err(|err| engine_error("store commit", err))
        })
        .await
    }

    async fn get_alert_state(&self, tenant_id: &str, alert_id: &str) -> Result<Option<AlertState>, StoreError> {
        let row_key = keys::tenant_id_key(tenant_id, alert_id);
        self.blocking(move |db| {
            get_value(db, ALERT_STATES, &row_key)?
                .map(|value| codec::from_json("alert state", &value))
                .transpose()
        })
        .await
    }

    async fn claim_alert_dedup(&self, claim: &DedupClaim, now_unix_ns: u64) -> Result<DedupClaim, StoreError> {
        let row_key = keys::tenant_id_key(&claim.tenant_id, &claim.dedup_key);
        let claim = claim.clone();
        // One write transaction at a time: the read and the insert are atomic.
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
            let holder = {
                let mut rows = open(&txn, ALERT_DEDUP)?;
                let existing = rows
                    .get(row_key.as_slice())
                    .map_err(read_err)?
                    .map(|value| value.value().to_vec());
                let existing: Option<DedupClaim> = existing
                    .map(|value| codec::from_json("dedup claim", &value))
                    .transpose()?;
                match existing {
                    Some(held) if held.expires_at_unix_ns > now_unix_ns => held,
                    _ => {
                        put(&mut rows, &row_key, &codec::to_json("dedup claim", &claim)?)?;
                        claim
                    }
                }
            };
            txn.commit().map_err(|err| engine_error("store commit", err))?;
            Ok(holder)
        })
        .await
    }

    async fn release_alert_dedup(&self, tenant_id: &str, dedup_key: &str, alert_id: &str) -> Result<(), StoreError> {
        let row_key = keys::tenant_id_key(tenant_id, dedup_key);
        let alert_id = alert_id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(|err| engine_error("store write", err))?;
            {
                let mut rows = open(&txn, ALERT_DEDUP)?;
                let existing = rows
                    .get(row_key.as_slice())
                    .map_err(read_err)?
                    .map(|value| value.value().to_vec());
                if let Some(value) = existing {
                    let held: DedupClaim = codec::from_json("dedup claim", &value)?;
                    if held.alert_id == alert_id {
                        remove(&mut rows, &row_key)?;
                    }
                }
            }
            txn.commit().map_err(|err| engine_error("store commit", err))
        })
        .await
    }
}
