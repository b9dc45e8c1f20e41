//! The real Python SDKs (incidentary, OpenTelemetry), run as subprocesses
//! from the test virtualenv that `scripts/python-env.sh` builds.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository root (the workspace holding this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crate inside the workspace")
        .to_path_buf()
}

/// The test virtualenv's python. `CAUSEWAY_TEST_PYTHON` when set (the test
/// command sets it). Otherwise, in CI (`CI` set) this panics: CI must run
/// the Python tests. Locally it builds the virtualenv with
/// `scripts/python-env.sh`; if that fails it prints
/// `SKIPPED: <test>: no python test environment: <reason>` and returns
/// `None`, and the test returns early.
pub fn python(test: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CAUSEWAY_TEST_PYTHON").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    if std::env::var_os("CI").is_some() {
        panic!("CAUSEWAY_TEST_PYTHON must be set in CI; run scripts/test.sh");
    }
    match build_env() {
        Ok(path) => Some(path),
        Err(reason) => {
            // Straight to stderr: the test harness captures println! of passing
            // tests, and a skip must show in the output.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {test}: no python test environment: {reason}"
            );
            None
        }
    }
}

fn build_env() -> Result<PathBuf, String> {
    let script = repo_root().join("scripts/python-env.sh");
    let output = Command::new("bash")
        .arg(&script)
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("cannot run {}: {err}", script.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "{} exited with {}: {}",
            script.display(),
            output.status,
            stderr.trim()
        ));
    }
    let path = String::from_utf8_lossy(&output.stdout)
        .trim()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    if path.is_empty() || !Path::new(&path).exists() {
        return Err(format!("{} printed no python path", script.display()));
    }
    Ok(PathBuf::from(path))
}

/// How long one script may run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `integration-tests/python/<script>` with `args` and returns the JSON
/// object on the last line of its stdout. Panics, with its output, when it
/// exits non-zero, runs too long, or prints no JSON. Runs on a blocking
/// thread: the script talks to a server on this process's runtime.
pub async fn run_python(python: &Path, script: &str, args: &[String]) -> Value {
    let python = python.to_path_buf();
    let script_path = repo_root().join("integration-tests/python").join(script);
    let args = args.to_vec();
    tokio::task::spawn_blocking(move || run_blocking(&python, &script_path, &args))
        .await
        .expect("python runner thread")
}

fn run_blocking(python: &Path, script: &Path, args: &[String]) -> Value {
    let child = Command::new(python)
        .arg(script)
        .args(args)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {} {}: {err}", python.display(), script.display()));
    let id = child.id();
    let started = Instant::now();
    // The output is read on this thread; a watchdog kills a hung script.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(SCRIPT_TIMEOUT).is_err() {
            // Only this child, by its own pid.
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
        }
    });
    let output = child.wait_with_output().expect("python output");
    let _ = done_tx.send(());
    let _ = watchdog.join();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} failed ({}) after {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        script.display(),
        output.status,
        started.elapsed()
    );
    let last = stdout
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|err| {
        panic!(
            "{}: last stdout line is not JSON ({err})\nstdout:\n{stdout}\nstderr:\n{stderr}",
            script.display()
        )
    })
}
