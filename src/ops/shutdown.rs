//! Graceful shutdown (docs/contract.md §5): on SIGTERM or Ctrl-C, fail readiness at once, keep serving for
//! the shutdown delay so that the router stops sending traffic, then let in-flight requests drain.

use std::time::Duration;

use super::readiness::Readiness;

/// Completes when the server should stop accepting connections.
pub async fn signal(readiness: Readiness, delay: Duration) {
    wait_for_signal().await;
    readiness.begin_shutdown();
    tracing::info!(
        delay_ms = delay.as_millis() as u64,
        "shutdown signal received; readiness now fails, draining after the delay"
    );
    tokio::time::sleep(delay).await;
    tracing::info!("no longer accepting connections; finishing in-flight requests");
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
