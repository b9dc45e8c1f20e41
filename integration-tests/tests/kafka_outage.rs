//! A broker outage under load, in the split deployment on Apache Kafka: a
//! gateway process and a windower+assembler process. While senders post
//! batches, the broker is frozen (SIGSTOP: its connections hang instead of
//! being refused, the harder case for a client) for 30 s. During the
//! outage the gateway answers only retryable refusals (503 with
//! `Retry-After`), its resident memory stays bounded, and once the broker
//! is back batches are accepted again within seconds. Every batch that was
//! answered 200, before, during or after, ends in the window exactly once.
//!
//! It freezes the broker `scripts/test.sh` started (found through
//! `target/kafka-broker.dir`), so it is the only test in its binary.
//! `CAUSEWAY_OUTAGE_SECONDS` shortens or lengthens the outage.

// Its SIGKILL helper is not used here.
#[allow(dead_code)]
mod kafka_support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use causeway_integration_tests::{Api, DEV_KEY, EventSpec, TEST_SETTLE_MS, now_unix_ns, sdk_batch};
use kafka_support::{Process, broker, causeway_binary, unique_prefix};

const SENDERS: usize = 6;
const DEFAULT_OUTAGE_SECONDS: u64 = 30;
/// The gateway gives up on a publish after this long and answers 503.
const PUBLISH_TIMEOUT_MS: u64 = 2_000;
/// How much the gateway's resident memory may grow during the outage.
const MAX_GROWTH_BYTES: u64 = 256 * 1024 * 1024;
/// How soon after the broker returns a batch must be accepted again.
const RECOVERY_BOUND: Duration = Duration::from_secs(45);

/// The broker process `scripts/kafka-broker.sh start` recorded, if it is the
/// one serving `bootstrap`.
fn broker_pid(bootstrap: &str) -> Option<u32> {
    let record = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/kafka-broker.dir");
    let dir = PathBuf::from(std::fs::read_to_string(record).ok()?.trim());
    let served = std::fs::read_to_string(dir.join("bootstrap")).ok()?;
    if served.trim() != bootstrap {
        return None;
    }
    std::fs::read_to_string(dir.join("pid")).ok()?.trim().parse().ok()
}

/// Sends a signal with kill(1).
fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{name} {pid} failed");
}

/// The broker, frozen until dropped: a failing assertion still thaws it
/// for the tests that run after this one.
struct Frozen(u32);

