//! An outside producer's alert on the alert topic (generic alert JSON,
//! keyed by tenant): pending while the settle delay runs, then assembled,
//! and the artifact is published on the artifact topic.

use std::sync::Arc;
use std::time::{Duration, Instant};

use causeway_assembler::{AssemblerConfig, AssemblerDeps, run};
use causeway_bus::{Bus, Record, TopicSpec, Topics, headers, open_bus};
use causeway_model::proto::v1;
use causeway_runtime::clock::now_unix_ns;
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::{AlertPhase, AlertState, open_stores};
use prost::Message;
use tokio_util::sync::CancellationToken;

/// An assembler on the embedded bus and store under `dir`, with one-partition
/// topics named `<prefix>.*`, running until the returned token is cancelled.
struct Running {
    bus: Arc<dyn Bus>,
    stores: causeway_store::Stores,
    topics: Topics,
    token: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(dir: &std::path::Path, prefix: &str, settle_ms: u64) -> Running {
    let bus = open_bus(&format!("embedded://{}", dir.join("bus").display()))
        .await
        .expect("bus");
    let stores = open_stores(&format!("embedded://{}", dir.join("store").display()))
        .await
        .expect("store");
    let topics = Topics::with_prefix(prefix);
    let specs: Vec<TopicSpec> = topics
        .all()
        .iter()
        .map(|name| TopicSpec {
            name: (*name).to_owned(),
            partitions: 1,
            replication: 1,
        })
        .collect();
    bus.ensure_topics(&specs).await.expect("topics");
    let tenants = Arc::new(TenantRegistry::new(&[], Some("dev-key-0123456789abcdef")).expect("tenants"));
    let deps = AssemblerDeps {
        bus: bus.clone(),
        topics: topics.clone(),
        window: stores.window.clone(),
        artifacts: stores.artifacts.clone(),
        topology: stores.topology.clone(),
        tenants: tenants.clone(),
        notifier: causeway_assembler::Notifier::new(tenants),
        tasks: causeway_runtime::supervise::Tasks::new(),
    };
    let config = AssemblerConfig {
        settle_ms,
        ..AssemblerConfig::default()
    };
    let token = CancellationToken::new();
    let task = tokio::spawn(run(config, deps, token.clone()));
    Running {
        bus,
        stores,
        topics,
        token,
        task,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_alerts_go_pending_then_assembled_and_publish_the_artifact() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Running {
        bus,
        stores,
        topics,
        token,
        task,
    } = start(dir.path(), "t", 1_500).await;

    let body = format!(
        r#"{{"service":"web","fired_at":{},"title":"from the topic","source":"alertmanager"}}"#,
        now_unix_ns()
    );
    let record = Record::new(b"dev".to_vec(), body.clone().into_bytes())
        .with_header(headers::RECORD_TYPE, headers::TYPE_ALERT_JSON);
    bus.publish(&topics.alerts, vec![record]).await.expect("publish alert");

    // The alert id derives from the record's position; read it back from the
    // artifact topic at the end, and watch the state meanwhile by listing.
    let mut artifacts = bus
        .subscribe(&topics.artifacts, "test-reader")
        .await
        .expect("subscribe");
    let mut saw_pending = false;
    let deadline = Instant::now() + Duration::from_secs(20);
    let published = loop {
        assert!(Instant::now() < deadline, "no artifact published within 20 s");
        if !saw_pending {
            saw_pending = any_state(&stores, &body, AlertPhase::Pending).await;
        }
        let batch = artifacts.poll(1, Duration::from_millis(100)).await.expect("poll");
        if let Some(delivery) = batch.into_iter().next() {
            break v1::Artifact::decode(delivery.record.value.as_ref()).expect("artifact protobuf");
        }
    };
    assert!(saw_pending, "pending was visible during the settle delay");
    assert!(published.alert_id.starts_with("topic-"), "{}", published.alert_id);
    let state = stores
        .artifacts
        .get_alert_state("dev", &published.alert_id)
        .await
        .expect("read")
        .expect("state");
    assert_eq!(state.state, AlertPhase::Assembled);
    assert_eq!(state.artifact_id.as_deref(), Some(published.artifact_id.as_str()));
    let artifact: serde_json::Value = serde_json::from_slice(&published.canonical_json).expect("json");
    assert_eq!(artifact["alert"]["title"], "from the topic");
    assert_eq!(
        artifact["selection"]["reason"], "no_trace",
        "an empty window says no trace was found"
    );
    token.cancel();
    task.await.expect("join").expect("assembler");
}

/// Whether some alert of tenant `dev` is in `phase` (the id is not known
/// until the artifact is published).
async fn any_state(stores: &causeway_store::Stores, body: &str, phase: AlertPhase) -> bool {
    let id = json_alert_id("t.alerts", 0, body);
    matches!(stores.artifacts.get_alert_state("dev", &id).await, Ok(Some(AlertState { state, .. })) if state == phase)
}

/// The id of a JSON alert of tenant `dev` at `offset` of partition 0:
/// "topic-" + a hash of the record's position, key and value.
fn json_alert_id(topic: &str, offset: u64, body: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(format!("{topic}/0/{offset}\0dev\0").as_bytes());
    hash.update(body.as_bytes());
    format!("topic-{}", &hex::encode(hash.finalize())[..32])
}

/// An alert from the year 2200, one for a tenant nobody configured and a
/// record that is not JSON are each refused and dead-lettered at once; the
/// alert behind them is still assembled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_from_the_future_is_dead_lettered_and_blocks_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Running {
        bus,
        stores,
        topics,
        token,
        task,
    } = start(dir.path(), "f", 200).await;

