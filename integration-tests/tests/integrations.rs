//! Each provider's documented payload (services/gateway/tests/fixtures)
//! turned into an artifact end to end in standalone, and the Slack flow
//! against a loopback HTTP server standing in for Slack: the slash
//! command's `response_url` gets the artifact link once, and the tenant's
//! incoming webhook gets one notice per stored artifact.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use causeway_gateway::sign_hex;
use causeway_integration_tests::{Api, DEV_KEY, EventSpec, now_unix_ns, sdk_batch, start_standalone, wait_for};
use causeway_runtime::integrations::{IntegrationsConfig, LabelConfig, PagerDutyConfig, SlackConfig, TokenConfig};
use causeway_runtime::tenants::{Plan, TenantConfig, hash_api_key};
use serde_json::Value;
use tokio::net::TcpListener;

const PD_SECRET: &str = "it-pagerduty-secret";
const OG_TOKEN: &str = "it-opsgenie-token";
const AM_TOKEN: &str = "it-alertmanager-token";
const GF_TOKEN: &str = "it-grafana-token";
const SLACK_SECRET: &str = "it-slack-signing-secret";

fn fixture(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../services/gateway/tests/fixtures");
    std::fs::read_to_string(root.join(path)).expect("fixture")
}

fn rfc3339(unix_ns: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ns))
        .expect("time")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

/// A loopback server recording every JSON body posted to `/hook/...`.
async fn recorder() -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let posts: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let seen = posts.clone();
    let router = axum::Router::new().route(
        "/hook/{name}",
        axum::routing::post(
            move |axum::extract::Path(name): axum::extract::Path<String>, axum::Json(body): axum::Json<Value>| {
                let seen = seen.clone();
                async move {
                    seen.lock().expect("lock").push((name, body));
                    "ok"
                }
            },
        ),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, posts)
}

fn posts_to(posts: &Arc<Mutex<Vec<(String, Value)>>>, name: &str) -> Vec<Value> {
    posts
        .lock()
        .expect("lock")
        .iter()
        .filter(|(to, _)| to == name)
        .map(|(_, body)| body.clone())
        .collect()
}

