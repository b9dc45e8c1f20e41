//! The windower on the real embedded bus and store: events reach the window,
//! poison records reach the dead-letter topic, and acknowledged records are
//! not redelivered after a restart.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use causeway_bus::{Bus, Record, TopicSpec, Topics, headers, open_bus};
use causeway_model::ce_batch::encode_ce_batch;
use causeway_model::{CausalEvent, CeId, Kind, TraceId};
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::{Stores, open_stores};
use causeway_windower::{WindowerConfig, WindowerDeps, run};
use tokio_util::sync::CancellationToken;

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_nanos() as u64
}

fn event(ce: u8, trace: u8) -> CausalEvent {
    CausalEvent {
        tenant_id: "dev".to_owned(),
        trace_id: TraceId([trace; 16]),
        ce_id: CeId([ce; 16]),
        parent_ce_id: None,
        service: "orders".to_owned(),
        kind: Kind::HttpIn,
        status: 200,
        start_unix_ns: now_ns() - 1_000_000_000,
        duration_ns: 1_000_000,
        operation: None,
        peer: None,
        environment: None,
    }
}

fn ce_record(events: &[CausalEvent]) -> Record {
    Record::new(b"dev/trace".to_vec(), encode_ce_batch(events))
        .with_header(headers::RECORD_TYPE, headers::TYPE_CE_BATCH)
        .with_header(headers::SCHEMA_VERSION, headers::SCHEMA_V1)
}

struct Harness {
    bus: Arc<dyn Bus>,
    stores: Stores,
    topics: Topics,
}

async fn open(dir: &std::path::Path) -> Harness {
    let bus = open_bus(&format!("embedded://{}", dir.join("bus").display()))
        .await
        .expect("bus");
    let stores = open_stores(&format!("embedded://{}", dir.join("store").display()))
        .await
        .expect("store");
    let topics = Topics::with_prefix("test");
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
    Harness { bus, stores, topics }
}

fn start(harness: &Harness) -> (CancellationToken, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let deps = WindowerDeps {
        bus: harness.bus.clone(),
        topics: harness.topics.clone(),
        window: harness.stores.window.clone(),
        tenants: Arc::new(TenantRegistry::new(&[], Some("dev-key-0123456789abcdef")).expect("tenants")),
        tasks: causeway_runtime::supervise::Tasks::new(),
        backlog: None,
    };
    let config = WindowerConfig {
        poll_wait_ms: 50,
        ..WindowerConfig::default()
    };
    let token = CancellationToken::new();
    let task = tokio::spawn(run(config, deps, token.clone()));
    (token, task)
}

async fn wait_for_trace(harness: &Harness, trace: u8, count: usize) -> Vec<CausalEvent> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events = harness
            .stores
            .window
            .trace_events("dev", TraceId([trace; 16]), 10_000)
            .await
            .expect("read");
        if events.len() >= count || Instant::now() > deadline {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn dead_letters(harness: &Harness, group: &str) -> Vec<Record> {
    let mut consumer = harness
        .bus
        .subscribe(&harness.topics.dead_letter, group)
        .await
        .expect("subscribe");
    let mut records = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        let batch = consumer.poll(100, Duration::from_millis(100)).await.expect("poll");
        records.extend(batch.into_iter().map(|delivery| delivery.record));
    }
    records
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_window_dead_letters_poison_and_resumes_after_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let harness = open(dir.path()).await;
    let poison =
        Record::new(b"dev/x".to_vec(), vec![0xff, 0x01]).with_header(headers::RECORD_TYPE, headers::TYPE_CE_BATCH);
    let first = vec![
        ce_record(&[event(1, 1), event(2, 1)]),
        poison,
        ce_record(&[event(3, 1), event(1, 1)]),
    ];
    harness.bus.publish(&harness.topics.ce, first).await.expect("publish");

    let (token, task) = start(&harness);
    let events = wait_for_trace(&harness, 1, 3).await;
    let ids: Vec<CeId> = events.iter().map(|event| event.ce_id).collect();
    assert_eq!(
        ids,
        vec![CeId([1; 16]), CeId([2; 16]), CeId([3; 16])],
        "duplicate ce_id 1 stored once"
    );
    // Progress covers every record handled, the poison one included, so
    // the assembler sees the window caught up with the topic's end.
    let ends = harness.bus.end_offsets(&harness.topics.ce).await.expect("ends");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let progress = harness
            .stores
            .window
            .progress(&harness.topics.ce)
            .await
            .expect("progress");
        let caught_up = ends.iter().all(|end| {
            end.end_offset == 0
                || progress
                    .iter()
                    .any(|p| p.partition == end.partition && p.next_offset == end.end_offset)
        });
        if caught_up {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "progress {progress:?} never reached {ends:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    token.cancel();
    task.await.expect("join").expect("windower");

    let letters = dead_letters(&harness, "check-1").await;
    assert_eq!(letters.len(), 1, "one poison record");
    let reason = String::from_utf8_lossy(letters[0].header(headers::DEAD_LETTER_REASON).expect("reason")).into_owned();
    assert!(reason.contains("undecodable ce batch"), "{reason}");
    let origin = String::from_utf8_lossy(letters[0].header(headers::DEAD_LETTER_ORIGIN).expect("origin")).into_owned();
    assert!(origin.starts_with("test.ce/"), "{origin}");

    // Restart on the same directories: what was acknowledged is not
    // processed again (no second dead letter), new records are.
    drop(harness);
    let harness = open(dir.path()).await;
    harness
        .bus
        .publish(&harness.topics.ce, vec![ce_record(&[event(4, 2)])])
        .await
        .expect("publish");
    let (token, task) = start(&harness);
    assert_eq!(wait_for_trace(&harness, 2, 1).await.len(), 1);
    token.cancel();
    task.await.expect("join").expect("windower");
    assert_eq!(
        dead_letters(&harness, "check-2").await.len(),
        1,
        "poison not redelivered after restart"
    );
    assert_eq!(wait_for_trace(&harness, 1, 3).await.len(), 3);
}
