//! The conformance suite every bus implementation passes, written once over
//! the [`Bus`] trait. An implementation supplies a [`BusHarness`] and
//! instantiates the suite with [`bus_conformance_suite!`](crate::bus_conformance_suite),
//! which expands to one `#[tokio::test]` per case.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::api::{Bus, BusError, Consumer, Delivery, Record, TopicSpec};

/// How the suite reaches one implementation.
#[async_trait]
pub trait BusHarness: Send + Sync {
    /// Opens the bus over this harness's storage. Every call opens the same
    /// storage, so dropping the bus and opening it again is a restart.
    async fn open(&self) -> Arc<dyn Bus>;

    /// A bus with a tiny in-flight limit, to provoke `BusError::Full`;
    /// `None` skips that case.
    async fn open_constrained(&self) -> Option<Arc<dyn Bus>>;

    /// The topic name to use for `base` (a shared broker needs unique names).
    fn topic(&self, base: &str) -> String {
        base.to_owned()
    }
}

const WAIT: Duration = Duration::from_millis(300);
const PATIENCE: Duration = Duration::from_secs(10);

async fn topic_with(bus: &dyn Bus, name: &str, partitions: u32) {
    let spec = TopicSpec {
        name: name.to_owned(),
        partitions,
        replication: 1,
    };
    bus.ensure_topics(std::slice::from_ref(&spec))
        .await
        .expect("ensure topic");
    bus.ensure_topics(&[spec]).await.expect("ensure topic twice is fine");
}

fn value_number(delivery: &Delivery) -> u64 {
    String::from_utf8_lossy(&delivery.record.value)
        .parse()
        .expect("numeric value")
}

/// Polls until `count` deliveries arrived (or the patience ran out).
pub async fn poll_until(consumer: &mut dyn Consumer, count: usize) -> Vec<Delivery> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut out = Vec::new();
    while out.len() < count && tokio::time::Instant::now() < deadline {
        out.extend(consumer.poll(count - out.len(), WAIT).await.expect("poll"));
    }
    out
}

fn keyed(key: &str, number: u64) -> Record {
    Record::new(key, number.to_string()).with_header("seq", number.to_string().into_bytes())
}

pub async fn publish_poll_order_per_key(harness: &dyn BusHarness) {
    let bus = harness.open().await;
    let topic = harness.topic("order");
    topic_with(&*bus, &topic, 4).await;
    let records: Vec<Record> = (0..100).map(|n| keyed(&format!("key-{}", n % 5), n)).collect();
    bus.publish(&topic, records[..50].to_vec()).await.expect("publish");
    bus.publish(&topic, records[50..].to_vec()).await.expect("publish");
    let mut consumer = bus.subscribe(&topic, "g").await.expect("subscribe");
    let got = poll_until(&mut *consumer, 100).await;
    assert_eq!(got.len(), 100, "every record delivered once");
    let mut per_key: BTreeMap<Vec<u8>, Vec<u64>> = BTreeMap::new();
    for delivery in &got {
        assert_eq!(*delivery.topic, *topic);
        assert_eq!(
            delivery.record.header("seq"),
            Some(delivery.record.value.as_ref()),
            "headers kept"
        );
        per_key
            .entry(delivery.record.key.to_vec())
            .or_default()
            .push(value_number(delivery));
    }
    assert_eq!(per_key.len(), 5);
    for numbers in per_key.values() {
        assert!(
            numbers.windows(2).all(|pair| pair[0] < pair[1]),
            "publish order per key: {numbers:?}"
        );
        assert_eq!(numbers.len(), 20);
    }
    assert!(
        consumer
            .poll(10, Duration::from_millis(50))
            .await
            .expect("poll")
            .is_empty(),
        "nothing more"
    );
}

pub async fn same_key_same_partition(harness: &dyn BusHarness) {
    let bus = harness.open().await;
    let topic = harness.topic("same-key");
    topic_with(&*bus, &topic, 4).await;
    for round in 0..5 {
        let batch = (0..4).map(|n| keyed(&format!("k{n}"), round)).collect();
        bus.publish(&topic, batch).await.expect("publish");
    }
    let mut consumer = bus.subscribe(&topic, "g").await.expect("subscribe");
    let got = poll_until(&mut *consumer, 20).await;
    assert_eq!(got.len(), 20);
    let mut partitions: BTreeMap<Vec<u8>, BTreeSet<u32>> = BTreeMap::new();
    let mut offsets: BTreeMap<u32, Vec<u64>> = BTreeMap::new();
    for delivery in &got {
        partitions
            .entry(delivery.record.key.to_vec())
            .or_default()
            .insert(delivery.partition);
        offsets.entry(delivery.partition).or_default().push(delivery.offset);
    }
    assert!(
        partitions.values().all(|set| set.len() == 1),
        "a key stays in one partition: {partitions:?}"
    );
    for list in offsets.values() {
        assert!(
            list.windows(2).all(|pair| pair[0] < pair[1]),
            "offset order within a partition"
        );
    }
}

