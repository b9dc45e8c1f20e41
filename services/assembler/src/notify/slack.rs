//! The Slack notice of an artifact: title, service, completeness, the
//! first confirmed break with its lead over the alert, ghost services and
//! the share link, read from the canonical JSON (so it says exactly what
//! the artifact says).

use serde_json::{Value, json};

/// The incoming-webhook body (`text` for notifications, `blocks` to read).
pub fn notice_body(canonical_json: &[u8], share_url: &str) -> Value {
    let artifact: Value = serde_json::from_slice(canonical_json).unwrap_or(Value::Null);
    let text_at = |path: &[&str]| {
        path.iter()
            .try_fold(&artifact, |value, key| value.get(key))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    let title = text_at(&["alert", "title"]);
    let service = text_at(&["alert", "service"]);
    let completeness = text_at(&["completeness", "label"]);
    let first_break = match artifact.get("first_confirmed_break").filter(|v| !v.is_null()) {
        Some(found) => {
            let summary = found.get("summary").and_then(Value::as_str).unwrap_or("?");
            let lead_ns = found.get("lead_ns").and_then(Value::as_i64).unwrap_or(0);
            format!("{summary}, {}", lead_text(lead_ns))
        }
        None => "none confirmed".to_owned(),
    };
    let ghosts: Vec<&str> = artifact
        .get("ghost_services")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|ghost| ghost.get("peer").and_then(Value::as_str))
        .collect();
    let ghosts = if ghosts.is_empty() {
        "none".to_owned()
    } else {
        ghosts.join(", ")
    };
    let text = format!(
        "Incident artifact ready: {title}\nService: {service} · completeness: {completeness}\nFirst confirmed break: {first_break}\nGhost services: {ghosts}\n{share_url}"
    );
    json!({
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("*Incident artifact ready: {title}*")}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": format!("*Service*\n{service}")},
                {"type": "mrkdwn", "text": format!("*Completeness*\n{completeness}")},
                {"type": "mrkdwn", "text": format!("*First confirmed break*\n{first_break}")},
                {"type": "mrkdwn", "text": format!("*Ghost services*\n{ghosts}")},
            ]},
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("<{share_url}|Open the artifact>")}},
        ],
    })
}

/// `12.3 s before the alert` / `0.5 s after the alert`.
pub(crate) fn lead_text(lead_ns: i64) -> String {
    let seconds = lead_ns.unsigned_abs() as f64 / 1e9;
    let side = if lead_ns >= 0 { "before" } else { "after" };
    format!("{seconds:.1} s {side} the alert")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_says_what_the_artifact_says() {
        let artifact = json!({
            "alert": {"title": "checkout 5xx", "service": "checkout"},
            "completeness": {"label": "partial"},
            "first_confirmed_break": {"summary": "pricing HTTP_IN 500", "lead_ns": 49_990_000_000i64},
            "ghost_services": [{"peer": "postgres"}, {"peer": "stripe.com"}],
        });
        let body = notice_body(artifact.to_string().as_bytes(), "https://cw.example/a/tok");
        let text = body["text"].as_str().expect("text");
        assert!(text.contains("checkout 5xx"), "{text}");
        assert!(text.contains("completeness: partial"), "{text}");
        assert!(text.contains("pricing HTTP_IN 500, 50.0 s before the alert"), "{text}");
        assert!(text.contains("postgres, stripe.com"), "{text}");
        assert!(text.ends_with("https://cw.example/a/tok"), "{text}");
        let none = notice_body(json!({"first_confirmed_break": null}).to_string().as_bytes(), "u");
        assert!(
            none["text"]
                .as_str()
                .expect("text")
                .contains("First confirmed break: none confirmed")
        );
    }
}
