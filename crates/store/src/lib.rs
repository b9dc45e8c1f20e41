//! The stores: the pre-alert window of causal events, artifacts and their
//! share tokens, alert states, topology and usage. Implementations are chosen
//! by URL scheme (`embedded://PATH`, `scylla://host1,host2/keyspace?…`) and all pass the one
//! conformance suite.

mod api;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod embedded;
mod open;
pub mod scylla;
mod topology_sum;

pub use self::scylla::ScyllaStore;
pub use api::*;
pub use embedded::EmbeddedStore;
pub use open::{Stores, open_stores};
