//! No key reads or writes another tenant's data. Two tenants share one
//! standalone; `alpha` sends a trace, raises an alert and shares its
//! artifact. `beta`, with its own valid key, then tries every endpoint on
//! alpha's ids and names: the trace (even writing into the same trace id
//! with the same event ids), the artifact list, the artifact, its share
//! link, the alert, the dedup key, coverage, topology, the scorecard page
//! and the quota. Each answer is beta's own data or a 404, and alpha's
//! view is unchanged afterwards.

use causeway_integration_tests::{Api, EventSpec, LONG_WAIT, now_unix_ns, sdk_batch, start_standalone, wait_for};
use causeway_runtime::tenants::{Plan, TenantConfig, hash_api_key};
use serde_json::{Value, json};

const ALPHA_KEY: &str = "it-alpha-key-0123456789abcdef";
const BETA_KEY: &str = "it-beta-key-0123456789abcdef";
const ALPHA_QUOTA: u64 = 8;

fn tenant(id: &str, key: &str, quota: u64) -> TenantConfig {
    TenantConfig {
        id: id.to_owned(),
        plan: Plan::Team,
        api_key_sha256: vec![hash_api_key(key)],
        monthly_ce_quota: Some(quota),
        retention_days: None,
        pre_arm_seconds: None,
        integrations: Default::default(),
    }
}

fn alert(service: &str, dedup_key: &str) -> Value {
    json!({
        "service": service,
        "fired_at": now_unix_ns(),
        "title": format!("{service} errors"),
        "source": "tenant-isolation",
        "dedup_key": dedup_key,
    })
}

fn ce_ids(events: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = events
        .iter()
        .map(|event| event["ce_id"].as_str().expect("ce_id").to_owned())
        .collect();
    ids.sort();
    ids
}

fn services(events: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = events
        .iter()
        .map(|event| event["service"].as_str().unwrap_or_default().to_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_key_reads_or_writes_another_tenants_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let standalone = start_standalone(dir.path(), |config| {
        config.tenants.push(tenant("alpha", ALPHA_KEY, ALPHA_QUOTA));
        config.tenants.push(tenant("beta", BETA_KEY, 1_000));
    })
    .await;
    let alpha = Api::new(standalone.http_url(), ALPHA_KEY);
    let beta = Api::new(standalone.http_url(), BETA_KEY);

    // alpha: a failing chain, an alert on it, a share link.
    let now = now_unix_ns();
    let root = EventSpec::root("alpha-checkout", 502, now);
    let failing = root.child("alpha-payments", "HTTP_IN", 503, now - 2_000_000);
    let alpha_events = vec![root.clone(), failing];
    let answer = alpha.post_batch(&sdk_batch("alpha-checkout", &alpha_events)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let trace_id = root.trace_id.to_string();
    let alpha_view = alpha.wait_trace(&trace_id, alpha_events.len()).await;
    let answer = alpha
        .post_json("/api/v1/alerts", &alert("alpha-checkout", "shared-dedup-key"))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text());
    let alpha_alert = answer.json()["alert_id"].as_str().expect("alert_id").to_owned();
    let assembled = alpha.wait_assembled(&alpha_alert).await;
    let artifact_path = format!("/api/v1/artifacts/{}", assembled.artifact_id);

    // beta writes into the same trace id, reusing alpha's event ids.
    let mut intruder = alpha_events.clone();
    for event in &mut intruder {
        event.service = "beta-web".to_owned();
    }
    let answer = beta.post_batch(&sdk_batch("beta-web", &intruder)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let beta_view = beta.wait_trace(&trace_id, intruder.len()).await;
    assert_eq!(services(&beta_view), vec!["beta-web"], "beta sees only its own events");
    let after = alpha.trace_events(&trace_id).await;
    assert_eq!(ce_ids(&after), ce_ids(&alpha_view), "alpha's trace keeps its events");
    assert_eq!(
        services(&after),
        vec!["alpha-checkout", "alpha-payments"],
        "beta's events with the same ids did not replace alpha's"
    );

    // beta on alpha's artifact, alert and share link.
    let listed = beta.get("/api/v1/artifacts").await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert!(
        !listed.text().contains(&assembled.artifact_id),
        "beta's listing shows alpha's artifact: {}",
        listed.text()
    );
    assert_eq!(
        beta.get(&artifact_path).await.status,
        404,
        "beta reads alpha's artifact"
    );
    assert_eq!(
        beta.get(&format!("/api/v1/alerts/{alpha_alert}")).await.status,
        404,
        "beta reads alpha's alert"
    );
    let revoked = reqwest::Client::new()
        .delete(format!("{}{artifact_path}/share", beta.base_url()))
        .bearer_auth(BETA_KEY)
        .send()
        .await
        .expect("delete");
    assert_eq!(revoked.status().as_u16(), 404, "beta revokes alpha's share link");
    let shared = alpha
        .with_key(None)
        .get(&format!("{}.json", assembled.share_path))
        .await;
    assert_eq!(shared.status, 200, "alpha's share link still opens: {}", shared.text());
    assert_eq!(alpha.get(&artifact_path).await.status, 200);

    // The same dedup key is beta's own: not deduplicated against alpha's.
    let answer = beta
        .post_json("/api/v1/alerts", &alert("beta-web", "shared-dedup-key"))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text());
    let beta_alert = answer.json()["alert_id"].as_str().expect("alert_id").to_owned();
    assert_ne!(beta_alert, alpha_alert, "beta's alert is not alpha's duplicate");
    let beta_assembled = beta.wait_assembled(&beta_alert).await;
    assert_ne!(beta_assembled.artifact_id, assembled.artifact_id);
    assert_eq!(
        alpha
            .get(&format!("/api/v1/artifacts/{}", beta_assembled.artifact_id))
            .await
            .status,
        404,
        "alpha reads beta's artifact"
    );

    // Coverage, topology and the scorecard name only the reader's services.
    for path in ["/api/v1/coverage", "/api/v1/topology", "/coverage"] {
        let body = wait_for(&format!("beta's {path} to show beta-web"), LONG_WAIT, || async {
            let answer = beta.get(path).await;
            if answer.status == 200 && answer.text().contains("beta-web") {
                Ok(answer.text())
            } else {
                Err(format!("{}: {}", answer.status, answer.text()))
            }
        })
        .await;
        assert!(
            !body.contains("alpha-checkout") && !body.contains("alpha-payments"),
            "beta's {path} names alpha's services: {body}"
        );
        let alpha_body = alpha.get(path).await.text();
        assert!(
            !alpha_body.contains("beta-web"),
            "alpha's {path} names beta's service: {alpha_body}"
        );
    }

    // Usage: beta's events do not count against alpha's quota (2 of 8
    // used; 6 more fit, a 7th does not).
    let big: Vec<EventSpec> = (0..20)
        .map(|n| root.child("beta-web", "HTTP_OUT", 200, now + n))
        .collect();
    let answer = beta.post_batch(&sdk_batch("beta-web", &big)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let fits: Vec<EventSpec> = (0..ALPHA_QUOTA - 2)
        .map(|n| root.child("alpha-checkout", "HTTP_OUT", 200, now + n))
        .collect();
    let answer = alpha.post_batch(&sdk_batch("alpha-checkout", &fits)).await;
    assert_eq!(answer.status, 200, "alpha's quota is its own: {}", answer.text());
    let over = vec![root.child("alpha-checkout", "HTTP_OUT", 200, now)];
    let answer = alpha.post_batch(&sdk_batch("alpha-checkout", &over)).await;
    assert_eq!(answer.status, 429, "alpha's quota is exact: {}", answer.text());
}
