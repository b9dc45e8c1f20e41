//! Bad-input checks shared by the bad-input tests: a valid batch spoiled in
//! one field, and the precise refusal asserted.

use serde_json::Value;

use crate::api::{Answer, Api};
use crate::{EventSpec, now_unix_ns, sdk_batch};

/// A valid two-event trace from `checkout`.
pub fn two_events() -> Vec<EventSpec> {
    let root = EventSpec::root("checkout", 200, now_unix_ns());
    let child = root.child("checkout", "HTTP_OUT", 200, now_unix_ns());
    vec![root, child]
}

/// A valid batch whose second event `spoil` then breaks; returns the body
/// and its trace id.
pub fn spoiled_batch(spoil: impl FnOnce(&mut serde_json::Map<String, Value>)) -> (Value, String) {
    let events = two_events();
    let mut batch = sdk_batch("checkout", &events);
    let second = batch["events"][1].as_object_mut().expect("event object");
    spoil(second);
    (batch, events[0].trace_id.to_string())
}

/// Asserts status and error body (error code, field, limit and a message);
/// returns the body.
pub fn assert_refused(answer: &Answer, status: u16, error: &str, field: Option<&str>, limit: Option<u64>) -> Value {
    assert_eq!(answer.status, status, "body: {}", answer.text());
    let body = answer.json();
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(body.get("field").and_then(Value::as_str), field, "{body}");
    assert_eq!(body.get("limit").and_then(Value::as_u64), limit, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a message: {body}"
    );
    body
}

/// Sends a valid control batch last and waits for it; then none of the
/// refused requests' traces may hold anything. Conclusive only with one CE
/// partition: the control batch seen stored means every earlier record was
/// processed.
pub async fn assert_nothing_stored(api: &Api, refused_traces: &[String]) {
    let control = two_events();
    let answer = api.post_batch(&sdk_batch("checkout", &control)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(api.wait_trace(&control[0].trace_id.to_string(), 2).await.len(), 2);
    for trace in refused_traces {
        let stored = api.trace_events(trace).await;
        assert!(stored.is_empty(), "refused trace {trace} has stored events: {stored:?}");
    }
}
