//! The HTML share page rendered from golden artifacts (both linkage
//! conventions) and from assembled scenarios with gaps, ghosts and no
//! break: every frame is a row, the break row and the gap rows say what
//! they are in words, the badge and the digest are there, and nothing is
//! loaded from elsewhere.

#[path = "../../../crates/assembly/tests/support/builders.rs"]
mod builders;

use builders::*;
use causeway_assembler::{GoneReason, ShareView, gone_page, share_page};
use causeway_assembly::{Artifact, FrameType, assemble};
use causeway_model::Kind;

const TOKEN: &str = "tok_0123456789abcdef0123456789ab";

fn golden(name: &str) -> Artifact {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/assembly/tests/golden")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_slice(&bytes).expect("golden artifact parses")
}

fn render(artifact: &Artifact) -> String {
    let digest = artifact.digest();
    let url = format!("https://causeway.example.com/a/{TOKEN}");
    share_page(&ShareView {
        artifact,
        digest: &digest,
        share_url: &url,
        token: TOKEN,
        expires_at: Some("2026-12-05T00:01:06Z"),
    })
}

/// Rows of the waterfall table, as their opening tags.
fn frame_rows(page: &str) -> Vec<&str> {
    page.split("<tr ")
        .skip(1)
        .filter_map(|rest| rest.split_once('>').map(|(tag, _)| tag))
        .filter(|tag| tag.contains("class=\"frame"))
        .collect()
}

fn assert_self_contained(page: &str) {
    assert!(page.starts_with("<!DOCTYPE html>"), "{}", &page[..40]);
    for external in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!page.contains(external), "loads {external}");
    }
}

#[test]
fn golden_artifacts_render_the_break_the_badge_and_the_digest_under_both_linkages() {
    for name in ["example_sdk.json", "example_otlp.json"] {
        let artifact = golden(name);
        let page = render(&artifact);
        assert_self_contained(&page);
        let rows = frame_rows(&page);
        assert_eq!(rows.len(), artifact.frames.len(), "{name}: one row per frame");

        let first_break = artifact.first_confirmed_break.as_ref().expect("golden break");
        let break_rows: Vec<&&str> = rows.iter().filter(|tag| tag.contains(" break")).collect();
        assert_eq!(break_rows.len(), 1, "{name}");
        assert!(
            break_rows[0].contains(&format!("id=\"f-{}\"", first_break.ce_id)),
            "{name}"
        );
        assert!(
            page.contains("first confirmed break · 49.99s before the alert"),
            "{name}"
        );
        // The break row sits at its depth.
        assert!(
            page.contains(&format!("style=\"--depth:{}\"", first_break.depth)),
            "{name}"
        );

        assert!(page.contains(">FULL</span>"), "{name}: the badge");
        assert!(page.contains(&artifact.digest()), "{name}: the digest");
        assert!(
            page.contains("<time datetime=\"2026-11-21T00:01:06Z\">"),
            "{name}: creation time"
        );
        assert!(
            page.contains(&format!("href=\"{TOKEN}.json\"")),
            "{name}: canonical JSON link"
        );
        assert!(
            page.contains(
                "<meta property=\"og:title\" content=\"error rate &gt; 1% on api-gateway — pricing-service HTTP_IN \
                 500 broke first\">"
            ),
            "{name}: escaped Open Graph title"
        );
        assert!(page.contains("<meta property=\"og:url\" content=\"https://causeway.example.com/a/"));
        assert!(page.contains("What this artifact does not claim"), "{name}");
        for claim in &artifact.claims {
            assert!(page.contains(claim.as_str()), "{name}: claim {claim}");
        }
        assert!(
            page.contains("Pre-arm signals") && page.contains("5xx rate 12% over 30s"),
            "{name}"
        );
        // The window summary: one timeline row per service, failures marked.
        for row in &artifact.window_summary {
            assert!(
                page.contains(&format!("<span class=\"svc\">{}</span>", row.service)),
                "{name}"
            );
        }
        let fail_points = page.matches("class=\"failpoint\"").count();
        let failing = artifact
            .window_summary
            .iter()
            .filter(|r| r.first_failure.is_some())
            .count();
        assert_eq!(fail_points, failing, "{name}");
        assert!(
            !page.contains("Ghost services"),
            "{name}: no ghost section without ghosts"
        );
    }
}