impl Frozen {
    fn freeze(pid: u32) -> Frozen {
        signal(pid, "STOP");
        Frozen(pid)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        signal(self.0, "CONT");
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Phase {
    Before,
    Outage,
    After,
}

#[derive(Default)]
struct Tally {
    acknowledged: Vec<Vec<EventSpec>>,
    /// Answers by phase and status.
    answers: BTreeMap<(Phase, u16), usize>,
    /// Refusals without a usable `Retry-After`.
    without_retry_after: usize,
    first_ack_after_outage: Option<Instant>,
}

async fn send(gateway: Api, phase: Arc<Mutex<Phase>>, stop: Arc<AtomicBool>, tally: Arc<Mutex<Tally>>) {
    while !stop.load(Ordering::Relaxed) {
        let sent_in = *phase.lock().unwrap_or_else(PoisonError::into_inner);
        let now = now_unix_ns();
        let root = EventSpec::root("checkout", 200, now);
        let events = vec![root.clone(), root.child("payments", "HTTP_OUT", 200, now - 1_000_000)];
        let answer = gateway.post_batch(&sdk_batch("checkout", &events)).await;
        let refused = {
            let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
            *tally.answers.entry((sent_in, answer.status)).or_default() += 1;
            match answer.status {
                200 => {
                    if sent_in == Phase::After && tally.first_ack_after_outage.is_none() {
                        tally.first_ack_after_outage = Some(Instant::now());
                    }
                    tally.acknowledged.push(events);
                    false
                }
                429 | 503 => {
                    let retry_after = answer.header("retry-after").and_then(|value| value.parse::<u64>().ok());
                    if retry_after.is_none() {
                        tally.without_retry_after += 1;
                    }
                    true
                }
                status => panic!(
                    "the gateway answered {status}, not a retryable refusal: {}",
                    answer.text()
                ),
            }
        };
        if refused {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn start(
    binary: &Path,
    bootstrap: &str,
    dir: &Path,
    env: &[(String, String)],
    name: &str,
    command: &[&str],
) -> Process {
    let store = format!("embedded://{}", dir.join(format!("{name}-store")).display());
    let mut args: Vec<String> = command.iter().map(|part| (*part).to_owned()).collect();
    args.extend(
        [
            "--bus",
            &format!("kafka://{bootstrap}"),
            "--store",
            &store,
            "--http-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
        ]
        .map(str::to_owned),
    );
    Process::start(binary, &args, env, dir.join(format!("{name}.log")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_outage_gives_retryable_refusals_and_loses_nothing_acknowledged() {
    let test = "kafka_outage";
    let Some(bootstrap) = broker(test) else { return };
    let Some(binary) = causeway_binary(test) else { return };
    let Some(pid) = broker_pid(&bootstrap) else {
        if std::env::var_os("CI").is_some() {
            panic!("the broker in CAUSEWAY_TEST_KAFKA is not the one scripts/kafka-broker.sh recorded");
        }
        eprintln!("SKIPPED: {test}: the broker in CAUSEWAY_TEST_KAFKA was not started by scripts/kafka-broker.sh");
        return;
    };
    let outage = Duration::from_secs(
        std::env::var("CAUSEWAY_OUTAGE_SECONDS")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(DEFAULT_OUTAGE_SECONDS),
    );
    let prefix = unique_prefix("outage");
    let env: Vec<(String, String)> = [
        ("CAUSEWAY_DEV_API_KEY", DEV_KEY.to_owned()),
        ("CAUSEWAY_TOPICS__PREFIX", prefix.clone()),
        ("CAUSEWAY_WINDOWER__GROUP", format!("{prefix}-windower")),
        ("CAUSEWAY_ASSEMBLER__GROUP", format!("{prefix}-assembler")),
        ("CAUSEWAY_ASSEMBLER__SETTLE_MS", TEST_SETTLE_MS.to_string()),
        ("CAUSEWAY_GATEWAY__PUBLISH_TIMEOUT_MS", PUBLISH_TIMEOUT_MS.to_string()),
    ]
    .map(|(name, value)| (name.to_owned(), value))
    .to_vec();
    let dir = tempfile::tempdir().expect("tempdir");
    let gateway_process = start(&binary, &bootstrap, dir.path(), &env, "gateway", &["gateway"]);
    let workers = start(
        &binary,
        &bootstrap,
        dir.path(),
        &env,
        "workers",
        &["run", "--targets", "windower,assembler"],
    );
    let gateway = Api::new(gateway_process.http_url(), DEV_KEY);
    let reader = Api::new(workers.http_url(), DEV_KEY);

    let phase = Arc::new(Mutex::new(Phase::Before));
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            tokio::spawn(send(
                gateway.clone(),
                Arc::clone(&phase),
                Arc::clone(&stop),
                Arc::clone(&tally),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let baseline = gateway_process.resident_bytes();

    let frozen = Frozen::freeze(pid);
    *phase.lock().unwrap_or_else(PoisonError::into_inner) = Phase::Outage;
    let outage_started = Instant::now();
    let mut peak = baseline;
    while outage_started.elapsed() < outage {
        tokio::time::sleep(Duration::from_millis(500)).await;
        peak = peak.max(gateway_process.resident_bytes());
    }
    *phase.lock().unwrap_or_else(PoisonError::into_inner) = Phase::After;
    let thawed = Instant::now();
    drop(frozen);

    let recovered = loop {
        let first = tally
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .first_ack_after_outage;
        if let Some(at) = first {
            break at.duration_since(thawed);
        }
        assert!(
            thawed.elapsed() < RECOVERY_BOUND,
            "no batch accepted within {RECOVERY_BOUND:?} of the broker's return\n{}",
            gateway_process.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for sender in senders {
        sender.await.expect("sender");
    }

    let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(PoisonError::into_inner));
    println!(
        "outage {outage:?}: answers {:?}; gateway rss {} MiB before, peak {} MiB during; accepted again {recovered:?} after the broker returned",
        tally.answers,
        baseline / (1024 * 1024),
        peak / (1024 * 1024)
    );
    let refused_in_outage: usize = tally
        .answers
        .iter()
        .filter(|((phase, status), _)| *phase == Phase::Outage && *status != 200)
        .map(|(_, count)| count)
        .sum();
    assert!(
        refused_in_outage > 0,
        "the outage was never noticed: {:?}",
        tally.answers
    );
    assert_eq!(tally.without_retry_after, 0, "every refusal says when to retry");
    assert!(
        peak <= baseline + MAX_GROWTH_BYTES,
        "gateway memory grew from {baseline} to {peak} bytes during the outage"
    );

    let mut stored_total = 0;
    for events in &tally.acknowledged {
        let trace_id = events[0].trace_id.to_string();
        let stored = reader.wait_trace(&trace_id, events.len()).await;
        let mut stored_ids: Vec<String> = stored
            .iter()
            .map(|event| event["ce_id"].as_str().expect("ce_id").to_owned())
            .collect();
        stored_ids.sort();
        let mut sent_ids: Vec<String> = events.iter().map(|event| event.ce_id.to_string()).collect();
        sent_ids.sort();
        assert_eq!(
            stored_ids, sent_ids,
            "trace {trace_id}: every acknowledged event exactly once"
        );
        stored_total += stored_ids.len();
    }
    println!(
        "{} acknowledged batches ({stored_total} events) all in the window exactly once",
        tally.acknowledged.len()
    );
}
