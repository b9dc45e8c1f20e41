//! Alerts from paging tools: the payloads of the PagerDuty, OpsGenie,
//! Alertmanager and Grafana webhooks and the Slack slash command, each
//! decoded to the one [`Alert`]. Pure: the gateway authenticates the
//! delivery (signature or token), finds the tenant and its service
//! mapping, mints the alert ids and passes the clock; docs/integrations.md
//! shows each provider's payload and setup.

pub mod alertmanager;
mod fields;
mod normalise;
pub mod opsgenie;
pub mod pagerduty;
pub mod slack;

use std::collections::BTreeMap;

use crate::alert::Alert;
use crate::error::DecodeError;

pub use normalise::{Draft, build_alert};

/// How a provider's service name becomes a causeway service name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceMapping {
    /// Provider service name → causeway service name.
    pub services: BTreeMap<String, String>,
    /// When true a provider service missing from `services` is refused
    /// (422 naming it) instead of being used as is.
    pub require_mapping: bool,
}

impl ServiceMapping {
    /// The causeway name of a provider's service; `None` when the mapping
    /// is required and the service is not in it.
    pub fn resolve(&self, provider_service: &str) -> Option<String> {
        match self.services.get(provider_service) {
            Some(mapped) => Some(mapped.clone()),
            None if self.require_mapping => None,
            None => Some(provider_service.to_owned()),
        }
    }
}

/// Why a delivery cannot become alerts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The provider named a service the tenant's integration does not map.
    #[error("unknown service {service:?}: {reason}")]
    UnknownService { service: String, reason: &'static str },
    /// The payload is not the provider's shape, or a field is wrong.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// What one delivery carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Nothing that starts an artifact (another event type, a resolved
    /// alert): acknowledged so the provider stops retrying.
    Ignored(String),
    /// The alerts to take, and how many entries of the delivery were skipped.
    Alerts { alerts: Vec<Alert>, ignored: usize },
}
