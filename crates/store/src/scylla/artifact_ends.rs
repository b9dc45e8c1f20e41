//! How artifacts and their links end on the ScyllaDB store: revocation,
//! expiry by the tenant plan's retention (through a bucketed expiry index,
//! so the pass reads only what is due), the record of ended tokens, and the
//! alert dedup claims (lightweight transactions).

use std::time::Duration;

use futures::FutureExt;

use super::ScyllaStore;
use super::exec::{big, corrupt, unbig};
use crate::api::{ArtifactStore, DedupClaim, EndedShare, ShareEnd, StoreError, StoredArtifact};

/// The `expiry_buckets` kind of the artifact expiry index.
const ARTIFACTS_KIND: &str = "artifacts";
/// Attempts at a dedup claim when Paxos rounds collide or time out.
const CLAIM_ATTEMPTS: u32 = 12;

fn reason_text(reason: ShareEnd) -> &'static str {
    match reason {
        ShareEnd::Expired => "expired",
        ShareEnd::Revoked => "revoked",
    }
}

fn reason_of(text: &str) -> Result<ShareEnd, StoreError> {
    match text {
        "expired" => Ok(ShareEnd::Expired),
        "revoked" => Ok(ShareEnd::Revoked),
        other => Err(corrupt("share end", format!("unknown reason {other:?}"))),
    }
}

impl ScyllaStore {
    /// Indexes an artifact under its expiry, when it has one.
    pub(crate) async fn index_artifact_expiry(&self, artifact: &StoredArtifact) -> Result<(), StoreError> {
        let Some(expires_at) = artifact.expires_at_unix_ns else {
            return Ok(());
        };
        let st = &self.inner.statements;
        let (bucket, ttl) = (self.bucket(expires_at), self.ttl(expires_at));
        self.run(
            "artifact_expiry_put",
            &st.put_artifact_expiry,
            (bucket, big(expires_at), &artifact.tenant_id, &artifact.artifact_id, ttl),
        )
        .await?;
        self.run(
            "expiry_bucket_put",
            &st.put_expiry_bucket,
            (ARTIFACTS_KIND, bucket, ttl),
        )
        .await?;
        Ok(())
    }

    /// Records the end of a token (the first end stays) and stops it
    /// resolving.
    async fn end_share(&self, artifact: &StoredArtifact, reason: ShareEnd, at: u64) -> Result<(), StoreError> {
        let st = &self.inner.statements;
        self.applied(
            "share_end_insert",
            &st.insert_share_end,
            (
                &artifact.share_token,
                &artifact.tenant_id,
                &artifact.artifact_id,
                reason_text(reason),
                big(at),
            ),
        )
        .await?;
        self.run("share_token_delete", &st.delete_token, (&artifact.share_token,))
            .await?;
        Ok(())
    }

    pub(crate) async fn revoke_share_cql(
        &self,
        tenant_id: &str,
        artifact_id: &str,
        at: u64,
    ) -> Result<bool, StoreError> {
        let Some(artifact) = self.get_artifact(tenant_id, artifact_id).await? else {
            return Ok(false);
        };
        self.end_share(&artifact, ShareEnd::Revoked, at).await?;
        Ok(true)
    }

    pub(crate) async fn ended_share_cql(&self, token: &str) -> Result<Option<EndedShare>, StoreError> {
        let row: Option<(String, String, String, i64)> = self
            .first_row("share_end_get", &self.inner.statements.get_share_end, (token,))
            .await?;
        row.map(|(tenant_id, artifact_id, reason, at)| {
            Ok(EndedShare {
                tenant_id,
                artifact_id,
                reason: reason_of(&reason)?,
                at_unix_ns: unbig(at),
            })
        })
        .transpose()
    }

