//! A configured secret (an API key): read and serialized as the plain
//! text, shown as `***` in Debug output so a logged config never carries it.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the code that uses it. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_it_and_serde_keeps_it() {
        let key = Secret::new("dev-key-0123456789abcdef");
        for shown in [format!("{key:?}"), format!("{:?}", Some(&key))] {
            assert!(!shown.contains("0123456789"), "{shown}");
        }
        let json = serde_json::to_string(&key).expect("json");
        assert_eq!(json, "\"dev-key-0123456789abcdef\"");
        let back: Secret = serde_json::from_str(&json).expect("json");
        assert_eq!(back.expose(), "dev-key-0123456789abcdef");
    }
}
