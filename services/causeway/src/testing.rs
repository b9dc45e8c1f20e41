//! Starting a whole `standalone` in-process, on port 0, for tests and the
//! demo's self-check: the same wiring as the binary.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use causeway_runtime::secret::Secret;
use causeway_runtime::secret_url::SecretUrl;
use causeway_runtime::tenants::TenantRegistry;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::CausewayConfig;
use crate::targets::{self, Bound, Target, Wiring};

/// A running standalone; [`Standalone::stop`] drains it like SIGTERM does.
pub struct Standalone {
    pub http: SocketAddr,
    pub grpc: SocketAddr,
    pub admin: SocketAddr,
    pub api_key: String,
    shutdown: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Standalone {
    /// Starts all three targets on `data_dir` (embedded bus and store) with
    /// a dev tenant keyed `api_key`. `tweak` adjusts the config (e.g. a
    /// shorter settle delay) before it is validated.
    pub async fn start(
        data_dir: &Path,
        api_key: &str,
        tweak: impl FnOnce(&mut CausewayConfig),
    ) -> anyhow::Result<Self> {
        let mut config = CausewayConfig {
            data_dir: data_dir.display().to_string(),
            http_addr: "127.0.0.1:0".to_owned(),
            grpc_addr: "127.0.0.1:0".to_owned(),
            admin_addr: "127.0.0.1:0".to_owned(),
            dev_api_key: Some(Secret::new(api_key)),
            ..CausewayConfig::default()
        };
        tweak(&mut config);
        let errors = causeway_runtime::config::Validate::validate(&config);
        anyhow::ensure!(errors.is_empty(), "invalid test config: {}", errors.join("; "));
        let tenants = Arc::new(TenantRegistry::new(
            &config.tenants,
            config.dev_api_key.as_ref().map(Secret::expose),
        )?);
        let bus_url = SecretUrl::new(format!("embedded://{}", data_dir.join("bus").display()));
        let store_url = SecretUrl::new(format!("embedded://{}", data_dir.join("store").display()));
        let all = BTreeSet::from([Target::Gateway, Target::Windower, Target::Assembler]);
        let wiring = Wiring {
            config,
            targets: all,
            bus_url,
            store_url,
            tenants,
        };
        let shutdown = CancellationToken::new();
        let (tx, rx) = oneshot::channel::<Bound>();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            targets::run(wiring, token, move |bound| {
                let _ = tx.send(bound.clone());
            })
            .await
        });
        let bound = match rx.await {
            Ok(bound) => bound,
            Err(_) => {
                // The wiring failed before binding: surface its error.
                return Err(task
                    .await
                    .context("standalone task")?
                    .err()
                    .unwrap_or_else(|| anyhow::anyhow!("standalone stopped before binding")));
            }
        };
        Ok(Self {
            http: bound.http.context("http address")?,
            grpc: bound.grpc.context("grpc address")?,
            admin: bound.admin,
            api_key: api_key.to_owned(),
            shutdown,
            task,
        })
    }

    pub fn http_url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// Graceful stop: drain and wait for every target.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        self.task.await.context("standalone task")?
    }
}
