//! Events kept as their encoded `causeway.v1.CausalEvent` messages, back to
//! back in one buffer: how the windower hands the window store what it
//! consumed, so a store that keeps events encoded copies each message once
//! and never encodes it again.

use std::ops::Range;

use crate::ce_batch::encode_causal_event;
use crate::ce_batch_view::{EncodedEvent, read_causal_event};
use crate::error::DecodeError;
use crate::event::CausalEvent;
use crate::event_ref::EventRef;
use crate::ids::{CeId, TraceId};
use crate::kind::Kind;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedEvents {
    /// The messages, back to back.
    bytes: Vec<u8>,
    /// Every event's text fields, back to back: the store borrows them
    /// without reading the messages again or checking UTF-8 again (the
    /// windower read and checked them once).
    text: String,
    events: Vec<Fields>,
}

/// One event's fields: its message's end in `bytes`, its text as ranges
/// of `text`, made only by [`EncodedEvents::push`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fields {
    message_end: usize,
    tenant_id: Range<usize>,
    trace_id: TraceId,
    ce_id: CeId,
    parent_ce_id: Option<CeId>,
    service: Range<usize>,
    kind: Kind,
    status: u16,
    start_unix_ns: u64,
    duration_ns: u64,
    operation: Option<Range<usize>>,
    peer: Option<Range<usize>>,
    environment: Option<Range<usize>>,
}

impl EncodedEvents {
    pub fn new() -> Self {
        Self::default()
    }

    /// Encodes owned events (as the bus records hold them), refusing one
    /// the model cannot read back (an all-zero id, say): a store must never
    /// keep what it cannot read.
    pub fn from_events(events: &[CausalEvent]) -> Result<Self, DecodeError> {
        let mut encoded = Self::new();
        let mut message = Vec::new();
        for event in events {
            message.clear();
            encode_causal_event(event, &mut message);
            encoded.push(&read_causal_event(&message)?);
        }
        Ok(encoded)
    }

    fn push_text(&mut self, text: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(text);
        start..self.text.len()
    }

    /// Appends an event read from a batch (checked as it was read).
    pub fn push(&mut self, encoded: &EncodedEvent<'_>) {
        let event = encoded.event();
        self.bytes.extend_from_slice(encoded.message());
        let fields = Fields {
            message_end: self.bytes.len(),
            tenant_id: self.push_text(event.tenant_id),
            trace_id: event.trace_id,
            ce_id: event.ce_id,
            parent_ce_id: event.parent_ce_id,
            service: self.push_text(event.service),
            kind: event.kind,
            status: event.status,
            start_unix_ns: event.start_unix_ns,
            duration_ns: event.duration_ns,
            operation: event.operation.map(|text| self.push_text(text)),
            peer: event.peer.map(|text| self.push_text(text)),
            environment: event.environment.map(|text| self.push_text(text)),
        };
        self.events.push(fields);
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The events with their messages, in the order pushed.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = EncodedEvent<'_>> {
        // The ranges were made by `push` from the text it appended, so each
        // lies within `text` on character boundaries; each message starts
        // where the one before it ends.
        let text = |range: &Range<usize>| &self.text[range.clone()];
        self.events.iter().enumerate().map(move |(at, fields)| {
            let start = at.checked_sub(1).map_or(0, |before| self.events[before].message_end);
            let event = EventRef {
                tenant_id: text(&fields.tenant_id),
                trace_id: fields.trace_id,
                ce_id: fields.ce_id,
                parent_ce_id: fields.parent_ce_id,
                service: text(&fields.service),
                kind: fields.kind,
                status: fields.status,
                start_unix_ns: fields.start_unix_ns,
                duration_ns: fields.duration_ns,
                operation: fields.operation.as_ref().map(text),
                peer: fields.peer.as_ref().map(text),
                environment: fields.environment.as_ref().map(text),
            };
            EncodedEvent::new(event, &self.bytes[start..fields.message_end])
        })
    }

    pub fn to_events(&self) -> Vec<CausalEvent> {
        self.iter().map(|encoded| encoded.event().to_owned_event()).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report

    use super::*;
    use crate::ce_batch::encode_ce_batch;
    use crate::ce_batch_view::read_ce_batch;

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
        assert_eq!(pushed, EncodedEvents::from_events(&events).unwrap());
        assert_eq!(pushed.len(), 3);
        assert_eq!(pushed.iter().len(), 3);
        assert_eq!(pushed.to_events(), events);
        let read = read_ce_batch(&bytes, u64::MAX).unwrap();
        assert!(pushed.iter().eq(read.iter().copied()), "fields and messages as read");
        assert!(EncodedEvents::new().to_events().is_empty());
    }

    #[test]
    fn an_owned_event_the_model_cannot_read_back_is_refused() {
        let mut bad = event(1, "orders");
        bad.trace_id = TraceId([0; 16]);
        let err = EncodedEvents::from_events(&[event(2, "orders"), bad]).expect_err("zero trace id");
        assert_eq!(err.field(), Some("trace_id"));
    }
}
