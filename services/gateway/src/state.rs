//! What every route shares: the config and the dependencies passed in.

use std::sync::Arc;
use std::time::Duration;

use causeway_bus::{Bus, Topics};
use causeway_runtime::backlog::Backlog;
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::{ArtifactStore, TopologyStore};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::admission::{Admission, Ticket};
use crate::config::GatewayConfig;
use crate::error::IngestError;
use crate::usage_meter::UsageMeter;

/// The gateway's dependencies, built by the binary (or a test).
#[derive(Clone)]
pub struct GatewayDeps {
    pub bus: Arc<dyn Bus>,
    pub topics: Topics,
    pub tenants: Arc<TenantRegistry>,
    /// Monthly CE usage per tenant (metering and quota).
    pub topology: Arc<dyn TopologyStore>,
    /// Where alert intake writes the `pending` alert state and dedup claims.
    pub artifacts: Arc<dyn ArtifactStore>,
    /// What alert intake needs from the rest of the pipeline's config.
    pub alerts: AlertSettings,
    /// The backlog of a windower in this process: intake is refused while
    /// it is over `max_window_backlog_records`. `None` when the windower
    /// runs elsewhere (Kafka holds the backlog then).
    pub window_backlog: Option<Backlog>,
}

/// The window alert intake checks `fired_at` against, and where share links
/// point; the binary fills it from the windower's and assembler's sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSettings {
    /// The windower's pre-arm window; a tenant may override it.
    pub default_pre_arm_seconds: u64,
    /// The windower's grace after the window: events live pre-arm + grace.
    pub grace_seconds: u64,
    /// The assembler's `public_url` (share links in Slack replies).
    pub public_url: String,
}

impl Default for AlertSettings {
    fn default() -> Self {
        Self {
            default_pre_arm_seconds: 300,
            grace_seconds: 300,
            public_url: String::new(),
        }
    }
}

impl AlertSettings {
    /// The oldest `fired_at` a tenant's alert may have: older, its events
    /// have expired from the window and the artifact would be empty.
    pub fn max_age_ns(&self, tenants: &causeway_runtime::tenants::TenantRegistry, tenant_id: &str) -> u64 {
        tenants
            .pre_arm_seconds(tenant_id, self.default_pre_arm_seconds)
            .saturating_add(self.grace_seconds)
            .saturating_mul(1_000_000_000)
    }

    pub fn share_url(&self, token: &str) -> String {
        format!("{}/a/{token}", self.public_url.trim_end_matches('/'))
    }
}

/// Shared by every HTTP and gRPC handler; cheap to clone.
#[derive(Clone)]
pub struct GatewayState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub config: GatewayConfig,
    pub deps: GatewayDeps,
    pub health: HealthReporter,
    /// Outgoing webhook posts (Slack replies).
    pub http_client: reqwest::Client,
    /// The in-flight limits every HTTP and gRPC intake request is admitted under.
    pub admission: Arc<Admission>,
    /// Accepted counts not yet in the tenant's usage.
    pub usage: UsageMeter,
}

/// The gRPC service names the health service reports on.
const HEALTH_SERVICES: [&str; 3] = [
    "",
    "causeway.v1.IngestService",
    "opentelemetry.proto.collector.trace.v1.TraceService",
];

impl GatewayState {
    pub fn new(config: GatewayConfig, deps: GatewayDeps) -> Self {
        let admission = Admission::new(&config, deps.window_backlog.clone());
        Self {
            inner: Arc::new(Inner {
                deps,
                health: HealthReporter::new(),
                http_client: causeway_runtime::webhook::client(),
                admission,
                usage: UsageMeter::default(),
                config,
            }),
        }
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.inner.config
    }

    pub(crate) fn deps(&self) -> &GatewayDeps {
        &self.inner.deps
    }

    pub(crate) fn http_client(&self) -> &reqwest::Client {
        &self.inner.http_client
    }

    /// Admits one intake request under the gateway-wide in-flight limits.
    pub(crate) fn admit(&self) -> Result<Ticket, IngestError> {
        self.inner.admission.admit()
    }

    /// Refuses a batch of events while the windower in this process is too
    /// far behind (`max_window_backlog_records`); alerts do not ask.
    pub(crate) fn window_has_room(&self) -> Result<(), IngestError> {
        self.inner.admission.window_has_room()
    }

    /// Event records just published: they count into the window's backlog.
    pub(crate) fn published_events(&self, records: usize) {
        self.inner.admission.published(records);
    }

    pub(crate) fn usage(&self) -> &UsageMeter {
        &self.inner.usage
    }

    pub(crate) fn publish_timeout(&self) -> Duration {
        Duration::from_millis(self.inner.config.publish_timeout_ms)
    }

    /// What gRPC health (`grpc.health.v1.Health`) answers for the gateway's
    /// services: serving while intake is open, not serving while draining.
    pub async fn set_serving(&self, serving: bool) {
        let status = if serving {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        for service in HEALTH_SERVICES {
            self.inner.health.set_service_status(service, status).await;
        }
    }
}
