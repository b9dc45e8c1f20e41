//! The classes of bad input `bad_input.rs` does not send: a gzip bomb,
//! invalid UTF-8, an unknown kind, timestamps from before 2020 and from the
//! year 2200, OTLP JSON with a wrong type. Each is refused precisely and
//! nothing of it is stored. And the graphs that are valid but hostile: a
//! parent chain thousands deep and a parent cycle are stored, and an alert
//! on them assembles an artifact that says where it cut.
//! docs/bad-inputs.md lists every class and the test that sends it.

use std::io::Write;

use causeway_integration_tests::refusal::{assert_nothing_stored, assert_refused, spoiled_batch, two_events};
use causeway_integration_tests::{Api, DEV_KEY, EventSpec, now_unix_ns, sdk_batch, start_standalone};
use causeway_model::limits::MAX_BODY_BYTES;
use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::json;

const BATCH: &str = "/api/v1/ingest/batch";
const YEAR_2200_NS: u64 = 7_258_118_400_000_000_000;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data).expect("write");
    encoder.finish().expect("finish")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_other_class_of_bad_input_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One CE partition: the control batch seen stored means every earlier
    // record was processed, so the absences below are conclusive.
    let standalone = start_standalone(dir.path(), |config| config.topics.ce_partitions = Some(1)).await;
    let api = Api::new(standalone.http_url(), DEV_KEY);
    let mut refused_traces: Vec<String> = Vec::new();

    // A gzip bomb: a valid batch padded with 64 MiB of spaces inflates far
    // past the body limit from a small compressed body.
    let events = two_events();
    let mut text = sdk_batch("checkout", &events).to_string().into_bytes();
    text.extend(std::iter::repeat_n(b' ', 64 * 1024 * 1024));
    let compressed = gzip(&text);
    assert!(compressed.len() < MAX_BODY_BYTES, "the bomb itself is small");
    let answer = reqwest::Client::new()
        .post(format!("{}{BATCH}", api.base_url()))
        .bearer_auth(DEV_KEY)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(compressed)
        .send()
        .await
        .expect("send");
    let answer = causeway_integration_tests::api::Answer {
        status: answer.status().as_u16(),
        headers: answer.headers().clone(),
        body: answer.bytes().await.expect("body").to_vec(),
    };
    assert_refused(&answer, 413, "body_too_large", None, Some(MAX_BODY_BYTES as u64));
    refused_traces.push(events[0].trace_id.to_string());

    // Invalid UTF-8 inside a string of an otherwise valid batch.
    let events = two_events();
    let text = sdk_batch("checkout", &events).to_string();
    let mut bytes = text.replace("\"test\"", "\"te\u{1}st\"").into_bytes();
    let at = bytes.iter().position(|&b| b == 1).expect("marker");
    bytes[at] = 0xff;
    let answer = api.post_raw(BATCH, Some("application/json"), bytes).await;
    assert_refused(&answer, 400, "malformed", None, None);
    refused_traces.push(events[0].trace_id.to_string());

    // An unknown kind.
    let (batch, trace) = spoiled_batch(|event| {
        event.insert("kind".into(), json!("TELEPORT"));
    });
    let body = assert_refused(
        &api.post_batch(&batch).await,
        400,
        "invalid_field",
        Some("events[1].kind"),
        None,
    );
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("HTTP_IN")),
        "{body}"
    );
    refused_traces.push(trace);

    // Timestamps: the year 2200, and a few nanoseconds after 1970.
    for (wall_ts_ns, says) in [
        (YEAR_2200_NS, "in the future"),
        (1_000_000_000_000_000_000, "before 2020"),
    ] {
        let (batch, trace) = spoiled_batch(|event| {
            event.insert("wall_ts_ns".into(), json!(wall_ts_ns));
        });
        let answer = api.post_batch(&batch).await;
        assert_eq!(answer.status, 400, "{}", answer.text());
        let body = answer.json();
        assert_eq!(body["error"], "invalid_field", "{body}");
        assert_eq!(body["field"], "events[1].timestamp", "{body}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains(says)), "{body}");
        refused_traces.push(trace);
    }

    // A completion time before the event's own duration: nanoseconds sent
    // as seconds.
    let (batch, trace) = spoiled_batch(|event| {
        event.insert("wall_ts_ns".into(), json!(5));
    });
    assert_refused(
        &api.post_batch(&batch).await,
        400,
        "invalid_field",
        Some("events[1].duration_ns"),
        None,
    );
    refused_traces.push(trace);

    // OTLP JSON with a wrong type: a trace id that is a number.
    let export = json!({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]},
        "scopeSpans": [{"spans": [{"traceId": 42, "spanId": "0707070707070707", "name": "GET /x",
            "kind": 2, "startTimeUnixNano": "1", "endTimeUnixNano": "2"}]}]
    }]});
    let body = assert_refused(
        &api.post_json("/v1/traces", &export).await,
        400,
        "invalid_field",
        Some("resourceSpans[0].scopeSpans[0].spans[0].traceId"),
        None,
    );
    assert!(body["message"].as_str().is_some_and(|m| m.contains("42")), "{body}");

    // A control batch sent last arrives, and nothing refused is there.
    assert_nothing_stored(&api, &refused_traces).await;
    standalone.stop().await.expect("graceful stop");
}