fn secret(dir: &std::path::Path, name: &str, value: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, value).expect("secret file");
    format!("file:{}", path.display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_payload_becomes_an_artifact_and_slack_hears_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (hooks, posts) = recorder().await;
    let secrets = dir.path().join("secrets");
    std::fs::create_dir_all(&secrets).expect("dir");
    let label = |name: &str, token: &str| LabelConfig {
        tokens: vec![secret(&secrets, name, token)],
        service_label: "service".into(),
        services: Default::default(),
        require_mapping: false,
    };
    let integrations = IntegrationsConfig {
        pagerduty: Some(PagerDutyConfig {
            signing_secrets: vec![secret(&secrets, "pd", PD_SECRET)],
            services: [("API Service".to_owned(), "checkout".to_owned())].into(),
            require_mapping: false,
        }),
        opsgenie: Some(TokenConfig {
            tokens: vec![secret(&secrets, "og", OG_TOKEN)],
            ..TokenConfig::default()
        }),
        alertmanager: Some(label("am", AM_TOKEN)),
        grafana: Some(label("gf", GF_TOKEN)),
        slack: Some(SlackConfig {
            signing_secrets: vec![secret(&secrets, "slack", SLACK_SECRET)],
            notice_webhook_url: Some(secret(&secrets, "notice", &format!("{hooks}/notice"))),
        }),
    };
    let standalone = start_standalone(dir.path(), |config| {
        config.assembler.public_url = "https://causeway.example.com".into();
        config.tenants.push(TenantConfig {
            id: "dev".to_owned(),
            plan: Plan::Pro,
            api_key_sha256: vec![hash_api_key("it-dev-second-key-0123456789")],
            monthly_ce_quota: None,
            retention_days: None,
            pre_arm_seconds: None,
            integrations,
        });
    })
    .await;
    let api = Api::new(standalone.http_url(), DEV_KEY);
    let public = api.with_key(None);

    // checkout -> pricing 500, 150 s ago: inside every alert's window below.
    let at = now_unix_ns() - 150_000_000_000;
    let root = EventSpec::root("checkout", 500, at);
    let call = root.child("checkout", "HTTP_OUT", 500, at - 1_000_000);
    let pricing = call.child("pricing", "HTTP_IN", 500, at - 2_000_000);
    let answer = api
        .post_batch(&sdk_batch("checkout", &[root.clone(), call, pricing]))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    api.wait_trace(&root.trace_id.to_string(), 3).await;
    let now = rfc3339(now_unix_ns());

    let mut alert_ids = Vec::new();
    // PagerDuty.
    let mut body: Value = serde_json::from_str(&fixture("pagerduty/incident_triggered.json")).expect("json");
    body["event"]["data"]["created_at"] = Value::from(now.clone());
    let body = serde_json::to_vec(&body).expect("bytes");
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/integrations/pagerduty", standalone.http_url()))
        .header("content-type", "application/json")
        .header("X-PagerDuty-Signature", format!("v1={}", sign_hex(PD_SECRET, &[&body])))
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.expect("json");
    alert_ids.push((
        "pagerduty",
        answer["alerts"][0]["alert_id"].as_str().expect("id").to_owned(),
    ));
    // OpsGenie.
    let mut body: Value = serde_json::from_str(&fixture("opsgenie/alert_created.json")).expect("json");
    body["alert"]["createdAt"] = Value::from(now_unix_ns() / 1_000_000);
    let answer = public
        .post_json(&format!("/api/v1/integrations/opsgenie?token={OG_TOKEN}"), &body)
        .await;
    assert_eq!(answer.status, 202, "{}", answer.text());
    alert_ids.push((
        "opsgenie",
        answer.json()["alerts"][0]["alert_id"].as_str().expect("id").to_owned(),
    ));
    // Alertmanager and Grafana.
    for (provider, path, token) in [
        ("alertmanager", "alertmanager/webhook_v4.json", AM_TOKEN),
        ("grafana", "grafana/webhook.json", GF_TOKEN),
    ] {
        let mut body: Value = serde_json::from_str(&fixture(path)).expect("json");
        for alert in body["alerts"].as_array_mut().expect("alerts") {
            alert["startsAt"] = Value::from(now.clone());
        }
        let answer = public
            .post_json(&format!("/api/v1/integrations/{provider}?token={token}"), &body)
            .await;
        assert_eq!(answer.status, 202, "{provider}: {}", answer.text());
        alert_ids.push((
            provider,
            answer.json()["alerts"][0]["alert_id"].as_str().expect("id").to_owned(),
        ));
    }
    // Slack slash command (`/causeway checkout 2`).
    let response_url = format!("{hooks}/response");
    let form = fixture("slack/slash_command.txt").trim().replace(
        "RESPONSE_URL",
        &serde_urlencoded::to_string([("u", &response_url)]).expect("encode")[2..],
    );
    let timestamp = (now_unix_ns() / 1_000_000_000).to_string();
    let signature = sign_hex(SLACK_SECRET, &[b"v0:", timestamp.as_bytes(), b":", form.as_bytes()]);
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/integrations/slack", standalone.http_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Slack-Request-Timestamp", &timestamp)
        .header("X-Slack-Signature", format!("v0={signature}"))
        .body(form)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let ack: Value = response.json().await.expect("json");
    let ack_text = ack["text"].as_str().expect("text");
    let slack_alert = ack_text
        .split('`')
        .nth(1)
        .expect("the acknowledgement names the alert id")
        .to_owned();
    alert_ids.push(("slack", slack_alert));

    let mut share_urls = Vec::new();
    for (provider, alert_id) in &alert_ids {
        let assembled = api.wait_assembled(alert_id).await;
        let (_, artifact) = api.artifact(&assembled.artifact_id).await;
        assert_eq!(artifact.alert.service, "checkout", "{provider}");
        assert_eq!(artifact.alert.source.as_str(), *provider);
        assert_eq!(
            artifact.first_confirmed_break.as_ref().map(|b| b.summary.as_str()),
            Some("pricing HTTP_IN 500"),
            "{provider}"
        );
        share_urls.push(assembled.share_path);
    }

    // The slash command's follow-up: the link, once.
    let replies = wait_for("the slash command reply", Duration::from_secs(30), || async {
        let replies = posts_to(&posts, "response");
        if replies.is_empty() {
            Err("none yet".to_owned())
        } else {
            Ok(replies)
        }
    })
    .await;
    let slack_share = share_urls.last().expect("slack share url");
    assert_eq!(replies[0]["text"], format!("Artifact ready: {slack_share}"));
    // One notice per stored artifact on the incoming webhook.
    let notices = wait_for("five notices", Duration::from_secs(30), || async {
        let notices = posts_to(&posts, "notice");
        if notices.len() >= alert_ids.len() {
            Ok(notices)
        } else {
            Err(format!("{} so far", notices.len()))
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(posts_to(&posts, "response").len(), 1, "the reply is posted once");
    assert_eq!(
        posts_to(&posts, "notice").len(),
        alert_ids.len(),
        "one notice per artifact"
    );
    for share in &share_urls {
        let notice = notices
            .iter()
            .find(|n| n["text"].as_str().is_some_and(|t| t.ends_with(share.as_str())))
            .unwrap_or_else(|| panic!("no notice links {share}: {notices:?}"));
        let text = notice["text"].as_str().expect("text");
        assert!(text.contains("Service: checkout"), "{text}");
        assert!(text.contains("First confirmed break: pricing HTTP_IN 500, "), "{text}");
        assert!(text.contains("s before the alert"), "{text}");
    }

    // A pasted link unfurls: Open Graph title and the first break.
    let path = share_urls[0]
        .strip_prefix("https://causeway.example.com")
        .expect("public url");
    let page = reqwest::Client::new()
        .get(format!("{}{path}", standalone.http_url()))
        .header(
            "user-agent",
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        )
        .send()
        .await
        .expect("get");
    assert!(
        page.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/html"),
        "{:?}",
        page.headers()
    );
    let page = page.text().await.expect("text");
    assert!(
        page.contains(
            "<meta property=\"og:title\" content=\"A little bump in the road — pricing HTTP_IN 500 broke first\">"
        ),
        "{page}"
    );
    assert!(
        page.contains("<meta property=\"og:description\" content=\"Completeness ")
            && page.contains("First confirmed break: pricing HTTP_IN 500, "),
        "{page}"
    );
    assert!(page.contains("pricing HTTP_IN 500"), "{page}");
    standalone.stop().await.expect("stop");
}
