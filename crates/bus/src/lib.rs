//! The bus: keyed records on topics, consumed by groups with at-least-once
//! acknowledgement. Implementations are chosen by URL scheme
//! (`embedded://PATH`, `kafka://host:port[,host:port]?property=value&…`), and all of them pass the
//! one conformance suite in `conformance`.

mod api;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod embedded;
#[cfg(feature = "kafka")]
pub mod kafka;
mod open;
mod retry;

pub use api::*;
pub use embedded::{EmbeddedBus, EmbeddedBusOptions};
#[cfg(feature = "kafka")]
pub use kafka::KafkaBus;
pub use open::open_bus;
pub use retry::{Backoff, publish_with_retry};
