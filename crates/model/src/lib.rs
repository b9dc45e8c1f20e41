//! The causal event (CE) model shared by every causeway service: ids, kinds,
//! status semantics, alerts, validation with precise errors, and the wire
//! formats that produce validated CEs.

pub mod alert;
pub mod error;
pub mod event;
pub mod ids;
pub mod kind;
pub mod limits;
pub mod proto;
pub mod time_parse;
pub mod validate;

pub use alert::{Alert, AlertSource};
pub use error::{DecodeError, FieldError};
pub use event::CausalEvent;
pub use ids::{CeId, IdParseError, TraceId};
pub use kind::Kind;