/// Events of one trace: `depth` deep, each the parent of the next; the
/// deepest fails.
fn chain(depth: usize) -> Vec<EventSpec> {
    let now = now_unix_ns();
    let root = EventSpec::root("deep-web", 500, now);
    let mut events = vec![root];
    for n in 1..depth {
        let parent = events.last().expect("parent").clone();
        let status = if n + 1 == depth { 503 } else { 500 };
        events.push(parent.child("deep-web", "INTERNAL", status, now - n as u64 * 1_000));
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_thousands_deep_and_a_parent_cycle_assemble_with_their_cuts_said() {
    let dir = tempfile::tempdir().expect("tempdir");
    let standalone = start_standalone(dir.path(), |_| {}).await;
    let api = Api::new(standalone.http_url(), DEV_KEY);

    let deep = chain(5_000);
    let answer = api.post_batch(&sdk_batch("deep-web", &deep)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    api.wait_trace(&deep[0].trace_id.to_string(), deep.len()).await;

    // a -> b -> c -> a: every event's parent is in the trace, none is a root.
    let now = now_unix_ns();
    let a = EventSpec::root("loop-web", 500, now);
    let mut b = a.child("loop-web", "HTTP_OUT", 500, now - 1_000);
    let c = b.child("loop-web", "HTTP_IN", 503, now - 2_000);
    let mut a_looped = a.clone();
    a_looped.parent_ce_id = Some(c.ce_id);
    b.parent_ce_id = Some(a.ce_id);
    let cycle = vec![a_looped, b, c];
    let answer = api.post_batch(&sdk_batch("loop-web", &cycle)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    api.wait_trace(&cycle[0].trace_id.to_string(), cycle.len()).await;

    let deep_artifact = api.wait_assembled(&api.post_alert("deep-web").await).await;
    let (_, artifact) = api.artifact(&deep_artifact.artifact_id).await;
    let repairs = &artifact.graph_repairs;
    assert!(
        repairs.depth_cuts > 0 && u64::from(repairs.depth_limit) < 5_000,
        "a 5,000-deep chain is cut at the depth limit and says so: {repairs:?}"
    );

    let loop_artifact = api.wait_assembled(&api.post_alert("loop-web").await).await;
    let (_, artifact) = api.artifact(&loop_artifact.artifact_id).await;
    assert_eq!(
        artifact.graph_repairs.cycles_broken, 1,
        "the cycle is broken once and said: {:?}",
        artifact.graph_repairs
    );
    standalone.stop().await.expect("graceful stop");
}
