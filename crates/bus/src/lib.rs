//! The bus: keyed records on topics, consumed by groups with at-least-once
//! acknowledgement. Implementations are chosen by URL scheme
//! (`embedded://PATH`, later `kafka://host:port`), and all of them pass the
//! one conformance suite in `conformance`.

mod api;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod embedded;
mod open;

pub use api::*;
pub use embedded::{EmbeddedBus, EmbeddedBusOptions};
pub use open::open_bus;
