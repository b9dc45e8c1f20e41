//! Settle on the window's progress, in Kafka mode: while no windower has
//! written the CE topic (the slowest windower there is), an alert waits up to
//! `max_settle_ms`, then its artifact says the window had not caught up, with
//! the lag, and is never labelled `full`. Once a windower has caught up, the
//! next alert over the same events is `full`.

#[allow(dead_code)] // the process helpers serve the multi-process tests
mod kafka_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use causeway_assembler::{AssemblerConfig, AssemblerDeps, Notifier};
use causeway_bus::{Bus, Consumer, Record, TopicSpec, Topics, headers, open_bus};
use causeway_model::ce_batch::encode_ce_batch;
use causeway_model::proto::v1;
use causeway_model::{CausalEvent, CeId, Kind, TraceId};
use causeway_runtime::clock::now_unix_ns;
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::open_stores;
use causeway_windower::{WindowerConfig, WindowerDeps};
use prost::Message;
use tokio_util::sync::CancellationToken;

const DEV_KEY: &str = "dev-key-0123456789abcdef";

fn failing_trace(now: u64) -> Vec<CausalEvent> {
    let event = |ce: u8, parent: Option<u8>, service: &str, status: u16, start: u64, duration: u64| CausalEvent {
        tenant_id: "dev".to_owned(),
        trace_id: TraceId([0x42; 16]),
        ce_id: CeId([ce; 16]),
        parent_ce_id: parent.map(|p| CeId([p; 16])),
        service: service.to_owned(),
        kind: Kind::HttpIn,
        status,
        start_unix_ns: start,
        duration_ns: duration,
        operation: None,
        peer: None,
        environment: None,
    };
    let start = now - 20_000_000_000;
    vec![
        event(1, None, "web", 500, start, 30_000_000),
        event(2, Some(1), "payments", 503, start + 1_000_000, 10_000_000),
    ]
}

fn alert_record(title: &str) -> Record {
    let body = format!(r#"{{"service":"web","fired_at":{},"title":"{title}"}}"#, now_unix_ns());
    Record::new(b"dev".to_vec(), body.into_bytes()).with_header(headers::RECORD_TYPE, headers::TYPE_ALERT_JSON)
}

async fn next_artifact(artifacts: &mut dyn Consumer) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        assert!(Instant::now() < deadline, "no artifact published within 90 s");
        let batch = artifacts.poll(1, Duration::from_millis(250)).await.expect("poll");
        if let Some(delivery) = batch.into_iter().next() {
            artifacts.ack(&delivery).await.expect("ack");
            let message = v1::Artifact::decode(delivery.record.value.as_ref()).expect("artifact protobuf");
            return serde_json::from_slice(&message.canonical_json).expect("artifact json");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_artifact_from_a_lagging_window_says_so_and_is_never_full() {
    let Some(broker) = kafka_support::broker("kafka_window_behind") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let bus: Arc<dyn Bus> = open_bus(&format!("kafka://{broker}")).await.expect("kafka bus");
    let stores = open_stores(&format!("embedded://{}", dir.path().display()))
        .await
        .expect("store");
    let topics = Topics::with_prefix(&kafka_support::unique_prefix("behind"));
    let specs: Vec<TopicSpec> = topics
        .all()
        .iter()
        .map(|name| TopicSpec {
            name: (*name).to_owned(),
            partitions: 2,
            replication: 1,
        })
        .collect();
    bus.ensure_topics(&specs).await.expect("topics");
    let tenants = Arc::new(TenantRegistry::new(&[], Some(DEV_KEY)).expect("tenants"));

    // What the gateway would have published and acknowledged.
    let record = Record::new(b"dev/trace".to_vec(), encode_ce_batch(&failing_trace(now_unix_ns())))
        .with_header(headers::RECORD_TYPE, headers::TYPE_CE_BATCH)
        .with_header(headers::SCHEMA_VERSION, headers::SCHEMA_V1);
    bus.publish(&topics.ce, vec![record]).await.expect("publish ces");

    let shutdown = CancellationToken::new();
    let assembler = tokio::spawn(causeway_assembler::run(
        AssemblerConfig {
            settle_ms: 200,
            max_settle_ms: 2_000,
            ..AssemblerConfig::default()
        },
        AssemblerDeps {
            bus: bus.clone(),
            topics: topics.clone(),
            window: stores.window.clone(),
            artifacts: stores.artifacts.clone(),
            topology: stores.topology.clone(),
            tenants: tenants.clone(),
            notifier: Notifier::new(tenants.clone()),
            tasks: causeway_runtime::supervise::Tasks::new(),
        },
        shutdown.clone(),
    ));
    let mut artifacts = bus
        .subscribe(&topics.artifacts, "test-reader")
        .await
        .expect("subscribe");

    bus.publish(&topics.alerts, vec![alert_record("while the window lags")])
        .await
        .expect("publish alert");
    let behind = next_artifact(artifacts.as_mut()).await;
    assert_eq!(behind["alert"]["title"], "while the window lags");
    assert_eq!(behind["window_complete"], false, "{behind}");
    assert_eq!(behind["window_lag_records"], 1, "the one CE record not yet written");
    assert_ne!(behind["completeness"]["label"], "full", "{}", behind["completeness"]);

    // A windower catches up; the next alert over the same events is full.
    let windower = tokio::spawn(causeway_windower::run(
        WindowerConfig {
            poll_wait_ms: 50,
            ..WindowerConfig::default()
        },
        WindowerDeps {
            bus: bus.clone(),
            topics: topics.clone(),
            window: stores.window.clone(),
            tenants: tenants.clone(),
            tasks: causeway_runtime::supervise::Tasks::new(),
            backlog: None,
        },
        shutdown.clone(),
    ));
    bus.publish(&topics.alerts, vec![alert_record("after the window caught up")])
        .await
        .expect("publish alert");
    let caught_up = next_artifact(artifacts.as_mut()).await;
    assert_eq!(caught_up["alert"]["title"], "after the window caught up");
    assert_eq!(caught_up["window_complete"], true, "{caught_up}");
    assert_eq!(
        caught_up["completeness"]["label"], "full",
        "{}",
        caught_up["completeness"]
    );
    assert_eq!(caught_up["first_confirmed_break"]["service"], "payments");

    shutdown.cancel();
    assembler.await.expect("join").expect("assembler");
    windower.await.expect("join").expect("windower");
}
