//! kill -9 of a whole `causeway standalone` process at random points under
//! steady load, again and again on the same data directory. Senders post
//! SDK batches and alerts the whole time; each trial SIGKILLs the process
//! after a random delay (sometimes while it is still recovering from the
//! last kill) and starts it again. At the end every batch that was answered
//! 200 is in the window, each event exactly once, and every alert that was
//! answered 202 became exactly one artifact.
//!
//! In Kafka mode the same is done to the windower+assembler process: the
//! gateway keeps accepting while the workers are SIGKILLed and started
//! again, five times by default.
//!
//! `CAUSEWAY_CRASH_TRIALS` sets the number of standalone trials (10 by
//! default; the soak command in docs/reliability.md runs many more),
//! `CAUSEWAY_KAFKA_CRASH_TRIALS` the Kafka ones, and `CAUSEWAY_CRASH_SEED`
//! replays one run's kill points.

mod kafka_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use causeway_integration_tests::{Api, DEV_KEY, EventSpec, LONG_WAIT, TEST_SETTLE_MS, now_unix_ns, sdk_batch};
use kafka_support::{Process, broker, causeway_binary, target_args, unique_prefix};

const DEFAULT_TRIALS: u64 = 10;
const DEFAULT_KAFKA_TRIALS: u64 = 5;
/// The longest the Kafka workers run before their kill.
const MAX_WORKER_KILL_DELAY_MS: u64 = 4_000;
const SENDERS: usize = 3;
/// The longest a trial runs before its kill.
const MAX_KILL_DELAY_MS: u64 = 1_500;

/// A small deterministic generator: the seed is printed, so a failing run
/// can be replayed with `CAUSEWAY_CRASH_SEED`.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|value| value.parse().ok())
}

/// What the clients were told was accepted.
#[derive(Default)]
struct Acknowledged {
    /// Events of each acknowledged batch, by trace.
    traces: Vec<Vec<EventSpec>>,
    alerts: Vec<String>,
}

fn start(binary: &std::path::Path, dir: &std::path::Path, trial: u64) -> Process {
    Process::standalone(binary, &dir.join("data"), dir.join(format!("trial-{trial}.log")))
}

/// Posts one-trace batches (and now and then an alert) until refused or
/// told to stop; records what was acknowledged.
async fn send(api: Api, stop: Arc<AtomicBool>, acknowledged: Arc<Mutex<Acknowledged>>, sender: usize) {
    let mut round = 0_usize;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        if sender == 0 && round.is_multiple_of(15) {
            let body = serde_json::json!({
                "service": "checkout",
                "fired_at": now_unix_ns(),
                "title": "checkout error rate",
                "source": "crash-trials",
            });
            let Ok(bytes) = serde_json::to_vec(&body) else { return };
            match api
                .try_post_raw("/api/v1/alerts", Some("application/json"), bytes)
                .await
            {
                Ok(answer) if answer.status == 202 => {
                    let id = answer.json()["alert_id"].as_str().expect("alert_id").to_owned();
                    acknowledged
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .alerts
                        .push(id);
                }
                _ => return,
            }
            continue;
        }
        let now = now_unix_ns();
        let status = if round.is_multiple_of(3) { 502 } else { 200 };
        let root = EventSpec::root("checkout", status, now);
        let events = vec![
            root.clone(),
            root.child("payments", "HTTP_OUT", status, now - 2_000_000),
            root.child("inventory", "HTTP_OUT", 200, now - 1_000_000),
        ];
        let Ok(bytes) = serde_json::to_vec(&sdk_batch("checkout", &events)) else {
            return;
        };
        match api
            .try_post_raw("/api/v1/ingest/batch", Some("application/json"), bytes)
            .await
        {
            Ok(answer) if answer.status == 200 => {
                acknowledged
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .traces
                    .push(events);
            }
            // Overload is an answer, not a loss: back off and go on.
            Ok(answer) if answer.status == 429 || answer.status == 503 => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(answer) => panic!("batch refused with {}: {}", answer.status, answer.text()),
            // The process was killed under the request.
            Err(_) => return,
        }
    }
}

async fn verify(api: &Api, acknowledged: &Acknowledged) {
    for events in &acknowledged.traces {
        api.assert_trace_exactly(events).await;
    }
    let mut artifact_of_alert = BTreeMap::new();
    for alert_id in &acknowledged.alerts {
        let assembled = api.wait_assembled(alert_id).await;
        artifact_of_alert.insert(alert_id.clone(), assembled.artifact_id);
    }
    let listed = api.get("/api/v1/artifacts?limit=500").await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    let rows = listed.json()["artifacts"].as_array().cloned().expect("artifacts");
    assert!(
        rows.len() < 500,
        "the listing is one page: keep the trials under 500 alerts"
    );
    let mut artifacts_per_alert: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in &rows {
        let alert = row["alert_id"].as_str().expect("alert_id").to_owned();
        let artifact = row["artifact_id"].as_str().expect("artifact_id").to_owned();
        artifacts_per_alert.entry(alert).or_default().push(artifact);
    }
    for (alert_id, artifact_id) in &artifact_of_alert {
        assert_eq!(
            artifacts_per_alert.get(alert_id),
            Some(&vec![artifact_id.clone()]),
            "alert {alert_id}: exactly one artifact, the one its state names"
        );
    }
}

