//! A restart loses nothing acknowledged. Senders post SDK batches while the
//! standalone is stopped under them — gracefully (the SIGTERM path), or
//! dropped outright (its runtime shut down: every task abandoned at its
//! next await, no drain, no final commit). Started again on the same data
//! directory, every batch that was answered 200 is stored, each event
//! exactly once, and an artifact made before the restart still opens by
//! its share link.
//!
//! The standalone runs on its own runtime so it can be dropped while the
//! client runtime keeps going. The two tests take turns (one lock), so
//! each can tell when its stopped instance has let go of its files.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use causeway::testing::Standalone;
use causeway_integration_tests::{Api, DEV_KEY, EventSpec, LONG_WAIT, TEST_SETTLE_MS, now_unix_ns, sdk_batch};
use tokio::runtime::Runtime;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const SENDERS: usize = 4;
const BATCHES_PER_SENDER: usize = 15;
/// The standalone is stopped once this many batches were acknowledged.
const STOP_AFTER_ACKS: usize = SENDERS * BATCHES_PER_SENDER / 2;
const EVENTS_PER_BATCH: usize = 3;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Stop {
    Graceful,
    Dropped,
}

fn runtime(workers: usize) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Starts on `dir`, retrying while a dropped predecessor still holds files.
fn start_on(server: &Runtime, dir: &Path) -> Standalone {
    let deadline = Instant::now() + LONG_WAIT;
    loop {
        let started = server.block_on(Standalone::start(dir, DEV_KEY, |config| {
            config.assembler.settle_ms = TEST_SETTLE_MS;
        }));
        match started {
            Ok(standalone) => return standalone,
            Err(err) if Instant::now() < deadline => {
                eprintln!("restart not possible yet, retrying: {err:#}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(err) => panic!("standalone did not restart within {LONG_WAIT:?}: {err:#}"),
        }
    }
}

/// Threads of this process whose name starts with `prefix` (Linux); `None`
/// where threads cannot be listed.
fn threads_named(prefix: &str) -> Option<usize> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    Some(
        tasks
            .filter_map(Result::ok)
            .filter_map(|task| std::fs::read_to_string(task.path().join("comm")).ok())
            .filter(|name| name.trim_end().starts_with(prefix))
            .count(),
    )
}

/// Waits until the stopped instance's bus writer thread has finished its
/// queue and exited, so the next instance never shares a log with it.
fn wait_for_bus_writer_exit() {
    // Thread names are cut to 15 bytes: "causeway-bus-writer" shows as this.
    let prefix = "causeway-bus-wr";
    let deadline = Instant::now() + LONG_WAIT;
    while threads_named(prefix).is_some_and(|count| count > 0) {
        assert!(
            Instant::now() < deadline,
            "the stopped bus writer thread did not exit within {LONG_WAIT:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn batch_of_one_trace() -> Vec<EventSpec> {
    let now = now_unix_ns();
    let root = EventSpec::root("checkout", 200, now);
    let mut events = vec![root.clone()];
    events.extend((1..EVENTS_PER_BATCH).map(|_| root.child("checkout", "HTTP_OUT", 200, now)));
    events
}

/// One sender: posts batches until it has sent its share or one is not
/// acknowledged (the server is going away). Returns what was acknowledged.
async fn send_until_refused(
    api: Api,
    acks: Arc<AtomicUsize>,
    half: std::sync::mpsc::Sender<()>,
) -> Vec<Vec<EventSpec>> {
    let mut acknowledged = Vec::new();
    for _ in 0..BATCHES_PER_SENDER {
        let events = batch_of_one_trace();
        let body = serde_json::to_vec(&sdk_batch("checkout", &events)).expect("json");
        match api
            .try_post_raw("/api/v1/ingest/batch", Some("application/json"), body)
            .await
        {
            Ok(answer) if answer.status == 200 => {
                acknowledged.push(events);
                if acks.fetch_add(1, Ordering::SeqCst) + 1 == STOP_AFTER_ACKS {
                    let _ = half.send(());
                }
            }
            // Refused (503 while draining) or cut off: not acknowledged.
            Ok(_) | Err(_) => break,
        }
    }
    acknowledged
}

fn restart_loses_nothing_acknowledged(stop: Stop) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = tempfile::tempdir().expect("tempdir");
    let client = runtime(1);
    let server = runtime(2);
    let standalone = start_on(&server, dir.path());
    let api = Api::new(standalone.http_url(), DEV_KEY);

    // An artifact before the restart.
    let (share_path, artifact_bytes) = client.block_on(async {
        let now = now_unix_ns();
        let root = EventSpec::root("checkout", 502, now);
        let failing = root.child("payments", "HTTP_IN", 503, now - 1_000_000);
        let answer = api.post_batch(&sdk_batch("checkout", &[root.clone(), failing])).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        api.wait_trace(&root.trace_id.to_string(), 2).await;
        let assembled = api.wait_assembled(&api.post_alert("checkout").await).await;
        let (answer, _) = api.artifact(&assembled.artifact_id).await;
        (assembled.share_path, answer.body)
    });

    // Senders run on the client runtime while the server is stopped.
    let acks = Arc::new(AtomicUsize::new(0));
    let (half_tx, half_rx) = std::sync::mpsc::channel();
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| client.spawn(send_until_refused(api.clone(), Arc::clone(&acks), half_tx.clone())))
        .collect();
    drop(half_tx);
    half_rx
        .recv_timeout(LONG_WAIT * 2)
        .expect("half of the batches acknowledged before the stop");
    match stop {
        Stop::Graceful => server.block_on(standalone.stop()).expect("graceful stop"),
        Stop::Dropped => {
            server.shutdown_timeout(Duration::from_secs(10));
            drop(standalone);
        }
    }
    let acknowledged: Vec<Vec<EventSpec>> = client.block_on(async {
        let mut all = Vec::new();
        for sender in senders {
            all.extend(sender.await.expect("sender task"));
        }
        all
    });
    assert!(
        acknowledged.len() >= STOP_AFTER_ACKS,
        "{} acknowledged",
        acknowledged.len()
    );
    println!(
        "{stop:?}: {} of {} batches acknowledged before the stop",
        acknowledged.len(),
        SENDERS * BATCHES_PER_SENDER
    );
    wait_for_bus_writer_exit();

    let server = runtime(2);
    let standalone = start_on(&server, dir.path());
    let api = Api::new(standalone.http_url(), DEV_KEY);
    client.block_on(async {
        for events in &acknowledged {
            api.assert_trace_exactly(events).await;
        }

        let shared = api.with_key(None).get(&format!("{share_path}.json")).await;
        assert_eq!(shared.status, 200, "{}", shared.text());
        assert_eq!(
            shared.body, artifact_bytes,
            "the artifact survives the restart unchanged"
        );

        // And the restarted pipeline takes new batches.
        let events = batch_of_one_trace();
        let answer = api.post_batch(&sdk_batch("checkout", &events)).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        api.wait_trace(&events[0].trace_id.to_string(), events.len()).await;
    });
    server.block_on(standalone.stop()).expect("graceful stop");
}

#[test]
fn restart_after_graceful_stop_loses_nothing_acknowledged() {
    restart_loses_nothing_acknowledged(Stop::Graceful);
}

#[test]
fn restart_after_dropped_runtime_loses_nothing_acknowledged() {
    restart_loses_nothing_acknowledged(Stop::Dropped);
}
