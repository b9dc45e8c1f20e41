//! Embedded-bus behaviour beyond the shared suite: crash recovery of a torn
//! tail, segment rolling and retention, topics surviving a restart.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use causeway_bus::conformance::poll_until;
use causeway_bus::{Bus, EmbeddedBus, EmbeddedBusOptions, Record, TopicSpec};

fn spec(name: &str, partitions: u32) -> TopicSpec {
    TopicSpec {
        name: name.to_owned(),
        partitions,
        replication: 1,
    }
}

fn segments(dir: &Path, topic: &str, partition: u32) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("topics").join(topic).join(partition.to_string()))
        .expect("partition dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
        .collect();
    files.sort();
    files
}

fn values(deliveries: &[causeway_bus::Delivery]) -> Vec<String> {
    deliveries
        .iter()
        .map(|d| String::from_utf8_lossy(&d.record.value).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_tail_is_truncated_on_open_and_the_log_continues() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let bus = EmbeddedBus::open(dir.path()).await.expect("open");
        bus.ensure_topics(&[spec("t", 1)]).await.expect("topic");
        bus.publish("t", vec![Record::new("k", "a"), Record::new("k", "b")])
            .await
            .expect("publish");
    }
    let segment = segments(dir.path(), "t", 0).pop().expect("a segment");
    let intact_len = std::fs::metadata(&segment).expect("meta").len();
    // A crash mid-write: a frame header announcing 100 bytes, then 3 of them.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .expect("open segment");
    file.write_all(&100u32.to_le_bytes()).expect("write");
    file.write_all(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3]).expect("write");
    drop(file);

    let bus = EmbeddedBus::open(dir.path()).await.expect("reopen after a torn write");
    assert_eq!(
        std::fs::metadata(&segment).expect("meta").len(),
        intact_len,
        "torn bytes cut"
    );
    bus.publish("t", vec![Record::new("k", "c")])
        .await
        .expect("publish after recovery");
    let mut consumer = bus.subscribe("t", "g").await.expect("subscribe");
    let got = poll_until(&mut *consumer, 3).await;
    assert_eq!(values(&got), vec!["a", "b", "c"]);
    assert_eq!(
        got.iter().map(|d| d.offset).collect::<Vec<_>>(),
        vec![0, 1, 2],
        "offsets stay contiguous"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_bytes_inside_the_tail_are_cut_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let bus = EmbeddedBus::open(dir.path()).await.expect("open");
        bus.ensure_topics(&[spec("t", 1)]).await.expect("topic");
        bus.publish("t", vec![Record::new("k", "a")]).await.expect("publish");
        bus.publish("t", vec![Record::new("k", "b")]).await.expect("publish");
    }
    let segment = segments(dir.path(), "t", 0).pop().expect("a segment");
    let mut bytes = std::fs::read(&segment).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff; // flips a bit of the second record's value
    std::fs::write(&segment, &bytes).expect("write");
    let bus = EmbeddedBus::open(dir.path()).await.expect("reopen");
    let mut consumer = bus.subscribe("t", "g").await.expect("subscribe");
    assert_eq!(values(&poll_until(&mut *consumer, 1).await), vec!["a"]);
    assert!(
        consumer
            .poll(5, Duration::from_millis(50))
            .await
            .expect("poll")
            .is_empty(),
        "the bad record is gone"
    );
}

