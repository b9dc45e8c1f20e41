//! Real headless Chromium (Debian's `chromium`) driven by playwright-core
//! from npm, both prepared by `scripts/browser-env.sh`, which the test
//! command runs and whose two variables it exports.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::python::repo_root;

/// The browser and the driver a test uses.
pub struct Browser {
    pub chromium: PathBuf,
    pub playwright: PathBuf,
}

/// `CAUSEWAY_TEST_CHROMIUM` and `CAUSEWAY_TEST_PLAYWRIGHT`. Missing in CI
/// (`CI` set) is a failure; locally the test prints `SKIPPED: <test>: ...`
/// and returns `None`.
pub fn browser(test: &str) -> Option<Browser> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    match (var("CAUSEWAY_TEST_CHROMIUM"), var("CAUSEWAY_TEST_PLAYWRIGHT")) {
        (Some(chromium), Some(playwright)) => Some(Browser { chromium, playwright }),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CAUSEWAY_TEST_CHROMIUM and CAUSEWAY_TEST_PLAYWRIGHT must be set in CI; run scripts/test.sh")
        }
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: {test}: no browser: set CAUSEWAY_TEST_CHROMIUM and CAUSEWAY_TEST_PLAYWRIGHT \
                 (eval \"$(scripts/browser-env.sh)\" prints both)"
            );
            None
        }
    }
}

impl Browser {
    /// Runs `integration-tests/browser/<script>` with node on a request
    /// (written to a file) and returns the JSON on its last stdout line.
    /// Panics, with the output, when it fails. Runs on a blocking thread:
    /// the pages it opens are served by this process's runtime.
    pub async fn run(&self, script: &str, request: &Value) -> Value {
        let dir = std::env::temp_dir().join(format!("causeway-browser-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("browser request dir");
        let request_path = dir.join("request.json");
        let mut request = request.clone();
        request["chromium"] = Value::String(self.chromium.display().to_string());
        std::fs::write(&request_path, request.to_string()).expect("browser request");
        let script = repo_root().join("integration-tests/browser").join(script);
        let playwright = self.playwright.clone();
        let output = tokio::task::spawn_blocking(move || {
            Command::new("node")
                .arg(&script)
                .arg(&request_path)
                .env("CAUSEWAY_TEST_PLAYWRIGHT", &playwright)
                .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
                .stdin(Stdio::null())
                .output()
        })
        .await
        .expect("browser runner thread")
        .expect("node runs (is nodejs installed?)");
        let _ = std::fs::remove_dir_all(&dir);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "browser script failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
            output.status
        );
        let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
        serde_json::from_str(last)
            .unwrap_or_else(|err| panic!("browser output is not JSON ({err})\nstdout:\n{stdout}\nstderr:\n{stderr}"))
    }
}
