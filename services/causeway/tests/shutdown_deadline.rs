//! After SIGTERM the `causeway` binary exits within its shutdown deadline
//! plus a short grace, whatever its Kafka clients are blocked on:
//!
//! - the broker never answered (a loopback port nothing listens on): the
//!   signal stops startup, which was waiting on topic creation;
//! - the broker went away under a running `run --targets windower,assembler`
//!   (a broker of this test's own, killed): the consumers' commit and close
//!   wait on a coordinator that is gone, and the watchdog ends the process.
//!   Needs the test broker's environment (`CAUSEWAY_TEST_KAFKA` set, the
//!   broker installed by scripts/kafka-broker.sh); otherwise SKIPPED.

#![cfg(unix)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// `shutdown_deadline_seconds` of the process under test.
const DEADLINE: Duration = Duration::from_secs(2);
/// The binary's grace after the deadline (`serve::SHUTDOWN_GRACE`) plus
/// slack for a busy machine.
const BOUND: Duration = Duration::from_secs(3 + 3);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Starts `causeway run --targets windower,assembler` on `bus`; stderr (the
/// logs) goes to `log`, stdout lines to the returned channel.
fn start(bus: &str, dir: &Path, log: &Path) -> (Child, mpsc::Receiver<String>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_causeway"));
    command
        .args(["run", "--targets", "windower,assembler", "--bus", bus])
        .arg("--store")
        .arg(format!("embedded://{}", dir.join("store").display()))
        .args(["--http-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).expect("log file"));
    for (name, _) in std::env::vars() {
        if name.starts_with("CAUSEWAY_") {
            command.env_remove(name);
        }
    }
    command
        .env("CAUSEWAY_DEV_API_KEY", "shutdown-test-key-0123456789")
        .env("CAUSEWAY_SHUTDOWN_DEADLINE_SECONDS", DEADLINE.as_secs().to_string())
        .env("CAUSEWAY_WINDOWER__DRAIN_DEADLINE_SECONDS", "1")
        .env("CAUSEWAY_ASSEMBLER__DRAIN_DEADLINE_SECONDS", "1");
    let mut child = command.spawn().expect("start causeway");
    let stdout = child.stdout.take().expect("stdout");
    let (lines, received) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    (child, received)
}

fn sigterm(child: &Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success(), "SIGTERM not delivered");
}

/// Waits up to `bound` for the process to exit; kills it (and fails) past it.
fn exits_within(child: &mut Child, bound: Duration, log: &Path) -> (ExitStatus, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return (status, started.elapsed());
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            let _ = child.wait();
            let logs = std::fs::read_to_string(log).unwrap_or_default();
            panic!("still running {bound:?} after SIGTERM; its log:\n{logs}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sigterm_during_startup_against_an_absent_broker_exits_within_the_deadline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let log = dir.path().join("causeway.log");
    let (mut child, _stdout) = start(&format!("kafka://127.0.0.1:{port}"), dir.path(), &log);
    // Startup is now waiting on topic creation (up to 10 s per request).
    std::thread::sleep(Duration::from_millis(1500));
    sigterm(&child);
    let (status, took) = exits_within(&mut child, DEADLINE + BOUND, &log);
    assert!(!status.success(), "an interrupted startup is a failure: {status}");
    assert!(took < DEADLINE + BOUND, "took {took:?}");
}

/// A Kafka broker of this test's own (scripts/kafka-broker.sh), so that
/// killing it leaves other tests' broker alone.
struct OwnBroker {
    dir: String,
    bootstrap: String,
}

impl OwnBroker {
    fn start() -> Option<Self> {
        if std::env::var_os("CAUSEWAY_TEST_KAFKA").is_none() {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: broker gone under a running process: CAUSEWAY_TEST_KAFKA not set (scripts/test.sh provides it)"
            );
            return None;
        }
        // Private: not recorded as the broker started last, which is how
        // other tests find (and freeze) the one scripts/test.sh started.
        let output = Command::new(repo_root().join("scripts/kafka-broker.sh"))
            .args(["start", "--private"])
            .output()
            .expect("scripts/kafka-broker.sh");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "broker did not start: {stderr}");
        let dir = stderr
            .split_whitespace()
            .skip_while(|word| *word != "dir")
            .nth(1)
            .expect("the broker's directory on stderr")
            .to_owned();
        let bootstrap = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        Some(Self { dir, bootstrap })
    }

    /// SIGKILL: the broker is gone at once, as a crashed or unreachable one.
    fn kill(&self) {
        let pid = std::fs::read_to_string(Path::new(&self.dir).join("pid")).expect("broker pid");
        let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("scripts/kafka-broker.sh"))
            .args(["stop", &self.dir])
            .status();
    }
}

#[test]
fn sigterm_after_the_broker_went_away_exits_within_the_deadline() {
    let Some(broker) = OwnBroker::start() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("causeway.log");
    let (mut child, stdout) = start(&format!("kafka://{}", broker.bootstrap), dir.path(), &log);
    let started = Instant::now();
    loop {
        match stdout.recv_timeout(Duration::from_secs(60)) {
            Ok(line) if line.starts_with("admin  listening on") => break,
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                let logs = std::fs::read_to_string(&log).unwrap_or_default();
                panic!(
                    "causeway did not start within {:?}; its log:\n{logs}",
                    started.elapsed()
                );
            }
        }
    }
    // Consuming for a moment: the members joined their groups.
    std::thread::sleep(Duration::from_secs(3));
    broker.kill();
    std::thread::sleep(Duration::from_secs(1));
    sigterm(&child);
    let (status, took) = exits_within(&mut child, DEADLINE + BOUND, &log);
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    eprintln!("exited with {status} {took:?} after SIGTERM");
    assert!(took < DEADLINE + BOUND, "took {took:?}; log:\n{logs}");
}
