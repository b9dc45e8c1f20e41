//! Supervised background tasks: expiry, retention and roll-up loops, and
//! the embedded bus writer thread. A task that panics or returns before
//! shutdown is logged and counted (`causeway_runtime_task_failures_total`,
//! by `task`), marked down in [`Tasks`] (so `/ready` names it) and restarted
//! after a backoff that doubles up to [`MAX_BACKOFF`] while it keeps failing.

use std::any::Any;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Failures of background tasks, by `task`.
pub const TASK_FAILURES: &str = "causeway_runtime_task_failures_total";

/// Every supervised task: the `task` label takes only these values.
pub const TASK_NAMES: [&str; 4] = ["bus_writer", "window_expiry", "artifact_expiry", "topology_rollup"];

/// The first wait before a restart; it doubles on each failure in a row.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A task that ran this long since its last restart starts over at
/// [`FIRST_BACKOFF`] when it fails again.
const STABLE_AFTER: Duration = Duration::from_secs(300);

/// Describes the metric and exports every task's series from zero.
pub fn describe_metrics() {
    metrics::describe_counter!(
        TASK_FAILURES,
        "background tasks that panicked or stopped unexpectedly, by task"
    );
    for task in TASK_NAMES {
        metrics::counter!(TASK_FAILURES, "task" => task).absolute(0);
    }
}

/// The log line and the counter of one task failure.
pub fn record_task_failure(task: &'static str, error: &str) {
    debug_assert!(TASK_NAMES.contains(&task), "unlisted task {task}");
    tracing::error!(task, error = %error, "background task failed");
    metrics::counter!(TASK_FAILURES, "task" => task).increment(1);
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "panic with a non-text payload".to_owned()
    }
}

/// Which supervised tasks of a process are down (waiting to restart), with
/// why. Shared with the admin server's `/ready`.
#[derive(Clone, Default)]
pub struct Tasks {
    down: Arc<Mutex<BTreeMap<&'static str, String>>>,
}

impl Tasks {
    pub fn new() -> Self {
        Self::default()
    }

    /// The names of the tasks down now, in order.
    pub fn down(&self) -> Vec<&'static str> {
        self.down
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect()
    }

    fn set_down(&self, task: &'static str, error: &str) {
        self.down
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(task, error.to_owned());
    }

    fn set_up(&self, task: &'static str) {
        self.down.lock().unwrap_or_else(PoisonError::into_inner).remove(task);
    }

    /// Runs `factory()` as task `name` until `shutdown`, restarting it with
    /// [`FIRST_BACKOFF`] doubling to [`MAX_BACKOFF`] when it panics or returns
    /// while `shutdown` is not cancelled. The task itself watches `shutdown`
    /// and returns; the handle ends once it did.
    pub fn supervise<F, Fut>(&self, name: &'static str, shutdown: CancellationToken, factory: F) -> JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.supervise_with(name, shutdown, FIRST_BACKOFF, factory)
    }

    /// [`Tasks::supervise`] with another first backoff (tests).
    pub fn supervise_with<F, Fut>(
        &self,
        name: &'static str,
        shutdown: CancellationToken,
        first_backoff: Duration,
        mut factory: F,
    ) -> JoinHandle<()>
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let tasks = self.clone();
        tokio::spawn(async move {
            let mut backoff = first_backoff;
            loop {
                let started = tokio::time::Instant::now();
                // Aborting the supervisor aborts the task too.
                let mut running = AbortOnDrop(tokio::spawn(factory()));
                let outcome = (&mut running.0).await;
                if shutdown.is_cancelled() {
                    return;
                }
                let error = match outcome {
                    Ok(()) => "returned before shutdown".to_owned(),
                    Err(err) if err.is_panic() => format!("panicked: {}", panic_message(&*err.into_panic())),
                    Err(err) => format!("ended: {err}"),
                };
                if started.elapsed() >= STABLE_AFTER {
                    backoff = first_backoff;
                }
                record_task_failure(name, &error);
                tasks.set_down(name, &error);
                tracing::info!(
                    task = name,
                    backoff_ms = backoff.as_millis() as u64,
                    "restarting background task after backoff"
                );
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                tasks.set_up(name);
            }
        })
    }
}

/// A task handle that aborts its task when dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn a_panicking_task_is_down_during_its_backoff_then_restarted() {
        let metrics = crate::telemetry::metrics_handle();
        let tasks = Tasks::new();
        let readiness = crate::admin::Readiness::new();
        readiness.mark_started();
        readiness.watch_tasks(tasks.clone());
        let shutdown = CancellationToken::new();
        let runs = Arc::new(AtomicU32::new(0));
        let handle = {
            let (runs, shutdown) = (Arc::clone(&runs), shutdown.clone());
            tasks.supervise_with(
                "window_expiry",
                shutdown.clone(),
                Duration::from_millis(300),
                move || {
                    let (runs, shutdown) = (Arc::clone(&runs), shutdown.clone());
                    async move {
                        if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                            panic!("first run fails");
                        }
                        shutdown.cancelled().await;
                    }
                },
            )
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while tasks.down().is_empty() {
            assert!(tokio::time::Instant::now() < deadline, "the panic was not noticed");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(tasks.down(), vec!["window_expiry"]);
        assert_eq!(
            readiness.status().await,
            (false, vec!["task window_expiry".to_owned()]),
            "/ready names the task while it waits to restart"
        );
        while runs.load(Ordering::SeqCst) < 2 {
            assert!(tokio::time::Instant::now() < deadline, "the task was not restarted");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(tasks.down().is_empty(), "up again once restarted");
        assert_eq!(readiness.status().await, (true, vec![]));
        shutdown.cancel();
        handle.await.expect("supervisor");
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "a task that returns on shutdown is not restarted"
        );
        let rendered = metrics.render();
        assert!(
            rendered.contains("causeway_runtime_task_failures_total{task=\"window_expiry\"} 1"),
            "{rendered}"
        );
    }

    #[tokio::test]
    async fn a_task_returning_early_counts_as_a_failure() {
        let tasks = Tasks::new();
        let shutdown = CancellationToken::new();
        let runs = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&runs);
        let handle = tasks.supervise_with(
            "topology_rollup",
            shutdown.clone(),
            Duration::from_millis(20),
            move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async {}
            },
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while runs.load(Ordering::SeqCst) < 3 {
            assert!(tokio::time::Instant::now() < deadline, "not restarted");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        shutdown.cancel();
        handle.await.expect("supervisor");
    }

    #[test]
    fn panic_messages_are_read_from_either_payload() {
        assert_eq!(panic_message(&"text"), "text");
        assert_eq!(panic_message(&String::from("owned")), "owned");
        assert_eq!(panic_message(&42u8), "panic with a non-text payload");
    }
}
