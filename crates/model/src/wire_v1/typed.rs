//! The fast pass over an SDK batch: borrowed, typed structs read straight
//! from the body by `json_scan`, no JSON tree and no per-field path strings.
//!
//! Every known field is type-checked strictly (the precise decoder checks
//! some `detail` members only when it reads them), so whatever this pass
//! accepts the precise decoder accepts with the same result. Anything else,
//! including a mapping rule it would break, makes this pass give up and the
//! precise decoder name the field.

use super::event_map::{non_empty, refined_kind, status_of};
use super::{SCHEMA_VERSION, SdkEnvelope};
use crate::event_batch::{EventBatch, PackedEvent, Text};
use crate::ids::{CeId, TraceId};
use crate::json_scan::{self, Scan, Scanner, StrChecked, StrIfString, optional_members};
use crate::kind::Kind;
use crate::limits::{MAX_ENVELOPE_FIELD_LEN, MAX_ENVIRONMENT_LEN, MAX_EVENTS_PER_BATCH, MAX_SERVICE_LEN};
use crate::validate::check_text;

optional_members!(Batch {
    schema_version: &'a str,
    workspace_id: &'a str,
    service_id: &'a str,
    environment: &'a str,
    flushed_at: u64,
    capture_mode: &'a str,
    sdk_telemetry: Telemetry<'a>,
    events: MappedEvents,
});

optional_members!(Telemetry {
    sdk_version: &'a str,
    sdk_language: &'a str,
    dropped_ce_count: u64,
});

optional_members!(
    /// `sdk_version`, `event_class`, `captured_before_alert` and
    /// `ring_buffer_seq` are read only to be type-checked.
    #[allow(dead_code)]
    Event {
        ce_id: &'a str,
        trace_id: &'a str,
        parent_ce_id: &'a str,
        service_id: &'a str,
        kind: &'a str,
        event_type: &'a str,
        status: u64,
        wall_ts_ns: u64,
        duration_ns: u64,
        sdk_version: StrChecked,
        event_class: StrChecked,
        captured_before_alert: bool,
        ring_buffer_seq: u64,
        detail: Detail<'a>,
        event_attrs: EventAttrs<'a>,
    }
);

optional_members!(Detail {
    method: &'a str,
    route_template: &'a str,
    route_key: &'a str,
    downstream: Downstream<'a>,
});

optional_members!(Downstream {
    operation_name: &'a str,
    service: &'a str,
    edge_key: &'a str,
});

