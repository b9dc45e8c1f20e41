//! Blocking work (file reads, writes and fsyncs) called from async code.
//!
//! On the shared runtime it goes to tokio's blocking pool, so a worker is
//! never held by a disk. A loop that does nothing but such work (the
//! windower: read the bus, write the window, acknowledge) runs instead on a
//! thread of its own ([`run_on_own_thread`]), where the work runs in place:
//! handing every step to the pool and waking the loop back cost more than
//! the step itself (BENCHMARKS.md, "One thread for the windower").

use std::cell::Cell;
use std::future::Future;

thread_local! {
    /// Set on a thread started by [`run_on_own_thread`]: nothing else runs
    /// there, so blocking it blocks no one else.
    static OWN_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// The blocking task ended without a result (it panicked, or the runtime is
/// shutting down).
#[derive(Debug, thiserror::Error)]
#[error("blocking task failed: {0}")]
pub struct BlockingTaskFailed(String);

/// Runs `work` where blocking is allowed: in place on a thread of its own,
/// on the blocking pool otherwise.
pub async fn off_runtime<T, F>(work: F) -> Result<T, BlockingTaskFailed>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    if on_own_thread() {
        return Ok(work());
    }
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| BlockingTaskFailed(err.to_string()))
}

/// Whether this thread was started by [`run_on_own_thread`].
pub fn on_own_thread() -> bool {
    OWN_THREAD.with(Cell::get)
}

/// Runs the future `make` builds on a new thread named `name`, on a
/// single-threaded runtime of its own, and waits for its output. Tasks it
/// spawns run on that thread too; [`off_runtime`] there runs in place.
/// Like a spawned task, the work is dropped at its next await when the
/// caller stops waiting (its runtime shut down under it): a thread left
/// running would keep whatever it holds open (the bus, the store).
pub async fn run_on_own_thread<T, F, Fut>(name: &str, make: F) -> Result<T, BlockingTaskFailed>
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    let (mut done, output) = tokio::sync::oneshot::channel();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| BlockingTaskFailed(format!("building the {name} runtime: {err}")))?;
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            OWN_THREAD.with(|own| own.set(true));
            runtime.block_on(async move {
                let work = make();
                tokio::pin!(work);
                let output = tokio::select! {
                    output = &mut work => output,
                    () = done.closed() => return,
                };
                let _ = done.send(output);
            });
        })
        .map_err(|err| BlockingTaskFailed(format!("starting the {name} thread: {err}")))?;
    output
        .await
        .map_err(|_| BlockingTaskFailed(format!("the {name} thread ended without a result (it panicked)")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // tests: a panic is the failure report

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn work_runs_in_place_only_on_a_thread_of_its_own() {
        let here = std::thread::current().id();
        let pool = off_runtime(|| std::thread::current().id()).await.unwrap();
        assert_ne!(pool, here, "on the shared runtime, work goes to the blocking pool");
        assert!(!on_own_thread());

        let (loop_thread, work_thread, flagged) = run_on_own_thread("test-own", || async {
            let loop_thread = std::thread::current().id();
            let work_thread = off_runtime(|| std::thread::current().id()).await.unwrap();
            (loop_thread, work_thread, on_own_thread())
        })
        .await
        .unwrap();
        assert_eq!(loop_thread, work_thread, "on its own thread, work runs in place");
        assert_ne!(loop_thread, here);
        assert!(flagged);
    }

    #[tokio::test]
    async fn work_whose_caller_went_away_is_dropped_and_its_thread_ends() {
        let held = std::sync::Arc::new(());
        let in_work = std::sync::Arc::clone(&held);
        let waiting = run_on_own_thread("test-abandon", move || async move {
            let _held = in_work;
            std::future::pending::<()>().await;
        });
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(100), waiting)
                .await
                .is_err(),
            "the work never ends by itself"
        );
        // The caller stopped waiting: the work is dropped, with what it held.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::sync::Arc::strong_count(&held) > 1 {
            assert!(std::time::Instant::now() < deadline, "the abandoned work still runs");
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn a_panic_on_its_own_thread_is_an_error_not_a_hang() {
        let result: Result<(), _> = run_on_own_thread("test-panic", || async { panic!("planted") }).await;
        let err = result.unwrap_err().to_string();
        assert!(err.contains("test-panic thread ended"), "{err}");
    }
}
