//! The admin port of a running standalone: `/live`, `/ready` and
//! `/metrics` with described metrics and real histogram buckets.

use causeway::testing::Standalone;

const KEY: &str = "admin-test-key-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_port_serves_health_and_described_metrics() {
    let dir = tempfile::tempdir().expect("temp dir");
    let standalone = Standalone::start(dir.path(), KEY, |_| {}).await.expect("start");
    let admin = format!("http://{}", standalone.admin);
    let client = reqwest::Client::new();
    let live = client.get(format!("{admin}/live")).send().await.expect("live");
    assert_eq!(live.status(), 200);
    let ready = client.get(format!("{admin}/ready")).send().await.expect("ready");
    assert_eq!(ready.status(), 200, "{}", ready.text().await.unwrap_or_default());

    // One request through the gateway so its histogram has a sample.
    let rejected = client
        .post(format!("{}/api/v1/ingest/batch", standalone.http_url()))
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body(r#"{"schema_version":"1","service_id":"web","events":[{"ce_id":"bad"}]}"#)
        .send()
        .await
        .expect("ingest");
    assert_eq!(rejected.status(), 400);
    let metrics = client
        .get(format!("{admin}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for described in [
        "# HELP causeway_gateway_requests_total",
        "# HELP causeway_windower_events_written_total",
        "# HELP causeway_assembler_alerts_consumed_total",
        "# HELP causeway_runtime_task_failures_total",
    ] {
        assert!(metrics.contains(described), "missing {described:?} in:\n{metrics}");
    }
    assert!(
        metrics.contains(r#"causeway_gateway_requests_total{route="/api/v1/ingest/batch",code="400"} 1"#),
        "{metrics}"
    );
    // Every metric name follows causeway_<target>_<name>_<unit>[_total];
    // `runtime` is the process-wide part every target shares.
    for line in metrics
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
    {
        let name = line.split(['{', ' ']).next().unwrap_or_default();
        let target_ok = [
            "causeway_gateway_",
            "causeway_windower_",
            "causeway_assembler_",
            "causeway_runtime_",
        ]
        .iter()
        .any(|p| name.starts_with(p));
        assert!(target_ok, "metric {name} is not causeway_<target>_…");
    }
    standalone.stop().await.expect("stop");
}
