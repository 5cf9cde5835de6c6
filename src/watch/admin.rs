//! The watcher's admin listener (`DEPBADGE_METRICS_ADDR`): `/healthz`, `/readyz`, `/metrics`.

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::get;
use serde_json::json;

use super::WatchState;
use crate::ops::metrics::Metrics;

pub async fn serve(listener: tokio::net::TcpListener, metrics: Metrics, state: WatchState) {
    let router = Router::new()
        .route("/healthz", get(|| async { axum::Json(json!({ "status": "ok" })) }))
        .route(
            "/readyz",
            get(move || {
                let ready = state.ready();
                async move {
                    if ready {
                        (StatusCode::OK, axum::Json(json!({ "status": "ready" })))
                    } else {
                        (
                            StatusCode::SERVICE_UNAVAILABLE,
                            axum::Json(json!({ "status": "not ready", "reason": "database not reached yet" })),
                        )
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let body = metrics.render_without_pool();
                async move {
                    (
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                        body,
                    )
                }
            }),
        );
    if let Err(error) = axum::serve(listener, router).await {
        tracing::error!(%error, "watch: the admin listener stopped");
    }
}
