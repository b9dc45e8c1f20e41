//! The id a client's error answer carries in place of the cause's text.

use std::fmt;

/// A short random id that ties a client's error answer to the log line
/// holding its cause: bus and store error text is logged, never answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorId(String);

impl ErrorId {
    /// 12 hex digits from the 48 fully random bits of a UUIDv4.
    pub fn new() -> Self {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        Self(bytes[10..].iter().map(|byte| format!("{byte:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for ErrorId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ErrorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_12_hex_digits_and_differ() {
        let id = ErrorId::new();
        assert_eq!(id.as_str().len(), 12);
        assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(ErrorId::new(), id);
    }
}
