//! `causeway demo` against a whole standalone started in-process: the
//! artifact it gets back shows the injected failure, the ghost and the
//! five services; the errors a newcomer meets are the clear ones.

use std::collections::BTreeSet;

use causeway::demo::{AlertVia, DemoArgs, drive};
use causeway::testing::Standalone;
use causeway_assembly::{CompletenessLabel, FrameType};
use clap::Parser;

const KEY: &str = "demo-test-key-0123456789";

fn args(url: String, key: &str, traces: u32) -> DemoArgs {
    DemoArgs {
        url,
        key: Some(key.to_owned()),
        data_dir: "./no-such-dir".into(),
        traces,
        wait_seconds: 30,
        json: false,
        no_color: true,
        alert_via: AlertVia::Generic,
        pagerduty_secret: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_can_fire_its_alert_as_a_pagerduty_webhook() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret_file = dir.path().join("pagerduty-secret");
    std::fs::write(&secret_file, "demo-pagerduty-secret").expect("secret");
    let standalone = Standalone::start(dir.path(), KEY, |config| {
        config.assembler.settle_ms = 500;
        let mut dev = causeway_runtime::tenants::TenantConfig {
            id: "dev".into(),
            plan: causeway_runtime::tenants::Plan::Dev,
            api_key_sha256: vec![causeway_runtime::tenants::hash_api_key("demo-second-key-0123456789")],
            monthly_ce_quota: None,
            retention_days: None,
            pre_arm_seconds: None,
            integrations: Default::default(),
        };
        dev.integrations.pagerduty = Some(causeway_runtime::integrations::PagerDutyConfig {
            signing_secrets: vec![format!("file:{}", secret_file.display())],
            services: Default::default(),
            require_mapping: false,
        });
        config.tenants.push(dev);
    })
    .await
    .expect("standalone starts");
    let mut demo = args(standalone.http_url(), KEY, 10);
    demo.alert_via = AlertVia::Pagerduty;
    demo.pagerduty_secret = Some("wrong-secret".into());
    let err = drive(demo.clone()).await.expect_err("a wrong secret is refused");
    assert!(format!("{err:#}").contains("X-PagerDuty-Signature"), "{err:#}");
    demo.pagerduty_secret = Some("demo-pagerduty-secret".into());
    let outcome = drive(demo).await.expect("demo runs");
    assert_eq!(outcome.artifact.alert.source.as_str(), "pagerduty");
    assert_eq!(outcome.artifact.alert.service, "web");
    assert_eq!(
        outcome
            .artifact
            .first_confirmed_break
            .as_ref()
            .map(|b| b.service.as_str()),
        Some("ledger")
    );
    standalone.stop().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_shows_the_injected_break_and_the_ghost() {
    let dir = tempfile::tempdir().expect("temp dir");
    let standalone = Standalone::start(dir.path(), KEY, |config| {
        config.assembler.settle_ms = 500;
    })
    .await
    .expect("standalone starts");

    let outcome = drive(args(standalone.http_url(), KEY, 30)).await.expect("demo runs");
    let artifact = &outcome.artifact;

    let first_break = artifact
        .first_confirmed_break
        .as_ref()
        .expect("a first confirmed break");
    assert_eq!((first_break.service.as_str(), first_break.status), ("ledger", 503));
    // The first failing request started 90 s before the alert.
    assert!(
        (80_000_000_000..=100_000_000_000).contains(&first_break.lead_ns),
        "lead {}",
        first_break.lead_ns
    );
    let ghosts: Vec<&str> = artifact
        .ghost_services
        .iter()
        .map(|ghost| ghost.peer.as_str())
        .collect();
    assert_eq!(ghosts, ["fraud-api"]);
    assert_eq!(artifact.ghost_services[0].callers, ["payments"]);
    let affected: BTreeSet<&str> = artifact.affected_services.iter().map(String::as_str).collect();
    assert_eq!(
        affected,
        BTreeSet::from(["web", "checkout", "inventory", "payments", "ledger"])
    );
    // Both linkage conventions, both formats, no gaps: the ghost does not lower the label.
    assert_eq!(artifact.completeness.label, CompletenessLabel::Full);
    assert_eq!(artifact.completeness.gaps, 0);
    assert!(artifact.frames.iter().all(|frame| frame.frame_type == FrameType::Event));
    assert_eq!(artifact.frames.len(), 10, "one request records ten steps");
    assert_eq!(artifact.alert.service, "web");

    assert_eq!(outcome.sent.traces, 31);
    assert_eq!(outcome.sent.events, 31 * 10);
    assert!(outcome.sent.sdk_requests > 0 && outcome.sent.otlp_requests > 0);
    assert!(
        outcome.share_url.starts_with(&standalone.http_url()),
        "{}",
        outcome.share_url
    );
    assert!(outcome.checks.iter().all(|check| check.met), "{:#?}", outcome.checks);

    // The share link opens without a key and shows the waterfall.
    let page = reqwest::get(&outcome.share_url)
        .await
        .expect("share link")
        .text()
        .await
        .expect("text");
    assert!(page.contains("ledger HTTP_IN") && page.contains("503"), "{page}");

    standalone.stop().await.expect("standalone stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_is_named_as_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let standalone = Standalone::start(dir.path(), KEY, |_| {})
        .await
        .expect("standalone starts");
    let err = drive(args(standalone.http_url(), "not-the-key-0123456789", 1))
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("the api key was refused"), "{err:#}");
    standalone.stop().await.expect("standalone stops");
}

#[tokio::test]
async fn nothing_listening_asks_whether_standalone_runs() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    drop(listener);
    let err = drive(args(url.clone(), KEY, 1)).await.expect_err("nothing there");
    let text = err.to_string();
    assert!(
        text.contains("is `causeway standalone` running at") && text.contains(&url),
        "{text}"
    );
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    demo: DemoArgs,
}

#[test]
fn defaults_follow_standalone() {
    let cli = Cli::try_parse_from(["demo", "--key", "k"]).expect("parses");
    assert_eq!(cli.demo.url, "http://127.0.0.1:4318");
    assert_eq!(cli.demo.traces, 200);
    assert_eq!(cli.demo.data_dir, std::path::PathBuf::from("./data"));
    assert!(!cli.demo.json && !cli.demo.no_color);
    assert!(
        Cli::try_parse_from(["demo", "--traces", "1000000"]).is_err(),
        "traces are bounded"
    );
}
