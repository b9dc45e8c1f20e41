//! `causeway loadgen` against a whole standalone started in-process: over
//! each protocol every CE sent is acknowledged, `--verify` reads every one
//! back from the window, and the JSON report holds consistent figures.

use causeway::loadgen::{LoadgenArgs, drive};
use causeway::testing::Standalone;
use clap::Parser;

const KEY: &str = "loadgen-test-key-0123456789";
const CES: u64 = 2_000;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: LoadgenArgs,
}

fn args(flags: &[&str]) -> LoadgenArgs {
    let mut argv = vec!["loadgen", "--api-key", KEY];
    argv.extend_from_slice(flags);
    Cli::try_parse_from(argv).expect("valid flags").args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_is_acknowledged_and_read_back_in_full() {
    let dir = tempfile::tempdir().expect("temp dir");
    let standalone = Standalone::start(dir.path(), KEY, |_| {})
        .await
        .expect("standalone starts");
    let http = standalone.http_url();
    let grpc = format!("http://{}", standalone.grpc);
    let ces = CES.to_string();
    for (protocol, target) in [
        ("sdk-json", &http),
        ("otlp-http", &http),
        ("otlp-grpc", &grpc),
        ("grpc", &grpc),
    ] {
        let flags = [
            "--protocol",
            protocol,
            "--target",
            target,
            "--read-url",
            &http,
            "--ces",
            &ces,
            "--max",
            "--batch",
            "200",
            "--concurrency",
            "3",
            "--services",
            "6",
            "--failure-rate",
            "0.2",
            "--verify",
            "--verify-timeout",
            "30s",
            "--json",
        ];
        let report = drive(args(&flags), false).await.expect("loadgen runs");
        let json = serde_json::to_value(&report).expect("json");
        let number = |key: &str| {
            json[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{protocol}: {key} missing in {json}"))
        };
        let sent = number("sent_ces");
        assert!(
            (CES as f64..CES as f64 + 100.0).contains(&sent),
            "{protocol}: sent {sent}, asked for {CES} rounded up to a trace"
        );
        assert_eq!(number("acked_ces"), sent, "{protocol}: {json}");
        assert_eq!(number("rejected_ces"), 0.0, "{protocol}: {json}");
        let rate = number("ces_per_sec");
        let expected = number("acked_ces") / number("elapsed_seconds");
        assert!(
            (rate - expected).abs() <= expected * 1e-6,
            "{protocol}: {rate} vs {expected}"
        );
        let latency = &json["ack_latency_ms"];
        let (p50, p99, p999) = (
            latency["p50"].as_f64().expect("p50"),
            latency["p99"].as_f64().expect("p99"),
            latency["p999"].as_f64().expect("p999"),
        );
        assert!(0.0 < p50 && p50 <= p99 && p99 <= p999, "{protocol}: {latency}");
        assert!(number("requests") >= (sent / 200.0).ceil(), "{protocol}: {json}");

        let verify = report.verify.as_ref().expect("verify ran");
        assert_eq!(verify.checked_ces as f64, sent, "{protocol}");
        assert_eq!(verify.missing_ces, 0, "{protocol}: {:?}", verify.missing_examples);
        assert!(verify.traces > 100, "{protocol}: {} traces", verify.traces);
    }
    standalone.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_is_counted_by_reason_and_verify_has_nothing_to_find() {
    let dir = tempfile::tempdir().expect("temp dir");
    let standalone = Standalone::start(dir.path(), KEY, |_| {})
        .await
        .expect("standalone starts");
    let http = standalone.http_url();
    let argv = [
        "loadgen",
        "--api-key",
        "not-the-key",
        "--target",
        &http,
        "--ces",
        "300",
        "--batch",
        "100",
        "--verify",
    ];
    let report = drive(Cli::try_parse_from(argv).expect("flags").args, false)
        .await
        .expect("loadgen runs");
    assert_eq!(report.acked_ces, 0);
    assert_eq!(report.rejected_ces, report.sent_ces);
    assert_eq!(
        report.rejected_by_reason.get("unauthorized").copied(),
        Some(report.sent_ces)
    );
    assert_eq!(report.verify.expect("verify ran").checked_ces, 0);
    standalone.stop().await.expect("clean stop");
}
