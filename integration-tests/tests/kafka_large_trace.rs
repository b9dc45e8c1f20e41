//! A trace larger than one Kafka record may be, through the real producer:
//! `causeway gateway` and `causeway run --targets windower,assembler` as
//! separate processes on the test broker. One SDK batch holds a 6,500-event
//! trace whose `CeBatch` would be ~1.8 MB, over librdkafka's 1,000,000-byte
//! `message.max.bytes`; the gateway splits it under `max_record_bytes`, so
//! the request is accepted and every CE reaches the window.

#[allow(dead_code)] // shared with the other Kafka tests; this one needs only some of it
mod kafka_support;

use std::collections::BTreeSet;

use causeway_integration_tests::{Api, DEV_KEY, now_unix_ns};
use kafka_support::{Process, broker, causeway_binary, target_args, unique_prefix};
use serde_json::{Value, json};

const EVENTS: usize = 6_500;

fn start(
    binary: &std::path::Path,
    env: &[(String, String)],
    dir: &std::path::Path,
    name: &str,
    bootstrap: &str,
    command: &[&str],
) -> Process {
    let store = format!("embedded://{}", dir.join(format!("{name}-store")).display());
    let args = target_args(command, bootstrap, &store);
    Process::start(binary, &args, env, dir.join(format!("{name}.log")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_over_the_kafka_message_limit_is_split_and_stored_whole() {
    let test = "kafka_large_trace";
    let Some(bootstrap) = broker(test) else { return };
    let Some(binary) = causeway_binary(test) else { return };
    let prefix = unique_prefix("big");
    let env: Vec<(String, String)> = [
        ("CAUSEWAY_DEV_API_KEY", DEV_KEY.to_owned()),
        ("CAUSEWAY_TOPICS__PREFIX", prefix.clone()),
        ("CAUSEWAY_TOPICS__CE_PARTITIONS", "2".to_owned()),
        ("CAUSEWAY_WINDOWER__GROUP", format!("{prefix}-windower")),
        ("CAUSEWAY_ASSEMBLER__GROUP", format!("{prefix}-assembler")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway = start(
        &binary,
        &env,
        dir.path(),
        "gateway",
        &bootstrap,
        &["gateway", "--grpc-addr", "127.0.0.1:0"],
    );
    let workers = start(
        &binary,
        &env,
        dir.path(),
        "workers",
        &bootstrap,
        &["run", "--targets", "windower,assembler"],
    );

    let trace = uuid::Uuid::new_v4().to_string();
    // ~275 bytes per event on the bus; compact JSON keeps the body under 4 MiB.
    let operation = format!("GET /{}", "segment/".repeat(25));
    let ids: Vec<String> = (0..EVENTS).map(|_| uuid::Uuid::new_v4().to_string()).collect();
    let now = now_unix_ns();
    let events: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(n, ce)| {
            json!({
                "ce_id": ce, "trace_id": trace, "service_id": "frontend", "wall_ts_ns": now - n as u64,
                "kind": "HTTP_IN", "status": 200, "duration_ns": 1000, "sdk_version": "0.2.0",
                "event_attrs": {"operation": operation},
            })
        })
        .collect();
    let batch = json!({
        "schema_version": "1", "workspace_id": "ws_it", "service_id": "frontend", "environment": "test",
        "flushed_at": now, "capture_mode": "SKELETON", "events": events,
    });
    let api = Api::new(gateway.http_url(), DEV_KEY);
    let answer = api.post_batch(&batch).await;
    assert_eq!(answer.status, 200, "{}\n{}", answer.text(), gateway.log_tail());

    let reader = Api::new(workers.http_url(), DEV_KEY);
    let stored = reader.wait_trace(&trace, EVENTS).await;
    let stored: BTreeSet<String> = stored
        .iter()
        .map(|event| event["ce_id"].as_str().expect("ce_id").to_owned())
        .collect();
    assert_eq!(
        stored,
        ids.into_iter().collect::<BTreeSet<_>>(),
        "{}",
        workers.log_tail()
    );
}
