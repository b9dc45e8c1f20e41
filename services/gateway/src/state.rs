//! What every route shares: the config and the dependencies passed in.

use std::sync::Arc;
use std::time::Duration;

use causeway_bus::{Bus, Topics};
use causeway_runtime::tenants::TenantRegistry;
use causeway_store::{ArtifactStore, TopologyStore};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::config::GatewayConfig;

/// The gateway's dependencies, built by the binary (or a test).
#[derive(Clone)]
pub struct GatewayDeps {
    pub bus: Arc<dyn Bus>,
    pub topics: Topics,
    pub tenants: Arc<TenantRegistry>,
    /// Monthly CE usage per tenant (metering and quota).
    pub topology: Arc<dyn TopologyStore>,
    /// Where alert intake writes the `pending` alert state.
    pub artifacts: Arc<dyn ArtifactStore>,
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
}

/// The gRPC service names the health service reports on.
const HEALTH_SERVICES: [&str; 3] = [
    "",
    "causeway.v1.IngestService",
    "opentelemetry.proto.collector.trace.v1.TraceService",
];

impl GatewayState {
    pub fn new(config: GatewayConfig, deps: GatewayDeps) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                deps,
                health: HealthReporter::new(),
            }),
        }
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.inner.config
    }

    pub(crate) fn deps(&self) -> &GatewayDeps {
        &self.inner.deps
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