    pub(crate) async fn expire_artifacts_cql(&self, now_unix_ns: u64) -> Result<u64, StoreError> {
        let st = &self.inner.statements;
        let now = big(now_unix_ns);
        self.expire_kind(ARTIFACTS_KIND, now_unix_ns, |bucket| {
            async move {
                let due: Vec<(i64, String, String)> = self
                    .rows("artifact_expiry_due", &st.artifact_expiry_due, (bucket, now))
                    .await?;
                let mut removed = 0;
                for (expires_at, tenant_id, artifact_id) in due {
                    let artifact = self.get_artifact(&tenant_id, &artifact_id).await?;
                    // An entry whose artifact is gone (or, defensively, names
                    // another expiry) only loses its index row.
                    if let Some(artifact) = artifact.filter(|a| a.expires_at_unix_ns == Some(unbig(expires_at))) {
                        self.end_share(&artifact, ShareEnd::Expired, unbig(expires_at)).await?;
                        self.run(
                            "artifact_listing_delete",
                            &st.delete_listing,
                            (&tenant_id, big(artifact.created_at_unix_ns), &artifact_id),
                        )
                        .await?;
                        self.run("artifact_delete", &st.delete_artifact, (&tenant_id, &artifact_id))
                            .await?;
                        removed += 1;
                    }
                    self.run(
                        "artifact_expiry_delete",
                        &st.delete_artifact_expiry,
                        (bucket, expires_at, &tenant_id, &artifact_id),
                    )
                    .await?;
                }
                Ok(removed)
            }
            .boxed()
        })
        .await
    }

    /// Insert-if-absent, or take over an expired holder, by compare-and-set;
    /// a collision or a Paxos timeout is retried (a repeated insert that had
    /// applied finds this very claim as the holder).
    pub(crate) async fn claim_alert_dedup_cql(&self, claim: &DedupClaim, now: u64) -> Result<DedupClaim, StoreError> {
        let st = &self.inner.statements;
        let (tenant, key) = (&claim.tenant_id, &claim.dedup_key);
        let (expires, ttl) = (big(claim.expires_at_unix_ns), self.ttl(claim.expires_at_unix_ns));
        let mut last_error = None;
        for attempt in 0..CLAIM_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
            }
            let attempt: Result<Option<DedupClaim>, StoreError> = async {
                let inserted = self
                    .applied(
                        "dedup_insert",
                        &st.dedup_insert,
                        (tenant, key, &claim.alert_id, expires, ttl),
                    )
                    .await?;
                if inserted {
                    return Ok(Some(claim.clone()));
                }
                let held: Option<(String, i64)> = self.first_row("dedup_read", &st.dedup_read, (tenant, key)).await?;
                let Some((alert_id, held_expires)) = held else {
                    return Ok(None); // gone meanwhile: insert again
                };
                if unbig(held_expires) > now {
                    return Ok(Some(DedupClaim {
                        tenant_id: tenant.clone(),
                        dedup_key: key.clone(),
                        alert_id,
                        expires_at_unix_ns: unbig(held_expires),
                    }));
                }
                let taken = self
                    .applied(
                        "dedup_take_over",
                        &st.dedup_take_over,
                        (ttl, &claim.alert_id, expires, tenant, key, &alert_id, held_expires),
                    )
                    .await?;
                Ok(taken.then(|| claim.clone()))
            }
            .await;
            match attempt {
                Ok(Some(holder)) => return Ok(holder),
                Ok(None) => {}
                Err(StoreError::Unavailable(err)) => last_error = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(StoreError::Unavailable(format!(
            "alert dedup claim did not settle after {CLAIM_ATTEMPTS} attempts{}",
            last_error.map(|err| format!(": {err}")).unwrap_or_default()
        )))
    }

    pub(crate) async fn release_alert_dedup_cql(
        &self,
        tenant_id: &str,
        dedup_key: &str,
        alert_id: &str,
    ) -> Result<(), StoreError> {
        self.applied(
            "dedup_release",
            &self.inner.statements.dedup_release,
            (tenant_id, dedup_key, alert_id),
        )
        .await?;
        Ok(())
    }
}
