//! Layered, typed configuration: defaults, then a TOML file, then
//! `CAUSEWAY_*` environment variables. Unknown keys are rejected and every
//! error is collected, so an operator sees all of them at once, before any
//! port is bound. This is the only module that reads the environment for
//! configuration.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;
use toml::{Table, Value};

/// Environment variables with this prefix are configuration.
pub const ENV_PREFIX: &str = "CAUSEWAY_";
/// Variables with this prefix belong to the test harness, not the config.
const ENV_TEST_PREFIX: &str = "CAUSEWAY_TEST_";
/// How many distinct errors are reported before giving up.
const MAX_ERRORS: usize = 32;

/// Every problem found in the configuration.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigErrors(pub Vec<String>);

/// Cross-field rules a config checks after it parsed.
pub trait Validate {
    /// Every rule broken, as lowercase messages naming the keys.
    fn validate(&self) -> Vec<String>;
}

/// Loads `T`: defaults from `T::default()`, overlaid by `file` (TOML), then
/// by `env` pairs (`CAUSEWAY_SECTION__KEY=value`; `__` separates levels,
/// values parse as TOML scalars and fall back to strings).
pub fn load<T>(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<T, ConfigErrors>
where
    T: DeserializeOwned + Serialize + Default + Validate,
{
    let mut errors = Vec::new();
    let mut merged = match Value::try_from(T::default()) {
        Ok(Value::Table(table)) => table,
        Ok(_) | Err(_) => Table::new(),
    };
    if let Some(path) = file {
        match std::fs::read_to_string(path) {
            Ok(text) => match text.parse::<Table>() {
                Ok(table) => merge(&mut merged, table),
                Err(err) => errors.push(format!("{}: {}", path.display(), err.to_string().trim())),
            },
            Err(err) => errors.push(format!("{}: cannot read: {err}", path.display())),
        }
    }
    for (name, raw) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if name.starts_with(ENV_TEST_PREFIX) || rest.is_empty() {
            continue;
        }
        let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        set_path(&mut merged, &path, parse_env_value(&raw));
    }
    let config: Option<T> = deserialize_collecting(merged, &mut errors);
    match config {
        Some(config) if errors.is_empty() => {
            let rule_errors = config.validate();
            if rule_errors.is_empty() {
                Ok(config)
            } else {
                Err(ConfigErrors(rule_errors))
            }
        }
        _ => Err(ConfigErrors(errors)),
    }
}

/// Deserializes, and on each failure records it, removes the offending key
/// and tries again, so one run reports every bad or unknown key.
fn deserialize_collecting<T: DeserializeOwned>(mut table: Table, errors: &mut Vec<String>) -> Option<T> {
    for _ in 0..MAX_ERRORS {
        let value = Value::Table(table.clone());
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(config) => return Some(config),
            Err(err) => {
                let path = err.path().to_string();
                let message = err.inner().to_string();
                let unknown = unknown_field_name(&message);
                let mut segments: Vec<String> = if path == "." {
                    Vec::new()
                } else {
                    path.split('.').map(str::to_owned).collect()
                };
                if let Some(field) = unknown.filter(|field| segments.last() != Some(field)) {
                    segments.push(field);
                }
                let key = if segments.is_empty() {
                    "(top level)".to_owned()
                } else {
                    segments.join(".")
                };
                errors.push(format!("{key}: {}", first_line(&message)));
                if segments.is_empty() || !remove_path(&mut table, &segments) {
                    return None;
                }
            }
        }
    }
    None
}

fn first_line(message: &str) -> &str {
    message.lines().next().unwrap_or(message).trim()
}

/// serde's "unknown field `x`, expected ..." message, as the field name.
fn unknown_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next().map(str::to_owned)
}

fn merge(base: &mut Table, overlay: Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(base_table)), Value::Table(over_table)) => merge(base_table, over_table),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn set_path(table: &mut Table, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = table;
    for segment in parents {
        let entry = current
            .entry(segment.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        if !entry.is_table() {
            *entry = Value::Table(Table::new());
        }
        let Value::Table(next) = entry else { return };
        current = next;
    }
    current.insert(last.clone(), value);
}

fn remove_path(table: &mut Table, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut current = table;
    for segment in parents {
        match current.get_mut(segment) {
            Some(Value::Table(next)) => current = next,
            _ => return false,
        }
    }
    current.remove(last).is_some()
}

/// `8080` -> integer, `true` -> bool, `[1,2]` -> array; anything else a string.
fn parse_env_value(raw: &str) -> Value {
    let probe = format!("v = {raw}");
    match probe.parse::<Table>() {
        Ok(mut table) => table.remove("v").unwrap_or_else(|| Value::String(raw.to_owned())),
        Err(_) => Value::String(raw.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Inner {
        port: u16,
        name: String,
    }

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Sample {
        inner: Inner,
        flag: bool,
        limit: u64,
    }

    impl Validate for Sample {
        fn validate(&self) -> Vec<String> {
            if self.limit > 100 {
                vec!["limit: must be at most 100".into()]
            } else {
                vec![]
            }
        }
    }

    fn write(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), text).expect("write");
        file
    }

    #[test]
    fn layers_defaults_file_env() {
        let file = write("flag = true\n[inner]\nport = 80\nname = \"file\"\n");
        let env = vec![
            ("CAUSEWAY_INNER__PORT".to_owned(), "9000".to_owned()),
            ("CAUSEWAY_TEST_SOMETHING".to_owned(), "ignored".to_owned()),
            ("OTHER".to_owned(), "x".to_owned()),
        ];
        let config: Sample = load(Some(file.path()), env).expect("valid");
        assert_eq!(
            config.inner,
            Inner {
                port: 9000,
                name: "file".into()
            }
        );
        assert!(config.flag);
    }

    #[test]
    fn reports_every_error_at_once() {
        let file = write("bogus = 1\n[inner]\nport = \"eighty\"\ntypo = 2\n");
        let env = vec![("CAUSEWAY_FLAG".to_owned(), "\"maybe\"".to_owned())];
        let err = load::<Sample>(Some(file.path()), env).expect_err("invalid");
        let text = err.to_string();
        assert!(text.contains("bogus"), "{text}");
        assert!(text.contains("inner.port"), "{text}");
        assert!(text.contains("inner.typo"), "{text}");
        assert!(text.contains("flag"), "{text}");
        assert_eq!(err.0.len(), 4, "{text}");
    }

    #[test]
    fn runs_cross_field_rules() {
        let env = vec![("CAUSEWAY_LIMIT".to_owned(), "500".to_owned())];
        let err = load::<Sample>(None, env).expect_err("rule");
        assert_eq!(err.0, vec!["limit: must be at most 100".to_owned()]);
    }

    #[test]
    fn names_a_missing_file() {
        let err = load::<Sample>(Some(Path::new("/nonexistent/causeway.toml")), Vec::new()).expect_err("missing");
        assert!(err.to_string().contains("cannot read"), "{err}");
    }
}
