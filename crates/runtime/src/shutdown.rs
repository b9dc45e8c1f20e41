//! Graceful shutdown: the first SIGTERM or Ctrl-C cancels the returned
//! token (targets mark not-ready, stop intake, flush, exit by a deadline);
//! a second signal exits at once.

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

/// Runs `drain` but gives up after `deadline`, saying so.
pub async fn with_deadline<F: std::future::Future<Output = ()>>(what: &str, deadline: Duration, drain: F) {
    if tokio::time::timeout(deadline, drain).await.is_err() {
        tracing::warn!(
            what,
            deadline_ms = deadline.as_millis() as u64,
            "drain deadline passed, aborting"
        );
    }
}
