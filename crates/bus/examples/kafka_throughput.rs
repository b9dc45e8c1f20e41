//! Publish and consume throughput of the Kafka bus beside a raw librdkafka
//! producer sending the same records to the same broker.
//!
//! ```text
//! cargo run --release -p causeway-bus --example kafka_throughput -- \
//!     127.0.0.1:9092 [records] [records-per-publish] [extra librdkafka properties] [partitions]
//! ```
//!
//! Records look like the gateway's: one per (tenant, trace) group, keyed by
//! `tenant/trace`, a ~400-byte value (a CE batch of a few events) with the
//! content-type and schema headers. Each run uses fresh topics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use causeway_bus::{Bus, KafkaBus, Record, TopicSpec, headers};
use rdkafka::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

const VALUE_BYTES: usize = 400;
/// Publishes in flight at once, like concurrent gateway requests.
const CONCURRENT_PUBLISHES: usize = 32;

fn record(n: usize) -> Record {
    // Semi-repetitive content, like protobuf CEs (ids, service names, kinds).
    let mut value = format!(
        "tenant-{} trace-{:032x} service-checkout kind-http status-200 ",
        n % 7,
        n / 3
    )
    .into_bytes();
    value.resize(VALUE_BYTES, b'.');
    Record::new(format!("tenant-{}/trace-{}", n % 7, n / 3), value)
        .with_header(headers::RECORD_TYPE, headers::TYPE_CE_BATCH)
        .with_header(headers::SCHEMA_VERSION, headers::SCHEMA_V1)
}

fn url(bootstrap: &str, extra: &str) -> String {
    if extra.is_empty() {
        format!("kafka://{bootstrap}")
    } else {
        format!("kafka://{bootstrap}?{extra}")
    }
}

async fn bus_publish(bus: Arc<KafkaBus>, topic: &str, total: usize, per_publish: usize) -> Duration {
    let start = Instant::now();
    let chunks: Vec<Vec<Record>> = (0..total)
        .map(record)
        .collect::<Vec<_>>()
        .chunks(per_publish)
        .map(<[Record]>::to_vec)
        .collect();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(CONCURRENT_PUBLISHES));
    let mut tasks = Vec::new();
    for chunk in chunks {
        let permit = Arc::clone(&semaphore).acquire_owned().await.expect("semaphore");
        let (bus, topic) = (Arc::clone(&bus), topic.to_owned());
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            bus.publish(&topic, chunk).await.expect("publish");
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    start.elapsed()
}

async fn raw_publish(bootstrap: &str, extra: &str, topic: &str, total: usize) -> Duration {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "lz4")
        .set("linger.ms", "5");
    for pair in extra.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').expect("key=value");
        config.set(key, value);
    }
    let producer: FutureProducer = config.create().expect("producer");
    // Warm-up: connection, metadata and producer id are not measured.
    let warm = record(0);
    producer
        .send(
            FutureRecord::to(topic)
                .key(warm.key.as_ref())
                .payload(warm.value.as_ref()),
            Duration::from_secs(10),
        )
        .await
        .expect("warm-up");
    let records: Vec<Record> = (0..total).map(record).collect();
    let start = Instant::now();
    let mut deliveries = Vec::with_capacity(total);
    for record in &records {
        let mut headers = OwnedHeaders::new();
        for (name, value) in &record.headers {
            headers = headers.insert(Header {
                key: name,
                value: Some(value.as_ref()),
            });
        }
        let mut message = FutureRecord::to(topic)
            .key(record.key.as_ref())
            .payload(record.value.as_ref())
            .headers(headers);
        // A full local queue is waited out, as a client would after 503.
        loop {
            match producer.send_result(message) {
                Ok(delivery) => {
                    deliveries.push(delivery);
                    break;
                }
                Err((_, returned)) => {
                    message = returned;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        }
    }
    for delivery in deliveries {
        delivery.await.expect("delivery report").expect("delivered");
    }
    start.elapsed()
}

/// Reads `total` records as the windower does (poll, ack each batch);
/// timed from the first record, so joining the group is not counted.
async fn consume_all(bus: &KafkaBus, topic: &str, group: &str, total: usize) -> (usize, Duration) {
    let mut consumer = bus.subscribe(topic, group).await.expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(300);
    let (mut read, mut first) = (0usize, None);
    while read < total && Instant::now() < deadline {
        let batch = consumer.poll(1000, Duration::from_millis(500)).await.expect("poll");
        if !batch.is_empty() {
            first.get_or_insert_with(Instant::now);
        }
        for delivery in &batch {
            consumer.ack(delivery).await.expect("ack");
        }
        read += batch.len();
    }
    consumer.commit().await.expect("commit");
    (read, first.map_or(Duration::ZERO, |started| started.elapsed()))
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

#[tokio::main]
async fn main() {
    // librdkafka's own log lines (e.g. with `debug=fetch` among the extra
    // properties) go to stderr under RUST_LOG.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().collect();
    let bootstrap = args.get(1).cloned().unwrap_or_else(|| "127.0.0.1:9092".to_owned());
    let total: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(50_000);
    let per_publish: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(20);
    let extra = args.get(4).cloned().unwrap_or_default();
    let partitions: u32 = args.get(5).and_then(|n| n.parse().ok()).unwrap_or(8);
    let run = std::process::id();

    let bus = Arc::new(KafkaBus::open(&url(&bootstrap, &extra)).expect("open bus"));
    let (bus_topic, raw_topic) = (format!("bench-{run}.bus"), format!("bench-{run}.raw"));
    let specs: Vec<TopicSpec> = [&bus_topic, &raw_topic]
        .iter()
        .map(|name| TopicSpec {
            name: (*name).clone(),
            partitions,
            replication: 1,
        })
        .collect();
    bus.ensure_topics(&specs).await.expect("topics");

    let raw = raw_publish(&bootstrap, &extra, &raw_topic, total).await;
    bus.publish(&bus_topic, vec![record(0)]).await.expect("warm-up");
    let published = bus_publish(Arc::clone(&bus), &bus_topic, total, per_publish).await;
    let (consumed, consume) = consume_all(&bus, &bus_topic, &format!("bench-{run}"), total + 1).await;
    println!(
        "records={total} value_bytes={VALUE_BYTES} per_publish={per_publish} partitions={partitions} extra={extra:?}"
    );
    println!("raw rdkafka producer: {:>9.0} records/s", rate(total, raw));
    println!("KafkaBus::publish:    {:>9.0} records/s", rate(total, published));
    println!(
        "KafkaBus consumer:    {:>9.0} records/s ({consumed} read)",
        rate(consumed, consume)
    );
}
