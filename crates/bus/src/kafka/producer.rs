//! Publishing: every record of a call is handed to librdkafka at once (so
//! they share batches), and the call returns only when each one is
//! acknowledged by all in-sync replicas.

use futures::future::join_all;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use super::context::TracingContext;
use super::errors::to_bus_error;
use crate::api::{BusError, Record};

/// Publishes `records` to `topic`. A full local queue answers `Full` at once
/// (records queued before it may still be delivered: at least once); any
/// delivery failure fails the whole call with the first error.
pub(crate) async fn publish(
    producer: &FutureProducer<TracingContext>,
    topic: &str,
    records: Vec<Record>,
) -> Result<(), BusError> {
    let mut deliveries = Vec::with_capacity(records.len());
    for record in &records {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (name, value) in &record.headers {
            headers = headers.insert(Header {
                key: name,
                value: Some(value.as_ref()),
            });
        }
        let message = FutureRecord::to(topic)
            .key(record.key.as_ref())
            .payload(record.value.as_ref())
            .headers(headers);
        match producer.send_result(message) {
            Ok(delivery) => deliveries.push(delivery),
            Err((err, _)) => return Err(to_bus_error(&err, Some(topic))),
        }
    }
    let mut first_error = None;
    for outcome in join_all(deliveries).await {
        let failure = match outcome {
            Ok(Ok(_)) => continue,
            Ok(Err((err, _))) => to_bus_error(&err, Some(topic)),
            // The producer dropped the delivery report: it is shutting down.
            Err(_) => BusError::Unavailable("kafka producer closed before the delivery report".into()),
        };
        first_error.get_or_insert(failure);
    }
    first_error.map_or(Ok(()), Err)
}
