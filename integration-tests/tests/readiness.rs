//! `/ready` tells the truth: a standalone whose embedded bus cannot write
//! (its CE segments turned into `/dev/full` under the running writer: every
//! write fails with ENOSPC, as on a full disk) answers 503 naming the bus,
//! and publishes answer 503 with Retry-After; once the disk serves again,
//! `/ready` is 200 and publishes are accepted. The supervised-task metric
//! is exported from startup.

#![cfg(target_os = "linux")]

use std::path::{Path, PathBuf};

use causeway_integration_tests::{Api, EventSpec, now_unix_ns, sdk_batch, start_standalone};

/// Every segment file of the CE topic, over its partitions.
fn ce_segments(data_dir: &Path) -> Vec<PathBuf> {
    let topic = data_dir.join("bus").join("topics").join("causeway.ce");
    let mut files = Vec::new();
    for partition in std::fs::read_dir(&topic).expect("ce topic dir") {
        let partition = partition.expect("entry").path();
        if !partition.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&partition).expect("partition dir") {
            let file = file.expect("entry").path();
            if file.extension().is_some_and(|ext| ext == "log") {
                files.push(file);
            }
        }
    }
    files
}

async fn ready(admin: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{admin}/ready")).await.expect("GET /ready");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

fn batch() -> serde_json::Value {
    sdk_batch("checkout", &[EventSpec::root("checkout", 200, now_unix_ns())])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_and_publishes_follow_a_bus_that_cannot_write() {
    let dir = tempfile::tempdir().expect("tempdir");
    let standalone = start_standalone(dir.path(), |config| {
        config.topics.ce_partitions = Some(2);
    })
    .await;
    let admin = standalone.admin.to_string();
    let api = Api::new(standalone.http_url(), &standalone.api_key);
    assert_eq!(ready(&admin).await, (200, "ready\n".to_owned()));
    let metrics = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    assert!(
        metrics.contains("causeway_runtime_task_failures_total{task=\"bus_writer\"} 0"),
        "task failures exported from zero:\n{metrics}"
    );

    // No CE was published yet: the segments are empty and no writer file
    // is open on them, so the next append opens /dev/full.
    let segments = ce_segments(dir.path());
    assert_eq!(segments.len(), 2, "{segments:?}");
    // Each segment is moved aside, not deleted: the bus reads through the
    // handle it opened on the original file, so the same file must come
    // back when the disk "serves again".
    let aside = |segment: &PathBuf| segment.with_extension("aside");
    for segment in &segments {
        std::fs::rename(segment, aside(segment)).expect("move segment aside");
        std::os::unix::fs::symlink("/dev/full", segment).expect("symlink");
    }
    let refused = api.post_batch(&batch()).await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert!(refused.header("retry-after").is_some(), "{:?}", refused.headers);
    let (status, body) = ready(&admin).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("bus"), "the failing check is named: {body}");
    let refused = api.post_batch(&batch()).await;
    assert_eq!(refused.status, 503, "still refused: {}", refused.text());

    // The disk serves again: the probe behind /ready reopens the
    // partitions, and publishes are accepted.
    for segment in &segments {
        std::fs::remove_file(segment).expect("remove link");
        std::fs::rename(aside(segment), segment).expect("segment back");
    }
    assert_eq!(ready(&admin).await, (200, "ready\n".to_owned()));
    let accepted = api.post_batch(&batch()).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text());
    standalone.stop().await.expect("stop");
}
