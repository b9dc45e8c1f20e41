//! Artifact and alert-state cases.

use super::{StoreHarness, artifact};
use std::sync::Arc;

use crate::api::{AlertPhase, AlertState, DedupClaim, EndedShare, ShareEnd, StoreError, StoredArtifact};

pub async fn artifacts_put_get_conflict_and_share(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let stored = artifact("a", "art-1", "api", 10);
    stores.artifacts.put_artifact(&stored).await.expect("put");
    stores
        .artifacts
        .put_artifact(&stored)
        .await
        .expect("same digest again is fine");
    let changed = StoredArtifact {
        digest: "sha256:other".into(),
        ..stored.clone()
    };
    assert!(matches!(
        stores.artifacts.put_artifact(&changed).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        stores.artifacts.get_artifact("a", "art-1").await.expect("get"),
        Some(stored.clone())
    );
    assert_eq!(stores.artifacts.get_artifact("a", "missing").await.expect("get"), None);
    assert_eq!(
        stores
            .artifacts
            .get_by_share_token(&stored.share_token)
            .await
            .expect("token"),
        Some(stored)
    );
    assert_eq!(
        stores
            .artifacts
            .get_by_share_token("no-such-token")
            .await
            .expect("token"),
        None
    );
}

pub async fn artifacts_list_newest_first_with_filter(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    for (id, service, created) in [("x1", "api", 10), ("x2", "db", 30), ("x3", "api", 20), ("x4", "api", 5)] {
        stores
            .artifacts
            .put_artifact(&artifact("a", id, service, created))
            .await
            .expect("put");
    }
    let ids = |rows: Vec<crate::api::ArtifactSummary>| rows.into_iter().map(|r| r.artifact_id).collect::<Vec<_>>();
    let all = stores.artifacts.list_artifacts("a", None, 0, 10).await.expect("list");
    assert_eq!(all[0].digest, "sha256:x2");
    assert_eq!(ids(all), vec!["x2", "x3", "x1", "x4"]);
    assert_eq!(
        ids(stores
            .artifacts
            .list_artifacts("a", Some("api"), 0, 10)
            .await
            .expect("list")),
        vec!["x3", "x1", "x4"]
    );
    assert_eq!(
        ids(stores
            .artifacts
            .list_artifacts("a", Some("api"), 10, 10)
            .await
            .expect("list")),
        vec!["x3", "x1"]
    );
    assert_eq!(
        ids(stores.artifacts.list_artifacts("a", None, 0, 2).await.expect("list")),
        vec!["x2", "x3"]
    );
}

pub async fn alert_state_upserts(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let mut state = AlertState {
        alert_id: "al-1".into(),
        tenant_id: "a".into(),
        state: AlertPhase::Pending,
        artifact_id: None,
        share_token: None,
        error: None,
        updated_at_unix_ns: 1,
    };
    stores.artifacts.put_alert_state(&state).await.expect("put");
    assert_eq!(
        stores.artifacts.get_alert_state("a", "al-1").await.expect("get"),
        Some(state.clone())
    );
    state.state = AlertPhase::Assembled;
    state.artifact_id = Some("art".into());
    state.updated_at_unix_ns = 2;
    stores.artifacts.put_alert_state(&state).await.expect("upsert");
    assert_eq!(
        stores.artifacts.get_alert_state("a", "al-1").await.expect("get"),
        Some(state)
    );
    assert_eq!(stores.artifacts.get_alert_state("a", "al-2").await.expect("get"), None);
}

pub async fn share_revocation_ends_the_token_not_the_artifact(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let stored = artifact("a", "art-r", "api", 10);
    stores.artifacts.put_artifact(&stored).await.expect("put");
    let token = stored.share_token.clone();
    assert_eq!(stores.artifacts.ended_share(&token).await.expect("ended"), None, "live");
    assert!(
        !stores.artifacts.revoke_share("b", "art-r", 50).await.expect("revoke"),
        "another tenant cannot revoke"
    );
    assert!(!stores.artifacts.revoke_share("a", "missing", 50).await.expect("revoke"));
    assert!(
        stores
            .artifacts
            .get_by_share_token(&token)
            .await
            .expect("token")
            .is_some()
    );

    assert!(stores.artifacts.revoke_share("a", "art-r", 100).await.expect("revoke"));
    assert_eq!(stores.artifacts.get_by_share_token(&token).await.expect("token"), None);
    let ended = EndedShare {
        tenant_id: "a".into(),
        artifact_id: "art-r".into(),
        reason: ShareEnd::Revoked,
        at_unix_ns: 100,
    };
    assert_eq!(
        stores.artifacts.ended_share(&token).await.expect("ended"),
        Some(ended.clone())
    );
    assert!(stores.artifacts.revoke_share("a", "art-r", 200).await.expect("again"));
    assert_eq!(
        stores.artifacts.ended_share(&token).await.expect("ended"),
        Some(ended),
        "the first revocation's time stays"
    );
    assert_eq!(
        stores.artifacts.get_artifact("a", "art-r").await.expect("get"),
        Some(stored),
        "the artifact stays readable by id"
    );
    assert_eq!(stores.artifacts.ended_share("never-issued").await.expect("ended"), None);
}

pub async fn artifacts_expire_with_their_tokens(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let expiring = |id: &str, created: u64, expires: Option<u64>| StoredArtifact {
        expires_at_unix_ns: expires,
        ..artifact("a", id, "api", created)
    };
    let early = expiring("e1", 10, Some(1_000));
    let late = expiring("e2", 20, Some(2_000));
    let forever = expiring("e3", 30, None);
    let revoked = expiring("e4", 40, Some(1_000));
    for stored in [&early, &late, &forever, &revoked] {
        stores.artifacts.put_artifact(stored).await.expect("put");
    }
    assert_eq!(
        stores
            .artifacts
            .get_artifact("a", "e1")
            .await
            .expect("get")
            .and_then(|a| a.expires_at_unix_ns),
        Some(1_000),
        "the expiry is stored"
    );
    assert!(stores.artifacts.revoke_share("a", "e4", 500).await.expect("revoke"));
    assert_eq!(stores.artifacts.expire_artifacts(999).await.expect("expire"), 0);
    assert_eq!(
        stores.artifacts.expire_artifacts(1_000).await.expect("expire"),
        2,
        "at the time"
    );

    assert_eq!(stores.artifacts.get_artifact("a", "e1").await.expect("get"), None);
    assert_eq!(
        stores
            .artifacts
            .get_by_share_token(&early.share_token)
            .await
            .expect("token"),
        None
    );
    let ended = stores.artifacts.ended_share(&early.share_token).await.expect("ended");
    assert_eq!(
        ended.map(|e| (e.reason, e.at_unix_ns)),
        Some((ShareEnd::Expired, 1_000))
    );
    let ended = stores.artifacts.ended_share(&revoked.share_token).await.expect("ended");
    assert_eq!(
        ended.map(|e| (e.reason, e.at_unix_ns)),
        Some((ShareEnd::Revoked, 500)),
        "a revoked link stays revoked"
    );
    let listed: Vec<String> = stores
        .artifacts
        .list_artifacts("a", None, 0, 10)
        .await
        .expect("list")
        .into_iter()
        .map(|row| row.artifact_id)
        .collect();
    assert_eq!(listed, ["e3", "e2"], "expired artifacts leave the listing");
    assert_eq!(
        stores
            .artifacts
            .get_by_share_token(&late.share_token)
            .await
            .expect("token"),
        Some(late)
    );
    assert_eq!(stores.artifacts.expire_artifacts(u64::MAX).await.expect("expire"), 1);
    assert_eq!(
        stores.artifacts.expire_artifacts(u64::MAX).await.expect("expire"),
        0,
        "already gone"
    );
    assert!(
        stores.artifacts.get_artifact("a", "e3").await.expect("get").is_some(),
        "no expiry, kept"
    );
}

fn claim(tenant: &str, key: &str, alert_id: &str, expires: u64) -> DedupClaim {
    DedupClaim {
        tenant_id: tenant.into(),
        dedup_key: key.into(),
        alert_id: alert_id.into(),
        expires_at_unix_ns: expires,
    }
}

pub async fn alert_dedup_claims_once_until_expiry(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let first = claim("a", "pd:INC1", "al-1", 100);
    assert_eq!(
        stores.artifacts.claim_alert_dedup(&first, 10).await.expect("claim"),
        first
    );
    // A repeat inside the window gets the first holder.
    let repeat = claim("a", "pd:INC1", "al-2", 120);
    assert_eq!(
        stores.artifacts.claim_alert_dedup(&repeat, 50).await.expect("claim"),
        first
    );
    // Another tenant's key of the same text is its own.
    let other = claim("b", "pd:INC1", "al-3", 100);
    assert_eq!(
        stores.artifacts.claim_alert_dedup(&other, 50).await.expect("claim"),
        other
    );
    // Past the expiry the key is free again.
    assert_eq!(
        stores.artifacts.claim_alert_dedup(&repeat, 100).await.expect("claim"),
        repeat
    );
    // Release only by the holder.
    stores
        .artifacts
        .release_alert_dedup("a", "pd:INC1", "al-1")
        .await
        .expect("release by non-holder");
    let late = claim("a", "pd:INC1", "al-4", 200);
    assert_eq!(
        stores.artifacts.claim_alert_dedup(&late, 101).await.expect("claim"),
        repeat
    );
    stores
        .artifacts
        .release_alert_dedup("a", "pd:INC1", "al-2")
        .await
        .expect("release");
    assert_eq!(
        stores.artifacts.claim_alert_dedup(&late, 101).await.expect("claim"),
        late
    );
}

pub async fn alert_dedup_concurrent_claims_have_one_winner(harness: &dyn StoreHarness) {
    let stores = harness.open().await;
    let tasks: Vec<_> = (0..32)
        .map(|n| {
            let artifacts = Arc::clone(&stores.artifacts);
            tokio::spawn(async move {
                artifacts
                    .claim_alert_dedup(&claim("a", "am:fp", &format!("al-{n}"), 1_000), 1)
                    .await
            })
        })
        .collect();
    let mut holders = Vec::new();
    for task in tasks {
        holders.push(task.await.expect("task").expect("claim").alert_id);
    }
    holders.dedup();
    assert_eq!(holders.len(), 1, "every caller sees the one winner: {holders:?}");
}
