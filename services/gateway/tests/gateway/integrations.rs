//! Provider webhooks: each documented fixture (tests/fixtures/<provider>)
//! accepted and published as the one alert; signatures pass, fail, rotate
//! and replay; rejections name the header, field or service, and publish
//! nothing.

use std::time::Duration;

use causeway_gateway::sign_hex;
use causeway_model::proto::v1;
use causeway_store::{AlertPhase, AlertState};
use prost::Message;
use serde_json::Value;

use super::harness::{
    ALERTMANAGER_TOKEN, GRAFANA_TOKEN, Gateway, OPSGENIE_TOKEN, PD_OLD_SECRET, PD_SECRET, Recorder, SLACK_SECRET,
    TINY_PD_SECRET,
};

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn pagerduty_body(path: &str) -> Vec<u8> {
    let mut body: Value = serde_json::from_str(&fixture(path)).unwrap();
    body["event"]["data"]["created_at"] = Value::String(now_rfc3339());
    serde_json::to_vec(&body).unwrap()
}

async fn post_pagerduty(gateway: &Gateway, body: &[u8], signature: Option<String>) -> (u16, Value) {
    let mut request = gateway
        .post("/api/v1/integrations/pagerduty", None)
        .header("content-type", "application/json")
        .body(body.to_vec());
    if let Some(signature) = signature {
        request = request.header("X-PagerDuty-Signature", signature);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn published(gateway: &Gateway) -> Vec<v1::Alert> {
    gateway
        .records(&gateway.topics.alerts)
        .await
        .iter()
        .map(|d| v1::Alert::decode(d.record.value.as_ref()).unwrap())
        .collect()
}

#[tokio::test]
async fn pagerduty_triggered_incident_is_one_alert_across_retries_and_rotation() {
    let gateway = Gateway::start().await;
    let body = pagerduty_body("pagerduty/incident_triggered.json");
    let signature = format!("v1={}", sign_hex(PD_SECRET, &[&body]));
    let (status, answer) = post_pagerduty(&gateway, &body, Some(signature.clone())).await;
    assert_eq!(status, 202, "{answer}");
    let alert_id = answer["alerts"][0]["alert_id"].as_str().unwrap().to_owned();

    // PagerDuty retries the same delivery (a replay): the same alert.
    let (status, again) = post_pagerduty(&gateway, &body, Some(signature)).await;
    assert_eq!(
        (status, again["alerts"][0]["alert_id"].as_str()),
        (200, Some(alert_id.as_str()))
    );
    assert_eq!(again["alerts"][0]["duplicate"], true);
    // Mid-rotation PagerDuty lists both signatures; either secret verifies.
    let rotated = format!(
        "v1={}, v1={}",
        sign_hex("a-secret-nobody-has", &[&body]),
        sign_hex(PD_OLD_SECRET, &[&body])
    );
    let (status, rotated) = post_pagerduty(&gateway, &body, Some(rotated)).await;
    assert_eq!(
        (status, rotated["alerts"][0]["alert_id"].as_str()),
        (200, Some(alert_id.as_str()))
    );

    let alerts = published(&gateway).await;
    assert_eq!(alerts.len(), 1, "one alert for one incident");
    let alert = &alerts[0];
    assert_eq!(alert.alert_id, alert_id);
    assert_eq!(alert.tenant_id, "acme");
    assert_eq!(
        alert.service, "checkout",
        "mapped from the PagerDuty service \"API Service\""
    );
    assert_eq!(alert.source, "pagerduty");
    assert_eq!(alert.dedup_key, "pagerduty:PGR0VU2");
    assert_eq!(alert.title, "A little bump in the road");
    let state = gateway
        .stores
        .artifacts
        .get_alert_state("acme", &alert_id)
        .await
        .unwrap();
    assert_eq!(state.map(|s| s.state), Some(AlertPhase::Pending));
    gateway.stop().await;
}

#[tokio::test]
async fn pagerduty_refusals_are_precise_and_publish_nothing() {
    let gateway = Gateway::start().await;
    let body = pagerduty_body("pagerduty/incident_triggered.json");

    let (status, error) = post_pagerduty(&gateway, &body, None).await;
    assert_eq!((status, error["header"].as_str()), (401, Some("X-PagerDuty-Signature")));
    let forged = format!("v1={}", sign_hex("wrong-secret", &[&body]));
    let (status, error) = post_pagerduty(&gateway, &body, Some(forged)).await;
    assert_eq!((status, error["header"].as_str()), (401, Some("X-PagerDuty-Signature")));
    // Signed for another body: the signature covers every byte.
    let other = pagerduty_body("pagerduty/incident_acknowledged.json");
    let (status, _) = post_pagerduty(&gateway, &body, Some(format!("v1={}", sign_hex(PD_SECRET, &[&other])))).await;
    assert_eq!(status, 401);

    // `tiny` requires its map, which does not name "API Service".
    let (status, error) = post_pagerduty(
        &gateway,
        &body,
        Some(format!("v1={}", sign_hex(TINY_PD_SECRET, &[&body]))),
    )
    .await;
    assert_eq!(
        (status, error["service"].as_str()),
        (422, Some("API Service")),
        "{error}"
    );

    let mut broken: Value = serde_json::from_slice(&body).unwrap();
    broken["event"]["data"].as_object_mut().unwrap().remove("service");
    let broken = serde_json::to_vec(&broken).unwrap();
    let (status, error) = post_pagerduty(
        &gateway,
        &broken,
        Some(format!("v1={}", sign_hex(PD_SECRET, &[&broken]))),
    )
    .await;
    assert_eq!(
        (status, error["field"].as_str()),
        (400, Some("event.data.service.summary")),
        "{error}"
    );

    // Another event type is acknowledged and ignored.
    let ack = pagerduty_body("pagerduty/incident_acknowledged.json");
    let (status, answer) = post_pagerduty(&gateway, &ack, Some(format!("v1={}", sign_hex(PD_SECRET, &[&ack])))).await;
    assert_eq!((status, answer["ignored"].as_u64()), (200, Some(1)), "{answer}");

    gateway.assert_nothing_published().await;
    gateway.stop().await;
}

#[tokio::test]
async fn opsgenie_create_is_an_alert_and_tokens_are_checked() {
    let gateway = Gateway::start().await;
    let mut body: Value = serde_json::from_str(&fixture("opsgenie/alert_created.json")).unwrap();
    let now_ms = causeway_gateway::now_unix_ns() / 1_000_000;
    body["alert"]["createdAt"] = Value::from(now_ms);
    let send = |token: Option<&str>, body: Value| {
        let url = match token {
            Some(token) => format!("/api/v1/integrations/opsgenie?token={token}"),
            None => "/api/v1/integrations/opsgenie".to_owned(),
        };
        gateway.post(&url, None).json(&body).send()
    };
    let response = send(Some("not-the-token"), body.clone()).await.unwrap();
    assert_eq!(response.status(), 401);
    let response = send(None, body.clone()).await.unwrap();
    assert_eq!(response.status(), 401);
    let mut acknowledged = body.clone();
    acknowledged["action"] = Value::from("Acknowledge");
    assert_eq!(send(Some(OPSGENIE_TOKEN), acknowledged).await.unwrap().status(), 200);
    gateway.assert_nothing_published().await;

    let response = send(Some(OPSGENIE_TOKEN), body.clone()).await.unwrap();
    assert_eq!(response.status(), 202);
    let alerts = published(&gateway).await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        (
            alerts[0].service.as_str(),
            alerts[0].source.as_str(),
            alerts[0].dedup_key.as_str()
        ),
        ("checkout", "opsgenie", "opsgenie:checkout-5xx")
    );
    assert_eq!(alerts[0].fired_at_unix_ns, now_ms * 1_000_000);
    gateway.stop().await;
}

fn label_body(path: &str) -> Value {
    let mut body: Value = serde_json::from_str(&fixture(path)).unwrap();
    for alert in body["alerts"].as_array_mut().unwrap() {
        alert["startsAt"] = Value::String(now_rfc3339());
    }
    body
}

#[tokio::test]
async fn alertmanager_and_grafana_take_firing_alerts_once() {
    let gateway = Gateway::start().await;
    let body = label_body("alertmanager/webhook_v4.json");
    let url = format!("/api/v1/integrations/alertmanager?token={ALERTMANAGER_TOKEN}");
    let response = gateway.post(&url, None).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["alerts"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["ignored"], 1, "the resolved alert is ignored");
    // Alertmanager repeats the group every repeat_interval: the same alert.
    let repeat: Value = gateway
        .post(&url, None)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(repeat["alerts"][0]["alert_id"], answer["alerts"][0]["alert_id"]);

    // Grafana's token is not Alertmanager's.
    let grafana = label_body("grafana/webhook.json");
    let wrong = format!("/api/v1/integrations/grafana?token={ALERTMANAGER_TOKEN}");
    assert_eq!(
        gateway.post(&wrong, None).json(&grafana).send().await.unwrap().status(),
        401
    );
    let url = format!("/api/v1/integrations/grafana?token={GRAFANA_TOKEN}");
    let response = gateway.post(&url, None).json(&grafana).send().await.unwrap();
    assert_eq!(response.status(), 202);

    let alerts = published(&gateway).await;
    assert_eq!(alerts.len(), 2);
    assert_eq!(
        (
            alerts[0].service.as_str(),
            alerts[0].source.as_str(),
            alerts[0].title.as_str()
        ),
        ("checkout", "alertmanager", "checkout 5xx rate above 5% for 2 minutes")
    );
    assert!(alerts[0].dedup_key.starts_with("alertmanager:c2d1b5b6a8f0e3d4:"));
    assert_eq!(
        (alerts[1].service.as_str(), alerts[1].source.as_str()),
        ("checkout", "grafana")
    );
    gateway.stop().await;
}

#[tokio::test]
async fn alertmanager_refusals_name_the_field_and_publish_nothing() {
    let gateway = Gateway::start().await;
    let url = format!("/api/v1/integrations/alertmanager?token={ALERTMANAGER_TOKEN}");
    let mut old_version = label_body("alertmanager/webhook_v4.json");
    old_version["version"] = Value::from("3");
    let mut no_service = label_body("alertmanager/webhook_v4.json");
    no_service["alerts"][0]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("service");
    let mut future = label_body("alertmanager/webhook_v4.json");
    future["alerts"][0]["startsAt"] = Value::from("2200-01-01T00:00:00Z");
    for (body, field) in [
        (old_version, "version"),
        (no_service, "alerts[0].labels.service"),
        (future, "fired_at"),
    ] {
        let response = gateway.post(&url, None).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 400);
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["field"], field, "{error}");
    }
    let response = gateway.post(&url, None).body("{not json").send().await.unwrap();
    assert_eq!(response.status(), 400);
    gateway.assert_nothing_published().await;
    gateway.stop().await;
}

