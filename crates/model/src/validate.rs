//! Validation of normalized events against the limits. Decoders call
//! [`validate_event`] on every event they produce, so every path into the
//! pipeline enforces the same rules.

use crate::error::{DecodeError, FieldError};
use crate::event::CausalEvent;
use crate::event_ref::EventRef;
use crate::limits::*;

/// Whether `value` holds a control character (`char::is_control`: U+0000
/// to U+001F, U+007F to U+009F). Runs for every text of every event, so
/// bytes are scanned first: C0 and DEL are single bytes, the C1 range is
/// encoded 0xC2 0x80..=0x9F; only text with one of those is decoded.
fn has_control(value: &str) -> bool {
    value.bytes().any(|byte| byte < 0x20 || byte == 0x7f || byte == 0xc2) && value.chars().any(char::is_control)
}

/// Checks a text field's length; empty is an error when `required`.
pub fn check_text(field: &str, value: &str, max: usize, required: bool) -> Result<(), FieldError> {
    if required && value.trim().is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(FieldError::over_limit(field, value.len() as u64, max as u64, "bytes"));
    }
    if has_control(value) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(())
}

fn check_optional(field: &str, value: Option<&str>, max: usize) -> Result<(), FieldError> {
    match value {
        Some(text) => check_text(field, text, max, false),
        None => Ok(()),
    }
}

/// Validates one event. `now_unix_ns` bounds future timestamps (skew).
/// The returned error's field is relative to the event (`ce_id`, `status`…);
/// callers prefix it with the event's index.
pub fn validate_event(event: &CausalEvent, now_unix_ns: u64) -> Result<(), FieldError> {
    validate_event_ref(&event.as_event_ref(), now_unix_ns)
}

/// [`validate_event`] for an event read in place.
pub fn validate_event_ref(event: &EventRef<'_>, now_unix_ns: u64) -> Result<(), FieldError> {
    check_text("tenant_id", event.tenant_id, MAX_TENANT_LEN, false)?;
    check_text("service_id", event.service, MAX_SERVICE_LEN, true)?;
    check_optional("operation", event.operation, MAX_OPERATION_LEN)?;
    check_optional("peer", event.peer, MAX_PEER_LEN)?;
    check_optional("environment", event.environment, MAX_ENVIRONMENT_LEN)?;
    if event.status > MAX_STATUS {
        return Err(FieldError::over_limit(
            "status",
            event.status.into(),
            MAX_STATUS.into(),
            "(status)",
        ));
    }
    if event.duration_ns > MAX_DURATION_NS {
        return Err(FieldError::over_limit(
            "duration_ns",
            event.duration_ns,
            MAX_DURATION_NS,
            "ns",
        ));
    }
    if event.start_unix_ns < MIN_TIMESTAMP_UNIX_NS {
        return Err(FieldError {
            field: "timestamp".into(),
            message: format!(
                "{} ns is before 2020-01-01; timestamps are unix epoch nanoseconds",
                event.start_unix_ns
            ),
            limit: Some(MIN_TIMESTAMP_UNIX_NS),
        });
    }
    let latest = now_unix_ns.saturating_add(MAX_FUTURE_SKEW_NS);
    if event.end_unix_ns() > latest {
        return Err(FieldError {
            field: "timestamp".into(),
            message: format!(
                "ends {} s in the future, over the allowed clock skew of {} s",
                (event.end_unix_ns() - now_unix_ns) / 1_000_000_000,
                MAX_FUTURE_SKEW_NS / 1_000_000_000
            ),
            limit: Some(MAX_FUTURE_SKEW_NS),
        });
    }
    Ok(())
}

/// Validates a whole batch: count first, then every event. The first error
/// wins, named `events[i].field`.
pub fn validate_batch(events: &[CausalEvent], now_unix_ns: u64) -> Result<(), DecodeError> {
    validate_event_refs(events.iter().map(CausalEvent::as_event_ref), now_unix_ns)
}

/// [`validate_batch`] for events read in place.
pub fn validate_event_refs<'a>(
    events: impl ExactSizeIterator<Item = EventRef<'a>>,
    now_unix_ns: u64,
) -> Result<(), DecodeError> {
    if events.len() > MAX_EVENTS_PER_BATCH {
        return Err(DecodeError::TooManyEvents {
            actual: events.len(),
            limit: MAX_EVENTS_PER_BATCH,
        });
    }
    for (index, event) in events.enumerate() {
        validate_event_ref(&event, now_unix_ns).map_err(|err| err.within(&format!("events[{index}]")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CeId, Kind, TraceId};

    const NOW: u64 = 1_790_000_000_000_000_000;

    fn event() -> CausalEvent {
        CausalEvent {
            tenant_id: "acme".into(),
            trace_id: TraceId([1; 16]),
            ce_id: CeId([2; 16]),
            parent_ce_id: None,
            service: "orders".into(),
            kind: Kind::HttpIn,
            status: 200,
            start_unix_ns: NOW - 1_000_000_000,
            duration_ns: 5_000_000,
            operation: Some("GET /orders/{id}".into()),
            peer: None,
            environment: Some("production".into()),
        }
    }

    #[test]
    fn control_scan_matches_char_is_control() {
        for code in (0..0x3000).chain([0xfeff, 0x1_f600]) {
            let Some(c) = char::from_u32(code) else { continue };
            let text = format!("a{c}b");
            assert_eq!(has_control(&text), c.is_control(), "U+{code:04X}");
        }
    }

    #[test]
    fn accepts_a_plain_event() {
        assert_eq!(validate_event(&event(), NOW), Ok(()));
    }

    #[test]
    fn names_field_and_limit() {
        let mut bad = event();
        bad.service = "s".repeat(MAX_SERVICE_LEN + 1);
        let err = validate_batch(&[event(), bad], NOW).expect_err("too long");
        assert_eq!(err.field(), Some("events[1].service_id"));
        assert_eq!(err.limit(), Some(MAX_SERVICE_LEN as u64));
    }

    #[test]
    fn rejects_empty_service_and_control_chars() {
        let mut bad = event();
        bad.service = "  ".into();
        assert_eq!(validate_event(&bad, NOW).expect_err("empty").field, "service_id");
        let mut bad = event();
        bad.operation = Some("GET /\u{0}".into());
        assert_eq!(validate_event(&bad, NOW).expect_err("control").field, "operation");
    }

    #[test]
    fn rejects_bad_time_and_status() {
        let mut bad = event();
        bad.start_unix_ns = 1_700_000_000_000; // milliseconds sent as ns
        assert_eq!(validate_event(&bad, NOW).expect_err("old").field, "timestamp");
        let mut bad = event();
        bad.start_unix_ns = NOW + MAX_FUTURE_SKEW_NS + 1;
        assert_eq!(validate_event(&bad, NOW).expect_err("future").field, "timestamp");
        let mut bad = event();
        bad.status = 1000;
        assert_eq!(validate_event(&bad, NOW).expect_err("status").limit, Some(999));
        let mut bad = event();
        bad.duration_ns = MAX_DURATION_NS + 1;
        assert_eq!(validate_event(&bad, NOW).expect_err("duration").field, "duration_ns");
    }

    #[test]
    fn rejects_too_many_events() {
        let events = vec![event(); MAX_EVENTS_PER_BATCH + 1];
        assert!(matches!(
            validate_batch(&events, NOW),
            Err(DecodeError::TooManyEvents {
                limit: MAX_EVENTS_PER_BATCH,
                ..
            })
        ));
    }
}
