//! The real OpenTelemetry Python SDK (1.45.2) exports one three-service
//! trace over OTLP/HTTP (protobuf) and over OTLP gRPC; every span arrives
//! mapped by the documented rules, and an alert finds the ghost service
//! (a callee that never reports) and the first break.

use std::collections::BTreeMap;

use causeway_assembly::{CompletenessLabel, SelectionReason};
use causeway_integration_tests::{Api, DEV_KEY, python, run_python, start_standalone};
use causeway_model::Kind;
use serde_json::Value;

/// An OTLP span id (16 hex digits) as the CE id it maps to: zero-extended
/// to 16 bytes, written as a UUID.
fn ce_id_of_span(span_id_hex: &str) -> String {
    uuid_text(&format!("{span_id_hex}0000000000000000"))
}

fn uuid_text(hex32: &str) -> String {
    uuid::Uuid::parse_str(hex32)
        .expect("32 hex digits")
        .hyphenated()
        .to_string()
}

/// What each span of `otlp_trace.py` must become, by the mapping rules of
/// docs/wire-formats.md: (service, kind, status, operation, peer).
fn expected_mapping(role: &str) -> (&'static str, &'static str, u64, &'static str, Option<&'static str>) {
    match role {
        // http.response.status_code wins over the span status.
        "root" => ("frontend", "HTTP_IN", 502, "GET /checkout/{id}", None),
        // peer.service before server.address; no route: the span name.
        "orders_call" => ("frontend", "HTTP_OUT", 502, "GET", Some("orders")),
        "orders_in" => ("orders", "HTTP_IN", 502, "GET /orders/{id}", None),
        "ledger_call" => ("orders", "HTTP_OUT", 504, "POST", Some("ledger.internal")),
        // INTERNAL with status ERROR and no status attribute: 500.
        "render" => ("orders", "INTERNAL", 500, "render-receipt", None),
        // UNSET on a request/response kind is a success: 200.
        "payments_call" => ("orders", "HTTP_OUT", 200, "POST", Some("payments")),
        "payments_in" => ("payments", "HTTP_IN", 200, "POST /pay/{id}", None),
        other => panic!("unknown span role {other}"),
    }
}

async fn exported_trace_is_mapped_and_assembled(protocol: &str) {
    let test = format!("otlp_{protocol}_spans_map_and_assemble");
    let Some(python) = python(&test) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let standalone = start_standalone(dir.path(), |_| {}).await;
    let api = Api::new(standalone.http_url(), DEV_KEY);
    let endpoint = match protocol {
        "http" => standalone.http_url(),
        _ => standalone.grpc.to_string(),
    };

    let report = run_python(
        &python,
        "otlp_trace.py",
        &[protocol.to_owned(), endpoint, DEV_KEY.to_owned()],
    )
    .await;
    let trace_id = uuid_text(report["trace_id"].as_str().expect("trace_id"));
    let spans: Vec<Value> = report["spans"].as_array().expect("spans").clone();
    assert_eq!(spans.len(), 7);
    let by_role: BTreeMap<&str, &Value> = spans.iter().map(|s| (s["role"].as_str().expect("role"), s)).collect();

    let stored = api.wait_trace(&trace_id, spans.len()).await;
    assert_eq!(stored.len(), spans.len(), "one CE per span: {stored:#?}");
    let stored_by_id: BTreeMap<&str, &Value> = stored
        .iter()
        .map(|e| (e["ce_id"].as_str().expect("ce_id"), e))
        .collect();
    for span in &spans {
        let role = span["role"].as_str().expect("role");
        let ce_id = ce_id_of_span(span["span_id"].as_str().expect("span_id"));
        let event = stored_by_id
            .get(ce_id.as_str())
            .unwrap_or_else(|| panic!("span {role} ({ce_id}) not stored"));
        let (service, kind, status, operation, peer) = expected_mapping(role);
        assert_eq!(event["service"], service, "{role}");
        assert_eq!(event["kind"], kind, "{role}");
        assert_eq!(event["status"], status, "{role}");
        assert_eq!(event["operation"], operation, "{role}");
        assert_eq!(event.get("peer").and_then(Value::as_str), peer, "{role}");
        assert_eq!(event["environment"], "test", "{role}");
        assert_eq!(event["trace_id"], trace_id.as_str(), "{role}");
        let parent = span["parent_span_id"].as_str().map(ce_id_of_span);
        assert_eq!(
            event.get("parent_ce_id").and_then(Value::as_str),
            parent.as_deref(),
            "{role}"
        );
        let start = span["start_unix_ns"].as_u64().expect("start");
        let end = span["end_unix_ns"].as_u64().expect("end");
        assert_eq!(event["start_unix_ns"], start, "{role}: OTLP carries the start");
        assert_eq!(event["duration_ns"], end - start, "{role}");
    }

    let alert_id = api.post_alert("frontend").await;
    let assembled = api.wait_assembled(&alert_id).await;
    let (_, artifact) = api.artifact(&assembled.artifact_id).await;
    assert_eq!(
        artifact.selection.trace_id.map(|id| id.to_string()),
        Some(trace_id.clone())
    );
    assert_eq!(artifact.selection.reason, SelectionReason::EarliestFirstBreak);
    assert_eq!(artifact.selection.candidates, 1);

    // The ledger call's 504 completed first (at 50 ms; the ERROR span at
    // 60 ms, the 502s later).
    let ledger = by_role["ledger_call"];
    let first_break = artifact.first_confirmed_break.as_ref().expect("a first break");
    assert_eq!(first_break.summary, "orders HTTP_OUT 504");
    assert_eq!((first_break.kind, first_break.status), (Kind::HttpOut, 504));
    assert_eq!(
        first_break.ce_id.to_string(),
        ce_id_of_span(ledger["span_id"].as_str().expect("span_id"))
    );
    assert_eq!(first_break.at_unix_ns, ledger["end_unix_ns"].as_u64().expect("end"));
    assert_eq!(first_break.depth, 3);

    // ledger never reports: a ghost. orders and payments answered their calls.
    assert_eq!(artifact.ghost_services.len(), 1, "{:?}", artifact.ghost_services);
    let ghost = &artifact.ghost_services[0];
    assert_eq!(
        (ghost.peer.as_str(), ghost.callers.as_slice(), ghost.calls_in_trace),
        ("ledger.internal", &["orders".to_owned()][..], 1)
    );
    assert_eq!((ghost.window.calls, ghost.window.errors), (1, 1));

    assert_eq!(artifact.affected_services, ["frontend", "orders", "payments"]);
    assert_eq!(
        artifact.completeness.label,
        CompletenessLabel::Full,
        "a ghost does not lower the label"
    );
    assert_eq!(
        (artifact.completeness.gaps, artifact.completeness.captured_events),
        (0, 7)
    );

    standalone.stop().await.expect("graceful stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_http_spans_map_and_assemble() {
    exported_trace_is_mapped_and_assembled("http").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_grpc_spans_map_and_assemble() {
    exported_trace_is_mapped_and_assembled("grpc").await;
}
