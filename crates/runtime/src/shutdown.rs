//! Graceful shutdown: the first SIGTERM or Ctrl-C cancels the returned
//! token (targets mark not-ready, stop intake, flush, exit by a deadline);
//! a second signal exits at once. The [`hard_deadline`] watchdog ends the
//! process when the drain overruns, whatever its threads are blocked on.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Cancels the token on the first signal; exits the process on the second.
pub fn on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let first = token.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested, draining (send the signal again to exit at once)");
        first.cancel();
        wait_for_signal().await;
        tracing::warn!("second signal, exiting now");
        std::process::exit(130);
    });
    token
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM; Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Exit code when the hard deadline ended the process.
pub const EXIT_DEADLINE: i32 = 3;

/// Starts a watchdog thread that exits the process with [`EXIT_DEADLINE`]
/// once `after` has passed, unless the process ended first. An OS thread,
/// not a task: it must fire while the async runtime is stuck (a client's
/// blocking close, a `Drop` waiting on a broker that is gone).
pub fn hard_deadline(after: Duration) {
    let spawned = std::thread::Builder::new()
        .name("causeway-shutdown-watchdog".into())
        .spawn(move || {
            std::thread::sleep(after);
            tracing::error!(
                after_ms = after.as_millis() as u64,
                "shutdown overran its deadline and grace, exiting now"
            );
            eprintln!(
                "causeway: shutdown overran its deadline and grace ({}s), exiting now",
                after.as_secs()
            );
            std::process::exit(EXIT_DEADLINE);
        });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "cannot start the shutdown watchdog");
    }
}
