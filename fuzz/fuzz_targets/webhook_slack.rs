//! The Slack slash command's form body, as the gateway decodes it once
//! the request's signature and timestamp verified.
#![no_main]

use causeway_fuzz::{NOW, TENANT, check_alert, check_error};
use causeway_model::AlertSource;
use causeway_model::webhooks::WebhookError;
use causeway_model::webhooks::slack::{MAX_MINUTES_AGO, SlashCommand, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match decode(data, TENANT, "alert-1".to_owned(), NOW) {
        Ok(SlashCommand::Usage(usage)) => assert!(usage.contains("Usage")),
        Ok(SlashCommand::Alert {
            alert,
            minutes_ago,
            response_url,
        }) => {
            check_alert(&alert);
            assert_eq!(alert.source, AlertSource::Slack);
            assert!(minutes_ago <= MAX_MINUTES_AGO);
            assert_eq!(alert.fired_at_unix_ns, NOW - minutes_ago * 60_000_000_000);
            assert!(response_url.starts_with("https://") || response_url.starts_with("http://"));
        }
        Err(WebhookError::Decode(err)) => check_error(&err),
        Err(err @ WebhookError::UnknownService { .. }) => panic!("slack has no service map: {err}"),
    }
});
