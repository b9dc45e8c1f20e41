//! The causal event (CE) model shared by every causeway service: ids, kinds,
//! status semantics, alerts, validation with precise errors, and the wire
//! formats that produce validated CEs.

pub mod alert;
pub mod ce_batch;
pub mod ce_batch_view;
pub mod encoded_events;
pub mod error;
pub mod event;
pub mod event_batch;
pub mod event_ref;
pub mod ids;
mod json_scan;
pub mod kind;
pub mod limits;
pub mod otlp;
pub mod proto;
mod proto_reader;
pub mod time_parse;
mod typed_json;

#[cfg(test)]
mod fast_pass_tests;
pub mod validate;
pub mod webhooks;
pub mod wire_v1;

pub use alert::{Alert, AlertSource};
pub use ce_batch::{decode_ce_batch, encode_ce_batch, events_from_ce_batch};
pub use encoded_events::EncodedEvents;
pub use error::{DecodeError, FieldError};
pub use event::CausalEvent;
pub use event_batch::EventBatch;
pub use event_ref::EventRef;
pub use ids::{CeId, IdParseError, TraceId};
pub use kind::Kind;
pub use otlp::{decode_otlp_json, decode_otlp_protobuf, decode_otlp_protobuf_events, events_from_otlp};
pub use wire_v1::{SdkBatch, SdkEnvelope, decode_sdk_batch, decode_sdk_events};
