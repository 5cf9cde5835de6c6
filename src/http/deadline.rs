//! A deadline for each JSON API and page request (`DEPBADGE_REQUEST_TIMEOUT`): a slow query or a
//! body sent slowly ends in a 503 the client can retry, and a drain never waits on it for long.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use super::pages::message_page;

pub async fn api_request(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout { limit }.into_response(),
    }
}

pub async fn page_request(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                limit_ms = limit.as_millis() as u64,
                "page request timed out"
            );
            message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "This page took too long; try again in a moment.",
            )
        }
    }
}
