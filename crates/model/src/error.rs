//! Decode and validation errors that name the field, the event index and the
//! limit, so a 4xx tells the sender exactly what to fix.

use std::fmt;

use serde::Serialize;

/// One invalid field. `field` is a path such as `events[3].ce_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
            limit: None,
        }
    }

    pub fn over_limit(field: impl Into<String>, actual: u64, limit: u64, unit: &str) -> Self {
        Self {
            field: field.into(),
            message: format!("{actual} {unit} exceeds the limit of {limit} {unit}"),
            limit: Some(limit),
        }
    }

    /// The same error under a parent path: `ce_id` inside `events[3]`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Why a payload was rejected. Nothing of a rejected payload is kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not parseable at all as the claimed format (bad JSON, bad protobuf).
    #[error("malformed {format}: {detail}")]
    Malformed { format: &'static str, detail: String },
    /// Parseable, but a field is wrong.
    #[error("invalid field {0}")]
    Field(FieldError),
    /// The batch holds more events than allowed.
    #[error("batch has {actual} events, over the limit of {limit}")]
    TooManyEvents { actual: usize, limit: usize },
}

impl DecodeError {
    pub fn malformed(format: &'static str, detail: impl fmt::Display) -> Self {
        Self::Malformed {
            format,
            detail: detail.to_string(),
        }
    }

    /// The field path, when the error is about one field.
    pub fn field(&self) -> Option<&str> {
        match self {
            DecodeError::Field(err) => Some(&err.field),
            DecodeError::TooManyEvents { .. } => Some("events"),
            DecodeError::Malformed { .. } => None,
        }
    }

    /// The limit broken, when the error is about a limit.
    pub fn limit(&self) -> Option<u64> {
        match self {
            DecodeError::Field(err) => err.limit,
            DecodeError::TooManyEvents { limit, .. } => Some(*limit as u64),
            DecodeError::Malformed { .. } => None,
        }
    }
}

impl From<FieldError> for DecodeError {
    fn from(err: FieldError) -> Self {
        DecodeError::Field(err)
    }
}
