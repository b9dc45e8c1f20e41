//! The `kafka://` URL and the librdkafka settings built from it.
//!
//! `kafka://host:port[,host:port]?key=value&…`: the hosts become
//! `bootstrap.servers`, every query pair is a librdkafka property passed
//! through verbatim (values may be percent-encoded), so operators set SASL,
//! TLS or tuning without a code change. Pass-through properties override the
//! defaults below.

use rdkafka::ClientConfig;

use crate::api::BusError;

/// Producer defaults: durable (idempotent, acks from every in-sync replica),
/// compressed, batched for a few milliseconds, and failing a publish within
/// seconds when the cluster is gone (so clients get a retryable answer
/// instead of a hung request).
const PRODUCER_DEFAULTS: &[(&str, &str)] = &[
    ("enable.idempotence", "true"),
    ("acks", "all"),
    ("compression.type", "lz4"),
    ("linger.ms", "5"),
    ("batch.num.messages", "10000"),
    ("message.timeout.ms", "15000"),
    // librdkafka's own default is 1 GiB: during a broker outage records
    // whose publish already timed out (and was answered 503) wait here for
    // `message.timeout.ms`; 128 MiB bounds that, and past it a publish is
    // refused at once as full (a retryable 503).
    ("queue.buffering.max.kbytes", "131072"),
    ("allow.auto.create.topics", "false"),
];

/// Consumer defaults: offsets are stored only when the caller acknowledges a
/// record (after its work is durable) and committed on an interval, on
/// revoke and on close; a new group starts at the beginning.
const CONSUMER_DEFAULTS: &[(&str, &str)] = &[
    ("enable.auto.offset.store", "false"),
    ("enable.auto.commit", "true"),
    ("auto.commit.interval.ms", "2000"),
    ("auto.offset.reset", "earliest"),
    ("session.timeout.ms", "10000"),
    ("heartbeat.interval.ms", "1000"),
    ("allow.auto.create.topics", "false"),
];

/// A parsed `kafka://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaUrl {
    /// `host:port[,host:port]`.
    pub bootstrap: String,
    /// librdkafka properties, in URL order.
    pub properties: Vec<(String, String)>,
}

impl KafkaUrl {
    /// Parses `kafka://host:port[,host:port][?key=value&…]` (the scheme may
    /// be left out).
    pub fn parse(url: &str) -> Result<Self, BusError> {
        let rest = url.strip_prefix("kafka://").unwrap_or(url);
        let (hosts, query) = rest.split_once('?').unwrap_or((rest, ""));
        let hosts = hosts.trim_end_matches('/');
        if hosts.is_empty() || hosts.split(',').any(|host| !host.contains(':')) {
            return Err(BusError::Fatal(format!(
                "kafka url {url:?} needs host:port[,host:port]: kafka://broker1:9092,broker2:9092?security.protocol=SSL"
            )));
        }
        let mut properties = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(BusError::Fatal(format!(
                    "kafka url property {pair:?} has no value: use key=value"
                )));
            };
            properties.push((percent_decode(key)?, percent_decode(value)?));
        }
        if properties.iter().any(|(key, _)| key == "bootstrap.servers") {
            return Err(BusError::Fatal(
                "kafka url: give the brokers as kafka://host:port, not bootstrap.servers".into(),
            ));
        }
        Ok(Self {
            bootstrap: hosts.to_owned(),
            properties,
        })
    }

    /// Settings shared by every client: the brokers and the pass-through
    /// properties.
    pub(crate) fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap);
        self.pass_through(&mut config);
        config
    }

    pub(crate) fn producer(&self) -> ClientConfig {
        self.with_defaults(PRODUCER_DEFAULTS)
    }

    pub(crate) fn consumer(&self, group: &str) -> ClientConfig {
        let mut config = self.with_defaults(CONSUMER_DEFAULTS);
        config.set("group.id", group);
        config
    }

    fn with_defaults(&self, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap);
        for (key, value) in defaults {
            config.set(*key, *value);
        }
        self.pass_through(&mut config);
        config
    }

    fn pass_through(&self, config: &mut ClientConfig) {
        for (key, value) in &self.properties {
            config.set(key, value);
        }
    }
}

fn percent_decode(text: &str) -> Result<String, BusError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = bytes
                    .get(index + 1..index + 3)
                    .and_then(|pair| std::str::from_utf8(pair).ok())
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                    .ok_or_else(|| BusError::Fatal(format!("kafka url: bad percent escape in {text:?}")))?;
                out.push(hex);
                index += 3;
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            other => {
                out.push(other);
                index += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| BusError::Fatal(format!("kafka url: {text:?} is not utf-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_and_pass_through_properties() {
        let url = KafkaUrl::parse(
            "kafka://b1:9092,b2:9093?security.protocol=SASL_SSL&sasl.mechanism=PLAIN&sasl.password=p%26ss%3Dword",
        )
        .expect("parse");
        assert_eq!(url.bootstrap, "b1:9092,b2:9093");
        assert_eq!(
            url.properties,
            vec![
                ("security.protocol".to_owned(), "SASL_SSL".to_owned()),
                ("sasl.mechanism".to_owned(), "PLAIN".to_owned()),
                ("sasl.password".to_owned(), "p&ss=word".to_owned()),
            ]
        );
    }

    #[test]
    fn pass_through_overrides_defaults() {
        let url = KafkaUrl::parse("kafka://b:9092?compression.type=zstd").expect("parse");
        let producer = url.producer();
        assert_eq!(producer.get("compression.type"), Some("zstd"));
        assert_eq!(producer.get("enable.idempotence"), Some("true"));
        let consumer = url.consumer("windower");
        assert_eq!(consumer.get("group.id"), Some("windower"));
        assert_eq!(consumer.get("enable.auto.offset.store"), Some("false"));
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "kafka://",
            "kafka://host-without-port",
            "kafka://b:9092?novalue",
            "kafka://b:9092?bootstrap.servers=x:1",
            "kafka://b:9092?x=%zz",
        ] {
            assert!(matches!(KafkaUrl::parse(bad), Err(BusError::Fatal(_))), "{bad}");
        }
    }
}
