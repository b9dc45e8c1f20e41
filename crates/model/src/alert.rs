//! Alerts: the generic alert JSON of DESIGN §4, which every provider webhook
//! and the alert topic normalize to.

use serde::{Deserialize, Serialize};

use crate::error::{DecodeError, FieldError};
use crate::ids::TraceId;
use crate::limits::{MAX_ALERT_FIELD_LEN, MAX_ALERT_TITLE_LEN, MAX_SERVICE_LEN};
use crate::time_parse::parse_timestamp_text;
use crate::validate::check_text;

/// Where an alert came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSource {
    Generic,
    Pagerduty,
    Opsgenie,
    Slack,
    Alertmanager,
    Grafana,
    Topic,
}

impl AlertSource {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSource::Generic => "generic",
            AlertSource::Pagerduty => "pagerduty",
            AlertSource::Opsgenie => "opsgenie",
            AlertSource::Slack => "slack",
            AlertSource::Alertmanager => "alertmanager",
            AlertSource::Grafana => "grafana",
            AlertSource::Topic => "topic",
        }
    }

    /// Parses a source name; anything unknown is `Generic`, so a script's
    /// own label ("nagios", "cron") is accepted rather than rejected.
    pub fn parse_lenient(text: &str) -> AlertSource {
        match text.to_ascii_lowercase().as_str() {
            "pagerduty" => AlertSource::Pagerduty,
            "opsgenie" => AlertSource::Opsgenie,
            "slack" => AlertSource::Slack,
            "alertmanager" | "prometheus" => AlertSource::Alertmanager,
            "grafana" => AlertSource::Grafana,
            "topic" => AlertSource::Topic,
            _ => AlertSource::Generic,
        }
    }
}

/// See [`Alert::check_fired_at`].
pub fn check_fired_at(fired_at_unix_ns: u64, now_unix_ns: u64, max_age_ns: u64) -> Result<(), FieldError> {
    let skew = crate::limits::MAX_FUTURE_SKEW_NS;
    if fired_at_unix_ns > now_unix_ns.saturating_add(skew) {
        return Err(FieldError {
            field: "fired_at".into(),
            message: format!(
                "is {} s in the future, over the allowed clock skew of {} s",
                (fired_at_unix_ns - now_unix_ns) / 1_000_000_000,
                skew / 1_000_000_000
            ),
            limit: Some(skew),
        });
    }
    if fired_at_unix_ns < now_unix_ns.saturating_sub(max_age_ns) {
        return Err(FieldError {
            field: "fired_at".into(),
            message: format!(
                "is {} s in the past, older than the tenant's window of {} s; its events have expired",
                (now_unix_ns - fired_at_unix_ns) / 1_000_000_000,
                max_age_ns / 1_000_000_000
            ),
            limit: Some(max_age_ns),
        });
    }
    Ok(())
}

/// A normalized alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub alert_id: String,
    pub tenant_id: String,
    pub service: String,
    pub fired_at_unix_ns: u64,
    pub title: String,
    pub source: AlertSource,
    /// The sender's own label when it is not one we know ("nagios").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<TraceId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
}

/// `fired_at` as sent: RFC 3339 text or unix nanoseconds (number or string).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum FiredAt {
    Nanos(u64),
    Text(String),
}

/// The generic alert body: `POST /api/v1/alerts`.
#[derive(Debug, Clone, Deserialize)]
struct GenericAlertBody {
    service: String,
    fired_at: FiredAt,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    dedup_key: Option<String>,
    #[serde(default)]
    trace_id: Option<String>,
    #[serde(default)]
    severity: Option<String>,
}

impl Alert {
    /// The one rule every alert path applies to `fired_at` (the HTTP route,
    /// provider webhooks and records on the alert topic): not more than the
    /// CE clock skew in the future, and not older than the tenant's window
    /// (`max_age_ns`, its pre-arm plus grace) — an alert outside those
    /// bounds would wait forever for its settle delay or find nothing.
    pub fn check_fired_at(&self, now_unix_ns: u64, max_age_ns: u64) -> Result<(), FieldError> {
        check_fired_at(self.fired_at_unix_ns, now_unix_ns, max_age_ns)
    }