fn slack_request(gateway: &Gateway, body: &str, timestamp: u64, secret: &str) -> reqwest::RequestBuilder {
    let signature = format!(
        "v0={}",
        sign_hex(
            secret,
            &[b"v0:", timestamp.to_string().as_bytes(), b":", body.as_bytes()]
        )
    );
    gateway
        .post("/api/v1/integrations/slack", None)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("X-Slack-Request-Timestamp", timestamp.to_string())
        .header("X-Slack-Signature", signature)
        .body(body.to_owned())
}

#[tokio::test]
async fn slack_command_acknowledges_then_posts_the_link_once() {
    let gateway = Gateway::start().await;
    let slack = Recorder::start().await;
    let body = fixture("slack/slash_command.txt").trim().replace(
        "RESPONSE_URL",
        &serde_urlencoded::to_string([("u", &slack.url)]).unwrap()[2..],
    );
    let now = causeway_gateway::now_unix_ns() / 1_000_000_000;

    // Stale (a replay of a captured request) and forged requests: 401.
    let stale = slack_request(&gateway, &body, now - 301, SLACK_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 401);
    let stale: Value = stale.json().await.unwrap();
    assert_eq!(stale["header"], "X-Slack-Request-Timestamp");
    let forged = slack_request(&gateway, &body, now, "not-the-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let forged: Value = forged.json().await.unwrap();
    assert_eq!(forged["header"], "X-Slack-Signature");
    gateway.assert_nothing_published().await;

    let response = slack_request(&gateway, &body, now, SLACK_SECRET).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let ack: Value = response.json().await.unwrap();
    assert_eq!(ack["response_type"], "ephemeral");
    let alerts = published(&gateway).await;
    assert_eq!(alerts.len(), 1);
    let alert = &alerts[0];
    assert_eq!((alert.service.as_str(), alert.source.as_str()), ("checkout", "slack"));
    // `text=checkout 2`: two minutes ago.
    let ago = causeway_gateway::now_unix_ns() - alert.fired_at_unix_ns;
    assert!((115_000_000_000..130_000_000_000).contains(&ago), "{ago}");
    assert!(ack["text"].as_str().unwrap().contains(&alert.alert_id));

    // Nothing is posted before the artifact exists; then exactly once.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(slack.posts().is_empty());
    let assembled = AlertState {
        alert_id: alert.alert_id.clone(),
        tenant_id: "acme".into(),
        state: AlertPhase::Assembled,
        artifact_id: Some("art-1".into()),
        share_token: Some("tok-123".into()),
        error: None,
        updated_at_unix_ns: causeway_gateway::now_unix_ns(),
    };
    gateway.stores.artifacts.put_alert_state(&assembled).await.unwrap();
    let posts = slack.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0]["text"], "Artifact ready: /a/tok-123");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(slack.posts().len(), 1, "posted once");

    // A command without a service answers the usage, publishes nothing.
    let usage = body.replace("text=checkout%202", "text=");
    let response = slack_request(&gateway, &usage, now, SLACK_SECRET).send().await.unwrap();
    let answer: Value = response.json().await.unwrap();
    assert!(answer["text"].as_str().unwrap().starts_with("Usage"), "{answer}");
    assert_eq!(published(&gateway).await.len(), 1);
    gateway.stop().await;
}
