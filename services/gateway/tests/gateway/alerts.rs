//! Alert intake: `pending` state stored, the alert published, its id returned.

use causeway_bus::headers;
use causeway_model::TraceId;
use causeway_model::proto::v1;
use causeway_store::AlertPhase;
use prost::Message;
use serde_json::{Value, json};

use super::harness::{ACME_KEY, Gateway, uuid};

#[tokio::test]
async fn alert_is_stored_pending_and_published() {
    let gateway = Gateway::start().await;
    let trace = uuid();
    let body = json!({
        "service": "payments",
        "fired_at": "2026-11-21T00:00:00Z",
        "title": "5xx rate over 5%",
        "source": "pagerduty",
        "dedup_key": "PD-1",
        "trace_id": trace,
        "severity": "critical",
    });
    let response = gateway
        .post("/api/v1/alerts", Some(ACME_KEY))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    let alert_id = answer["alert_id"].as_str().unwrap().to_owned();
    assert_eq!(uuid::Uuid::parse_str(&alert_id).unwrap().get_version_num(), 4);

    let state = gateway
        .stores
        .artifacts
        .get_alert_state("acme", &alert_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.state, AlertPhase::Pending);
    assert!(
        gateway
            .stores
            .artifacts
            .get_alert_state("other", &alert_id)
            .await
            .unwrap()
            .is_none()
    );

    let records = gateway.records(&gateway.topics.alerts).await;
    assert_eq!(records.len(), 1);
    let record = &records[0].record;
    assert_eq!(record.key, b"acme");
    assert_eq!(record.header(headers::RECORD_TYPE), Some(headers::TYPE_ALERT_PROTO));
    assert_eq!(record.header(headers::SCHEMA_VERSION), Some(headers::SCHEMA_V1));
    let alert = v1::Alert::decode(record.value.as_slice()).unwrap();
    assert_eq!(
        (alert.alert_id.as_str(), alert.tenant_id.as_str()),
        (alert_id.as_str(), "acme")
    );
    assert_eq!(
        (alert.service.as_str(), alert.source.as_str(), alert.dedup_key.as_str()),
        ("payments", "pagerduty", "PD-1")
    );
    assert_eq!(alert.fired_at_unix_ns, 1_795_219_200_000_000_000);
    assert_eq!(alert.trace_id, trace.parse::<TraceId>().unwrap().0.to_vec());

    let second = gateway
        .post("/api/v1/alerts", Some(ACME_KEY))
        .json(&body)
        .send()
        .await
        .unwrap();
    let second: Value = second.json().await.unwrap();
    assert_ne!(second["alert_id"], answer["alert_id"], "every alert gets a fresh id");
    gateway.stop().await;
}

#[tokio::test]
async fn bad_alert_is_400_and_nothing_is_published() {
    let gateway = Gateway::start().await;
    let cases = [
        (json!({"service": "payments", "fired_at": "soon"}), Some("fired_at")),
        (
            json!({"service": "", "fired_at": "2026-11-21T00:00:00Z"}),
            Some("service"),
        ),
        (
            json!({"service": "x", "fired_at": "2026-11-21T00:00:00Z", "trace_id": "nope"}),
            Some("trace_id"),
        ),
        (json!({"fired_at": "2026-11-21T00:00:00Z"}), None),
    ];
    for (body, field) in cases {
        let response = gateway
            .post("/api/v1/alerts", Some(ACME_KEY))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error.get("field").and_then(Value::as_str), field, "{error}");
    }
    gateway.assert_nothing_published().await;
    gateway.stop().await;
}