pub async fn restart_resumes_after_last_ack(harness: &dyn BusHarness) {
    let topic = harness.topic("resume");
    {
        let bus = harness.open().await;
        topic_with(&*bus, &topic, 2).await;
        bus.publish(&topic, (0..10).map(|n| keyed("one", n)).collect())
            .await
            .expect("publish");
        let mut consumer = bus.subscribe(&topic, "g").await.expect("subscribe");
        let got = poll_until(&mut *consumer, 10).await;
        assert_eq!(got.len(), 10);
        consumer.ack(&got[5]).await.expect("ack");
        consumer.commit().await.expect("commit");
    }
    let bus = harness.open().await;
    let mut consumer = bus.subscribe(&topic, "g").await.expect("subscribe");
    let got = poll_until(&mut *consumer, 4).await;
    let numbers: Vec<u64> = got.iter().map(value_number).collect();
    assert_eq!(numbers, vec![6, 7, 8, 9], "resumes right after the last ack");
    let mut fresh = bus.subscribe(&topic, "another-group").await.expect("subscribe");
    assert_eq!(
        poll_until(&mut *fresh, 10).await.len(),
        10,
        "a new group starts at the beginning"
    );
}

pub async fn unacked_redelivered_after_restart(harness: &dyn BusHarness) {
    let topic = harness.topic("redeliver");
    {
        let bus = harness.open().await;
        topic_with(&*bus, &topic, 1).await;
        bus.publish(&topic, (0..5).map(|n| keyed("k", n)).collect())
            .await
            .expect("publish");
        let mut consumer = bus.subscribe(&topic, "g").await.expect("subscribe");
        assert_eq!(poll_until(&mut *consumer, 5).await.len(), 5);
        consumer.commit().await.expect("commit with nothing acked");
    }
    let bus = harness.open().await;
    let mut consumer = bus.subscribe(&topic, "g").await.expect("subscribe");
    let numbers: Vec<u64> = poll_until(&mut *consumer, 5).await.iter().map(value_number).collect();
    assert_eq!(numbers, vec![0, 1, 2, 3, 4], "unacknowledged records come again");
}

pub async fn group_members_split_partitions_and_hand_over(harness: &dyn BusHarness) {
    let bus = harness.open().await;
    let topic = harness.topic("split");
    topic_with(&*bus, &topic, 4).await;
    bus.publish(&topic, (0..200).map(|n| keyed(&format!("key-{}", n % 50), n)).collect())
        .await
        .expect("publish");
    let mut first = bus.subscribe(&topic, "g").await.expect("subscribe");
    let mut second = bus.subscribe(&topic, "g").await.expect("subscribe");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let (mut got_first, mut got_second) = (Vec::new(), Vec::new());
    while got_first.len() + got_second.len() < 200 && tokio::time::Instant::now() < deadline {
        got_first.extend(first.poll(200, WAIT).await.expect("poll"));
        got_second.extend(second.poll(200, WAIT).await.expect("poll"));
    }
    let parts = |list: &[Delivery]| list.iter().map(|d| d.partition).collect::<BTreeSet<u32>>();
    let (parts_first, parts_second) = (parts(&got_first), parts(&got_second));
    assert_eq!(
        got_first.len() + got_second.len(),
        200,
        "together they read everything once"
    );
    assert!(
        !parts_first.is_empty() && !parts_second.is_empty(),
        "both members got partitions"
    );
    assert!(
        parts_first.is_disjoint(&parts_second),
        "no partition read by both: {parts_first:?} {parts_second:?}"
    );
    for delivery in &got_first {
        first.ack(delivery).await.expect("ack");
    }
    first.commit().await.expect("commit");
    let unacked = got_second.len();
    drop(second);
    let handed_over = poll_until(&mut *first, unacked).await;
    assert_eq!(
        handed_over.len(),
        unacked,
        "the leaver's unacknowledged records go to the remaining member"
    );
    assert!(parts(&handed_over).is_subset(&parts_second));
}

pub async fn lag_counts_unacknowledged(harness: &dyn BusHarness) {
    let bus = harness.open().await;
    let topic = harness.topic("lag");
    topic_with(&*bus, &topic, 2).await;
    bus.publish(&topic, (0..7).map(|n| keyed("k", n)).collect())
        .await
        .expect("publish");
    let mut consumer = bus.subscribe(&topic, "g").await.expect("subscribe");
    let got = poll_until(&mut *consumer, 7).await;
    assert_eq!(got.len(), 7);
    assert_eq!(
        consumer.lag().await.expect("lag"),
        7,
        "polled but unacknowledged still lags"
    );
    consumer.ack(&got[2]).await.expect("ack");
    assert_eq!(consumer.lag().await.expect("lag"), 4);
    consumer.ack(&got[6]).await.expect("ack");
    assert_eq!(consumer.lag().await.expect("lag"), 0);
    bus.publish(&topic, vec![keyed("k", 7)]).await.expect("publish");
    assert_eq!(consumer.lag().await.expect("lag"), 1, "new records count at once");
}

