//! One access event per request (docs/contract.md §8): method, route template, status, latency and request id;
//! and the request's HTTP metrics, under the same labels.
//! The request id is taken from `X-Request-Id` when it is sane, else generated, and echoed back.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::ops::metrics::Metrics;

pub const REQUEST_ID: &str = "x-request-id";
const MAX_REQUEST_ID_LEN: usize = 128;

pub async fn log_request(State(metrics): State<Metrics>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        // Only visible ASCII, bounded: a client must not be able to forge log lines.
        .filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_REQUEST_ID_LEN
                && id.bytes().all(|b| b.is_ascii_graphic())
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    // The method as sent only when it is a known one: a client may send any token of any length.
    let method = Metrics::method_label(request.method().as_str());
    // The route template, never the raw path: slugs would make logs and metrics unbounded.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());

    let mut response = next.run(request).await;

    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    metrics.record_request(method, &route, status, seconds);
    let latency_ms = seconds * 1000.0;
    tracing::info!(
        target: "depbadge::access",
        method,
        route,
        status,
        latency_ms,
        request_id,
        "request"
    );
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}
