//! Running the `causeway` binary as separate OS processes against the test
//! Kafka broker.
//!
//! The binary is `target/debug/causeway`, built by `scripts/test.sh` before
//! the tests (`cargo build -p causeway`); a test cannot build it itself
//! while the surrounding `cargo test` holds the build directory.

use std::io::Write;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a process may take to create topics and bind its ports.
const STARTUP: Duration = Duration::from_secs(60);

/// Fails in CI; elsewhere says SKIPPED and gives `None`.
fn required_or_skip<T>(test: &str, what: &str) -> Option<T> {
    if std::env::var_os("CI").is_some() {
        panic!("{what} in CI: scripts/test.sh must provide it");
    }
    // Straight to stderr: the test harness captures println! of passing
    // tests, and a skip must show in the output.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {test}: {what} (scripts/test.sh provides it)"
    );
    None
}

/// The broker's bootstrap address from `CAUSEWAY_TEST_KAFKA`.
pub fn broker(test: &str) -> Option<String> {
    match std::env::var("CAUSEWAY_TEST_KAFKA") {
        Ok(bootstrap) if !bootstrap.is_empty() => Some(bootstrap),
        _ => required_or_skip(test, "kafka: CAUSEWAY_TEST_KAFKA not set"),
    }
}

/// `target/debug/causeway` of this workspace.
pub fn causeway_binary(test: &str) -> Option<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let binary = target.join("debug").join("causeway");
    if binary.is_file() {
        Some(binary)
    } else {
        required_or_skip(
            test,
            &format!("{} is not built (cargo build -p causeway)", binary.display()),
        )
    }
}

/// `command…` followed by the bus, the store and OS-picked HTTP and admin
/// ports: the arguments of one target process on the test broker.
#[allow(dead_code)] // scale_out.rs adds its config file and builds its own
pub fn target_args(command: &[&str], bootstrap: &str, store: &str) -> Vec<String> {
    let mut args: Vec<String> = command.iter().map(|part| (*part).to_owned()).collect();
    args.extend(
        [
            "--bus",
            &format!("kafka://{bootstrap}"),
            "--store",
            store,
            "--http-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
        ]
        .map(str::to_owned),
    );
    args
}

/// A name no other run against the same broker uses.
pub fn unique_prefix(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    format!("it{}-{}-{test}", nanos % 1_000_000_000_000, std::process::id())
}

/// One running `causeway` process; killed (SIGKILL) when dropped.
pub struct Process {
    child: Child,
    pub http: Option<String>,
    /// The admin listener (`/live`, `/ready`, `/metrics`).
    pub admin: Option<String>,
    pub log: PathBuf,
}

impl Process {
    /// Starts `binary args…` with `env`, stderr (the logs) into `log`, and
    /// waits for the bound addresses it prints.
    pub fn start(binary: &Path, args: &[String], env: &[(String, String)], log: PathBuf) -> Process {
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(binary);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        // The config reads every CAUSEWAY_* variable: start from a clean slate.
        for (name, _) in std::env::vars() {
            if name.starts_with("CAUSEWAY_") {
                command.env_remove(name);
            }
        }
        command.envs(env.iter().map(|(k, v)| (k, v)));
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
        let mut http = None;
        let admin = loop {
            match received.recv_timeout(STARTUP) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("http   listening on ") {
                        http = Some(url.trim().to_owned());
                    }
                    // `admin  listening on URL  (/live /ready /metrics)`
                    if let Some(rest) = line.strip_prefix("admin  listening on") {
                        break rest.split_whitespace().next().map(str::to_owned);
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let logs = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!("causeway {args:?} did not start within {STARTUP:?}; its log:\n{logs}");
                }
            }
        };
        Process {
            child,
            http,
            admin,
            log,
        }
    }

    /// `causeway standalone` on `data_dir`, every port picked by the OS,
    /// with the test dev key and settle delay.
    #[allow(dead_code)] // the Kafka tests run targets, not the standalone
    pub fn standalone(binary: &Path, data_dir: &Path, log: PathBuf) -> Process {
        let args = [
            "standalone",
            "--data-dir",
            &data_dir.display().to_string(),
            "--http-addr",
            "127.0.0.1:0",
            "--grpc-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
        ]
        .map(str::to_owned);
        let env = [
            ("CAUSEWAY_DEV_API_KEY", causeway_integration_tests::DEV_KEY.to_owned()),
            (
                "CAUSEWAY_ASSEMBLER__SETTLE_MS",
                causeway_integration_tests::TEST_SETTLE_MS.to_string(),
            ),
        ]
        .map(|(name, value)| (name.to_owned(), value));
        Process::start(binary, &args, &env, log)
    }

    /// Resident memory (VmRSS) from /proc, in bytes.
    #[allow(dead_code)] // read by the outage test only
    pub fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    }

    pub fn http_url(&self) -> String {
        self.http.clone().expect("this process serves http")
    }

    /// One gauge or counter from the admin port's `/metrics` (the first
    /// series of that name), or `None` when it is not exported.
    #[allow(dead_code)] // read by the overload test only
    pub async fn metric(&self, name: &str) -> Option<f64> {
        let admin = self.admin.as_ref()?;
        let text = reqwest::get(format!("{admin}/metrics")).await.ok()?.text().await.ok()?;
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .find(|line| line.split([' ', '{']).next() == Some(name))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
    }

    /// SIGKILL: no drain, no final commit, no flush.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap");
    }

    /// The process log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        text.get(start..).unwrap_or_default().to_owned()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
