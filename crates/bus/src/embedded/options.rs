//! Tunables of the embedded bus, set in code or as query options of its URL
//! (`embedded://PATH?max_in_flight_bytes=67108864&…`).

use std::time::Duration;

use crate::api::BusError;

#[derive(Debug, Clone)]
pub struct EmbeddedBusOptions {
    /// A segment file rolls once it would grow past this size.
    pub segment_bytes: u64,
    /// A whole segment is deleted once every group committed past it and it
    /// was last written this long ago. The default is 0: in standalone the
    /// window is the record and the bus only carries events to it, so what
    /// every group has committed goes at the next retention pass.
    pub retention: Duration,
    /// Hard cap per partition: past it the oldest segments go even if a
    /// group has not consumed them, so the disk stays bounded.
    pub retain_bytes_per_partition: u64,
    /// Bytes (framed records) accepted by `publish` but not yet durable;
    /// past it `publish` answers `BusError::Full`. One publish larger than
    /// the whole budget is still taken when nothing else is in flight.
    pub max_in_flight_bytes: u32,
    /// What `BusError::Full` tells callers to wait.
    pub retry_after: Duration,
    /// How often retention runs besides when a segment rolls, publishing or
    /// idle (not a URL option).
    pub retention_interval: Duration,
}

impl Default for EmbeddedBusOptions {
    fn default() -> Self {
        Self {
            segment_bytes: 16 * 1024 * 1024,
            retention: Duration::ZERO,
            retain_bytes_per_partition: 1024 * 1024 * 1024,
            max_in_flight_bytes: 64 * 1024 * 1024,
            retry_after: Duration::from_millis(100),
            retention_interval: Duration::from_secs(30),
        }
    }
}

const KNOWN: &str = "segment_bytes, retention_seconds, retain_bytes_per_partition, max_in_flight_bytes, retry_after_ms";

fn bad(detail: impl std::fmt::Display) -> BusError {
    BusError::Fatal(format!("bus url: {detail}"))
}

fn number(key: &str, value: &str, min: u64, max: u64) -> Result<u64, BusError> {
    let parsed: u64 = value
        .parse()
        .map_err(|_| bad(format!("{key}={value:?} is not a number")))?;
    if !(min..=max).contains(&parsed) {
        return Err(bad(format!("{key}={parsed} is outside {min}..={max}")));
    }
    Ok(parsed)
}

impl EmbeddedBusOptions {
    /// The defaults with the options of a URL query (`key=value&…`, the part
    /// after `?`) applied; an unknown key or a bad value names itself.
    pub fn from_query(query: &str) -> Result<Self, BusError> {
        let mut options = Self::default();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| bad(format!("option {pair:?} has no value")))?;
            match key {
                "segment_bytes" => options.segment_bytes = number(key, value, 4096, 1 << 40)?,
                "retention_seconds" => {
                    options.retention = Duration::from_secs(number(key, value, 0, 365 * 86_400)?);
                }
                "retain_bytes_per_partition" => {
                    options.retain_bytes_per_partition = number(key, value, 4096, u64::MAX)?;
                }
                "max_in_flight_bytes" => {
                    // u32: the budget is a semaphore taken a publish at a time.
                    options.max_in_flight_bytes = number(key, value, 1, u64::from(u32::MAX))? as u32;
                }
                "retry_after_ms" => options.retry_after = Duration::from_millis(number(key, value, 1, 60_000)?),
                other => return Err(bad(format!("unknown embedded bus option {other:?}: known are {KNOWN}"))),
            }
        }
        Ok(options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_options_override_the_defaults() {
        let options = EmbeddedBusOptions::from_query("max_in_flight_bytes=1024&retry_after_ms=250").expect("parse");
        assert_eq!(options.max_in_flight_bytes, 1024);
        assert_eq!(options.retry_after, Duration::from_millis(250));
        assert_eq!(options.segment_bytes, EmbeddedBusOptions::default().segment_bytes);
        assert_eq!(
            EmbeddedBusOptions::from_query("").expect("empty").max_in_flight_bytes,
            64 * 1024 * 1024
        );
    }

    #[test]
    fn bad_options_name_themselves() {
        let err = |query: &str| EmbeddedBusOptions::from_query(query).expect_err("bad").to_string();
        assert!(err("colour=red").contains("unknown embedded bus option \"colour\""));
        assert!(err("max_in_flight_bytes=0").contains("max_in_flight_bytes=0"));
        assert!(err("max_in_flight_bytes=99999999999").contains("outside"));
        assert!(err("segment_bytes=lots").contains("not a number"));
        assert!(err("retry_after_ms").contains("no value"));
    }
}
