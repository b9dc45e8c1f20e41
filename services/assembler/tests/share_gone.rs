//! The end of a share link over HTTP, on the real embedded store: a live
//! link is cached for minutes, never a year; `DELETE
//! /api/v1/artifacts/{id}/share` (tenant key) revokes it and it answers
//! 410 to browsers (a page), scripts (JSON) and curl (text); an artifact
//! past its retention answers 410 before and after the expiry pass deletes
//! it; an unknown token stays 404.

use std::sync::Arc;

use causeway_assembler::{AssemblerConfig, ReadApiState, http_router};
use causeway_runtime::clock::now_unix_ns;
use causeway_runtime::tenants::{Plan, TenantConfig, TenantRegistry, hash_api_key};
use causeway_store::{StoredArtifact, open_stores};

const KEY_A: &str = "share-gone-key-a-0123456789";
const KEY_B: &str = "share-gone-key-b-0123456789";
const HOUR_NS: u64 = 3_600 * 1_000_000_000;
const HTML: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

fn tenant(id: &str, key: &str) -> TenantConfig {
    TenantConfig {
        id: id.to_owned(),
        plan: Plan::Pro,
        api_key_sha256: vec![hash_api_key(key)],
        monthly_ce_quota: None,
        retention_days: None,
        pre_arm_seconds: None,
        integrations: Default::default(),
    }
}

/// A real artifact (the golden one) stored under `id` with `expires`.
fn stored(id: &str, token: &str, expires: Option<u64>) -> StoredArtifact {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/assembly/tests/golden/example_sdk.json"
    );
    let json = std::fs::read(path).expect("golden artifact");
    let artifact: causeway_assembly::Artifact = serde_json::from_slice(&json).expect("parses");
    StoredArtifact {
        artifact_id: id.to_owned(),
        tenant_id: "a".to_owned(),
        alert_id: format!("alert-{id}"),
        service: "api-gateway".to_owned(),
        created_at_unix_ns: now_unix_ns(),
        digest: artifact.digest(),
        share_token: token.to_owned(),
        canonical_json: artifact.canonical_json(),
        expires_at_unix_ns: expires,
    }
}

struct Answer {
    status: u16,
    cache: String,
    content_type: String,
    body: String,
}

async fn get(base: &str, path: &str, accept: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    let response = request.send().await.expect("request");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    Answer {
        status: response.status().as_u16(),
        cache: header("cache-control"),
        content_type: header("content-type"),
        body: response.text().await.expect("body"),
    }
}

async fn revoke(base: &str, id: &str, key: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new().delete(format!("{base}/api/v1/artifacts/{id}/share"));
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.expect("request").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_and_expired_links_answer_410_in_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stores = open_stores(&format!("embedded://{}", dir.path().display()))
        .await
        .expect("store");
    let tenants = TenantRegistry::new(&[tenant("a", KEY_A), tenant("b", KEY_B)], None).expect("tenants");
    let now = now_unix_ns();
    let live = stored("art-live", "tok_live_0123456789abcdefghij", Some(now + 2 * HOUR_NS));
    let soon = stored(
        "art-soon",
        "tok_soon_0123456789abcdefghij",
        Some(now + 60 * 1_000_000_000),
    );
    let expired = stored("art-old", "tok_old_0123456789abcdefghijk", Some(now - HOUR_NS));
    for artifact in [&live, &soon, &expired] {
        stores.artifacts.put_artifact(artifact).await.expect("put");
    }
    let state = ReadApiState {
        config: Arc::new(AssemblerConfig::default()),
        tenants: Arc::new(tenants),
        window: stores.window.clone(),
        artifacts: stores.artifacts.clone(),
        topology: stores.topology.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move { axum::serve(listener, http_router(state)).await });

    // Live: the page, cached for minutes and never past the expiry.
    let page = get(&base, "/a/tok_live_0123456789abcdefghij", Some(HTML)).await;
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"), "{}", page.content_type);
    assert_eq!(page.cache, "public, max-age=300");
    assert!(
        page.body.contains("link expires"),
        "the page says when the link expires"
    );
    let soon_page = get(&base, "/a/tok_soon_0123456789abcdefghij.json", None).await;
    let max_age: u64 = soon_page
        .cache
        .strip_prefix("public, max-age=")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{}", soon_page.cache));
    assert!((1..=60).contains(&max_age), "{}", soon_page.cache);

    // Revocation needs the owner's key.
    assert_eq!(revoke(&base, "art-live", None).await, 401);
    assert_eq!(revoke(&base, "art-live", Some(KEY_B)).await, 404, "another tenant");
    assert_eq!(revoke(&base, "no-such-artifact", Some(KEY_A)).await, 404);
    assert_eq!(get(&base, "/a/tok_live_0123456789abcdefghij", None).await.status, 200);
    assert_eq!(revoke(&base, "art-live", Some(KEY_A)).await, 204);
    assert_eq!(revoke(&base, "art-live", Some(KEY_A)).await, 204, "idempotent");

    let revoked_page = get(&base, "/a/tok_live_0123456789abcdefghij", Some(HTML)).await;
    assert_eq!(revoked_page.status, 410);
    assert!(
        revoked_page.body.contains("<h1>This link was revoked</h1>"),
        "{}",
        revoked_page.body
    );
    assert_eq!(revoked_page.cache, "no-store");
    let revoked_json = get(&base, "/a/tok_live_0123456789abcdefghij.json", None).await;
    assert_eq!(revoked_json.status, 410);
    let body: serde_json::Value = serde_json::from_str(&revoked_json.body).expect("json");
    assert_eq!(body["error"], "revoked", "{body}");
    let revoked_text = get(&base, "/a/tok_live_0123456789abcdefghij", Some("*/*")).await;
    assert_eq!(revoked_text.status, 410);
    assert!(revoked_text.content_type.starts_with("text/plain"));
    assert!(
        revoked_text.body.starts_with("This link was revoked"),
        "{}",
        revoked_text.body
    );

    // Past its retention: 410 before the expiry pass and after it.
    for round in ["before the expiry pass", "after the expiry pass"] {
        let text = get(&base, "/a/tok_old_0123456789abcdefghijk", None).await;
        assert_eq!(text.status, 410, "{round}");
        assert!(text.body.starts_with("This link has expired"), "{round}: {}", text.body);
        let page = get(&base, "/a/tok_old_0123456789abcdefghijk", Some(HTML)).await;
        assert!(page.body.contains("<h1>This link has expired</h1>"), "{round}");
        let json = get(&base, "/a/tok_old_0123456789abcdefghijk.json", None).await;
        assert_eq!(json.status, 410, "{round}");
        assert!(json.body.contains("\"error\":\"expired\""), "{round}: {}", json.body);
        if round.starts_with("before") {
            assert_eq!(
                stores.artifacts.expire_artifacts(now_unix_ns()).await.expect("expire"),
                1
            );
        }
    }
    assert_eq!(stores.artifacts.get_artifact("a", "art-old").await.expect("get"), None);

    let unknown = get(&base, "/a/tok_none_0123456789abcdefghij", Some(HTML)).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("<h1>No artifact at this link</h1>"));
    assert_eq!(get(&base, "/a/tok_none_0123456789abcdefghij", None).await.status, 404);

    server.abort();
}
