//! A request's decoded events, packed: the fixed fields of each event in
//! one list and all their text in one buffer, so decoding a batch of N
//! events makes a few allocations rather than four or five per event (a
//! tenant, a service, an operation, a peer, an environment each). The
//! gateway reads them as [`EventRef`]s; nothing on its path needs an owned
//! [`CausalEvent`].

use std::ops::Range;

use crate::event::CausalEvent;
use crate::event_ref::EventRef;
use crate::ids::{CeId, TraceId};
use crate::kind::Kind;

/// Where one text lies in the batch's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Text {
    start: usize,
    end: usize,
}

impl Text {
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }

    fn range(self) -> Range<usize> {
        self.start..self.end
    }
}

/// One event's fixed fields, its texts as places in the batch's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedEvent {
    pub trace_id: TraceId,
    pub ce_id: CeId,
    pub parent_ce_id: Option<CeId>,
    pub service: Text,
    pub kind: Kind,
    pub status: u16,
    pub start_unix_ns: u64,
    pub duration_ns: u64,
    pub operation: Option<Text>,
    pub peer: Option<Text>,
    pub environment: Option<Text>,
}

/// Decoded events of one tenant, packed (see the module comment).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventBatch {
    tenant_id: String,
    text: String,
    events: Vec<PackedEvent>,
}

impl EventBatch {
    /// Room for `events` events and `text_bytes` bytes of their text.
    pub fn with_capacity(events: usize, text_bytes: usize) -> Self {
        Self {
            tenant_id: String::new(),
            text: String::with_capacity(text_bytes),
            events: Vec::with_capacity(events),
        }
    }

    /// The events of `events`, every one of them given `tenant_id`.
    pub fn from_events(tenant_id: &str, events: &[CausalEvent]) -> Self {
        let text_bytes = events.iter().map(text_len).sum();
        let mut batch = Self::with_capacity(events.len(), text_bytes);
        batch.set_tenant(tenant_id);
        for event in events {
            let packed = PackedEvent {
                trace_id: event.trace_id,
                ce_id: event.ce_id,
                parent_ce_id: event.parent_ce_id,
                service: batch.push_text(&event.service),
                kind: event.kind,
                status: event.status,
                start_unix_ns: event.start_unix_ns,
                duration_ns: event.duration_ns,
                operation: event.operation.as_deref().map(|text| batch.push_text(text)),
                peer: event.peer.as_deref().map(|text| batch.push_text(text)),
                environment: event.environment.as_deref().map(|text| batch.push_text(text)),
            };
            batch.push(packed);
        }
        batch
    }

    pub fn set_tenant(&mut self, tenant_id: &str) {
        tenant_id.clone_into(&mut self.tenant_id);
    }

    /// Copies `text` into the buffer.
    pub fn push_text(&mut self, text: &str) -> Text {
        self.push_joined(&[text])
    }

    /// Copies `METHOD route` into the buffer: the text
    /// `event::method_route` makes, for an HTTP step's operation.
    pub fn push_method_route(&mut self, method: &str, route: &str) -> Text {
        self.push_joined(&[method, " ", route])
    }

    /// Copies `parts`, one after the other, into the buffer as one text.
    fn push_joined(&mut self, parts: &[&str]) -> Text {
        let start = self.text.len();
        for part in parts {
            self.text.push_str(part);
        }
        Text {
            start,
            end: self.text.len(),
        }
    }

    pub fn push(&mut self, event: PackedEvent) {
        self.events.push(event);
    }

    /// Mutable access to the packed events, for a decoder filling in what
    /// it learns only after reading them (an envelope's defaults).
    pub fn events_mut(&mut self) -> &mut [PackedEvent] {
        &mut self.events
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    fn text(&self, text: Text) -> &str {
        // Every `Text` was made by `push_joined`, so it is in bounds and on
        // character boundaries; an empty text stands in should one not be.
        self.text.get(text.range()).unwrap_or_default()
    }

    fn event_ref(&self, event: &PackedEvent) -> EventRef<'_> {
        EventRef {
            tenant_id: &self.tenant_id,
            trace_id: event.trace_id,
            ce_id: event.ce_id,
            parent_ce_id: event.parent_ce_id,
            service: self.text(event.service),
            kind: event.kind,
            status: event.status,
            start_unix_ns: event.start_unix_ns,
            duration_ns: event.duration_ns,
            operation: event.operation.map(|text| self.text(text)),
            peer: event.peer.map(|text| self.text(text)),
            environment: event.environment.map(|text| self.text(text)),
        }
    }

    /// The events in order, borrowed.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = EventRef<'_>> {
        self.events.iter().map(|event| self.event_ref(event))
    }

    /// The events as owned events, for callers that keep them.
    pub fn to_events(&self) -> Vec<CausalEvent> {
        self.iter().map(|event| event.to_owned_event()).collect()
    }
}

fn text_len(event: &CausalEvent) -> usize {
    [&event.operation, &event.peer, &event.environment]
        .into_iter()
        .flatten()
        .map(String::len)
        .sum::<usize>()
        + event.service.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ce_batch::tests::event;

    #[test]
    fn packed_events_read_back_as_they_went_in() {
        let events: Vec<CausalEvent> = (0..40).map(event).collect();
        let batch = EventBatch::from_events("acme", &events);
        assert_eq!(batch.len(), 40);
        assert_eq!(batch.to_events(), events);
        assert!(batch.iter().all(|event| event.tenant_id == "acme"));
        assert!(EventBatch::from_events("acme", &[]).is_empty());
    }

    #[test]
    fn the_batch_tenant_replaces_each_events_own() {
        let batch = EventBatch::from_events("other", &[event(1)]);
        assert_eq!(batch.iter().next().map(|event| event.tenant_id), Some("other"));
        assert_eq!(batch.tenant_id(), "other");
    }

    #[test]
    fn joined_parts_read_as_one_text() {
        let mut batch = EventBatch::with_capacity(1, 0);
        let first = batch.push_text("orders");
        let joined = batch.push_method_route("GET", "/o/{id}");
        let mut packed = PackedEvent {
            trace_id: TraceId([1; 16]),
            ce_id: CeId([2; 16]),
            parent_ce_id: None,
            service: first,
            kind: Kind::HttpIn,
            status: 200,
            start_unix_ns: 1,
            duration_ns: 2,
            operation: Some(joined),
            peer: None,
            environment: None,
        };
        batch.push(packed);
        packed.service = joined;
        batch.push(packed);
        let read: Vec<_> = batch.iter().map(|event| (event.service, event.operation)).collect();
        assert_eq!(
            read,
            [("orders", Some("GET /o/{id}")), ("GET /o/{id}", Some("GET /o/{id}"))]
        );
    }
}
