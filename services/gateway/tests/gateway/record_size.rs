//! A trace too large for one bus record is accepted whole and published as
//! several records under its one key, each within `max_record_bytes`, its
//! events in the order they were sent.

use causeway_bus::headers;
use causeway_gateway::GatewayConfig;
use causeway_model::decode_ce_batch;
use serde_json::{Value, json};

use super::harness::{ACME_KEY, Gateway, sdk_batch, sdk_event, uuid};

/// Bytes the record's headers add (names and values).
fn header_bytes() -> usize {
    headers::RECORD_TYPE.len() + headers::TYPE_CE_BATCH.len() + headers::SCHEMA_VERSION.len() + headers::SCHEMA_V1.len()
}

async fn send_trace(gateway: &Gateway, events: usize) -> (String, Vec<String>) {
    let trace = uuid();
    // A long operation makes each event ~300 bytes on the bus: 6,500 of
    // them are well over one 900 KiB record.
    let operation = format!("GET /{}", "segment/".repeat(30));
    let ids: Vec<String> = (0..events).map(|_| uuid()).collect();
    let body: Vec<Value> = ids
        .iter()
        .map(|ce| {
            let mut event = sdk_event(&trace, ce, "checkout");
            event["event_attrs"] = json!({ "operation": operation });
            event
        })
        .collect();
    let response = gateway
        .post("/api/v1/ingest/batch", Some(ACME_KEY))
        .json(&sdk_batch(body))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
    (trace, ids)
}

async fn assert_split(gateway: &Gateway, limit: usize, trace: &str, ids: &[String]) -> usize {
    let records = gateway.records(&gateway.topics.ce).await;
    assert!(
        records.len() >= 2,
        "{} record(s) for a trace over the limit",
        records.len()
    );
    let mut stored = Vec::new();
    for delivery in &records {
        let record = &delivery.record;
        assert_eq!(String::from_utf8_lossy(&record.key), format!("acme/{trace}"));
        let size = record.key.len() + record.value.len() + header_bytes();
        assert!(size <= limit, "a record of {size} bytes over the {limit} limit");
        let events = decode_ce_batch(&record.value, None, u64::MAX).expect("valid CeBatch");
        stored.extend(events.into_iter().map(|event| event.ce_id.to_string()));
    }
    assert_eq!(stored, ids, "every event once, in the order sent");
    records.len()
}

#[tokio::test]
async fn a_6500_event_trace_is_split_under_the_default_limit() {
    let gateway = Gateway::start().await;
    let limit = GatewayConfig::default().max_record_bytes;
    let (trace, ids) = send_trace(&gateway, 6_500).await;
    assert_split(&gateway, limit, &trace, &ids).await;
    gateway.stop().await;
}

#[tokio::test]
async fn the_smallest_limit_splits_into_many_records() {
    let limit = causeway_gateway::MIN_RECORD_BYTES;
    let gateway = Gateway::start_with(GatewayConfig {
        max_record_bytes: limit,
        ..GatewayConfig::default()
    })
    .await;
    let (trace, ids) = send_trace(&gateway, 600).await;
    let records = assert_split(&gateway, limit, &trace, &ids).await;
    // ~300 bytes an event: a record holds about fifty.
    assert!((8..=20).contains(&records), "{records} records");
    gateway.stop().await;
}
