//! Alert intake: `pending` state stored, the alert published, its id
//! returned; `fired_at` outside the window refused; repeats deduplicated.

use causeway_bus::headers;
use causeway_model::TraceId;
use causeway_model::proto::v1;
use causeway_store::AlertPhase;
use prost::Message;
use serde_json::{Value, json};

use super::harness::{ACME_KEY, Gateway, recent_ns, uuid};

/// RFC 3339 text of unix nanoseconds.
fn rfc3339(unix_ns: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ns))
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[tokio::test]
async fn alert_is_stored_pending_and_published() {
    let gateway = Gateway::start().await;
    let trace = uuid();
    let fired_at = recent_ns();
    let body = json!({
        "service": "payments",
        "fired_at": rfc3339(fired_at),
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
    assert_eq!(record.key, &b"acme"[..]);
    assert_eq!(record.header(headers::RECORD_TYPE), Some(headers::TYPE_ALERT_PROTO));
    assert_eq!(record.header(headers::SCHEMA_VERSION), Some(headers::SCHEMA_V1));
    let alert = v1::Alert::decode(record.value.as_ref()).unwrap();
    assert_eq!(
        (alert.alert_id.as_str(), alert.tenant_id.as_str()),
        (alert_id.as_str(), "acme")
    );
    assert_eq!(
        (alert.service.as_str(), alert.source.as_str(), alert.dedup_key.as_str()),
        ("payments", "pagerduty", "PD-1")
    );
    assert_eq!(alert.fired_at_unix_ns, fired_at);
    assert_eq!(alert.trace_id, trace.parse::<TraceId>().unwrap().0.to_vec());

    let second = gateway
        .post("/api/v1/alerts", Some(ACME_KEY))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 200, "a repeat is not a new alert");
    let second: Value = second.json().await.unwrap();
    assert_eq!(
        second["alert_id"], answer["alert_id"],
        "a repeated dedup_key is the first alert"
    );
    assert_eq!(
        (second["duplicate"].as_bool(), second["state"].as_str()),
        (Some(true), Some("pending"))
    );
    let mut other = body.clone();
    other["dedup_key"] = json!("PD-2");
    let third: Value = gateway
        .post("/api/v1/alerts", Some(ACME_KEY))
        .json(&other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(
        third["alert_id"], answer["alert_id"],
        "another dedup_key is another alert"
    );
    other.as_object_mut().unwrap().remove("dedup_key");
    let fourth: Value = gateway
        .post("/api/v1/alerts", Some(ACME_KEY))
        .json(&other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(
        fourth["alert_id"], third["alert_id"],
        "no dedup_key: every alert gets a fresh id"
    );
    assert_eq!(
        gateway.records(&gateway.topics.alerts).await.len(),
        3,
        "the repeat was not published"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn bad_alert_is_400_and_nothing_is_published() {
    let gateway = Gateway::start().await;
    let cases = [
        (json!({"service": "payments", "fired_at": "soon"}), Some("fired_at")),
        (
            json!({"service": "", "fired_at": rfc3339(recent_ns())}),
            Some("service"),
        ),
        (
            json!({"service": "x", "fired_at": rfc3339(recent_ns()), "trace_id": "nope"}),
            Some("trace_id"),
        ),
        (json!({"fired_at": rfc3339(recent_ns())}), None),
        // A poison alert: far in the future it would hold the assembler.
        (
            json!({"service": "x", "fired_at": "2200-01-01T00:00:00Z"}),
            Some("fired_at"),
        ),
        // Older than the window plus grace (default 300 s + 300 s): its events are gone.
        (
            json!({"service": "x", "fired_at": rfc3339(causeway_gateway::now_unix_ns() - 700_000_000_000)}),
            Some("fired_at"),
        ),
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

#[tokio::test]
async fn refused_fired_at_names_the_limit_and_stores_nothing() {
    let gateway = Gateway::start().await;
    let response = gateway
        .post("/api/v1/alerts", Some(ACME_KEY))
        .json(&json!({"service": "x", "fired_at": "2200-01-01T00:00:00Z", "dedup_key": "poison"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["field"], "fired_at", "{error}");
    assert!(error["message"].as_str().unwrap().contains("future"), "{error}");
    // The dedup key was not claimed by the refused alert: a good one takes it.
    let good = gateway
        .post("/api/v1/alerts", Some(ACME_KEY))
        .json(&json!({"service": "x", "fired_at": rfc3339(recent_ns()), "dedup_key": "poison"}))
        .send()
        .await
        .unwrap();
    assert_eq!(good.status(), 202);
    assert_eq!(gateway.records(&gateway.topics.alerts).await.len(), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn concurrent_repeats_resolve_to_one_alert() {
    let gateway = std::sync::Arc::new(Gateway::start().await);
    let body = json!({"service": "payments", "fired_at": rfc3339(recent_ns()), "dedup_key": "burst"});
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let gateway = gateway.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let response = gateway
                    .post("/api/v1/alerts", Some(ACME_KEY))
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let answer: Value = response.json().await.unwrap();
                (status, answer["alert_id"].as_str().unwrap().to_owned())
            })
        })
        .collect();
    let mut ids = Vec::new();
    let mut created = 0;
    for task in tasks {
        let (status, id) = task.await.unwrap();
        created += usize::from(status == 202);
        ids.push(id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one alert id for every repeat: {ids:?}");
    assert_eq!(created, 1, "exactly one 202");
    assert_eq!(gateway.records(&gateway.topics.alerts).await.len(), 1);
    std::sync::Arc::into_inner(gateway).unwrap().stop().await;
}

#[tokio::test]
async fn the_alert_schema_example_is_accepted_and_its_required_fields_are_required() {
    let path = format!("{}/../../proto/alert.schema.json", env!("CARGO_MANIFEST_DIR"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let gateway = Gateway::start().await;
    let mut example = schema["examples"][0].clone();
    example["fired_at"] = json!(rfc3339(recent_ns()));
    let response = gateway
        .post("/api/v1/alerts", Some(ACME_KEY))
        .json(&example)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    for required in schema["required"].as_array().unwrap() {
        let mut missing = example.clone();
        missing.as_object_mut().unwrap().remove(required.as_str().unwrap());
        let response = gateway
            .post("/api/v1/alerts", Some(ACME_KEY))
            .json(&missing)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "without {required}");
    }
    gateway.stop().await;
}
