//! Shared helpers for the end-to-end tests: an in-process standalone with
//! test settings, an authenticated client of its HTTP API, wire-format v1
//! batches built from simple specs, bounded polling, the real Python SDKs
//! run as subprocesses, and real headless Chromium.

pub mod api;
pub mod browser;
pub mod python;
pub mod refusal;
pub mod wait;
pub mod wire;

use std::path::Path;

use causeway::config::CausewayConfig;
use causeway::testing::Standalone;
/// Wall-clock now in unix nanoseconds: the clock the targets read.
pub use causeway_runtime::clock::now_unix_ns;

pub use api::Api;
pub use browser::{Browser, browser};
pub use python::{python, run_python};
pub use wait::{LONG_WAIT, wait_for};
pub use wire::{EventSpec, sdk_batch};

/// The dev tenant's key in every test (tenant id `dev`, no quota).
pub const DEV_KEY: &str = "it-dev-key-0123456789abcdef";

/// The settle delay the tests run with: short, so an alert assembles fast.
pub const TEST_SETTLE_MS: u64 = 500;

/// Starts a standalone on `data_dir` with the test settings (short settle
/// delay, dev tenant keyed [`DEV_KEY`]); `tweak` adjusts the rest.
pub async fn start_standalone(data_dir: &Path, tweak: impl FnOnce(&mut CausewayConfig)) -> Standalone {
    Standalone::start(data_dir, DEV_KEY, |config| {
        config.assembler.settle_ms = TEST_SETTLE_MS;
        tweak(config);
    })
    .await
    .expect("standalone starts")
}
