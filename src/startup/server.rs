//! The public listener's accept loop, with the limits a reverse proxy would set (docs/contract.md
//! §5): a deadline for each request's headers (which also closes idle keep-alive connections), a
//! cap on connections served at once, and a deadline for draining after the shutdown delay.
//! `axum::serve` sets none of these: a client that sends half a request held its connection, and
//! SIGTERM waited for it, forever.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::ops::metrics::Metrics;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub drain_timeout: Duration,
}

/// What a connection past the cap gets before it is closed: a complete answer, so that a router
/// or client retries later instead of guessing.
const AT_CAPACITY_BODY: &str =
    r#"{"error":{"code":"too_many_connections","message":"too many connections; retry later"}}"#;
const AT_CAPACITY_ANSWER: Duration = Duration::from_secs(1);
/// After an accept error (out of file descriptors, typically), wait before the next accept.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `router` on `listener` until `shutdown` completes, then lets the connections finish
/// for at most the drain timeout.
pub async fn serve(
    listener: TcpListener,
    router: crate::http::PublicService,
    limits: Limits,
    metrics: Metrics,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // HTTP/1.1, as before with axum::serve: the router in front speaks it to the pods.
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let service = TowerToHyperService::new(router);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics.record_connection_refused();
            tokio::spawn(refuse(stream));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = builder.serve_connection(TokioIo::new(stream), service.clone());
        let connection = graceful.watch(connection);
        let open = metrics.open_connection();
        tokio::spawn(async move {
            // A connection error (a client gone, a header timeout) concerns that client only.
            let _ = connection.await;
            drop(open);
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.drain_timeout) => {
            tracing::warn!(
                drain_timeout_ms = limits.drain_timeout.as_millis() as u64,
                open = limits.max_connections - slots.available_permits(),
                "drain timeout: closing the connections still open"
            );
        }
    }
    Ok(())
}

/// Answers 503 and closes. The request's head is read first (for at most a second and 8 KiB),
/// since an HTTP client treats an answer that arrives before its request as a broken connection.
async fn refuse(mut stream: TcpStream) -> Result<(), Infallible> {
    let _ = tokio::time::timeout(AT_CAPACITY_ANSWER, async {
        let mut head = Vec::with_capacity(1024);
        let mut chunk = [0_u8; 1024];
        while head.len() < 8 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await? {
                0 => break,
                n => head.extend_from_slice(&chunk[..n]),
            }
        }
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
             retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{AT_CAPACITY_BODY}",
            AT_CAPACITY_BODY.len()
        );
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
    Ok(())
}
