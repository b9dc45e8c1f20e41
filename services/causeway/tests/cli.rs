//! The binary as an operator runs it: offline assembly of real SDK
//! payloads, and configuration errors reported together before any port
//! is bound.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn causeway(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_causeway"));
    command.args(args);
    for (key, _) in std::env::vars().filter(|(key, _)| key.starts_with("CAUSEWAY_")) {
        command.env_remove(key);
    }
    command.envs(envs.iter().copied());
    command.output().expect("run causeway")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/model/fixtures")
        .join(name)
}

fn alert_file(dir: &Path) -> PathBuf {
    // The fixtures were recorded at 2026-11-21T05:45:25Z; the alert follows.
    let path = dir.join("alert.json");
    std::fs::write(
        &path,
        r#"{"service":"checkout","fired_at":1795239926965384704,"title":"checkout 5xx","source":"pagerduty"}"#,
    )
    .expect("write alert");
    path
}

#[test]
fn assemble_prints_the_waterfall_of_real_sdk_batches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let alert = alert_file(dir.path());
    let checkout = fixture("sdk_v1_checkout_full.json");
    let payments = fixture("sdk_v1_payments.json");
    let args = [
        "assemble",
        "--events",
        path(&checkout),
        path(&payments),
        "--alert",
        path(&alert),
        "--no-color",
    ];
    let out = causeway(&args, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("first break:  payments HTTP_IN 503"), "{text}");
    assert!(text.contains("completeness: FULL"), "{text}");
    assert!(!text.contains('\u{1b}'), "no color codes with --no-color");
}

#[test]
fn assemble_json_is_byte_identical_across_runs_and_input_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let alert = alert_file(dir.path());
    let checkout = fixture("sdk_v1_checkout_full.json");
    let payments = fixture("sdk_v1_payments.json");
    let otlp = fixture("otlp_checkout.json");
    let one = causeway(
        &[
            "assemble",
            "--json",
            "--events",
            path(&checkout),
            path(&payments),
            path(&otlp),
            "--alert",
            path(&alert),
        ],
        &[],
    );
    let two = causeway(
        &[
            "assemble",
            "--json",
            "--events",
            path(&otlp),
            path(&payments),
            path(&checkout),
            "--alert",
            path(&alert),
        ],
        &[],
    );
    assert!(one.status.success(), "stderr: {}", String::from_utf8_lossy(&one.stderr));
    assert_eq!(one.stdout, two.stdout);
    let artifact: serde_json::Value = serde_json::from_slice(&one.stdout).expect("json");
    assert_eq!(artifact["first_confirmed_break"]["service"], "payments");
}

#[test]
fn assemble_names_the_file_and_field_of_bad_input() {
    let dir = tempfile::tempdir().expect("temp dir");
    let alert = alert_file(dir.path());
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"schema_version":"1","service_id":"x","events":[{"ce_id":"nope"}]}"#,
    )
    .expect("write");
    let out = causeway(&["assemble", "--events", path(&bad), "--alert", path(&alert)], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.json") && stderr.contains("events[0]"), "{stderr}");
}

#[test]
fn every_config_error_is_reported_before_binding() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("causeway.toml");
    std::fs::write(
        &config,
        "bogus = 1\n[windower]\npre_arm_seconds = \"five\"\n[assembler]\ntypo = true\n",
    )
    .expect("write");
    // A port we hold: had the binary bound anything, this would clash first.
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = held.local_addr().expect("addr").to_string();
    let data = dir.path().join("data");
    let out = causeway(
        &[
            "standalone",
            "--config",
            path(&config),
            "--data-dir",
            path(&data),
            "--http-addr",
            &addr,
        ],
        &[("CAUSEWAY_LOG_FORMAT", "\"xml\""), ("CAUSEWAY_NOT_A_KEY", "1")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for needle in ["bogus", "windower.pre_arm_seconds", "assembler.typo", "not_a_key"] {
        assert!(stderr.contains(needle), "missing {needle}: {stderr}");
    }
    assert!(!stderr.contains("cannot listen"), "nothing was bound: {stderr}");
}

#[test]
fn cross_field_rules_are_checked() {
    let out = causeway(
        &["standalone", "--data-dir", "/nonexistent-causeway-test"],
        &[("CAUSEWAY_LOG_FORMAT", "xml")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("log_format"), "{stderr}");
}

#[test]
fn split_targets_refuse_the_in_process_bus() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bus = format!("embedded://{}", dir.path().join("bus").display());
    let store = format!("embedded://{}", dir.path().join("store").display());
    let out = causeway(
        &["windower", "--bus", &bus, "--store", &store],
        &[("CAUSEWAY_DEV_API_KEY", "dev-key-0123456789abcdef")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("embedded bus lives inside one process"), "{stderr}");
    assert!(
        stderr.contains("windower and the assembler must run in the same process"),
        "{stderr}"
    );
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn the_example_config_loads_and_states_the_defaults() {
    use causeway::config::CausewayConfig;
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/causeway.example.toml");
    let loaded: CausewayConfig =
        causeway_runtime::config::load(Some(&example), Vec::new()).expect("example config loads");
    let defaults = CausewayConfig::default();
    // The example documents the defaults: it must not drift from the code.
    assert_eq!(
        toml::Value::try_from(&loaded).expect("toml"),
        toml::Value::try_from(&defaults).expect("toml")
    );
}

#[test]
fn keygen_output_hashes_back_with_hash_key() {
    let out = causeway(&["keygen"], &[]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let key = text
        .lines()
        .find_map(|l| l.strip_prefix("api_key: "))
        .expect("key line");
    let hash = text
        .lines()
        .find_map(|l| l.strip_prefix("api_key_sha256: "))
        .expect("hash line");
    let again = causeway(&["hash-key", key], &[]);
    assert_eq!(String::from_utf8_lossy(&again.stdout).trim(), hash);
    assert_eq!(hash.len(), 64);
}
