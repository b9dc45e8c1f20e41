//! JSON field access that names the path of what is missing or wrong.

use serde_json::Value;

use super::WebhookError;
use crate::error::{DecodeError, FieldError};
use crate::time_parse::parse_timestamp_text;

/// The body as JSON; a body that is not JSON is malformed.
pub(super) fn parse_json(body: &[u8], format: &'static str) -> Result<Value, WebhookError> {
    serde_json::from_slice(body).map_err(|err| DecodeError::malformed(format, err).into())
}

/// The value at a dotted path (`event.data.service.summary`).
pub(super) fn at<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |current, key| current.get(key))
}

/// Text at a path, if present and a string.
pub(super) fn text<'a>(value: &'a Value, path: &str) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

/// Non-empty text at a path, or an error naming the path.
pub(super) fn required_text<'a>(value: &'a Value, path: &str) -> Result<&'a str, WebhookError> {
    match at(value, path) {
        Some(Value::String(text)) if !text.is_empty() => Ok(text),
        Some(Value::String(_)) => Err(field(path, "must not be empty")),
        Some(_) => Err(field(path, "must be a string")),
        None => Err(field(path, "is missing")),
    }
}

pub(super) fn field(path: &str, message: &str) -> WebhookError {
    WebhookError::Decode(DecodeError::from(FieldError::new(path, message)))
}

/// RFC 3339 text (or digits) at a path as unix nanoseconds.
pub(super) fn time_at(value: &Value, path: &str) -> Result<u64, WebhookError> {
    let text = required_text(value, path)?;
    parse_timestamp_text(text).map_err(|msg| field(path, &msg))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_are_named() {
        let value = json!({"event": {"data": {"id": 5, "title": ""}}});
        let name = |err: WebhookError| match err {
            WebhookError::Decode(err) => err.field().map(str::to_owned),
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
