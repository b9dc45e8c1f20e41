//! The split deployment on a real Kafka-protocol broker: the gateway in one
//! OS process, the windower and assembler in another, each with its own
//! embedded store (the gateway's holds only its own metering state). SDK
//! batches go in at the gateway; the windower+assembler process is killed
//! with SIGKILL mid-stream and started again on the same store. Every event
//! the gateway acknowledged is stored exactly once, and an alert sent after
//! the restart assembles an artifact whose frames are events that were sent,
//! none twice. An alert written straight onto the alert topic by an outside
//! producer (generic alert JSON, keyed by tenant) is assembled too, and its
//! artifact comes out on the artifact topic.

mod kafka_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use causeway_bus::{Record, Topics, headers, open_bus};
use causeway_model::proto::v1;
use prost::Message;

use causeway_integration_tests::{Api, DEV_KEY, EventSpec, TEST_SETTLE_MS, now_unix_ns, sdk_batch};
use kafka_support::{Process, broker, causeway_binary, target_args, unique_prefix};

const TRACES: usize = 12;
/// Batches per trace; each holds a root's child events.
const BATCHES_PER_TRACE: usize = 3;
const EVENTS_PER_BATCH: usize = 2;

struct Deployment {
    binary: std::path::PathBuf,
    bootstrap: String,
    env: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

impl Deployment {
    fn gateway(&self) -> Process {
        let store = format!("embedded://{}", self.dir.path().join("gateway-store").display());
        self.start("gateway", &["gateway", "--grpc-addr", "127.0.0.1:0"], &store)
    }

    fn workers(&self, run: usize) -> Process {
        let store = format!("embedded://{}", self.dir.path().join("workers-store").display());
        self.start(
            &format!("workers-{run}"),
            &["run", "--targets", "windower,assembler"],
            &store,
        )
    }

