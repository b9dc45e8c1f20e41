//! The stores: the pre-alert window of causal events, artifacts and their
//! share tokens, alert states, topology and usage. Implementations are chosen
//! by URL scheme (`embedded://PATH`, `memory://`, later `scylla://…`) and all
//! pass the one conformance suite.

mod api;

pub use api::*;
