//! From a provider's fields to the one `Alert`: JSON field access that names
//! the path of what is missing, the service mapping, and the limits every
//! alert keeps.

use causeway_model::limits::{MAX_ALERT_FIELD_LEN, MAX_ALERT_TITLE_LEN, MAX_SERVICE_LEN, MIN_TIMESTAMP_UNIX_NS};
use causeway_model::time_parse::parse_timestamp_text;
use causeway_model::validate::check_text;
use causeway_model::{Alert, AlertSource, DecodeError, FieldError};
use causeway_runtime::integrations::ServiceMapping;
use serde_json::Value;

use crate::alert_intake::new_alert_id;
use crate::error::IngestError;

/// The body as JSON; a body that is not JSON is 400.
pub(super) fn parse_json(body: &[u8], format: &'static str) -> Result<Value, IngestError> {
    serde_json::from_slice(body).map_err(|err| IngestError::Decode(DecodeError::malformed(format, err)))
}

/// The value at a dotted path (`event.data.service.summary`).
pub(super) fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |current, key| current.get(key))
}

/// Text at a path, if present and a string.
pub(super) fn text<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

/// Text at a path, or a 400 naming the path.
pub(super) fn required_text<'a>(value: &'a Value, path: &str) -> Result<&'a str, IngestError> {
    match at(value, path) {
        Some(Value::String(text)) if !text.is_empty() => Ok(text),
        Some(Value::String(_)) => Err(field(path, "must not be empty")),
        Some(_) => Err(field(path, "must be a string")),
        None => Err(field(path, "is missing")),
    }
}

pub(super) fn field(path: &str, message: &str) -> IngestError {
    IngestError::Decode(DecodeError::from(FieldError::new(path, message)))
}

/// RFC 3339 text (or digits) at a path as unix nanoseconds.
pub(super) fn time_at(value: &Value, path: &str) -> Result<u64, IngestError> {
    let text = required_text(value, path)?;
    parse_timestamp_text(text).map_err(|msg| field(path, &msg))
}

/// What a provider says about one alert, before mapping and limits.
pub(super) struct Draft<'a> {
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

/// The alert of a draft: the service mapped (an unmapped service is 422
/// when the mapping is required), the title cut to its limit (a provider's
/// title is not ours to refuse), the rest checked.
pub(super) fn build_alert(tenant_id: &str, mapping: &ServiceMapping, draft: Draft<'_>) -> Result<Alert, IngestError> {
    let service = mapping
        .resolve(draft.provider_service)
        .ok_or_else(|| IngestError::UnknownService {
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
    let dedup_key = draft.dedup_key.map(|key| cut(&key, MAX_ALERT_FIELD_LEN));
    let severity = draft
        .severity
        .filter(|sev| !sev.is_empty())
        .map(|sev| cut(sev, MAX_ALERT_FIELD_LEN));
    if let Some(severity) = &severity {
        check_text("severity", severity, MAX_ALERT_FIELD_LEN, false).map_err(DecodeError::from)?;
    }
    Ok(Alert {
        alert_id: new_alert_id(),
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

    use serde_json::json;

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
    fn maps_services_and_cuts_titles() {
        let mapping = ServiceMapping {
            services: BTreeMap::from([("Checkout API".to_owned(), "checkout".to_owned())]),
            require_mapping: true,
        };
        let alert = build_alert("acme", &mapping, draft("Checkout API")).expect("mapped");
        assert_eq!(alert.service, "checkout");
        assert!(alert.title.len() <= MAX_ALERT_TITLE_LEN && alert.title.starts_with('é'));
        let err = build_alert("acme", &mapping, draft("Billing")).expect_err("unmapped");
        assert!(matches!(err, IngestError::UnknownService { ref service, .. } if service == "Billing"));
        let err = build_alert("acme", &ServiceMapping::default(), draft("")).expect_err("empty");
        assert_eq!(
            match err {
                IngestError::Decode(err) => err.field().map(str::to_owned),
                _ => None,
            }
            .as_deref(),
            Some("event.data.service.summary")
        );
    }

    #[test]
    fn paths_are_named() {
        let value = json!({"event": {"data": {"id": 5, "title": ""}}});
        let name = |err: IngestError| match err {
            IngestError::Decode(err) => err.field().map(str::to_owned),
            _ => None,
        };
        assert_eq!(
            name(required_text(&value, "event.data.id").expect_err("number")).as_deref(),
            Some("event.data.id")
        );
        assert_eq!(
            name(required_text(&value, "event.data.service.summary").expect_err("missing")).as_deref(),
            Some("event.data.service.summary")
        );
        assert!(required_text(&value, "event.data.title").is_err());
    }
}
