//! Choosing the bus implementation from its URL.

use std::sync::Arc;

use crate::api::{Bus, BusError};
use crate::embedded::{EmbeddedBus, EmbeddedBusOptions};

/// Opens the bus named by `url`:
/// - `embedded://PATH[?option=value&…]`: the embedded bus in directory PATH,
///   absolute (`embedded:///var/lib/causeway/bus`) or relative to the working
///   directory (`embedded://./data/bus`, `embedded://data/bus`); options in
///   [`EmbeddedBusOptions::from_query`];
/// - `kafka://host:port[,host:port][?key=value&…]`: the Kafka bus; every
///   query pair is a librdkafka property passed through verbatim (e.g.
///   `security.protocol=SASL_SSL&sasl.mechanism=PLAIN`). Needs the `kafka`
///   feature (on by default).
pub async fn open_bus(url: &str) -> Result<Arc<dyn Bus>, BusError> {
    let Some((scheme, rest)) = url.split_once("://") else {
        // Not echoed: a url without a scheme may still be a secret.
        return Err(BusError::Fatal(
            "bus url has no scheme: use embedded://PATH or kafka://host:port".into(),
        ));
    };
    match scheme {
        "embedded" => {
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            if path.is_empty() {
                return Err(BusError::Fatal(
                    "bus url embedded:// needs a directory: embedded://PATH".into(),
                ));
            }
            let options = EmbeddedBusOptions::from_query(query)?;
            Ok(Arc::new(EmbeddedBus::open_with(path, options).await?))
        }
        #[cfg(feature = "kafka")]
        "kafka" => Ok(Arc::new(crate::kafka::KafkaBus::open(url)?)),
        #[cfg(not(feature = "kafka"))]
        "kafka" => Err(BusError::Fatal(
            "this build has no kafka bus (the causeway-bus `kafka` feature is off); use embedded://PATH".into(),
        )),
        other => Err(BusError::Fatal(format!(
            "unknown bus url scheme {other:?}: supported schemes are embedded:// and kafka://"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_text(result: Result<Arc<dyn Bus>, BusError>) -> String {
        match result {
            Ok(_) => panic!("expected an error"),
            Err(err) => err.to_string(),
        }
    }

    #[tokio::test]
    async fn rejects_bad_kafka_unknown_and_schemeless_urls() {
        assert!(error_text(open_bus("kafka://").await).contains("host:port"));
        assert!(error_text(open_bus("kafka://localhost:9092?no.such.property=1").await).contains("no.such.property"));
        assert!(error_text(open_bus("nats://x").await).contains("embedded://"));
        assert!(error_text(open_bus("/tmp/bus").await).contains("no scheme"));
        assert!(error_text(open_bus("embedded://").await).contains("needs a directory"));
        assert!(error_text(open_bus("embedded:///tmp/x?colour=red").await).contains("colour"));
    }

    #[tokio::test]
    async fn opens_an_absolute_embedded_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("embedded://{}", dir.path().display());
        let bus = open_bus(&url).await.expect("open");
        assert!(bus.ready().await);
        assert!(dir.path().join("topics").is_dir());
    }
}