/// One 40-byte record per number to topic `t`, enough to roll 256-byte
/// segments.
async fn publish_numbered(bus: &EmbeddedBus, numbers: std::ops::Range<u32>) {
    for n in numbers {
        bus.publish("t", vec![Record::new("k", format!("{n:040}"))])
            .await
            .expect("publish");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumed_old_segments_are_deleted_and_reading_continues() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = EmbeddedBusOptions {
        segment_bytes: 256,
        retention: Duration::ZERO,
        ..EmbeddedBusOptions::default()
    };
    let bus = EmbeddedBus::open_with(dir.path(), options.clone()).await.expect("open");
    bus.ensure_topics(&[spec("t", 1)]).await.expect("topic");
    let mut consumer = bus.subscribe("t", "g").await.expect("subscribe");
    publish_numbered(&bus, 0..20).await;
    let rolled = segments(dir.path(), "t", 0).len();
    assert!(rolled > 3, "small segments roll: {rolled}");
    let got = poll_until(&mut *consumer, 20).await;
    assert_eq!(got.len(), 20, "reading crosses segment boundaries");
    consumer.ack(got.last().expect("some")).await.expect("ack");
    consumer.commit().await.expect("commit");
    // Retention runs when a segment rolls: publish until one does.
    publish_numbered(&bus, 20..30).await;
    let left = segments(dir.path(), "t", 0).len();
    assert!(left < rolled, "committed segments deleted: {left} of {rolled}");
    let got = poll_until(&mut *consumer, 10).await;
    assert_eq!(got.first().map(|d| d.offset), Some(20), "offsets survive deletion");
    drop(consumer);
    drop(bus);
    let bus = EmbeddedBus::open_with(dir.path(), options).await.expect("reopen");
    let mut fresh = bus.subscribe("t", "new-group").await.expect("subscribe");
    let got = poll_until(&mut *fresh, 1).await;
    assert!(
        got.first().is_some_and(|d| d.offset >= 20),
        "a new group starts at the oldest kept record"
    );
}

/// The defaults keep nothing every group has committed: with no publish
/// after the commit, the idle retention pass deletes the consumed segments,
/// never the last one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_segments_go_while_nothing_is_published() {
    let dir = tempfile::tempdir().expect("tempdir");
    let defaults = EmbeddedBusOptions::default();
    assert_eq!(
        defaults.retention,
        Duration::ZERO,
        "standalone keeps no consumed record"
    );
    let options = EmbeddedBusOptions {
        segment_bytes: 256,
        retention_interval: Duration::from_millis(50),
        ..defaults
    };
    let bus = EmbeddedBus::open_with(dir.path(), options).await.expect("open");
    bus.ensure_topics(&[spec("t", 1)]).await.expect("topic");
    let mut consumer = bus.subscribe("t", "g").await.expect("subscribe");
    publish_numbered(&bus, 0..20).await;
    let rolled = segments(dir.path(), "t", 0).len();
    assert!(rolled > 3, "small segments roll: {rolled}");
    let got = poll_until(&mut *consumer, 20).await;
    assert_eq!(got.len(), 20);
    // Nothing committed yet: idle passes keep every segment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(segments(dir.path(), "t", 0).len(), rolled, "unconsumed segments stay");
    consumer.ack(got.last().expect("some")).await.expect("ack");
    consumer.commit().await.expect("commit");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while segments(dir.path(), "t", 0).len() > 1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(segments(dir.path(), "t", 0).len(), 1, "only the last segment is kept");
    bus.publish("t", vec![Record::new("k", "after")])
        .await
        .expect("publish");
    let got = poll_until(&mut *consumer, 1).await;
    assert_eq!(got.first().map(|d| d.offset), Some(20), "offsets go on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_and_partition_counts_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let partition_of_key;
    {
        let bus = EmbeddedBus::open(dir.path()).await.expect("open");
        bus.ensure_topics(&[spec("t", 3)]).await.expect("topic");
        bus.publish("t", vec![Record::new("stable", "1")])
            .await
            .expect("publish");
        let mut consumer = bus.subscribe("t", "g").await.expect("subscribe");
        partition_of_key = poll_until(&mut *consumer, 1).await[0].partition;
    }
    let bus = EmbeddedBus::open(dir.path()).await.expect("reopen");
    // Asking for more partitions later does not re-partition existing data.
    bus.ensure_topics(&[spec("t", 8)]).await.expect("topic");
    bus.publish("t", vec![Record::new("stable", "2")])
        .await
        .expect("publish");
    let mut consumer = bus.subscribe("t", "other").await.expect("subscribe");
    let got = poll_until(&mut *consumer, 2).await;
    assert_eq!(values(&got), vec!["1", "2"]);
    assert!(
        got.iter().all(|d| d.partition == partition_of_key),
        "the key hash is stable across runs"
    );
    assert!(got.iter().all(|d| d.partition < 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_topic_names_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bus = EmbeddedBus::open(dir.path()).await.expect("open");
    for bad in ["", "..", "a/b", "spaces here"] {
        assert!(bus.ensure_topics(&[spec(bad, 1)]).await.is_err(), "{bad:?} rejected");
    }
}

/// An acknowledgement becomes durable within about a second even when no
/// further record arrives: a consumer that goes idle after its last ack and
/// then dies (no close, no final commit) is not handed that record again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_consumer_commits_its_last_acknowledgement() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let bus = EmbeddedBus::open(dir.path()).await.expect("open");
        bus.ensure_topics(&[spec("t", 1)]).await.expect("topic");
        bus.publish("t", vec![Record::new("k", "a")]).await.expect("publish");
        let mut consumer = bus.subscribe("t", "g").await.expect("subscribe");
        let got = poll_until(&mut *consumer, 1).await;
        consumer.ack(&got[0]).await.expect("ack");
        let idle = consumer
            .poll(10, std::time::Duration::from_millis(1_500))
            .await
            .expect("idle poll");
        assert!(idle.is_empty());
        // Dropped without close or commit: what a kill leaves.
    }
    let bus = EmbeddedBus::open(dir.path()).await.expect("reopen");
    let mut consumer = bus.subscribe("t", "g").await.expect("subscribe");
    let again = consumer
        .poll(10, std::time::Duration::from_millis(300))
        .await
        .expect("poll");
    assert_eq!(
        values(&again),
        Vec::<String>::new(),
        "the acknowledged record came back"
    );
}
