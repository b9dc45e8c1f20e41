//! From a provider's fields to the one `Alert`: the service mapping, and
//! the limits every alert keeps.

use super::{ServiceMapping, WebhookError};
use crate::alert::{Alert, AlertSource};
use crate::error::DecodeError;
use crate::limits::{MAX_ALERT_FIELD_LEN, MAX_ALERT_TITLE_LEN, MAX_SERVICE_LEN, MIN_TIMESTAMP_UNIX_NS};
use crate::validate::check_text;

use super::fields::field;

/// What a provider says about one alert, before mapping and limits.
pub struct Draft<'a> {
    pub source: AlertSource,
    /// The provider's service name and the field it came from.
    pub provider_service: &'a str,
    pub service_field: &'a str,
    pub fired_at_unix_ns: u64,
    pub fired_at_field: &'a str,
    pub title: Option<&'a str>,
    pub dedup_key: Option<String>,
    pub severity: Option<&'a str>,
}

/// The alert of a draft: the service mapped (an unmapped service is
/// refused when the mapping is required), the title cut to its limit (a
/// provider's title is not ours to refuse), the rest checked.
pub fn build_alert(
    tenant_id: &str,
    alert_id: String,
    mapping: &ServiceMapping,
    draft: Draft<'_>,
) -> Result<Alert, WebhookError> {
    let service = mapping
        .resolve(draft.provider_service)
        .ok_or_else(|| WebhookError::UnknownService {
            service: draft.provider_service.to_owned(),
            reason: "not in the integration's service map and require_mapping is set",
        })?;
    check_text(draft.service_field, &service, MAX_SERVICE_LEN, true).map_err(DecodeError::from)?;
    if draft.fired_at_unix_ns < MIN_TIMESTAMP_UNIX_NS {
        return Err(field(draft.fired_at_field, "is before 2020-01-01"));
    }
    let title = match draft.title.map(str::trim).filter(|title| !title.is_empty()) {
        Some(title) => cut(&title.replace(char::is_control, " "), MAX_ALERT_TITLE_LEN),
        None => format!("alert on {service}"),
    };
    // A provider's id is not ours to refuse either, but an alert keeps no
    // control characters: each is written as its escape, so distinct ids
    // stay distinct.
    let dedup_key = draft
        .dedup_key
        .map(|key| cut(&escape_control(&key), MAX_ALERT_FIELD_LEN));
    let severity = draft
        .severity
        .filter(|sev| !sev.is_empty())
        .map(|sev| cut(sev, MAX_ALERT_FIELD_LEN));
    if let Some(severity) = &severity {
        check_text("severity", severity, MAX_ALERT_FIELD_LEN, false).map_err(DecodeError::from)?;
    }
    Ok(Alert {
        alert_id,
        tenant_id: tenant_id.to_owned(),
        service,
        fired_at_unix_ns: draft.fired_at_unix_ns,
        title,
        source: draft.source,
        source_label: None,
        dedup_key,
        trace_id: None,
        severity,
    })
}

/// Control characters as `\u{..}` escapes, the rest as is.
fn escape_control(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// At most `max` bytes, cut at a character boundary.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn draft(service: &str) -> Draft<'_> {
        Draft {
            source: AlertSource::Pagerduty,
            provider_service: service,
            service_field: "event.data.service.summary",
            fired_at_unix_ns: 1_795_219_200_000_000_000,
            fired_at_field: "event.data.created_at",
            title: Some("é".repeat(600).leak()),
            dedup_key: Some("pagerduty:P1".into()),
            severity: Some("high"),
        }
    }

    #[test]
    fn dedup_keys_keep_no_control_characters() {
        // Found by the webhook fuzz targets: a PagerDuty incident id with a
        // newline gave an alert whose dedup key broke the alert limits.
        let mut with_newline = draft("checkout");
        with_newline.dedup_key = Some("pagerduty:P\n1".into());
        let alert = build_alert("acme", "a".into(), &ServiceMapping::default(), with_newline).expect("valid");
        let key = alert.dedup_key.expect("kept");
        assert_eq!(key, "pagerduty:P\\u{a}1");
        check_text("dedup_key", &key, MAX_ALERT_FIELD_LEN, false).expect("within the alert limits");
        let mut with_tab = draft("checkout");
        with_tab.dedup_key = Some("pagerduty:P\t1".into());
        let other = build_alert("acme", "a".into(), &ServiceMapping::default(), with_tab).expect("valid");
        assert_ne!(
            other.dedup_key.as_deref(),
            Some(key.as_str()),
            "distinct ids stay distinct"
        );
    }

    #[test]
    fn maps_services_and_cuts_titles() {
        let mapping = ServiceMapping {
            services: BTreeMap::from([("Checkout API".to_owned(), "checkout".to_owned())]),
            require_mapping: true,
        };
        let alert = build_alert("acme", "a".into(), &mapping, draft("Checkout API")).expect("mapped");
        assert_eq!(alert.service, "checkout");
        assert!(alert.title.len() <= MAX_ALERT_TITLE_LEN && alert.title.starts_with('é'));
        let err = build_alert("acme", "a".into(), &mapping, draft("Billing")).expect_err("unmapped");
        assert!(matches!(err, WebhookError::UnknownService { ref service, .. } if service == "Billing"));
        let err = build_alert("acme", "a".into(), &ServiceMapping::default(), draft("")).expect_err("empty");
        assert_eq!(
            match err {
                WebhookError::Decode(err) => err.field().map(str::to_owned),
                _ => None,
            }
            .as_deref(),
            Some("event.data.service.summary")
        );
    }
}
