//! Events kept as their encoded `causeway.v1.CausalEvent` messages, back to
//! back in one buffer: how the windower hands the window store what it
//! consumed, so a store that keeps events encoded copies each message once
//! and never encodes it again.

use crate::ce_batch::encode_causal_event;
use crate::ce_batch_view::{EncodedEvent, read_causal_event};
use crate::error::DecodeError;
use crate::event::CausalEvent;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedEvents {
    bytes: Vec<u8>,
    /// Where each message ends in `bytes`; each starts where the one before
    /// it ends.
    ends: Vec<usize>,
}

impl EncodedEvents {
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes owned events (as the bus records hold them).
    pub fn from_events(events: &[CausalEvent]) -> Self {
        let mut encoded = Self::new();
        for event in events {
            encode_causal_event(event, &mut encoded.bytes);
            encoded.ends.push(encoded.bytes.len());
        }
        encoded
    }

    /// Appends an event read from a batch (checked as it was read).
    pub fn push(&mut self, event: &EncodedEvent<'_>) {
        self.bytes.extend_from_slice(event.message());
        self.ends.push(self.bytes.len());
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The events, read again from their messages: ids, kind and status are
    /// checked as `CausalEvent::try_from` checks them, the limits are not
    /// (whoever made the events checked those).
    pub fn read(&self) -> impl ExactSizeIterator<Item = Result<EncodedEvent<'_>, DecodeError>> {
        self.ends.iter().enumerate().map(|(at, &end)| {
            let start = at.checked_sub(1).map_or(0, |before| self.ends[before]);
            let message = self
                .bytes
                .get(start..end)
                .ok_or_else(|| DecodeError::malformed("causeway protobuf", "message out of its buffer"))?;
            read_causal_event(message)
        })
    }

    pub fn to_events(&self) -> Result<Vec<CausalEvent>, DecodeError> {
        self.read()
            .map(|encoded| encoded.map(|encoded| encoded.event().to_owned_event()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report

    use super::*;
    use crate::ce_batch::encode_ce_batch;
    use crate::ce_batch_view::read_ce_batch;
    use crate::ids::{CeId, TraceId};
    use crate::kind::Kind;

    fn event(n: u8, service: &str) -> CausalEvent {
        CausalEvent {
            tenant_id: "acme".into(),
            trace_id: TraceId([n; 16]),
            ce_id: CeId([n + 1; 16]),
            parent_ce_id: None,
            service: service.into(),
            kind: Kind::HttpOut,
            status: 502,
            start_unix_ns: 1_795_219_200_000_000_000,
            duration_ns: 7,
            operation: None,
            peer: Some("stripe-api".into()),
            environment: None,
        }
    }

    #[test]
    fn pushed_and_encoded_events_read_back_whole_and_in_order() {
        let events = vec![
            event(1, "orders"),
            event(2, "a-much-longer-service-name"),
            event(3, "x"),
        ];
        let bytes = encode_ce_batch(&events);
        let mut pushed = EncodedEvents::new();
        for encoded in read_ce_batch(&bytes, u64::MAX).unwrap() {
            pushed.push(&encoded);
        }
        assert_eq!(pushed, EncodedEvents::from_events(&events));
        assert_eq!(pushed.len(), 3);
        assert_eq!(pushed.read().len(), 3);
        assert_eq!(pushed.to_events().unwrap(), events);
        assert!(EncodedEvents::new().to_events().unwrap().is_empty());
    }

    #[test]
    fn an_owned_event_the_model_cannot_hold_fails_on_reading() {
        let mut bad = event(1, "orders");
        bad.trace_id = TraceId([0; 16]);
        let encoded = EncodedEvents::from_events(&[event(2, "orders"), bad]);
        let err = encoded.to_events().expect_err("zero trace id");
        assert_eq!(err.field(), Some("trace_id"));
    }
}