#[test]
fn the_same_artifact_renders_the_same_page() {
    let artifact = golden("example_otlp.json");
    assert_eq!(render(&artifact), render(&artifact));
}

#[test]
fn gaps_are_drawn_as_not_captured_rows_that_name_where_the_sdk_is_missing() {
    for linkage in [Linkage::Otlp, Linkage::Sdk] {
        // api-gateway has no SDK: its events 1, 2 and 8 are missing.
        let events: Vec<_> = example_trace(linkage)
            .into_iter()
            .filter(|e| ![ce(1), ce(2), ce(8)].contains(&e.ce_id))
            .collect();
        let artifact = assemble(&input(alert("order-service", fired_at(), None), events));
        let gaps = artifact
            .frames
            .iter()
            .filter(|f| f.frame_type == FrameType::Gap)
            .count();
        assert!(gaps > 0, "{}", linkage.name());
        let page = render(&artifact);
        let rows = frame_rows(&page);
        assert_eq!(rows.len(), artifact.frames.len());
        assert_eq!(rows.iter().filter(|tag| tag.contains("frame gap")).count(), gaps);
        assert_eq!(
            page.matches("<span class=\"kind gapkind\">gap</span> not captured")
                .count(),
            gaps
        );
        assert!(
            page.contains("install the SDK on the caller of <strong>"),
            "{}",
            linkage.name()
        );
        let label = artifact.completeness.label.as_str().to_uppercase();
        assert!(page.contains(&format!(">{label}</span>")), "{label}");
    }
}

#[test]
fn ghosts_show_their_callers_and_caller_side_figures() {
    // auth-service never reports: it is a ghost of api-gateway.
    let events: Vec<_> = example_trace(Linkage::Sdk)
        .into_iter()
        .filter(|e| e.ce_id != ce(9))
        .collect();
    let artifact = assemble(&input(alert("api-gateway", fired_at(), None), events));
    assert_eq!(artifact.ghost_services.len(), 1);
    let page = render(&artifact);
    assert!(page.contains("id=\"ghosts\""));
    let section = page.split("id=\"ghosts\"").nth(1).expect("ghost section");
    assert!(section.contains("<span class=\"svc\">auth-service</span>"));
    assert!(section.contains("<td>api-gateway</td>"));
    assert!(section.contains("1.0ms"), "caller-side p99");
}

#[test]
fn no_break_says_so_and_marks_no_row() {
    let t = trace(2);
    let events = vec![
        ev(t, 2, None, "search", Kind::HttpIn, 200, 1_000, 2_500_000),
        ev(t, 3, Some(2), "search", Kind::Internal, 0, 2_000, 2_400_000),
    ];
    let artifact = assemble(&input(alert("search", fired_at(), None), events));
    assert!(artifact.first_confirmed_break.is_none());
    let page = render(&artifact);
    assert!(page.contains("<p class=\"big\" id=\"first-break\">None</p>"));
    assert!(frame_rows(&page).iter().all(|tag| !tag.contains(" break")));
    assert!(!page.contains("first confirmed break ·"));
    assert!(page.contains("no confirmed break"), "the headline says it");
}

#[test]
fn no_trace_found_renders_an_explanation_instead_of_a_table() {
    let artifact = assemble(&input(alert("nobody", fired_at(), None), Vec::new()));
    let page = render(&artifact);
    assert!(page.contains("No trace was found for this alert"));
    assert!(frame_rows(&page).is_empty());
}

#[test]
fn hostile_text_is_escaped() {
    let mut artifact = golden("example_sdk.json");
    artifact.alert.title = "<script>alert(1)</script>".into();
    let page = render(&artifact);
    assert!(!page.contains("<script>alert(1)"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn gone_pages_say_why() {
    let page = gone_page(GoneReason::Expired, Some("2026-12-05T00:01:06Z"));
    assert!(page.contains("<h1>This link has expired</h1>") && page.contains("2026-12-05T00:01:06Z"));
    assert!(gone_page(GoneReason::Revoked, None).contains("<h1>This link was revoked</h1>"));
    assert!(gone_page(GoneReason::Unknown, None).contains("<h1>No artifact at this link</h1>"));
}
