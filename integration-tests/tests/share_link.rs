//! The share link: `/a/{token}.json` serves, without auth, the very bytes
//! of the authenticated artifact with their digest; `/a/{token}` the text
//! waterfall; a wrong token finds nothing; another tenant cannot read the
//! artifact by id.

use causeway_integration_tests::{Api, DEV_KEY, EventSpec, now_unix_ns, sdk_batch, start_standalone};
use causeway_runtime::tenants::{Plan, TenantConfig, hash_api_key};
use sha2::{Digest, Sha256};

const OTHER_KEY: &str = "it-other-tenant-key-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_link_serves_the_same_bytes_without_auth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let standalone = start_standalone(dir.path(), |config| {
        config.tenants.push(TenantConfig {
            id: "other".to_owned(),
            plan: Plan::Pro,
            api_key_sha256: vec![hash_api_key(OTHER_KEY)],
            monthly_ce_quota: None,
            retention_days: None,
            pre_arm_seconds: None,
            integrations: Default::default(),
        });
    })
    .await;
    let api = Api::new(standalone.http_url(), DEV_KEY);

    // checkout -> pricing, pricing answers 500.
    let now = now_unix_ns();
    let root = EventSpec::root("checkout", 500, now - 1_000_000);
    let call = root.child("checkout", "HTTP_OUT", 500, now - 2_000_000);
    let pricing = call.child("pricing", "HTTP_IN", 500, now - 3_000_000);
    let answer = api
        .post_batch(&sdk_batch("checkout", &[root.clone(), call, pricing]))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    api.wait_trace(&root.trace_id.to_string(), 3).await;

    let alert_id = api.post_alert("checkout").await;
    let assembled = api.wait_assembled(&alert_id).await;
    let (authenticated, artifact) = api.artifact(&assembled.artifact_id).await;
    assert_eq!(
        artifact.first_confirmed_break.as_ref().map(|b| b.summary.as_str()),
        Some("pricing HTTP_IN 500")
    );
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&authenticated.body)));
    assert_eq!(
        authenticated.header("x-causeway-digest").as_deref(),
        Some(digest.as_str())
    );
    assert_eq!(
        authenticated.header("x-causeway-share-url").as_deref(),
        Some(assembled.share_path.as_str())
    );
    let token = assembled
        .share_path
        .strip_prefix("/a/")
        .expect("a relative share link")
        .to_owned();
    assert!(token.len() >= 22, "at least 128 bits of token: {token}");

    // Without any key: the same bytes, the same digest.
    let public = api.with_key(None);
    let shared = public.get(&format!("/a/{token}.json")).await;
    assert_eq!(shared.status, 200, "{}", shared.text());
    assert_eq!(
        shared.body, authenticated.body,
        "the share link serves the canonical bytes"
    );
    assert_eq!(shared.header("x-causeway-digest").as_deref(), Some(digest.as_str()));
    assert!(
        shared
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json"))
    );

    // The text waterfall.
    let text = public.get(&assembled.share_path).await;
    assert_eq!(text.status, 200, "{}", text.text());
    assert!(text.header("content-type").is_some_and(|c| c.starts_with("text/plain")));
    let page = text.text();
    for expected in [
        "completeness: FULL",
        "pricing HTTP_IN 500",
        "checkout HTTP_IN",
        "<- first confirmed break",
    ] {
        assert!(page.contains(expected), "waterfall lacks {expected:?}:\n{page}");
    }

    // A wrong token of the right shape, and a malformed one: 404.
    let mut wrong = token.clone().into_bytes();
    wrong[0] = if wrong[0] == b'A' { b'B' } else { b'A' };
    let wrong = String::from_utf8(wrong).expect("ascii");
    for path in [
        format!("/a/{wrong}.json"),
        format!("/a/{wrong}"),
        "/a/short".to_owned(),
        "/a/..%2F..%2Fetc".to_owned(),
    ] {
        let answer = public.get(&path).await;
        assert_eq!(answer.status, 404, "{path}: {}", answer.text());
        assert_ne!(answer.body, authenticated.body);
    }

    // The read API needs a key, and another tenant's key finds nothing.
    let answer = public
        .get(&format!("/api/v1/artifacts/{}", assembled.artifact_id))
        .await;
    assert_eq!(answer.status, 401, "{}", answer.text());
    let other = api.with_key(Some(OTHER_KEY));
    let answer = other.get(&format!("/api/v1/artifacts/{}", assembled.artifact_id)).await;
    assert_eq!(answer.status, 404, "{}", answer.text());
    let answer = other.get(&format!("/api/v1/alerts/{alert_id}")).await;
    assert_eq!(answer.status, 404, "{}", answer.text());
    assert!(
        other.trace_events(&root.trace_id.to_string()).await.is_empty(),
        "traces are tenant-scoped"
    );

    standalone.stop().await.expect("graceful stop");
}
