//! The store URL: `scylla://host1[:port],host2/keyspace?option=value&…`.

use std::time::Duration;

use scylla::statement::Consistency;

use crate::api::StoreError;

/// Everything the URL selects, with its defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct ScyllaConfig {
    /// `host:port` contact points (port 9042 when not given).
    pub hosts: Vec<String>,
    pub keyspace: String,
    /// `consistency=`: reads and writes (default `local_quorum`).
    pub consistency: Consistency,
    /// `replication_factor=`: used only when the migration creates the
    /// keyspace (default 3, NetworkTopologyStrategy).
    pub replication_factor: u32,
    /// `tablets=false` adds `AND tablets = {'enabled': false}` to the
    /// keyspace creation (ScyllaDB only; Cassandra rejects the option).
    pub tablets: Option<bool>,
    /// `request_timeout_ms=` (default 10 000).
    pub request_timeout: Duration,
    /// `max_in_flight=`: statements one process runs at once (default 256).
    pub max_in_flight: usize,
    /// `bucket_seconds=`: width of the time buckets that partition the
    /// window tables (default 60).
    pub bucket_seconds: u64,
    /// `grace_seconds=`: added to a window row's expiry for its TTL
    /// (default 3600), so `expire` finds it before the database drops it.
    pub grace_seconds: u64,
    /// `artifact_ttl_days=`: artifacts and share tokens expire after this
    /// (default 0: kept until deleted).
    pub artifact_ttl_days: u64,
    /// `migrate=false` skips applying the schema at startup (for
    /// deployments that run `causeway migrate` as a separate step).
    pub migrate: bool,
}

fn bad(detail: impl std::fmt::Display) -> StoreError {
    StoreError::Fatal(format!("store url: {detail}"))
}

fn parse_consistency(value: &str) -> Result<Consistency, StoreError> {
    Ok(match value.to_ascii_lowercase().as_str() {
        "one" => Consistency::One,
        "two" => Consistency::Two,
        "three" => Consistency::Three,
        "quorum" => Consistency::Quorum,
        "all" => Consistency::All,
        "local_quorum" => Consistency::LocalQuorum,
        "each_quorum" => Consistency::EachQuorum,
        "local_one" => Consistency::LocalOne,
        other => {
            return Err(bad(format!(
                "consistency {other:?} is not one of one, two, three, quorum, all, local_quorum, each_quorum, local_one"
            )));
        }
    })
}

fn number<T>(key: &str, value: &str, min: T, max: T) -> Result<T, StoreError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let parsed: T = value
        .parse()
        .map_err(|_| bad(format!("{key}={value:?} is not a number")))?;
    if parsed < min || parsed > max {
        return Err(bad(format!("{key}={parsed} is outside {min}..={max}")));
    }
    Ok(parsed)
}

fn valid_keyspace(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 48
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
}

impl ScyllaConfig {
    /// Parses the part after `scylla://`.
    pub fn parse(rest: &str) -> Result<Self, StoreError> {
        let (location, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (hosts, keyspace) = location
            .split_once('/')
            .ok_or_else(|| bad("scylla:// needs a keyspace: scylla://host1,host2/keyspace"))?;
        if !valid_keyspace(keyspace) {
            return Err(bad(format!(
                "keyspace {keyspace:?} must be 1 to 48 letters, digits or underscores, starting with a letter"
            )));
        }
        let hosts: Vec<String> = hosts
            .split(',')
            .filter(|host| !host.is_empty())
            .map(|host| {
                if host
                    .rsplit_once(':')
                    .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
                {
                    host.to_owned()
                } else {
                    format!("{host}:9042")
                }
            })
            .collect();
        if hosts.is_empty() {
            return Err(bad("scylla:// needs at least one host: scylla://host1,host2/keyspace"));
        }
        let mut config = Self {
            hosts,
            keyspace: keyspace.to_ascii_lowercase(),
            consistency: Consistency::LocalQuorum,
            replication_factor: 3,
            tablets: None,
            request_timeout: Duration::from_secs(10),
            max_in_flight: 256,
            bucket_seconds: 60,
            grace_seconds: 3600,
            artifact_ttl_days: 0,
            migrate: true,
        };
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| bad(format!("option {pair:?} has no value")))?;
            match key {
                "consistency" => config.consistency = parse_consistency(value)?,
                "replication_factor" => config.replication_factor = number(key, value, 1, 15)?,
                "tablets" => config.tablets = Some(number::<u8>(key, &bool_digit(key, value)?, 0, 1)? == 1),
                "request_timeout_ms" => {
                    config.request_timeout = Duration::from_millis(number(key, value, 100, 600_000)?);
                }
                "max_in_flight" => config.max_in_flight = number(key, value, 1, 65_536)?,
                "bucket_seconds" => config.bucket_seconds = number(key, value, 1, 86_400)?,
                "grace_seconds" => config.grace_seconds = number(key, value, 60, 30 * 86_400)?,
                "artifact_ttl_days" => config.artifact_ttl_days = number(key, value, 0, 3650)?,
                "migrate" => config.migrate = number::<u8>(key, &bool_digit(key, value)?, 0, 1)? == 1,
                other => {
                    return Err(bad(format!(
                        "unknown option {other:?}: known are consistency, replication_factor, tablets, \
                         request_timeout_ms, max_in_flight, bucket_seconds, grace_seconds, artifact_ttl_days, migrate"
                    )));
                }
            }
        }
        Ok(config)
    }

    /// The bucket width in nanoseconds.
    pub fn bucket_ns(&self) -> u64 {
        self.bucket_seconds.saturating_mul(1_000_000_000)
    }
}

fn bool_digit(key: &str, value: &str) -> Result<String, StoreError> {
    match value {
        "true" | "1" => Ok("1".into()),
        "false" | "0" => Ok("0".into()),
        other => Err(bad(format!("{key}={other:?} is not true or false"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_keyspace_and_options() {
        let config = ScyllaConfig::parse("a,b:9043/Causeway?consistency=one&replication_factor=1&bucket_seconds=10")
            .expect("parse");
        assert_eq!(config.hosts, vec!["a:9042".to_owned(), "b:9043".to_owned()]);
        assert_eq!(config.keyspace, "causeway");
        assert_eq!(config.consistency, Consistency::One);
        assert_eq!(config.replication_factor, 1);
        assert_eq!(config.bucket_ns(), 10_000_000_000);
        assert!(config.migrate);
    }

    #[test]
    fn rejects_bad_urls_naming_the_part() {
        let err = |url: &str| ScyllaConfig::parse(url).expect_err("should fail").to_string();
        assert!(err("host").contains("needs a keyspace"));
        assert!(err("/ks").contains("at least one host"));
        assert!(err("h/1ks").contains("keyspace"));
        assert!(err("h/ks?consistency=most").contains("consistency"));
        assert!(err("h/ks?bucket_seconds=0").contains("bucket_seconds=0"));
        assert!(err("h/ks?colour=red").contains("unknown option"));
        assert!(err("h/ks?migrate=maybe").contains("migrate"));
    }
}
