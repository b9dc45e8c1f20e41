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

/// A parsed `kafka://` URL. Its `Debug` and `Display` show secret
/// properties (see [`is_secret_property`]) as `***`.
#[derive(Clone, PartialEq, Eq)]
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
            // The hosts only: the query may hold a password.
            return Err(BusError::Fatal(format!(
                "kafka url hosts {hosts:?} need host:port[,host:port]: kafka://broker1:9092,broker2:9092?security.protocol=SSL"
            )));
        }
        let mut properties = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let Some((key, value)) = pair.split_once('=') else {
                return Err(BusError::Fatal(format!(
                    "kafka url property {pair:?} has no value: use key=value"
                )));
            };
            let key = percent_decode(key)
                .ok_or_else(|| BusError::Fatal(format!("kafka url: bad percent escape in the key {key:?}")))?;
            let value = percent_decode(value).ok_or_else(|| {
                BusError::Fatal(format!("kafka url: bad percent escape or utf-8 in the value of {key}"))
            })?;
            properties.push((key, value));
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

/// Whether a librdkafka property holds a secret (`sasl.password`,
/// `ssl.key.password`, `sasl.oauthbearer.client.secret`, …): any key
/// containing `password` or `secret`, the rule of
/// `causeway_runtime::secret_url::is_secret_key`.
pub fn is_secret_property(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password") || key.contains("secret")
}

impl KafkaUrl {
    /// The properties as shown: secret values replaced by `***`.
    fn shown_properties(&self) -> impl Iterator<Item = (&str, &str)> {
        self.properties.iter().map(|(key, value)| {
            let value = if is_secret_property(key) { "***" } else { value.as_str() };
            (key.as_str(), value)
        })
    }
}

impl std::fmt::Display for KafkaUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "kafka://{}", self.bootstrap)?;
        for (index, (key, value)) in self.shown_properties().enumerate() {
            let separator = if index == 0 { '?' } else { '&' };
            write!(f, "{separator}{key}={value}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for KafkaUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let properties: Vec<(&str, &str)> = self.shown_properties().collect();
        f.debug_struct("KafkaUrl")
            .field("bootstrap", &self.bootstrap)
            .field("properties", &properties)
            .finish()
    }
}

/// Decodes `%XX` escapes and `+`; `None` on a bad escape or non-utf-8 (the
/// caller names the key, never the value, which may be a password).
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = bytes
                    .get(index + 1..index + 3)
                    .and_then(|pair| std::str::from_utf8(pair).ok())
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())?;
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
    String::from_utf8(out).ok()
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
    fn debug_display_and_errors_never_show_a_password() {
        let url = KafkaUrl::parse(
            "kafka://b1:9092?sasl.username=u&sasl.password=hunter2&ssl.key.password=k3y&sasl.oauthbearer.client.secret=c5",
        )
        .expect("parse");
        for shown in [format!("{url}"), format!("{url:?}")] {
            for secret in ["hunter2", "k3y", "c5"] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
            assert!(shown.contains("sasl.username") && shown.contains("***"), "{shown}");
        }
        assert_eq!(
            url.to_string(),
            "kafka://b1:9092?sasl.username=u&sasl.password=***&ssl.key.password=***&sasl.oauthbearer.client.secret=***"
        );
        for bad in [
            "kafka://nohost?sasl.password=hunter2",
            "kafka://b:9092?sasl.password=hunter2%zz",
        ] {
            let err = KafkaUrl::parse(bad).expect_err("bad url").to_string();
            assert!(!err.contains("hunter2"), "{err}");
        }
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