/// The trial count from `variable`, a seeded generator, and the runtime
/// the senders run on.
fn trials_setup(variable: &str, default: u64) -> (u64, Rng, tokio::runtime::Runtime) {
    let trials = env_number(variable).unwrap_or(default);
    let seed = env_number("CAUSEWAY_CRASH_SEED").unwrap_or_else(|| now_unix_ns() | 1);
    println!("crash trials: {trials}, seed {seed} (CAUSEWAY_CRASH_SEED={seed} replays the kill points)");
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("client runtime");
    (trials, Rng(seed), client)
}

/// Verifies against the restarted reader, bounded in time.
fn verify_after(
    client: &tokio::runtime::Runtime,
    reader: &Process,
    acknowledged: &Arc<Mutex<Acknowledged>>,
    kills: u64,
) {
    let api = Api::new(reader.http_url(), DEV_KEY);
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap_or_else(PoisonError::into_inner));
    assert!(
        !acknowledged.traces.is_empty(),
        "no batch was acknowledged in {kills} trials: the trials tested nothing"
    );
    client.block_on(async {
        tokio::time::timeout(LONG_WAIT * 4, verify(&api, &acknowledged))
            .await
            .unwrap_or_else(|_| panic!("verification did not finish; log:\n{}", reader.log_tail()));
    });
    println!(
        "after {kills} kills: {} acknowledged batches and {} acknowledged alerts all present exactly once",
        acknowledged.traces.len(),
        acknowledged.alerts.len()
    );
}

#[test]
fn kill_9_at_random_points_loses_nothing_acknowledged() {
    let test = "crash_trials";
    let Some(binary) = causeway_binary(test) else { return };
    let (trials, mut rng, client) = trials_setup("CAUSEWAY_CRASH_TRIALS", DEFAULT_TRIALS);
    let dir = tempfile::tempdir().expect("tempdir");
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));

    for trial in 0..trials {
        let process = start(&binary, dir.path(), trial);
        let api = Api::new(process.http_url(), DEV_KEY);
        let stop = Arc::new(AtomicBool::new(false));
        let senders: Vec<_> = (0..SENDERS)
            .map(|sender| client.spawn(send(api.clone(), Arc::clone(&stop), Arc::clone(&acknowledged), sender)))
            .collect();
        let delay = rng.below(MAX_KILL_DELAY_MS);
        std::thread::sleep(Duration::from_millis(delay));
        process.kill();
        stop.store(true, Ordering::Relaxed);
        client.block_on(async {
            for sender in senders {
                sender.await.expect("sender task");
            }
        });
        let so_far = acknowledged.lock().unwrap_or_else(PoisonError::into_inner);
        println!(
            "trial {trial}: killed after {delay} ms; {} batches and {} alerts acknowledged so far",
            so_far.traces.len(),
            so_far.alerts.len()
        );
    }

    let process = start(&binary, dir.path(), trials);
    verify_after(&client, &process, &acknowledged, trials);
}

#[test]
fn kafka_workers_killed_at_random_points_lose_nothing_acknowledged() {
    let test = "crash_trials_kafka";
    let Some(bootstrap) = broker(test) else { return };
    let Some(binary) = causeway_binary(test) else { return };
    let (trials, mut rng, client) = trials_setup("CAUSEWAY_KAFKA_CRASH_TRIALS", DEFAULT_KAFKA_TRIALS);
    let dir = tempfile::tempdir().expect("tempdir");
    let prefix = unique_prefix("crash");
    let env: Vec<(String, String)> = [
        ("CAUSEWAY_DEV_API_KEY", DEV_KEY.to_owned()),
        ("CAUSEWAY_TOPICS__PREFIX", prefix.clone()),
        ("CAUSEWAY_TOPICS__CE_PARTITIONS", "4".to_owned()),
        ("CAUSEWAY_WINDOWER__GROUP", format!("{prefix}-windower")),
        ("CAUSEWAY_ASSEMBLER__GROUP", format!("{prefix}-assembler")),
        ("CAUSEWAY_ASSEMBLER__SETTLE_MS", TEST_SETTLE_MS.to_string()),
    ]
    .map(|(name, value)| (name.to_owned(), value))
    .to_vec();
    // Every workers process opens the same store: each restart resumes it.
    let start_split = |name: &str, store: &str, command: &[&str]| {
        let store = format!("embedded://{}", dir.path().join(store).display());
        let args = target_args(command, &bootstrap, &store);
        Process::start(&binary, &args, &env, dir.path().join(format!("{name}.log")))
    };
    // The gateway stays up; its store holds only metering.
    let gateway = start_split("gateway", "gateway-store", &["gateway"]);
    let api = Api::new(gateway.http_url(), DEV_KEY);
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| client.spawn(send(api.clone(), Arc::clone(&stop), Arc::clone(&acknowledged), sender)))
        .collect();
    for trial in 0..trials {
        let workers = start_split(
            &format!("workers-{trial}"),
            "workers-store",
            &["run", "--targets", "windower,assembler"],
        );
        let delay = rng.below(MAX_WORKER_KILL_DELAY_MS);
        std::thread::sleep(Duration::from_millis(delay));
        workers.kill();
        let so_far = acknowledged.lock().unwrap_or_else(PoisonError::into_inner);
        println!(
            "trial {trial}: workers killed after {delay} ms; {} batches and {} alerts acknowledged so far",
            so_far.traces.len(),
            so_far.alerts.len()
        );
    }
    stop.store(true, Ordering::Relaxed);
    client.block_on(async {
        for sender in senders {
            sender.await.expect("sender task");
        }
    });
    let workers = start_split(
        "workers-last",
        "workers-store",
        &["run", "--targets", "windower,assembler"],
    );
    verify_after(&client, &workers, &acknowledged, trials);
}
