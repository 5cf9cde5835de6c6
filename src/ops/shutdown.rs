//! Graceful shutdown (docs/contract.md §5): on SIGTERM or Ctrl-C, fail readiness at once, keep serving for
//! the shutdown delay so that the router stops sending traffic, then let in-flight requests drain.

use std::future::Future;
use std::time::Duration;

use super::readiness::Readiness;

/// Completes when the server should stop accepting connections. The signal handlers are
/// installed by this call, not when the future is first polled: a SIGTERM that arrives while the
/// server starts must start a graceful shutdown, not end the process (the default action).
pub fn signal(readiness: Readiness, delay: Duration) -> impl Future<Output = ()> {
    let signals = Signals::install();
    async move {
        signals.recv().await;
        readiness.begin_shutdown();
        tracing::info!(
            delay_ms = delay.as_millis() as u64,
            "shutdown signal received; readiness now fails, draining after the delay"
        );
        tokio::time::sleep(delay).await;
        tracing::info!("no longer accepting connections; finishing in-flight requests");
    }
}

/// Completes on SIGTERM or SIGINT, for a process that serves no traffic (the watcher): it
/// stops at once, and its lock goes to a standby.
pub fn terminated() -> impl Future<Output = ()> {
    let signals = Signals::install();
    async move {
        signals.recv().await;
        tracing::info!("shutdown signal received");
    }
}

/// SIGTERM (the kubelet) and SIGINT (Ctrl-C), listened for from the moment they are installed.
struct Signals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                terminate: signal(SignalKind::terminate()).ok(),
                interrupt: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn recv(mut self) {
        #[cfg(unix)]
        {
            let next = |signal: Option<tokio::signal::unix::Signal>| async move {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = next(self.terminate.take()) => {},
                () = next(self.interrupt.take()) => {},
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
