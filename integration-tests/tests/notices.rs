//! An SDK `pre_arm_start` notice travels gateway -> bus -> windower ->
//! store and shows in the artifact of a later alert, verbatim; a
//! `pre_arm_end` notice is kept but is not a signal.

use causeway_integration_tests::{Api, DEV_KEY, EventSpec, now_unix_ns, sdk_batch, start_standalone};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_arm_notices_reach_the_artifact() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One CE partition: the control batch sent after the notices is stored
    // only after them, so waiting on it means the notices are in the store.
    let standalone = start_standalone(dir.path(), |config| config.topics.ce_partitions = Some(1)).await;
    let api = Api::new(standalone.http_url(), DEV_KEY);
    let now_ms = now_unix_ns() / 1_000_000;
    // What the incidentary SDK's notify_backend sends.
    let start = json!({
        "service_id": "payments",
        "event": "pre_arm_start",
        "metadata": {
            "window_id": "win-42",
            "started_at_ms": now_ms - 2_000,
            "expires_at_ms": now_ms + 60_000,
            "reasons": [{"trigger_type": "error_rate_5xx", "severity": "severe", "summary": "5xx rate 12%",
                         "observed_label": "12%", "threshold_label": "5%"}]
        }
    });
    let end = json!({"service_id": "payments", "event": "pre_arm_end", "metadata": {"window_id": "win-41", "close_reason": "ttl"}});
    for notice in [&start, &end] {
        let answer = api.post_json("/api/v1/services/events", notice).await;
        assert_eq!(answer.status, 202, "{}", answer.text());
    }
    let now = now_unix_ns();
    let root = EventSpec::root("payments", 503, now - 1_000_000);
    let answer = api
        .post_batch(&sdk_batch("payments", std::slice::from_ref(&root)))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    api.wait_trace(&root.trace_id.to_string(), 1).await;

    let alert_id = api.post_alert("payments").await;
    let assembled = api.wait_assembled(&alert_id).await;
    let (_, artifact) = api.artifact(&assembled.artifact_id).await;
    assert_eq!(
        artifact.pre_arm_signals.len(),
        1,
        "only pre_arm_start is a signal: {:?}",
        artifact.pre_arm_signals
    );
    let signal = &artifact.pre_arm_signals[0];
    assert_eq!(signal.service, "payments");
    let metadata: serde_json::Value = serde_json::from_str(&signal.metadata_json).expect("metadata json");
    assert_eq!(metadata, start["metadata"], "kept verbatim");
    standalone.stop().await.expect("stop");
}
