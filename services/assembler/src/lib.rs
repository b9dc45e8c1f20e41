//! The assembler target: consumes alerts, waits the settle delay, reads the
//! pre-alert window, materializes the artifact with `causeway-assembly`,
//! stores and publishes it, and serves the read API and share links.

mod ack_order;
mod alert_record;
mod api;
mod clock;
mod config;
mod consume;
mod ghost_calls;
mod ids;
mod materialize;
mod metrics_names;
mod notify;
mod page;
mod retention;
mod select;
mod topology_rollup;
mod window_wait;

pub use api::{ReadApiState, http_router};
pub use config::AssemblerConfig;
pub use consume::{AssemblerDeps, run};
pub use materialize::{Materialized, materialize};
pub use metrics_names::describe_metrics;
pub use notify::{Notifier, notice_body};
pub use page::{GoneReason, ShareView, gone_page, share_page};
