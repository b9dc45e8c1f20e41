//! The admin port: `/live` (never probes dependencies), `/ready` (started,
//! not draining, and every dependency check passes) and `/metrics`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::RwLock;
use tokio_util::sync::CancellationToken;

use crate::supervise::Tasks;

type CheckFuture = Pin<Box<dyn Future<Output = bool> + Send>>;
type Check = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

/// Readiness of one process: shared by the targets it runs.
#[derive(Clone, Default)]
pub struct Readiness {
    started: Arc<AtomicBool>,
    draining: Arc<AtomicBool>,
    checks: Arc<RwLock<Vec<(String, Check)>>>,
    tasks: Arc<std::sync::OnceLock<Tasks>>,
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    /// Called once every target of the process is serving.
    pub fn mark_started(&self) {
        self.started.store(true, Ordering::SeqCst);
    }

    /// Called first on shutdown, so load balancers stop sending traffic.
    pub fn mark_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Adds a dependency probe (bus reachable, store reachable).
    pub async fn add_check<F, Fut>(&self, name: &str, check: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        let check: Check = Arc::new(move || Box::pin(check()));
        self.checks.write().await.push((name.to_owned(), check));
    }

    /// Supervised background tasks: one that is down (waiting to restart)
    /// makes the process not ready, named `task <name>`.
    pub fn watch_tasks(&self, tasks: Tasks) {
        let _ = self.tasks.set(tasks);
    }

    /// Whether the process is ready, and the names of what is not.
    pub async fn status(&self) -> (bool, Vec<String>) {
        let mut failing = Vec::new();
        if !self.started.load(Ordering::SeqCst) {
            failing.push("starting".to_owned());
        }
        if self.draining.load(Ordering::SeqCst) {
            failing.push("draining".to_owned());
        }
        // Concurrently: each probe is bounded (about 2 s), and `/ready`
        // must answer within the orchestrator's probe timeout.
        let mut running = tokio::task::JoinSet::new();
        for (index, (name, check)) in self.checks.read().await.iter().enumerate() {
            let (name, probe) = (name.clone(), check());
            running.spawn(async move { (index, name, probe.await) });
        }
        let mut failed_checks = Vec::new();
        while let Some(joined) = running.join_next().await {
            match joined {
                Ok((index, name, false)) => failed_checks.push((index, name)),
                Ok((_, _, true)) => {}
                Err(err) => failed_checks.push((usize::MAX, format!("check failed: {err}"))),
            }
        }
        failed_checks.sort();
        failing.extend(failed_checks.into_iter().map(|(_, name)| name));
        if let Some(tasks) = self.tasks.get() {
            failing.extend(tasks.down().into_iter().map(|task| format!("task {task}")));
        }
        (failing.is_empty(), failing)
    }
}

#[derive(Clone)]
struct AdminState {
    readiness: Readiness,
    metrics: PrometheusHandle,
}

pub fn admin_router(readiness: Readiness, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route("/live", get(|| async { "live\n" }))
        .route("/ready", get(ready))
        .route("/metrics", get(render_metrics))
        .with_state(AdminState { readiness, metrics })
}

async fn ready(State(state): State<AdminState>) -> (StatusCode, String) {
    match state.readiness.status().await {
        (true, _) => (StatusCode::OK, "ready\n".to_owned()),
        (false, failing) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", failing.join(", ")),
        ),
    }
}

async fn render_metrics(State(state): State<AdminState>) -> String {
    state.metrics.run_upkeep();
    state.metrics.render()
}

/// Serves the admin router until `shutdown`; it stays up while the targets
/// drain so `/ready` can say so.
pub async fn serve_admin(listener: TcpListener, router: Router, shutdown: CancellationToken) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
