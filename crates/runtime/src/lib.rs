//! Shared runtime for every target: layered config, tenants and API keys,
//! telemetry, the admin server (`/live`, `/ready`, `/metrics`) and shutdown.

pub mod admin;
pub mod auth;
pub mod backlog;
pub mod blocking;
pub mod clock;
pub mod config;
pub mod integrations;
pub mod secret;
pub mod secret_url;
pub mod shutdown;
pub mod supervise;
pub mod telemetry;
pub mod tenants;
pub mod webhook;
