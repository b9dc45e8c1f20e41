//! The share page in real headless Chromium: the link `causeway demo`
//! prints opens, on a laptop with JavaScript and on a phone without it, a
//! page whose break row and completeness badge are visible, with the same
//! digest as the artifact; a trace with an uninstrumented caller shows its
//! gap rows; the coverage scorecard draws and lists the demo's ghost.
//! Screenshots land in the target dir (`share-page*.png`, `scorecard.png`).

use causeway::demo::{AlertVia, DemoArgs, drive};
use causeway_integration_tests::{Api, DEV_KEY, EventSpec, browser, now_unix_ns, sdk_batch, start_standalone};
use serde_json::{Value, json};

const TEST: &str = "share_page_opens_in_a_real_browser";

fn screenshot(name: &str) -> String {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(name)
        .display()
        .to_string()
}

fn page<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["pages"]
        .as_array()
        .and_then(|pages| pages.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("no page {name} in {report}"))
}

/// `{count, visible}` of a selector, as the browser saw it.
fn shown(facts: &Value, key: &str) -> (u64, u64) {
    let count = facts[key]["count"].as_u64().unwrap_or_else(|| panic!("{key}: {facts}"));
    (count, facts[key]["visible"].as_u64().unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_page_opens_in_a_real_browser() {
    let Some(browser) = browser(TEST) else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let standalone = start_standalone(dir.path(), |_| {}).await;
    let base = standalone.http_url();

    let outcome = drive(DemoArgs {
        url: base.clone(),
        key: Some(DEV_KEY.to_owned()),
        data_dir: dir.path().join("no-key-file"),
        traces: 30,
        wait_seconds: 30,
        json: false,
        no_color: true,
        alert_via: AlertVia::Generic,
        pagerduty_secret: None,
    })
    .await
    .expect("demo runs");
    let demo = &outcome.artifact;

    // orders and stock report, their caller (edge-proxy) has no SDK: a gap.
    let api = Api::new(base.clone(), DEV_KEY);
    let now = now_unix_ns();
    let proxy = EventSpec::root("edge-proxy", 502, now - 1_000_000);
    let orders = proxy.child("orders", "HTTP_IN", 502, now - 2_000_000);
    let stock = orders.child("stock", "HTTP_IN", 502, now - 3_000_000);
    let answer = api.post_batch(&sdk_batch("orders", &[orders.clone(), stock])).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    api.wait_trace(&orders.trace_id.to_string(), 2).await;
    let gap_alert = api.post_alert("orders").await;
    let gap_url = format!("{base}{}", api.wait_assembled(&gap_alert).await.share_path);

    let request = json!({ "pages": [
        { "name": "laptop", "url": outcome.share_url, "width": 1280, "height": 900, "javascript": true,
          "screenshot": screenshot("share-page.png") },
        { "name": "phone", "url": outcome.share_url, "width": 390, "height": 844, "javascript": false,
          "screenshot": screenshot("share-page-phone.png") },
        { "name": "gaps", "url": gap_url, "width": 1280, "height": 900, "javascript": true,
          "screenshot": screenshot("share-page-gaps.png") },
        { "name": "scorecard", "url": format!("{base}/coverage?range=1h"), "width": 1280, "height": 900,
          "javascript": false, "headers": { "authorization": format!("Bearer {DEV_KEY}") },
          "screenshot": screenshot("scorecard.png"),
          "selectors": ["svg.topology", "svg.topology .node.ghost", "#ghosts tbody tr", "#alerts tbody tr"] },
    ]});
    let report = browser.run("share_page.cjs", &request).await;

    for name in ["laptop", "phone"] {
        let facts = page(&report, name);
        assert_eq!(facts["status"], 200, "{name}: {facts}");
        assert!(
            facts["content_type"]
                .as_str()
                .is_some_and(|t| t.starts_with("text/html")),
            "{facts}"
        );
        assert_eq!(shown(facts, "break_row"), (1, 1), "{name}: the break row is visible");
        let break_text = facts["break_text"].as_str().unwrap_or_default();
        assert!(
            break_text.contains("ledger") && break_text.contains("first confirmed break"),
            "{name}: {break_text}"
        );
        assert_eq!(shown(facts, "badge"), (1, 1), "{name}: the badge is visible");
        assert_eq!(
            facts["badge_text"],
            demo.completeness.label.as_str().to_uppercase(),
            "{name}"
        );
        assert_eq!(
            facts["digest"],
            demo.digest(),
            "{name}: the digest identifies the artifact"
        );
        let frames = demo.frames.len() as u64;
        assert_eq!(
            shown(facts, "rows"),
            (frames, frames),
            "{name}: every frame is a visible row"
        );
        assert_eq!(shown(facts, "ghosts"), (1, 1), "{name}: the ghost fraud-api");
        assert_eq!(shown(facts, "gap_rows"), (0, 0), "{name}: the demo has no gaps");
    }
    let laptop = page(&report, "laptop");
    let toggle = &laptop["toggle"];
    let before = toggle["before"]
        .as_u64()
        .expect("collapse toggle present with JavaScript");
    assert!(toggle["collapsed"].as_u64().is_some_and(|n| n < before), "{toggle}");
    assert_eq!(toggle["expanded"].as_u64(), Some(before), "{toggle}");
    let phone = page(&report, "phone");
    assert!(
        phone["page_width"].as_u64().is_some_and(|w| w <= 390),
        "the page fits a phone's width (wide tables scroll inside): {phone}"
    );

    let gaps = page(&report, "gaps");
    assert_eq!(gaps["status"], 200, "{gaps}");
    let (count, visible) = shown(gaps, "gap_rows");
    assert!(count >= 1 && visible == count, "gap rows visible: {gaps}");
    let gap_text = gaps["gap_text"].as_str().unwrap_or_default();
    assert!(
        gap_text.contains("not captured") && gap_text.contains("orders"),
        "{gap_text}"
    );
    assert_ne!(gaps["badge_text"], "FULL", "a gap lowers the label: {gaps}");
    assert_eq!(shown(gaps, "break_row"), (1, 1), "{gaps}");

    // The scorecard: the demo's ghost, drawn and listed; the two alerts.
    let scorecard = page(&report, "scorecard");
    assert_eq!(scorecard["status"], 200, "{scorecard}");
    let selectors = &scorecard["selectors"];
    let seen = |selector: &str| {
        let facts = &selectors[selector];
        (
            facts["count"].as_u64().unwrap_or(0),
            facts["visible"].as_u64().unwrap_or(0),
        )
    };
    assert_eq!(seen("svg.topology"), (1, 1), "{scorecard}");
    assert_eq!(seen("svg.topology .node.ghost"), (1, 1), "fraud-api: {scorecard}");
    assert_eq!(seen("#ghosts tbody tr"), (1, 1), "{scorecard}");
    assert_eq!(
        seen("#alerts tbody tr"),
        (2, 2),
        "the demo's alert and the gap alert: {scorecard}"
    );

    standalone.stop().await.expect("standalone stops");
}
