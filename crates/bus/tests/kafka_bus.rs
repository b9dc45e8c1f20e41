//! Kafka-specific behaviour beyond the conformance suite, on a real broker.

mod kafka_support;

use causeway_bus::conformance::poll_until;
use causeway_bus::{Bus, BusError, KafkaBus, Record, headers, open_bus};
use kafka_support::{broker, open, spec, unique_prefix};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_by_url_and_describes_topics_with_watermarks() {
    let Some(bootstrap) = broker("describe") else { return };
    let prefix = unique_prefix("describe");
    let bus = open_bus(&format!("kafka://{bootstrap}?client.id=causeway-test"))
        .await
        .expect("open by url");
    assert!(bus.ready().await, "a running broker is ready");
    let topic = format!("{prefix}.ce");
    bus.ensure_topics(&[spec(&topic, 3)]).await.expect("create");
    let records = (0..6)
        .map(|n| {
            Record::new(format!("tenant-{}", n % 2), format!("{n}"))
                .with_header(headers::RECORD_TYPE, headers::TYPE_CE_BATCH)
                .with_header(headers::SCHEMA_VERSION, headers::SCHEMA_V1)
        })
        .collect();
    bus.publish(&topic, records).await.expect("publish");

    let kafka = open(&bootstrap, "");
    let missing = format!("{prefix}.missing");
    let described = kafka
        .describe_topics(&[topic.clone(), missing.clone()])
        .await
        .expect("describe");
    assert_eq!(described.len(), 2);
    let partitions = described[0].partitions.as_ref().expect("topic exists");
    assert_eq!(partitions.len(), 3);
    assert_eq!(
        partitions
            .iter()
            .map(|p| p.high_watermark - p.low_watermark)
            .sum::<i64>(),
        6,
        "every published record is counted once"
    );
    assert_eq!(described[1].name, missing);
    assert!(described[1].partitions.is_none(), "a missing topic is reported missing");

    let mut consumer = bus.subscribe(&topic, &format!("{prefix}.g")).await.expect("subscribe");
    let got = poll_until(&mut *consumer, 6).await;
    assert_eq!(got.len(), 6);
    assert!(got.iter().all(
        |d| d.record.header(headers::RECORD_TYPE) == Some(headers::TYPE_CE_BATCH)
            && d.record.header(headers::SCHEMA_VERSION) == Some(headers::SCHEMA_V1)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_is_retryable_not_fatal() {
    // No broker needed: nothing listens on port 1.
    let bus =
        KafkaBus::open("kafka://127.0.0.1:1?socket.connection.setup.timeout.ms=1000").expect("clients build lazily");
    assert!(!bus.ready().await, "an unreachable cluster is not ready");
    match bus.publish("causeway.ce", vec![Record::new("k", "v")]).await {
        Err(err @ BusError::Unavailable(_)) => assert!(err.is_retryable()),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_over_the_size_limit_fails_fast() {
    let Some(bootstrap) = broker("too-large") else { return };
    let topic = format!("{}.big", unique_prefix("too-large"));
    let bus = open(&bootstrap, "message.max.bytes=10000");
    bus.ensure_topics(&[spec(&topic, 1)]).await.expect("create");
    let result = bus.publish(&topic, vec![Record::new("k", vec![0u8; 20_000])]).await;
    assert!(matches!(result, Err(BusError::Fatal(_))), "got {result:?}");
    bus.publish(&topic, vec![Record::new("k", vec![0u8; 100])])
        .await
        .expect("a small record still goes through");
}
