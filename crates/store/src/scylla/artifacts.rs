//! Artifacts, share tokens, the newest-first listing and alert states on the
//! ScyllaDB store. An artifact is written once by a lightweight transaction;
//! its token and listing row follow with plain (idempotent) writes, so a
//! retry after a crash between them completes the set.

use async_trait::async_trait;

use super::ScyllaStore;
use super::exec::{big, corrupt, unbig};
use crate::api::{AlertState, ArtifactStore, ArtifactSummary, DedupClaim, EndedShare, StoreError, StoredArtifact};

/// Artifacts and tokens live as long as the retention says (0: forever).
fn artifact_ttl(store: &ScyllaStore) -> i32 {
    i32::try_from(store.inner.config.artifact_ttl_days.saturating_mul(86_400)).unwrap_or(i32::MAX)
}

type ArtifactRow = (String, String, i64, String, String, Vec<u8>, Option<i64>);
type ListingRow = (String, String, String, i64, String);

#[async_trait]
impl ArtifactStore for ScyllaStore {
    async fn put_artifact(&self, artifact: &StoredArtifact) -> Result<(), StoreError> {
        let st = &self.inner.statements;
        let ttl = artifact_ttl(self);
        let inserted = self
            .applied(
                "artifact_insert",
                &st.insert_artifact,
                (
                    &artifact.tenant_id,
                    &artifact.artifact_id,
                    &artifact.alert_id,
                    &artifact.service,
                    big(artifact.created_at_unix_ns),
                    &artifact.digest,
                    &artifact.share_token,
                    &artifact.canonical_json,
                    artifact.expires_at_unix_ns.map(big),
                    ttl,
                ),
            )
            .await?;
        if !inserted {
            let existing: Option<(String,)> = self
                .first_row(
                    "artifact_digest",
                    &st.artifact_digest,
                    (&artifact.tenant_id, &artifact.artifact_id),
                )
                .await?;
            match existing {
                Some((digest,)) if digest == artifact.digest => {}
                Some((digest,)) => {
                    return Err(StoreError::Conflict(format!(
                        "artifact {} already stored with digest {digest}",
                        artifact.artifact_id
                    )));
                }
                None => {
                    return Err(StoreError::Unavailable(format!(
                        "artifact {} was neither inserted nor found; retry",
                        artifact.artifact_id
                    )));
                }
            }
        }
        let token_taken = !self
            .applied(
                "share_token_insert",
                &st.insert_token,
                (&artifact.share_token, &artifact.tenant_id, &artifact.artifact_id, ttl),
            )
            .await?;
        if token_taken {
            let owner: Option<(String, String)> = self
                .first_row("share_token_owner", &st.token_owner, (&artifact.share_token,))
                .await?;
            if owner.as_ref() != Some(&(artifact.tenant_id.clone(), artifact.artifact_id.clone())) {
                return Err(StoreError::Conflict("share token already in use".into()));
            }
        }
        self.run(
            "artifact_listing_insert",
            &st.insert_listing,
            (
                &artifact.tenant_id,
                big(artifact.created_at_unix_ns),
                &artifact.artifact_id,
                &artifact.alert_id,
                &artifact.service,
                &artifact.digest,
                ttl,
            ),
        )
        .await?;
        self.index_artifact_expiry(artifact).await?;
        Ok(())
    }

    async fn get_artifact(&self, tenant_id: &str, artifact_id: &str) -> Result<Option<StoredArtifact>, StoreError> {
        let row: Option<ArtifactRow> = self
            .first_row(
                "artifact_get",
                &self.inner.statements.get_artifact,
                (tenant_id, artifact_id),
            )
            .await?;
        Ok(row.map(
            |(alert_id, service, created, digest, share_token, canonical_json, expires)| StoredArtifact {
                artifact_id: artifact_id.to_owned(),
                tenant_id: tenant_id.to_owned(),
                alert_id,
                service,
                created_at_unix_ns: unbig(created),
                digest,
                share_token,
                canonical_json,
                expires_at_unix_ns: expires.map(unbig),
            },
        ))
    }

    async fn revoke_share(&self, tenant_id: &str, artifact_id: &str, at_unix_ns: u64) -> Result<bool, StoreError> {
        self.revoke_share_cql(tenant_id, artifact_id, at_unix_ns).await
    }

    async fn ended_share(&self, token: &str) -> Result<Option<EndedShare>, StoreError> {
        self.ended_share_cql(token).await
    }

    async fn expire_artifacts(&self, now_unix_ns: u64) -> Result<u64, StoreError> {
        self.expire_artifacts_cql(now_unix_ns).await
    }

    async fn claim_alert_dedup(&self, claim: &DedupClaim, now_unix_ns: u64) -> Result<DedupClaim, StoreError> {
        self.claim_alert_dedup_cql(claim, now_unix_ns).await
    }

    async fn release_alert_dedup(&self, tenant_id: &str, dedup_key: &str, alert_id: &str) -> Result<(), StoreError> {
        self.release_alert_dedup_cql(tenant_id, dedup_key, alert_id).await
    }

    async fn get_by_share_token(&self, token: &str) -> Result<Option<StoredArtifact>, StoreError> {
        let owner: Option<(String, String)> = self
            .first_row("share_token_get", &self.inner.statements.token_owner, (token,))
            .await?;
        let Some((tenant_id, artifact_id)) = owner else {
            return Ok(None);
        };
        let artifact = self.get_artifact(&tenant_id, &artifact_id).await?;
        // A token names exactly one artifact; a row that disagrees is not it.
        Ok(artifact.filter(|artifact| artifact.share_token == token))
    }

    async fn list_artifacts(
        &self,
        tenant_id: &str,
        service: Option<&str>,
        since_unix_ns: u64,
        limit: usize,
    ) -> Result<Vec<ArtifactSummary>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows: Vec<ListingRow> = self
            .rows(
                "artifact_list",
                &self.inner.statements.list_artifacts,
                (tenant_id, big(since_unix_ns)),
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter(|row| service.is_none_or(|wanted| wanted == row.2))
            .take(limit)
            .map(|(artifact_id, alert_id, service, created, digest)| ArtifactSummary {
                artifact_id,
                alert_id,
                service,
                created_at_unix_ns: unbig(created),
                digest,
            })
            .collect())
    }

    async fn put_alert_state(&self, state: &AlertState) -> Result<(), StoreError> {
        let json = serde_json::to_string(state).map_err(|err| StoreError::Fatal(format!("alert state: {err}")))?;
        self.run(
            "alert_state_put",
            &self.inner.statements.put_alert_state,
            (&state.tenant_id, &state.alert_id, json),
        )
        .await?;
        Ok(())
    }

    async fn get_alert_state(&self, tenant_id: &str, alert_id: &str) -> Result<Option<AlertState>, StoreError> {
        let row: Option<(String,)> = self
            .first_row(
                "alert_state_get",
                &self.inner.statements.get_alert_state,
                (tenant_id, alert_id),
            )
            .await?;
        row.map(|(json,)| serde_json::from_str(&json).map_err(|err| corrupt("alert state", err)))
            .transpose()
    }
}