optional_members!(
    /// Free-form: only a string `operation` is used, any other value is not.
    EventAttrs { operation: StrIfString<'a> }
);

/// An envelope string within its limit, owned for the envelope.
fn envelope_text(field: Option<&str>, max: usize) -> Option<Option<String>> {
    match field {
        None => Some(None),
        Some(value) => check_text("", value, max, false).ok().map(|()| Some(value.to_owned())),
    }
}

fn envelope(batch: &Batch<'_>) -> Option<SdkEnvelope> {
    let schema_version = batch.schema_version?;
    if schema_version != SCHEMA_VERSION {
        return None;
    }
    let (sdk_version, sdk_language, dropped_ce_count) = match &batch.sdk_telemetry {
        Some(telemetry) => (
            envelope_text(telemetry.sdk_version, MAX_ENVELOPE_FIELD_LEN)?,
            envelope_text(telemetry.sdk_language, MAX_ENVELOPE_FIELD_LEN)?,
            telemetry.dropped_ce_count,
        ),
        None => (None, None, None),
    };
    Some(SdkEnvelope {
        schema_version: schema_version.to_owned(),
        workspace_id: envelope_text(batch.workspace_id, MAX_ENVELOPE_FIELD_LEN)?.unwrap_or_default(),
        service_id: envelope_text(batch.service_id, MAX_SERVICE_LEN)?.unwrap_or_default(),
        environment: envelope_text(batch.environment, MAX_ENVIRONMENT_LEN)?
            .filter(|environment| !environment.trim().is_empty()),
        flushed_at_unix_ns: batch.flushed_at,
        capture_mode: envelope_text(batch.capture_mode, MAX_ENVELOPE_FIELD_LEN)?,
        sdk_version,
        sdk_language,
        dropped_ce_count,
    })
}

/// The precise decoder's operation rule (see `event_map::operation_of`),
/// its text copied into `batch`.
fn operation_of(detail: Option<&Detail<'_>>, attrs: Option<&EventAttrs<'_>>, batch: &mut EventBatch) -> Option<Text> {
    if let Some(detail) = detail {
        let method = non_empty(detail.method);
        let route = non_empty(detail.route_template).or_else(|| non_empty(detail.route_key));
        match (method, route) {
            (Some(method), Some(route)) => return Some(batch.push_method_route(method, route)),
            (Some(only), None) | (None, Some(only)) => return Some(batch.push_text(only)),
            (None, None) => {}
        }
        if let Some(downstream) = &detail.downstream
            && let Some(name) = non_empty(downstream.operation_name)
        {
            return Some(batch.push_text(name));
        }
    }
    non_empty(attrs?.operation.as_ref()?.0).map(|operation| batch.push_text(operation))
}

/// The precise decoder's peer rule (see `event_map::peer_of`).
fn peer_of<'a>(detail: Option<&'a Detail<'_>>) -> Option<&'a str> {
    let downstream = detail?.downstream.as_ref()?;
    if let Some(service) = non_empty(downstream.service) {
        return Some(service);
    }
    non_empty(downstream.edge_key).filter(|edge| !matches!(*edge, "unknown" | "local"))
}

/// One event mapped into `batch` as soon as it is read, so no list of raw
/// events is kept. What the envelope contributes (tenant, default service,
/// environment) is filled in once the whole batch is read: the envelope's
/// members may follow `events`. An empty service stands for the
/// envelope's (a service of the event's own is never empty).
fn map_event(event: &Event<'_>, batch: &mut EventBatch) -> Option<()> {
    let ce_id: CeId = event.ce_id?.parse().ok()?;
    let trace_id: TraceId = event.trace_id?.parse().ok()?;
    let parent_ce_id = match non_empty(event.parent_ce_id) {
        Some(parent) => Some(parent.parse::<CeId>().ok()?),
        None => None,
    };
    let base_kind: Kind = event.kind?.parse().ok()?;
    let event_type = event.event_type;
    let kind = event_type.and_then(refined_kind).unwrap_or(base_kind);
    let status = status_of(event.status?, event_type)?;
    let duration_ns = event.duration_ns?;
    let start_unix_ns = event.wall_ts_ns?.checked_sub(duration_ns)?;
    let detail = event.detail.as_ref();
    let service = non_empty(event.service_id).map_or_else(Text::default, |service| batch.push_text(service));
    let operation = operation_of(detail, event.event_attrs.as_ref(), batch);
    let peer = peer_of(detail).map(|peer| batch.push_text(peer));
    batch.push(PackedEvent {
        trace_id,
        ce_id,
        parent_ce_id,
        service,
        kind,
        status,
        start_unix_ns,
        duration_ns,
        operation,
        peer,
        environment: None,
    });
    Some(())
}

/// The `events` array, each event mapped as it is read; an event the fast
/// pass cannot map fails the pass (the precise decoder names the field).
#[derive(Default)]
pub(crate) struct MappedEvents(EventBatch);

impl Scan<'_> for MappedEvents {
    fn scan(scanner: &mut Scanner<'_>) -> Option<Self> {
        // Sized once for the events the rest of the body can hold (each
        // takes well over 100 bytes) and for their text (well under a
        // quarter of each), rather than grown, copying everything each time.
        let remaining = scanner.remaining();
        let mut events = EventBatch::with_capacity((remaining / 128).min(MAX_EVENTS_PER_BATCH), remaining / 4);
        scanner.array(|scanner| {
            if events.len() == MAX_EVENTS_PER_BATCH {
                return None;
            }
            map_event(&Event::scan(scanner)?, &mut events)
        })?;
        Some(MappedEvents(events))
    }
}

/// The batch's envelope and events, not yet validated; `None` when the
/// precise decoder must run (anything unusual, and every error).
pub(crate) fn decode(body: &[u8], tenant_id: &str) -> Option<(SdkEnvelope, EventBatch)> {
    let batch = json_scan::from_body::<Batch<'_>>(body)?;
    let envelope = envelope(&batch)?;
    let MappedEvents(mut events) = batch.events?;
    events.set_tenant(tenant_id);
    // The envelope's texts are copied once, whatever the number of events.
    let service = events.push_text(&envelope.service_id);
    let environment = envelope
        .environment
        .as_deref()
        .map(|environment| events.push_text(environment));
    for event in events.events_mut() {
        if event.service.is_empty() {
            event.service = service;
        }
        event.environment = environment;
    }
    Some((envelope, events))
}
