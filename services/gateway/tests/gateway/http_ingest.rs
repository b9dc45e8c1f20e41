//! Accepted HTTP ingest: SDK batches, OTLP/HTTP protobuf, JSON and gzip, SDK notices.

use std::collections::BTreeSet;
use std::io::Write;

use causeway_bus::{Bus, headers};
use causeway_gateway::month_of;
use causeway_store::ServiceNotice;
use serde_json::{Value, json};

use super::harness::{ACME_KEY, Gateway, sdk_batch, sdk_event, uuid};

const SDK_FIXTURE: &[u8] = include_bytes!("../../../../crates/model/fixtures/sdk_v1_checkout_skeleton.json");
const OTLP_PB: &[u8] = include_bytes!("../../../../crates/model/fixtures/otlp_checkout.pb");
const OTLP_JSON: &[u8] = include_bytes!("../../../../crates/model/fixtures/otlp_checkout.json");

#[tokio::test]
async fn sdk_batch_is_published_one_record_per_trace() {
    let gateway = Gateway::start().await;
    let (trace_a, trace_b) = (uuid(), uuid());
    let events = vec![
        sdk_event(&trace_a, &uuid(), "checkout"),
        sdk_event(&trace_b, &uuid(), "checkout"),
        sdk_event(&trace_a, &uuid(), "payments"),
    ];
    let response = gateway
        .post("/api/v1/ingest/batch", Some(ACME_KEY))
        .json(&sdk_batch(events))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"accepted": 3}));

    let records = gateway.records(&gateway.topics.ce).await;
    assert_eq!(records.len(), 2, "one record per trace");
    for delivery in &records {
        assert_eq!(
            delivery.record.header(headers::RECORD_TYPE),
            Some(headers::TYPE_CE_BATCH)
        );
        assert_eq!(
            delivery.record.header(headers::SCHEMA_VERSION),
            Some(headers::SCHEMA_V1)
        );
    }
    let published = gateway.published_events().await;
    let keys: BTreeSet<String> = published.iter().map(|(key, _)| key.clone()).collect();
    assert_eq!(
        keys,
        BTreeSet::from([format!("acme/{trace_a}"), format!("acme/{trace_b}")])
    );
    for (key, events) in &published {
        for event in events {
            assert_eq!(
                key,
                &format!("acme/{}", event.trace_id),
                "a record holds only its own trace"
            );
            assert_eq!(event.tenant_id, "acme");
        }
    }
    let a_events = &published.iter().find(|(key, _)| key.ends_with(&trace_a)).unwrap().1;
    assert_eq!(
        a_events.iter().map(|e| e.service.as_str()).collect::<Vec<_>>(),
        ["checkout", "payments"]
    );
    let month = month_of(causeway_gateway::now_unix_ns());
    assert_eq!(gateway.metered_usage("acme", month, 3).await, 3, "metered");
    gateway.stop().await;
}

#[tokio::test]
async fn real_sdk_batch_is_accepted() {
    let gateway = Gateway::start().await;
    let response = gateway
        .post("/api/v1/ingest/batch", Some(ACME_KEY))
        .header("content-type", "application/json")
        .body(SDK_FIXTURE)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let fixture: Value = serde_json::from_slice(SDK_FIXTURE).unwrap();
    let sent = fixture["events"].as_array().unwrap();
    assert_eq!(response.json::<Value>().await.unwrap()["accepted"], sent.len());
    let published = gateway.published_events().await;
    let traces: BTreeSet<&str> = sent.iter().map(|e| e["trace_id"].as_str().unwrap()).collect();
    assert_eq!(published.len(), traces.len());
    assert_eq!(
        published.iter().map(|(_, events)| events.len()).sum::<usize>(),
        sent.len()
    );
    gateway.stop().await;
}

#[tokio::test]
async fn tenant_in_the_body_is_overridden_by_the_key() {
    let gateway = Gateway::start().await;
    let trace = uuid();
    let mut event = sdk_event(&trace, &uuid(), "checkout");
    event["tenant_id"] = json!("victim");
    let mut body = sdk_batch(vec![event]);
    body["tenant_id"] = json!("victim");
    body["workspace_id"] = json!("victim");
    let response = gateway
        .post("/api/v1/ingest/batch", Some(ACME_KEY))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let published = gateway.published_events().await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].0, format!("acme/{trace}"));
    assert_eq!(published[0].1[0].tenant_id, "acme");
    gateway.stop().await;
}

