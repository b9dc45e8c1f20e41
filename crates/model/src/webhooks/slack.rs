//! The Slack slash command `/causeway <service> [minutes-ago]`: its
//! form-encoded body. The gateway verifies `X-Slack-Signature` and its
//! timestamp before this runs.
//! Payload: <https://api.slack.com/interactivity/slash-commands>.

use std::collections::HashMap;

use super::fields::field;
use super::{Draft, ServiceMapping, WebhookError, build_alert};
use crate::alert::{Alert, AlertSource};
use crate::error::DecodeError;

/// Largest `minutes-ago` accepted before the window check (a day).
pub const MAX_MINUTES_AGO: u64 = 24 * 60;
const USAGE: &str = "Usage: `/causeway <service> [minutes-ago]`, e.g. `/causeway checkout 5`";

/// What a slash command asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlashCommand {
    /// The text is not `<service> [minutes-ago]`: the usage line to show
    /// the person who typed it.
    Usage(String),
    /// An alert on the service, fired `minutes_ago` before `now`; the link
    /// is posted to `response_url` when the artifact is ready.
    Alert {
        alert: Box<Alert>,
        minutes_ago: u64,
        response_url: String,
    },
}

/// Decodes a slash command for `tenant_id` at `now_unix_ns`.
pub fn decode(body: &[u8], tenant_id: &str, alert_id: String, now_unix_ns: u64) -> Result<SlashCommand, WebhookError> {
    let form: HashMap<String, String> = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .map_err(|err| DecodeError::malformed("slash command form", err))?
        .into_iter()
        .collect();
    let response_url = form
        .get("response_url")
        .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
        .ok_or_else(|| field("response_url", "must be the command's http(s) response URL"))?;
    let text = form.get("text").map(String::as_str).unwrap_or_default();
    let (service, minutes_ago) = match parse_text(text) {
        Ok(parsed) => parsed,
        Err(usage) => return Ok(SlashCommand::Usage(usage)),
    };
    let fired_at_unix_ns = now_unix_ns.saturating_sub(minutes_ago.saturating_mul(60_000_000_000));
    let user = form
        .get("user_name")
        .or(form.get("user_id"))
        .map(String::as_str)
        .unwrap_or("someone");
    let title = format!("/causeway {service} by {user}");
    let alert = build_alert(
        tenant_id,
        alert_id,
        &ServiceMapping::default(),
        Draft {
            source: AlertSource::Slack,
            provider_service: service,
            service_field: "text",
            fired_at_unix_ns,
            fired_at_field: "text",
            title: Some(&title),
            dedup_key: None,
            severity: None,
        },
    )?;
    Ok(SlashCommand::Alert {
        alert: Box::new(alert),
        minutes_ago,
        response_url: response_url.clone(),
    })
}

/// `<service> [minutes-ago]`; anything else is the usage line to show.
fn parse_text(text: &str) -> Result<(&str, u64), String> {
    let mut words = text.split_whitespace();
    let Some(service) = words.next() else {
        return Err(USAGE.to_owned());
    };
    let minutes = match words.next() {
        None => 0,
        Some(word) => match word.parse::<u64>() {
            Ok(minutes) if minutes <= MAX_MINUTES_AGO => minutes,
            _ => {
                return Err(format!(
                    "`{word}` is not a number of minutes (0 to {MAX_MINUTES_AGO}). {USAGE}"
                ));
            }
        },
    };
    if words.next().is_some() {
        return Err(USAGE.to_owned());
    }
    Ok((service, minutes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_text_is_service_then_minutes() {
        assert_eq!(parse_text("checkout").expect("ok"), ("checkout", 0));
        assert_eq!(parse_text("  checkout   7 ").expect("ok"), ("checkout", 7));
        assert!(parse_text("").expect_err("usage").starts_with("Usage"));
        assert!(parse_text("checkout soon").expect_err("bad").contains("`soon`"));
        assert!(parse_text("checkout 5 extra").is_err());
        assert!(parse_text("checkout 100000").is_err());
    }
}