    let future = r#"{"service":"web","fired_at":"2200-01-01T00:00:00Z","title":"from the future"}"#;
    let now = format!(
        r#"{{"service":"web","fired_at":{},"title":"right now"}}"#,
        now_unix_ns()
    );
    let stranger = format!(
        r#"{{"service":"web","fired_at":{},"title":"for a stranger"}}"#,
        now_unix_ns()
    );
    let garbage = "\u{1}not json at all";
    let records = [
        ("dev", future.to_owned()),
        ("nobody-configured", stranger.clone()),
        ("dev", garbage.to_owned()),
        ("dev", now),
    ]
    .into_iter()
    .map(|(tenant, body)| {
        Record::new(tenant.as_bytes().to_vec(), body.into_bytes())
            .with_header(headers::RECORD_TYPE, headers::TYPE_ALERT_JSON)
    })
    .collect();
    bus.publish(&topics.alerts, records).await.expect("publish alerts");

    let mut artifacts = bus
        .subscribe(&topics.artifacts, "test-reader")
        .await
        .expect("subscribe");
    let mut dead = bus
        .subscribe(&topics.dead_letter, "test-dead")
        .await
        .expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut published, mut refused) = (None, Vec::new());
    while published.is_none() || refused.len() < 3 {
        assert!(
            Instant::now() < deadline,
            "artifact {published:?}, dead letters {refused:?}"
        );
        if let Some(delivery) = artifacts.poll(1, Duration::from_millis(100)).await.expect("poll").pop() {
            published = Some(v1::Artifact::decode(delivery.record.value.as_ref()).expect("artifact protobuf"));
        }
        if let Some(delivery) = dead.poll(1, Duration::from_millis(100)).await.expect("poll").pop() {
            refused.push(String::from_utf8_lossy(&delivery.record.value).into_owned());
        }
    }
    let artifact: serde_json::Value =
        serde_json::from_slice(&published.expect("artifact").canonical_json).expect("json");
    assert_eq!(artifact["alert"]["title"], "right now");
    refused.sort();
    let mut expected = vec![future.to_owned(), stranger, garbage.to_owned()];
    expected.sort();
    assert_eq!(refused, expected, "the refused records, each dead-lettered as it was");
    // Its state says why, for whoever asks `GET /api/v1/alerts/{id}`.
    let state = stores
        .artifacts
        .get_alert_state("dev", &json_alert_id("f.alerts", 0, future))
        .await
        .expect("read")
        .expect("the refused alert has a state");
    assert_eq!(state.state, AlertPhase::Failed);
    assert!(
        state.error.as_deref().is_some_and(|e| e.contains("fired_at")),
        "{state:?}"
    );
    token.cancel();
    task.await.expect("join").expect("assembler");
}
