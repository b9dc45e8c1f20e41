//! The embedded bus writer's bounds and health: a byte budget on records
//! queued for the writer (over it, `Full`; given back after the write), and
//! `ready()` following real append failures and their recovery.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use causeway_bus::{Bus, BusError, EmbeddedBus, EmbeddedBusOptions, Record, TopicSpec, open_bus};

fn spec(name: &str, partitions: u32) -> TopicSpec {
    TopicSpec {
        name: name.to_owned(),
        partitions,
        replication: 1,
    }
}

/// A record whose frame is a little over `value_len` bytes.
fn record(n: u64, value_len: usize) -> Record {
    Record::new(format!("k{n}"), vec![b'x'; value_len])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_byte_budget_answers_full_and_is_given_back_after_the_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "embedded://{}?max_in_flight_bytes=300&retry_after_ms=40",
        dir.path().display()
    );
    let bus = open_bus(&url).await.expect("open");
    bus.ensure_topics(&[spec("t", 1)]).await.expect("topic");

    // Concurrent publishes of ~200 bytes each: at most one fits the budget
    // at a time, so some of them are refused at once.
    let mut full = 0;
    for round in 0..20u64 {
        let publishes: Vec<_> = (0..16u64)
            .map(|n| {
                let bus = Arc::clone(&bus);
                tokio::spawn(async move { bus.publish("t", vec![record(round * 16 + n, 200)]).await })
            })
            .collect();
        for publish in publishes {
            match publish.await.expect("task") {
                Ok(()) => {}
                Err(BusError::Full { retry_after }) => {
                    assert_eq!(retry_after, Duration::from_millis(40), "the configured wait");
                    full += 1;
                }
                Err(other) => panic!("unexpected {other}"),
            }
        }
        if full > 0 {
            break;
        }
    }
    assert!(full > 0, "publishes past the byte budget answer Full");

    // Every byte is given back once its write is answered: one after the
    // other, publishes that each need most of the budget never meet Full.
    for n in 0..50 {
        bus.publish("t", vec![record(1000 + n, 250)])
            .await
            .expect("sequential publishes fit the budget again");
    }
    // A publish above the whole budget still goes when it is alone.
    bus.publish("t", vec![record(9999, 5000)])
        .await
        .expect("oversized, alone");
}

/// The segment files of every partition of `topic`.
fn segment_files(bus_dir: &Path, topic: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let topic_dir = bus_dir.join("topics").join(topic);
    for partition in std::fs::read_dir(&topic_dir).expect("topic dir") {
        let partition = partition.expect("entry").path();
        if !partition.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&partition).expect("partition dir") {
            let file = file.expect("entry").path();
            if file.extension().is_some_and(|ext| ext == "log") {
                files.push(file);
            }
        }
    }
    files
}

/// Points each segment at `/dev/full` (every write fails with ENOSPC, fsync
/// with EINVAL): a disk that refuses writes, under a running writer.
#[cfg(target_os = "linux")]
fn break_segments(files: &[PathBuf]) {
    for file in files {
        std::fs::remove_file(file).expect("remove segment");
        std::os::unix::fs::symlink("/dev/full", file).expect("symlink");
    }
}

#[cfg(target_os = "linux")]
fn mend_segments(files: &[PathBuf]) {
    for file in files {
        std::fs::remove_file(file).expect("remove link");
        std::fs::File::create(file).expect("empty segment");
    }
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_append_takes_ready_down_until_the_disk_serves_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = EmbeddedBus::open_with(dir.path(), EmbeddedBusOptions::default())
        .await
        .expect("open");
    bus.ensure_topics(&[spec("t", 1)]).await.expect("topic");
    assert!(bus.ready().await);
    let files = segment_files(dir.path(), "t");
    assert_eq!(files.len(), 1, "{files:?}");

    break_segments(&files);
    let refused = bus.publish("t", vec![record(1, 10)]).await;
    assert!(
        matches!(refused, Err(BusError::Unavailable(ref reason)) if reason.contains("append failed")),
        "{refused:?}"
    );
    assert!(!bus.ready().await, "a writer whose last append failed is not ready");
    assert!(!bus.ready().await, "and stays so while the disk refuses");

    mend_segments(&files);
    assert!(bus.ready().await, "the probe reopens and fsyncs the partition");
    bus.publish("t", vec![record(2, 10)])
        .await
        .expect("publish after recovery");
    assert!(bus.ready().await);
}
