//! Typed reads from a parsed JSON object that name the offending field by
//! its full path (`events[2].status: expected an integer`). Absent and
//! `null` are the same: the SDK serializes every optional field as `null`.

use serde_json::{Map, Value};

use crate::error::FieldError;

/// A JSON object and the path it was found at (empty for the top level).
pub(crate) struct JsonObject<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> JsonObject<'a> {
    pub(crate) fn new(value: &'a Value, path: impl Into<String>) -> Result<Self, FieldError> {
        let path = path.into();
        match value {
            Value::Object(map) => Ok(Self { map, path }),
            _ => Err(FieldError::new(path, "expected an object")),
        }
    }

    /// The full path of `key` inside this object.
    pub(crate) fn path_of(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn present(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    /// The value as sent, for free-form objects such as `event_attrs`.
    pub(crate) fn raw(&self, key: &str) -> Option<&'a Value> {
        self.present(key)
    }

    fn missing(&self, key: &str) -> FieldError {
        FieldError::new(self.path_of(key), "is required")
    }

    pub(crate) fn str_opt(&self, key: &str) -> Result<Option<&'a str>, FieldError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(FieldError::new(self.path_of(key), "expected a string")),
        }
    }

    pub(crate) fn str_req(&self, key: &str) -> Result<&'a str, FieldError> {
        self.str_opt(key)?.ok_or_else(|| self.missing(key))
    }

    /// A non-negative integer that fits in 64 bits.
    pub(crate) fn u64_opt(&self, key: &str) -> Result<Option<u64>, FieldError> {
        match self.present(key) {
            None => Ok(None),
            Some(value) => value
                .as_u64()
                .map(Some)
                .ok_or_else(|| FieldError::new(self.path_of(key), "expected a non-negative integer")),
        }
    }

    pub(crate) fn u64_req(&self, key: &str) -> Result<u64, FieldError> {
        self.u64_opt(key)?.ok_or_else(|| self.missing(key))
    }

    pub(crate) fn bool_opt(&self, key: &str) -> Result<Option<bool>, FieldError> {
        match self.present(key) {
            None => Ok(None),
            Some(Value::Bool(flag)) => Ok(Some(*flag)),
            Some(_) => Err(FieldError::new(self.path_of(key), "expected true or false")),
        }
    }

    pub(crate) fn object_opt(&self, key: &str) -> Result<Option<JsonObject<'a>>, FieldError> {
        match self.present(key) {
            None => Ok(None),
            Some(value) => JsonObject::new(value, self.path_of(key)).map(Some),
        }
    }

    pub(crate) fn array_req(&self, key: &str) -> Result<&'a [Value], FieldError> {
        match self.present(key) {
            None => Err(self.missing(key)),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(FieldError::new(self.path_of(key), "expected an array")),
        }
    }
}