pub async fn full_is_backpressure(harness: &dyn BusHarness) {
    let Some(bus) = harness.open_constrained().await else {
        // Straight to stderr: the test harness captures println! of passing
        // tests, and a skip must show in the output.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED full_is_backpressure: the harness has no constrained bus"
        );
        return;
    };
    let topic = harness.topic("full");
    topic_with(&*bus, &topic, 1).await;
    let (mut accepted, mut full) = (0usize, 0usize);
    for round in 0..50u64 {
        let publishes = (0..64u64).map(|n| {
            let bus = Arc::clone(&bus);
            let topic = topic.clone();
            tokio::spawn(async move { bus.publish(&topic, vec![keyed("k", round * 64 + n)]).await })
        });
        for outcome in futures_join(publishes.collect()).await {
            match outcome {
                Ok(()) => accepted += 1,
                Err(BusError::Full { retry_after }) => {
                    assert!(retry_after > Duration::ZERO, "retry_after tells callers to wait");
                    full += 1;
                }
                Err(other) => panic!("unexpected publish error {other}"),
            }
        }
        if full > 0 {
            break;
        }
    }
    assert!(full > 0, "concurrent publishes past the in-flight limit answer Full");
    assert!(
        BusError::Full {
            retry_after: Duration::from_millis(1)
        }
        .is_retryable()
    );
    let mut consumer = bus.subscribe(&topic, "g").await.expect("subscribe");
    assert!(
        poll_until(&mut *consumer, accepted).await.len() >= accepted,
        "every accepted record is readable"
    );
}

async fn futures_join(handles: Vec<tokio::task::JoinHandle<Result<(), BusError>>>) -> Vec<Result<(), BusError>> {
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("publish task"));
    }
    out
}

pub async fn unknown_topic_is_an_error(harness: &dyn BusHarness) {
    let bus = harness.open().await;
    let missing = harness.topic("never-created");
    let published = bus.publish(&missing, vec![keyed("k", 1)]).await;
    assert!(matches!(published, Err(BusError::UnknownTopic(ref name)) if *name == missing));
    let subscribed = bus.subscribe(&missing, "g").await;
    assert!(matches!(subscribed, Err(BusError::UnknownTopic(_))));
    assert!(bus.ready().await);
}

pub async fn poll_waits_for_new_records(harness: &dyn BusHarness) {
    let bus = harness.open().await;
    let topic = harness.topic("wait");
    topic_with(&*bus, &topic, 1).await;
    let mut consumer = bus.subscribe(&topic, "g").await.expect("subscribe");
    assert!(
        consumer
            .poll(10, Duration::from_millis(50))
            .await
            .expect("poll")
            .is_empty()
    );
    let publisher = {
        let (bus, topic) = (Arc::clone(&bus), topic.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            bus.publish(&topic, vec![keyed("k", 42)]).await
        })
    };
    let got = consumer.poll(10, PATIENCE).await.expect("poll");
    assert_eq!(
        got.iter().map(value_number).collect::<Vec<_>>(),
        vec![42],
        "poll wakes for a publish"
    );
    publisher.await.expect("task").expect("publish");
}

pub async fn end_offsets_cover_every_published_record(harness: &dyn BusHarness) {
    let bus = harness.open().await;
    let topic = harness.topic("ends");
    topic_with(&*bus, &topic, 3).await;
    let before = bus.end_offsets(&topic).await.expect("end offsets");
    assert_eq!(
        before.iter().map(|end| end.partition).collect::<Vec<_>>(),
        vec![0, 1, 2],
        "every partition, in order"
    );
    assert!(before.iter().all(|end| end.end_offset == 0), "{before:?}");
    let records: Vec<Record> = (0..7).map(|n| keyed(&format!("key-{n}"), n)).collect();
    bus.publish(&topic, records).await.expect("publish");
    let after = bus.end_offsets(&topic).await.expect("end offsets");
    assert_eq!(after.iter().map(|end| end.end_offset).sum::<u64>(), 7);
    let mut consumer = bus.subscribe(&topic, "g").await.expect("subscribe");
    for delivery in poll_until(consumer.as_mut(), 7).await {
        let end = after[delivery.partition as usize];
        assert!(delivery.offset < end.end_offset, "{delivery:?} below {end:?}");
    }
    assert!(matches!(
        bus.end_offsets(&harness.topic("never-created")).await,
        Err(BusError::UnknownTopic(_))
    ));
}

/// Expands to one `#[tokio::test]` per conformance case; `$harness` is an
/// expression evaluated afresh for each test, giving a value whose
/// reference is a `&dyn BusHarness`.
#[macro_export]
macro_rules! bus_conformance_suite {
    ($harness:expr) => {
        $crate::bus_conformance_suite!(@cases $harness;
            publish_poll_order_per_key,
            same_key_same_partition,
            restart_resumes_after_last_ack,
            unacked_redelivered_after_restart,
            group_members_split_partitions_and_hand_over,
            lag_counts_unacknowledged,
            full_is_backpressure,
            unknown_topic_is_an_error,
            poll_waits_for_new_records,
            end_offsets_cover_every_published_record
        );
    };
    (@cases $harness:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let harness = $harness;
                $crate::conformance::$case(&harness).await;
            }
        )*
    };
}
