//! The scaled-out deployment: two gateways, two windowers in one consumer
//! group and one assembler, each a separate OS process, joined by Apache
//! Kafka and sharing one ScyllaDB store (the CQL node in
//! `CAUSEWAY_TEST_CQL`). Batches go in through both gateways; one windower is
//! killed with SIGKILL mid-stream and the other takes its partitions over.
//! Every acknowledged event ends in the window exactly once, a tenant's
//! quota holds across the gateways, and an alert through either gateway is
//! assembled from the shared window, served by the assembler and published
//! on the artifact topic.

mod kafka_support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::{Duration, Instant};

use causeway_bus::{Topics, open_bus};
use causeway_integration_tests::{Api, DEV_KEY, EventSpec, TEST_SETTLE_MS, now_unix_ns, sdk_batch};
use causeway_model::proto::v1;
use causeway_runtime::tenants::hash_api_key;
use kafka_support::{Process, broker, causeway_binary, unique_prefix};
use prost::Message;

const TRACES: usize = 8;
const EVENTS_PER_BATCH: usize = 2;
const METERED_KEY: &str = "it-scale-metered-0123456789abcdef";
const QUOTA: u64 = 10;
/// How often each gateway writes its usage counts here.
const USAGE_FLUSH_MS: u64 = 200;

fn cql_node(test: &str) -> Option<String> {
    match std::env::var("CAUSEWAY_TEST_CQL") {
        Ok(node) if !node.is_empty() => Some(node),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CAUSEWAY_TEST_CQL is not set in CI: scripts/test.sh must start the cql node")
        }
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {test}: CAUSEWAY_TEST_CQL not set (scripts/test.sh starts a cql node)"
            );
            None
        }
    }
}