#[tokio::test]
async fn otlp_http_protobuf_json_and_gzip_are_accepted() {
    let gateway = Gateway::start().await;
    let response = gateway
        .post("/v1/traces", Some(ACME_KEY))
        .header("content-type", "application/x-protobuf")
        .body(OTLP_PB)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    assert!(
        response.bytes().await.unwrap().is_empty(),
        "an empty ExportTraceServiceResponse, no partial success"
    );

    let response = gateway
        .post("/v1/traces", Some(ACME_KEY))
        .header("content-type", "application/json")
        .body(OTLP_JSON)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({}));

    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(OTLP_PB).unwrap();
    let response = gateway
        .post("/v1/traces", Some(ACME_KEY))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(encoder.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let expected = causeway_model::decode_otlp_protobuf(OTLP_PB, "acme", u64::MAX).unwrap();
    let published = gateway.published_event_list().await;
    assert_eq!(published.len(), 3 * expected.len(), "three exports of the same spans");
    for event in &expected {
        assert_eq!(published.iter().filter(|p| *p == event).count(), 3, "{event:?}");
    }
    gateway.stop().await;
}

#[tokio::test]
async fn service_notice_is_published_for_the_artifact() {
    let gateway = Gateway::start().await;
    let body = json!({
        "service_id": "checkout",
        "event": "pre_arm_start",
        "metadata": {"window_id": "w-1", "started_at_ms": 1, "expires_at_ms": 2, "reasons": [{"trigger_type": "error_rate"}]},
    });
    let response = gateway
        .post("/api/v1/services/events", Some(ACME_KEY))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let records = gateway.records(&gateway.topics.ce).await;
    assert_eq!(records.len(), 1);
    let record = &records[0].record;
    assert_eq!(record.key, &b"acme/notice/checkout"[..]);
    assert_eq!(record.header(headers::RECORD_TYPE), Some(headers::TYPE_NOTICE));
    let notice: ServiceNotice = serde_json::from_slice(&record.value).unwrap();
    assert_eq!(
        (notice.tenant_id.as_str(), notice.event.as_str()),
        ("acme", "pre_arm_start")
    );
    let metadata: Value = serde_json::from_str(&notice.metadata_json).unwrap();
    assert_eq!(metadata["reasons"][0]["trigger_type"], "error_rate");
    gateway.stop().await;
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight() {
    let gateway = Gateway::start().await;
    gateway.bus.delay_ms.store(600, std::sync::atomic::Ordering::SeqCst);
    let begun_before = gateway.bus.publishes_begun.load(std::sync::atomic::Ordering::SeqCst);
    let request = gateway
        .post("/api/v1/ingest/batch", Some(ACME_KEY))
        .json(&sdk_batch(vec![sdk_event(&uuid(), &uuid(), "checkout")]))
        .send();
    let in_flight = tokio::spawn(request);
    // Shut down once the request is being published, however slow the
    // machine was to send it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while gateway.bus.publishes_begun.load(std::sync::atomic::Ordering::SeqCst) == begun_before {
        assert!(
            std::time::Instant::now() < deadline,
            "the request never reached the bus"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    gateway.begin_shutdown();
    let response = in_flight.await.unwrap().unwrap();
    assert_eq!(response.status(), 200, "the request in flight at shutdown is answered");
    let url = gateway.http.clone();
    let bus = gateway.bus.clone();
    gateway.stop().await;
    assert!(
        reqwest::get(format!("{url}/api/v1/ingest/batch")).await.is_err(),
        "no longer accepting"
    );
    let group = format!("after-{}", uuid());
    let mut consumer = bus.subscribe("causeway.ce", &group).await.unwrap();
    let records = consumer.poll(10, std::time::Duration::from_millis(300)).await.unwrap();
    assert_eq!(records.len(), 1, "the in-flight batch reached the bus");
}
