//! The real incidentary SDK (PyPI 0.2.0) records a three-service chain —
//! frontend -> orders -> payments, payments answering 503 — and flushes
//! to the gateway; an alert on frontend then assembles an artifact of
//! exactly what the SDK sent.

use std::collections::BTreeMap;

use causeway_assembly::{CompletenessLabel, FrameType, SelectionReason};
use causeway_integration_tests::{Api, DEV_KEY, python, run_python, start_standalone};
use causeway_model::Kind;
use serde_json::Value;

fn str_of<'a>(event: &'a Value, field: &str) -> &'a str {
    event[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {event}"))
}

fn u64_of(event: &Value, field: &str) -> u64 {
    event[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} missing in {event}"))
}

/// The one event of `service` and `kind` among `events`.
fn find<'a>(events: &[&'a Value], service: &str, kind: &str) -> &'a Value {
    let found: Vec<_> = events
        .iter()
        .filter(|e| e["service_id"] == service && e["kind"] == kind)
        .collect();
    assert_eq!(found.len(), 1, "expected one {service} {kind}, got {found:?}");
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_chain_assembles_what_the_real_sdk_sent() {
    let Some(python) = python("sdk_chain_assembles_what_the_real_sdk_sent") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let standalone = start_standalone(dir.path(), |_| {}).await;
    let api = Api::new(standalone.http_url(), DEV_KEY);

    let report = run_python(&python, "sdk_chain.py", &[standalone.http_url(), DEV_KEY.to_owned()]).await;
    let sent: Vec<Value> = report["events"].as_array().expect("events").clone();
    let failing = str_of(&report["traces"], "declined").to_owned();
    let healthy = str_of(&report["traces"], "ok").to_owned();
    assert_ne!(failing, healthy);

    // Every event the SDK sent for each trace is stored, exactly once, as sent.
    for trace in [&failing, &healthy] {
        let sent_here: Vec<&Value> = sent.iter().filter(|e| e["trace_id"] == trace.as_str()).collect();
        assert_eq!(
            sent_here.len(),
            5,
            "the SDK records 5 events per request: {sent_here:?}"
        );
        let stored = api.wait_trace(trace, sent_here.len()).await;
        assert_eq!(stored.len(), sent_here.len(), "stored more than sent: {stored:?}");
        let stored_by_id: BTreeMap<&str, &Value> = stored.iter().map(|e| (str_of(e, "ce_id"), e)).collect();
        assert_eq!(stored_by_id.len(), stored.len(), "a ce_id stored twice");
        for event in &sent_here {
            let ce_id = str_of(event, "ce_id");
            let kept = stored_by_id.get(ce_id).unwrap_or_else(|| panic!("{ce_id} not stored"));
            assert_eq!(kept["tenant_id"], "dev");
            assert_eq!(kept["service"], event["service_id"]);
            assert_eq!(kept["kind"], event["kind"]);
            assert_eq!(kept["status"], event["status"]);
            assert_eq!(kept.get("parent_ce_id").unwrap_or(&Value::Null), &event["parent_ce_id"]);
            assert_eq!(u64_of(kept, "duration_ns"), u64_of(event, "duration_ns"));
            // The SDK's wall_ts_ns is the completion time.
            assert_eq!(
                u64_of(kept, "start_unix_ns"),
                u64_of(event, "wall_ts_ns") - u64_of(event, "duration_ns")
            );
        }
    }

    let chain: Vec<&Value> = sent.iter().filter(|e| e["trace_id"] == failing.as_str()).collect();
    let frontend_in = find(&chain, "frontend", "HTTP_IN");
    let frontend_out = find(&chain, "frontend", "HTTP_OUT");
    let orders_in = find(&chain, "orders", "HTTP_IN");
    let orders_out = find(&chain, "orders", "HTTP_OUT");
    let payments_in = find(&chain, "payments", "HTTP_IN");
    // The two linkage conventions of the SDK, as recorded: the httpx patch
    // parents the callee on the caller's inbound event, the urlopen helper
    // on the outbound event itself.
    assert_eq!(orders_in["parent_ce_id"], frontend_in["ce_id"]);
    assert_eq!(frontend_out["parent_ce_id"], frontend_in["ce_id"]);
    assert_eq!(payments_in["parent_ce_id"], orders_out["ce_id"]);
    assert_eq!(
        [&frontend_in, &frontend_out, &orders_in, &orders_out, &payments_in].map(|e| u64_of(e, "status")),
        [502, 502, 502, 503, 503]
    );

    let alert_id = api.post_alert("frontend").await;
    let assembled = api.wait_assembled(&alert_id).await;
    let (_, artifact) = api.artifact(&assembled.artifact_id).await;

    assert_eq!(artifact.alert.alert_id, alert_id);
    assert_eq!(
        artifact.selection.trace_id.map(|id| id.to_string()),
        Some(failing.clone())
    );
    assert_eq!(artifact.selection.reason, SelectionReason::EarliestFirstBreak);
    assert_eq!(
        (artifact.selection.candidates, artifact.selection.failing_candidates),
        (2, 1)
    );
    // The live path selects through the store's indexes and does not count
    // every trace in scope (the offline path does).
    assert_eq!(artifact.selection.traces_in_scope, None);

    // The deepest failure completed first: payments' inbound 503 (its
    // completion precedes orders' outbound, which waited for the answer).
    let first_break = artifact.first_confirmed_break.as_ref().expect("a first break");
    assert_eq!(first_break.summary, "payments HTTP_IN 503");
    assert_eq!(
        (first_break.service.as_str(), first_break.kind, first_break.status),
        ("payments", Kind::HttpIn, 503)
    );
    assert_eq!(first_break.ce_id.to_string(), str_of(payments_in, "ce_id"));
    assert_eq!(first_break.at_unix_ns, u64_of(payments_in, "wall_ts_ns"));
    assert_eq!(first_break.depth, 3);
    assert!(
        first_break.lead_ns > 0,
        "the break precedes the alert: {}",
        first_break.lead_ns
    );

    assert_eq!(artifact.affected_services, ["frontend", "orders", "payments"]);
    assert!(
        artifact.ghost_services.is_empty(),
        "no ghost: {:?}",
        artifact.ghost_services
    );
    assert_eq!(artifact.completeness.label, CompletenessLabel::Full);
    assert_eq!(
        (
            artifact.completeness.gaps,
            artifact.completeness.captured_events,
            artifact.completeness.captured_services
        ),
        (0, 5, 3)
    );
    assert_eq!(artifact.completeness.coverage_per_mille, 1000);

    // One frame per captured event, at the depth its recorded parent gives.
    assert!(artifact.frames.iter().all(|f| f.frame_type == FrameType::Event));
    let depths: BTreeMap<String, u32> = artifact.frames.iter().map(|f| (f.ce_id.to_string(), f.depth)).collect();
    let expected: BTreeMap<String, u32> = [
        (frontend_in, 0),
        (frontend_out, 1),
        (orders_in, 1),
        (orders_out, 2),
        (payments_in, 3),
    ]
    .iter()
    .map(|(event, depth)| (str_of(event, "ce_id").to_owned(), *depth))
    .collect();
    assert_eq!(depths, expected);

    standalone.stop().await.expect("graceful stop");
}