struct Deployment {
    binary: std::path::PathBuf,
    bootstrap: String,
    store: String,
    config: std::path::PathBuf,
    env: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

impl Deployment {
    fn start(&self, name: &str, command: &[&str]) -> Process {
        let mut args: Vec<String> = command.iter().map(|s| (*s).to_owned()).collect();
        args.extend(
            [
                "--config",
                &self.config.display().to_string(),
                "--bus",
                &format!("kafka://{}", self.bootstrap),
                "--store",
                &self.store,
                "--http-addr",
                "127.0.0.1:0",
                "--admin-addr",
                "127.0.0.1:0",
            ]
            .map(str::to_owned),
        );
        Process::start(
            &self.binary,
            &args,
            &self.env,
            self.dir.path().join(format!("{name}.log")),
        )
    }
}

/// One batch per trace, alternating gateways; the acknowledged events.
async fn send_round(gateways: &[&Api], roots: &[EventSpec], round: usize) -> Vec<EventSpec> {
    let mut acknowledged = Vec::new();
    for (n, root) in roots.iter().enumerate() {
        let mut events: Vec<EventSpec> = (0..EVENTS_PER_BATCH)
            .map(|i| {
                let status = if root.service == "frontend-failing" { 503 } else { 200 };
                root.child("payments", "HTTP_OUT", status, now_unix_ns() + i as u64)
            })
            .collect();
        if round == 0 {
            events.insert(0, root.clone());
        }
        let gateway = gateways[(n + round) % gateways.len()];
        let answer = gateway.post_batch(&sdk_batch(&root.service, &events)).await;
        assert!(
            answer.status == 200 || answer.status == 202,
            "a gateway refused a batch with {}: {}",
            answer.status,
            answer.text()
        );
        acknowledged.extend(events);
    }
    acknowledged
}

/// Events in each batch of [`checkout_batch`]: two fit the quota, three do not.
const METERED_BATCH_EVENTS: usize = 4;

fn checkout_batch() -> serde_json::Value {
    let now = now_unix_ns();
    let root = EventSpec::root("checkout", 200, now);
    let mut events = vec![root.clone()];
    events.extend((1..METERED_BATCH_EVENTS).map(|_| root.child("checkout", "HTTP_OUT", 200, now)));
    sdk_batch("checkout", &events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_gateways_two_windowers_one_assembler_on_a_shared_store() {
    let test = "scale_out";
    let Some(bootstrap) = broker(test) else { return };
    let Some(node) = cql_node(test) else { return };
    let Some(binary) = causeway_binary(test) else { return };
    let prefix = unique_prefix("so");
    let keyspace = format!("it_{}", prefix.replace('-', "_"));
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("causeway.toml");
    std::fs::write(
        &config,
        format!(
            "[[tenants]]\nid = \"metered\"\nplan = \"free\"\napi_key_sha256 = [\"{}\"]\nmonthly_ce_quota = {QUOTA}\n",
            hash_api_key(METERED_KEY)
        ),
    )
    .expect("config file");
    let env: Vec<(String, String)> = [
        ("CAUSEWAY_DEV_API_KEY", DEV_KEY.to_owned()),
        ("CAUSEWAY_TOPICS__PREFIX", prefix.clone()),
        ("CAUSEWAY_TOPICS__CE_PARTITIONS", "4".to_owned()),
        ("CAUSEWAY_WINDOWER__GROUP", format!("{prefix}-windower")),
        ("CAUSEWAY_ASSEMBLER__GROUP", format!("{prefix}-assembler")),
        ("CAUSEWAY_ASSEMBLER__SETTLE_MS", TEST_SETTLE_MS.to_string()),
        ("CAUSEWAY_GATEWAY__USAGE_FLUSH_MS", USAGE_FLUSH_MS.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let deployment = Deployment {
        binary,
        bootstrap,
        store: format!("scylla://{node}/{keyspace}?replication_factor=1&consistency=one"),
        config,
        env,
        dir,
    };

    // Started one after another, each applying the (idempotent) migration.
    let gateway_a = deployment.start("gateway-a", &["gateway", "--grpc-addr", "127.0.0.1:0"]);
    let gateway_b = deployment.start("gateway-b", &["gateway", "--grpc-addr", "127.0.0.1:0"]);
    let windower_1 = deployment.start("windower-1", &["windower"]);
    let _windower_2 = deployment.start("windower-2", &["windower"]);
    let assembler = deployment.start("assembler", &["assembler"]);
    let a = Api::new(gateway_a.http_url(), DEV_KEY);
    let b = Api::new(gateway_b.http_url(), DEV_KEY);
    let reader = Api::new(assembler.http_url(), DEV_KEY);

    let roots: Vec<EventSpec> = (0..TRACES)
        .map(|n| {
            let service = if n == 0 { "frontend-failing" } else { "frontend" };
            EventSpec::root(service, if n == 0 { 503 } else { 200 }, now_unix_ns())
        })
        .collect();
    let mut sent = send_round(&[&a, &b], &roots, 0).await;
    reader.wait_trace(&roots[0].trace_id.to_string(), 1).await;
    windower_1.kill();
    sent.extend(send_round(&[&a, &b], &roots, 1).await);
    sent.extend(send_round(&[&a, &b], &roots, 2).await);

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
            assembler.log_tail()
        );
    }

    // The quota is the tenant's, not a gateway's: 4 + 4 of 10 are accepted
    // (one through each gateway); once each gateway has written its counts
    // (every `usage_flush_ms`), both refuse the next 4.
    let metered_a = Api::new(gateway_a.http_url(), METERED_KEY);
    let metered_b = Api::new(gateway_b.http_url(), METERED_KEY);
    let mut statuses = vec![
        metered_a.post_batch(&checkout_batch()).await.status,
        metered_b.post_batch(&checkout_batch()).await.status,
    ];
    // Each gateway writes its count within an interval; wait until the
    // shared store holds both, however slow the machine.
    let stores = causeway_store::open_stores(&deployment.store)
        .await
        .expect("shared store");
    let month = causeway_gateway::month_of(causeway_gateway::now_unix_ns());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let metered = stores.topology.usage("metered", month).await.expect("usage");
        if metered == 2 * METERED_BATCH_EVENTS as u64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "usage {metered} never reached both gateways' counts"
        );
        tokio::time::sleep(Duration::from_millis(USAGE_FLUSH_MS)).await;
    }
    statuses.push(metered_a.post_batch(&checkout_batch()).await.status);
    statuses.push(metered_b.post_batch(&checkout_batch()).await.status);
    assert!(
        matches!(statuses[0], 200 | 202) && matches!(statuses[1], 200 | 202),
        "{statuses:?}"
    );
    assert_eq!(
        statuses[2..],
        [429, 429],
        "both gateways see the usage metered by the other"
    );

    // An alert through gateway B: the assembler builds the artifact from the
    // window both windowers wrote, serves it and publishes it.
    let alert_id = b.post_alert("frontend-failing").await;
    let assembled = reader.wait_assembled(&alert_id).await;
    let (_, artifact) = reader.artifact(&assembled.artifact_id).await;
    assert!(!artifact.frames.is_empty(), "the artifact holds the failing chain");
    let all_sent: BTreeSet<String> = sent.iter().map(|event| event.ce_id.to_string()).collect();
    let frame_ids: Vec<String> = artifact.frames.iter().map(|frame| frame.ce_id.to_string()).collect();
    let unique_frames: BTreeSet<&String> = frame_ids.iter().collect();
    assert_eq!(unique_frames.len(), frame_ids.len(), "a frame appears twice");
    assert!(
        frame_ids.iter().all(|id| all_sent.contains(id)),
        "every frame is an event that was sent"
    );
    let shared = Api::new(assembler.http_url(), DEV_KEY)
        .with_key(None)
        .get(&format!("{}.json", assembled.share_path))
        .await;
    assert_eq!(shared.status, 200, "the share link answers without a key");

    let bus = open_bus(&format!("kafka://{}", deployment.bootstrap))
        .await
        .expect("kafka bus");
    let topics = Topics::with_prefix(&prefix);
    let mut artifacts = bus
        .subscribe(&topics.artifacts, &format!("{prefix}-reader"))
        .await
        .expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the artifact never reached the artifact topic"
        );
        let batch = artifacts
            .poll(10, Duration::from_millis(500))
            .await
            .expect("poll artifacts");
        let found = batch.iter().any(|delivery| {
            v1::Artifact::decode(delivery.record.value.as_ref())
                .is_ok_and(|message| message.artifact_id == assembled.artifact_id)
        });
        if found {
            break;
        }
    }
}
