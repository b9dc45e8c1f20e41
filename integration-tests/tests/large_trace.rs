//! A 6,500-event trace in one SDK batch, which the gateway cuts into many
//! bus records (the record limit set to its minimum, 16 KiB), is accepted
//! and lands in the window whole: every CE once, none missing.

use std::collections::BTreeSet;

use causeway_integration_tests::{Api, DEV_KEY, EventSpec, now_unix_ns, sdk_batch, start_standalone};

const EVENTS: usize = 6_500;
/// `causeway_gateway::MIN_RECORD_BYTES`: the smallest record limit allowed.
const MIN_RECORD_BYTES: usize = 16 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_split_over_many_records_lands_in_the_window_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let standalone = start_standalone(dir.path(), |config| {
        config.gateway.max_record_bytes = MIN_RECORD_BYTES;
    })
    .await;
    let api = Api::new(standalone.http_url(), DEV_KEY);

    let root = EventSpec::root("frontend", 200, now_unix_ns());
    let mut events = vec![root.clone()];
    events.extend((1..EVENTS).map(|n| root.child("orders", "HTTP_OUT", 200, now_unix_ns() - n as u64)));
    let answer = api.post_batch(&sdk_batch("frontend", &events)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.json()["accepted"], EVENTS);

    let stored = api.wait_trace(&root.trace_id.to_string(), EVENTS).await;
    let stored_ids: Vec<String> = stored
        .iter()
        .map(|event| event["ce_id"].as_str().expect("ce_id").to_owned())
        .collect();
    let unique: BTreeSet<&String> = stored_ids.iter().collect();
    assert_eq!(stored_ids.len(), unique.len(), "an event stored twice");
    let sent: BTreeSet<String> = events.iter().map(|event| event.ce_id.to_string()).collect();
    assert_eq!(unique.into_iter().cloned().collect::<BTreeSet<_>>(), sent);
    standalone.stop().await.expect("clean stop");
}