    /// Decodes the generic alert JSON. `tenant_id` comes from the credential
    /// and `alert_id` from the caller (the gateway mints it).
    pub fn from_generic_json(body: &[u8], tenant_id: &str, alert_id: String) -> Result<Alert, DecodeError> {
        let raw: GenericAlertBody =
            serde_json::from_slice(body).map_err(|err| DecodeError::malformed("alert JSON", err))?;
        check_text("service", &raw.service, MAX_SERVICE_LEN, true)?;
        let fired_at_unix_ns = match raw.fired_at {
            FiredAt::Nanos(ns) => ns,
            FiredAt::Text(text) => parse_timestamp_text(&text).map_err(|msg| FieldError::new("fired_at", msg))?,
        };
        if fired_at_unix_ns < crate::limits::MIN_TIMESTAMP_UNIX_NS {
            return Err(FieldError::new(
                "fired_at",
                "is before 2020-01-01; send RFC 3339 text or unix epoch nanoseconds",
            )
            .into());
        }
        let title = raw.title.unwrap_or_else(|| format!("alert on {}", raw.service));
        check_text("title", &title, MAX_ALERT_TITLE_LEN, false)?;
        for (field, value) in [
            ("source", &raw.source),
            ("dedup_key", &raw.dedup_key),
            ("severity", &raw.severity),
        ] {
            if let Some(text) = value {
                check_text(field, text, MAX_ALERT_FIELD_LEN, false)?;
            }
        }
        let trace_id = match raw.trace_id.as_deref() {
            None | Some("") => None,
            Some(text) => Some(
                text.parse::<TraceId>()
                    .map_err(|err| FieldError::new("trace_id", err.to_string()))?,
            ),
        };
        // An empty source is no source: a label of "" would not survive the
        // alert topic, where an empty source means none.
        let source_text = raw
            .source
            .filter(|source| !source.is_empty())
            .unwrap_or_else(|| "generic".to_owned());
        let source = AlertSource::parse_lenient(&source_text);
        let source_label = (source == AlertSource::Generic && source_text != "generic").then_some(source_text);
        Ok(Alert {
            alert_id,
            tenant_id: tenant_id.to_owned(),
            service: raw.service,
            fired_at_unix_ns,
            title,
            source,
            source_label,
            dedup_key: raw.dedup_key.filter(|key| !key.is_empty()),
            trace_id,
            severity: raw.severity.filter(|sev| !sev.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_rfc3339_and_nanos() {
        let body = br#"{"service":"payments","fired_at":"2026-11-21T00:00:00Z","title":"5xx","source":"pagerduty"}"#;
        let alert = Alert::from_generic_json(body, "acme", "al-1".into()).expect("valid");
        assert_eq!(alert.fired_at_unix_ns, 1_795_219_200_000_000_000);
        assert_eq!(alert.source, AlertSource::Pagerduty);
        assert_eq!(alert.tenant_id, "acme");
        let body = br#"{"service":"payments","fired_at":1795219200000000000,"source":"nagios"}"#;
        let alert = Alert::from_generic_json(body, "acme", "al-2".into()).expect("valid");
        assert_eq!(alert.source, AlertSource::Generic);
        assert_eq!(alert.source_label.as_deref(), Some("nagios"));
        assert_eq!(alert.title, "alert on payments");
    }

    #[test]
    fn names_bad_fields() {
        let err = Alert::from_generic_json(br#"{"service":"","fired_at":1795219200000000000}"#, "t", "a".into())
            .expect_err("empty service");
        assert_eq!(err.field(), Some("service"));
        let err =
            Alert::from_generic_json(br#"{"service":"x","fired_at":"soon"}"#, "t", "a".into()).expect_err("bad time");
        assert_eq!(err.field(), Some("fired_at"));
        let err = Alert::from_generic_json(
            br#"{"service":"x","fired_at":1795219200000000000,"trace_id":"nope"}"#,
            "t",
            "a".into(),
        )
        .expect_err("bad trace");
        assert_eq!(err.field(), Some("trace_id"));
        let err = Alert::from_generic_json(br#"{"fired_at":1}"#, "t", "a".into()).expect_err("missing");
        assert!(matches!(err, DecodeError::Malformed { .. }), "{err}");
    }

    #[test]
    fn an_empty_source_is_generic_and_survives_the_topic() {
        // Found by the alert_record fuzz target: `"source": ""` gave a
        // source label of "" that the topic's protobuf turned into none.
        let body = br#"{"service":"x","fired_at":1795219200000000000,"source":""}"#;
        let alert = Alert::from_generic_json(body, "t", "a".into()).expect("valid");
        assert_eq!(
            (alert.source, alert.source_label.as_deref()),
            (AlertSource::Generic, None)
        );
        let topic = crate::proto::v1::Alert::from(&alert);
        assert_eq!(Alert::try_from(topic).expect("from the topic"), alert);
    }

    #[test]
    fn fired_at_is_bounded_by_skew_and_window() {
        const NOW: u64 = 1_795_219_200_000_000_000;
        const WINDOW: u64 = 600_000_000_000;
        let skew = crate::limits::MAX_FUTURE_SKEW_NS;
        assert!(check_fired_at(NOW, NOW, WINDOW).is_ok());
        assert!(check_fired_at(NOW + skew, NOW, WINDOW).is_ok());
        assert!(check_fired_at(NOW - WINDOW, NOW, WINDOW).is_ok());
        let future = check_fired_at(7_258_118_400_000_000_000, NOW, WINDOW).expect_err("year 2200");
        assert_eq!((future.field.as_str(), future.limit), ("fired_at", Some(skew)));
        let old = check_fired_at(NOW - WINDOW - 1, NOW, WINDOW).expect_err("expired");
        assert_eq!((old.field.as_str(), old.limit), ("fired_at", Some(WINDOW)));
    }
}
