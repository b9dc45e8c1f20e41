//! How librdkafka errors become [`BusError`]s: backpressure, retryable
//! unavailability, a missing topic, or an explicit list of fatal errors that
//! must fail fast instead of being retried forever.

use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::api::BusError;

/// How long a caller told `Full` should wait before retrying: about the time
/// librdkafka needs to drain a full local queue into one batch round trip.
pub(crate) const QUEUE_FULL_RETRY_AFTER: Duration = Duration::from_millis(200);

/// Errors that no retry can fix: credentials, permissions, configuration,
/// records the broker will never take, and a fenced or broken idempotent
/// producer.
const FATAL_CODES: &[RDKafkaErrorCode] = &[
    RDKafkaErrorCode::Authentication,
    RDKafkaErrorCode::SaslAuthenticationFailed,
    RDKafkaErrorCode::IllegalSASLState,
    RDKafkaErrorCode::TopicAuthorizationFailed,
    RDKafkaErrorCode::GroupAuthorizationFailed,
    RDKafkaErrorCode::ClusterAuthorizationFailed,
    RDKafkaErrorCode::TransactionalIdAuthorizationFailed,
    RDKafkaErrorCode::InvalidConfig,
    RDKafkaErrorCode::InvalidArgument,
    RDKafkaErrorCode::NotConfigured,
    RDKafkaErrorCode::InvalidPartitions,
    RDKafkaErrorCode::InvalidReplicationFactor,
    RDKafkaErrorCode::InvalidReplicaAssignment,
    RDKafkaErrorCode::PolicyViolation,
    RDKafkaErrorCode::MessageSizeTooLarge,
    RDKafkaErrorCode::InvalidMessageSize,
    RDKafkaErrorCode::InvalidRecord,
    RDKafkaErrorCode::InvalidRequiredAcks,
    RDKafkaErrorCode::UnsupportedCompressionType,
    RDKafkaErrorCode::BadCompression,
    RDKafkaErrorCode::UnsupportedVersion,
    RDKafkaErrorCode::InconsistentGroupProtocol,
    RDKafkaErrorCode::ExistingSubscription,
    RDKafkaErrorCode::OutOfOrderSequenceNumber,
    RDKafkaErrorCode::InvalidProducerEpoch,
    RDKafkaErrorCode::ProducerFenced,
    RDKafkaErrorCode::Fenced,
    RDKafkaErrorCode::Fatal,
];

/// Maps a librdkafka error met while working on `topic` (if any).
pub(crate) fn to_bus_error(err: &KafkaError, topic: Option<&str>) -> BusError {
    match err.rdkafka_error_code() {
        Some(code) => from_code(code, &err.to_string(), topic),
        // Without a code the error comes from building the client or its
        // configuration: retrying the same thing cannot help.
        None => match err {
            // Its `Display` carries the property's value, which may be a password.
            KafkaError::ClientConfig(_, description, key, value) => {
                let description = match super::config::is_secret_property(key) && !value.is_empty() {
                    true => description.replace(value.as_str(), "***"),
                    false => description.clone(),
                };
                BusError::Fatal(format!("kafka property {key}: {description}"))
            }
            KafkaError::Canceled | KafkaError::PartitionEOF(_) => BusError::Unavailable(err.to_string()),
            _ => BusError::Fatal(err.to_string()),
        },
    }
}

/// Maps one error code; `text` is the full error for the message.
pub(crate) fn from_code(code: RDKafkaErrorCode, text: &str, topic: Option<&str>) -> BusError {
    match code {
        RDKafkaErrorCode::QueueFull => BusError::Full {
            retry_after: QUEUE_FULL_RETRY_AFTER,
        },
        RDKafkaErrorCode::UnknownTopicOrPartition
        | RDKafkaErrorCode::UnknownTopic
        | RDKafkaErrorCode::UnknownPartition => {
            BusError::UnknownTopic(topic.map_or_else(|| text.to_owned(), str::to_owned))
        }
        code if FATAL_CODES.contains(&code) => BusError::Fatal(text.to_owned()),
        // Transport failures, timeouts, leader elections, coordinator moves:
        // librdkafka recovers from these by itself, so the caller retries.
        _ => BusError::Unavailable(text.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_secret_property_is_named_without_its_value() {
        let err = KafkaError::ClientConfig(
            rdkafka::types::RDKafkaConfRes::RD_KAFKA_CONF_INVALID,
            "Invalid value \"hunter2\" for configuration property \"sasl.password\"".into(),
            "sasl.password".into(),
            "hunter2".into(),
        );
        let mapped = to_bus_error(&err, None).to_string();
        assert!(!mapped.contains("hunter2"), "{mapped}");
        assert!(mapped.contains("sasl.password"), "{mapped}");
    }

    #[test]
    fn queue_full_is_backpressure_with_a_wait() {
        let err = KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull);
        match to_bus_error(&err, Some("t")) {
            BusError::Full { retry_after } => assert!(retry_after > Duration::ZERO),
            other => panic!("expected Full, got {other}"),
        }
    }

    #[test]
    fn missing_topic_names_the_topic() {
        let err = KafkaError::MessageProduction(RDKafkaErrorCode::UnknownTopicOrPartition);
        assert!(
            matches!(to_bus_error(&err, Some("causeway.ce")), BusError::UnknownTopic(name) if name == "causeway.ce")
        );
    }

    #[test]
    fn transport_and_timeouts_are_retryable() {
        for code in [
            RDKafkaErrorCode::BrokerTransportFailure,
            RDKafkaErrorCode::AllBrokersDown,
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::RequestTimedOut,
            RDKafkaErrorCode::NotEnoughReplicas,
        ] {
            let mapped = to_bus_error(&KafkaError::MessageProduction(code), None);
            assert!(mapped.is_retryable(), "{code:?} -> {mapped}");
        }
    }

    #[test]
    fn the_explicit_list_fails_fast() {
        for code in [
            RDKafkaErrorCode::SaslAuthenticationFailed,
            RDKafkaErrorCode::TopicAuthorizationFailed,
            RDKafkaErrorCode::MessageSizeTooLarge,
            RDKafkaErrorCode::ProducerFenced,
            RDKafkaErrorCode::Fatal,
        ] {
            let mapped = to_bus_error(&KafkaError::MessageProduction(code), None);
            assert!(matches!(mapped, BusError::Fatal(_)), "{code:?} -> {mapped}");
        }
        let config = KafkaError::ClientCreation("bad property".into());
        assert!(matches!(to_bus_error(&config, None), BusError::Fatal(_)));
    }
}