    fn start(&self, name: &str, command: &[&str], store: &str) -> Process {
        let args = target_args(command, &self.bootstrap, store);
        Process::start(
            &self.binary,
            &args,
            &self.env,
            self.dir.path().join(format!("{name}.log")),
        )
    }
}

/// Sends one batch per trace for round `round`; returns the events the
/// gateway acknowledged.
async fn send_round(gateway: &Api, roots: &[EventSpec], round: usize) -> Vec<EventSpec> {
    let mut acknowledged = Vec::new();
    for root in roots {
        let mut events: Vec<EventSpec> = (0..EVENTS_PER_BATCH)
            .map(|n| {
                let status = if root.service == "frontend-failing" { 503 } else { 200 };
                root.child("payments", "HTTP_OUT", status, now_unix_ns() + n as u64)
            })
            .collect();
        if round == 0 {
            events.insert(0, root.clone());
        }
        let answer = gateway.post_batch(&sdk_batch(&root.service, &events)).await;
        assert!(
            answer.status == 200 || answer.status == 202,
            "the gateway refused a batch with {}: {}",
            answer.status,
            answer.text()
        );
        acknowledged.extend(events);
    }
    acknowledged
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_deployment_loses_and_duplicates_nothing_across_a_sigkill() {
    let test = "kafka_three_process";
    let Some(bootstrap) = broker(test) else { return };
    let Some(binary) = causeway_binary(test) else { return };
    let prefix = unique_prefix("3p");
    let env: Vec<(String, String)> = [
        ("CAUSEWAY_DEV_API_KEY", DEV_KEY.to_owned()),
        ("CAUSEWAY_TOPICS__PREFIX", prefix.clone()),
        ("CAUSEWAY_TOPICS__CE_PARTITIONS", "4".to_owned()),
        ("CAUSEWAY_WINDOWER__GROUP", format!("{prefix}-windower")),
        ("CAUSEWAY_ASSEMBLER__GROUP", format!("{prefix}-assembler")),
        ("CAUSEWAY_ASSEMBLER__SETTLE_MS", TEST_SETTLE_MS.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let deployment = Deployment {
        binary,
        bootstrap,
        env,
        dir: tempfile::tempdir().expect("tempdir"),
    };

    let gateway_process = deployment.gateway();
    let gateway = Api::new(gateway_process.http_url(), DEV_KEY);
    let workers = deployment.workers(1);

    let roots: Vec<EventSpec> = (0..TRACES)
        .map(|n| {
            let service = if n == 0 { "frontend-failing" } else { "frontend" };
            EventSpec::root(service, if n == 0 { 503 } else { 200 }, now_unix_ns())
        })
        .collect();
    let mut sent = send_round(&gateway, &roots, 0).await;
    // Let the first workers consume part of the stream, then kill them hard.
    let reader = Api::new(workers.http_url(), DEV_KEY);
    reader.wait_trace(&roots[0].trace_id.to_string(), 1).await;
    workers.kill();
    // The gateway keeps accepting while nothing consumes: Kafka holds it.
    sent.extend(send_round(&gateway, &roots, 1).await);
    let workers = deployment.workers(2);
    sent.extend(send_round(&gateway, &roots, 2).await);
    assert_eq!(sent.len(), TRACES * (1 + BATCHES_PER_TRACE * EVENTS_PER_BATCH));

    let reader = Api::new(workers.http_url(), DEV_KEY);
    let mut sent_by_trace: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for event in &sent {
        sent_by_trace
            .entry(event.trace_id.to_string())
            .or_default()
            .insert(event.ce_id.to_string());
    }
    for (trace, ce_ids) in &sent_by_trace {
        let stored = reader.wait_trace(trace, ce_ids.len()).await;
        let stored_ids: Vec<String> = stored
            .iter()
            .map(|event| event["ce_id"].as_str().expect("ce_id").to_owned())
            .collect();
        let unique: BTreeSet<String> = stored_ids.iter().cloned().collect();
        assert_eq!(stored_ids.len(), unique.len(), "an event stored twice in trace {trace}");
        assert_eq!(
            &unique,
            ce_ids,
            "trace {trace}: stored events differ from the acknowledged ones\n{}",
            workers.log_tail()
        );
    }

    // An alert through the gateway reaches the assembler over the alert
    // topic; the artifact comes out on the artifact topic and the read API.
    let alert_id = gateway.post_alert("frontend-failing").await;
    let assembled = reader.wait_assembled(&alert_id).await;
    let (_, artifact) = reader.artifact(&assembled.artifact_id).await;
    assert!(!artifact.frames.is_empty(), "the artifact holds the failing chain");
    let all_sent: BTreeSet<String> = sent.iter().map(|event| event.ce_id.to_string()).collect();
    let frame_ids: Vec<String> = artifact.frames.iter().map(|frame| frame.ce_id.to_string()).collect();
    let unique_frames: BTreeSet<&String> = frame_ids.iter().collect();
    assert_eq!(
        unique_frames.len(),
        frame_ids.len(),
        "a frame appears twice: {frame_ids:?}"
    );
    assert!(
        frame_ids.iter().all(|id| all_sent.contains(id)),
        "every frame is an event that was sent"
    );

    // An outside producer writes the generic alert JSON straight onto the
    // alert topic, keyed by tenant id; the artifact comes out on the artifact
    // topic, and the alert's state on the read API.
    let bus = open_bus(&format!("kafka://{}", deployment.bootstrap))
        .await
        .expect("kafka bus");
    let topics = Topics::with_prefix(&prefix);
    let title = "from an outside producer";
    let body = serde_json::json!({
        "service": "frontend-failing",
        "fired_at": now_unix_ns(),
        "title": title,
        "source": "alertmanager",
    });
    let record = Record::new(b"dev".to_vec(), serde_json::to_vec(&body).expect("json"))
        .with_header(headers::RECORD_TYPE, headers::TYPE_ALERT_JSON)
        .with_header(headers::SCHEMA_VERSION, headers::SCHEMA_V1);
    bus.publish(&topics.alerts, vec![record])
        .await
        .expect("publish the alert json");
    let mut artifacts = bus
        .subscribe(&topics.artifacts, &format!("{prefix}-reader"))
        .await
        .expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(60);
    let published = loop {
        assert!(
            Instant::now() < deadline,
            "no artifact for the topic alert within 60 s\n{}",
            workers.log_tail()
        );
        let batch = artifacts
            .poll(10, Duration::from_millis(500))
            .await
            .expect("poll artifacts");
        let found = batch.iter().find_map(|delivery| {
            let artifact = v1::Artifact::decode(delivery.record.value.as_ref()).expect("artifact protobuf");
            let json: serde_json::Value = serde_json::from_slice(&artifact.canonical_json).expect("artifact json");
            (json["alert"]["title"] == title).then_some((artifact, json))
        });
        if let Some(found) = found {
            break found;
        }
    };
    let (message, json) = published;
    assert_eq!(message.tenant_id, "dev");
    assert!(
        !json["first_confirmed_break"].is_null(),
        "the failing trace has a break: {json}"
    );
    let state = reader.get(&format!("/api/v1/alerts/{}", message.alert_id)).await.json();
    assert_eq!(state["state"], "assembled", "{state}");
    assert_eq!(state["artifact_id"], message.artifact_id);
    drop(gateway_process);
}
