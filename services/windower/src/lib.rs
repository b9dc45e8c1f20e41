//! The windower target: consumes the CE topic and keeps each tenant's
//! pre-alert window in the window store, with an expiry of pre-arm + grace.
//! Acknowledges a record only after the store acknowledged its write
//! (at-least-once; writes are idempotent by `ce_id`).

mod config;
mod metrics_names;
mod records;
mod run;

pub use config::WindowerConfig;
pub use metrics_names::describe_metrics;
pub use run::{WindowerDeps, run};
