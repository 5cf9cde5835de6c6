//! The one place where failures become HTTP responses: `{"error": {"code", "message", "field"}}`.
//! Server-side failures are logged here, once, and clients never see their internal text.

use std::sync::Arc;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use crate::domain::{ReportError, SlugError};

pub type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid slug: {0}")]
    InvalidSlug(#[from] SlugError),
    #[error("malformed JSON: {message}")]
    MalformedJson {
        message: String,
        field: Option<String>,
    },
    #[error("invalid parameter {field}: {message}")]
    InvalidParameter {
        field: &'static str,
        message: String,
    },
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("the token does not cover this slug")]
    Forbidden,
    #[error("the project has as many read keys as it may")]
    TooManyKeys { limit: usize },
    #[error("not found")]
    NotFound {
        what: String,
        /// False when the database did not say so to this request (the filter of known slugs,
        /// or a "no report" kept from an earlier read): the answer is `no-cache`.
        settled: bool,
    },
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A method the path's route does not have, said by a handler (the router says its own):
    /// `allow` lists the ones it has.
    #[error("method not allowed")]
    NotThisMethod { allow: &'static str },
    #[error("report is older than the stored one")]
    OutOfOrder { stored_analyzed_at: DateTime<Utc> },
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("unsupported content encoding")]
    UnsupportedEncoding,
    #[error("malformed body: {message}")]
    MalformedBody { message: String },
    #[error("invalid content at {field}: {message}")]
    InvalidContent { field: String, message: String },
    #[error(transparent)]
    InvalidReport(#[from] ReportError),
    #[error("database unavailable")]
    DatabaseUnavailable(#[source] Arc<sqlx::Error>),
    #[error("request took longer than {limit:?}")]
    Timeout { limit: std::time::Duration },
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        Self::from(Arc::new(error))
    }
}

/// A database error shared by the requests that waited for one read.
impl From<Arc<sqlx::Error>> for ApiError {
    fn from(error: Arc<sqlx::Error>) -> Self {
        if crate::db::is_unavailable(&error) {
            Self::DatabaseUnavailable(error)
        } else {
            Self::Internal(Box::new(error))
        }
    }
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String, Option<String>) {
        match self {
            Self::InvalidSlug(e) => (
                StatusCode::BAD_REQUEST,
                "invalid_slug",
                e.to_string(),
                Some("slug".to_owned()),
            ),
            Self::MalformedJson { message, field } => (
                StatusCode::BAD_REQUEST,
                "malformed_json",
                message.clone(),
                field.clone(),
            ),
            Self::InvalidParameter { field, message } => (
                StatusCode::BAD_REQUEST,
                "invalid_parameter",
                message.clone(),
                Some((*field).to_owned()),
            ),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send a valid API token as `Authorization: Bearer TOKEN`".to_owned(),
                None,
            ),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "this token's patterns do not cover this slug".to_owned(),
                None,
            ),
            Self::TooManyKeys { limit } => (
                StatusCode::CONFLICT,
                "too_many_keys",
                format!(
                    "a project may have at most {limit} read keys; revoke one \
                     (DELETE /v1/projects/{{slug}}/keys/{{id}}) before creating another"
                ),
                Some("keys".to_owned()),
            ),
            Self::NotFound { what, .. } => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
                None,
            ),
            Self::MethodNotAllowed | Self::NotThisMethod { .. } => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not accept that method".to_owned(),
                None,
            ),
            Self::OutOfOrder { stored_analyzed_at } => (
                StatusCode::CONFLICT,
                "out_of_order",
                format!(
                    "the stored report was analyzed at {}, after this one; nothing was changed",
                    stored_analyzed_at.to_rfc3339_opts(SecondsFormat::Secs, true)
                ),
                Some("analyzed_at".to_owned()),
            ),
            Self::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body is larger than {limit} bytes"),
                None,
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the report as `Content-Type: application/json` (depbadge's format) or \
                 `application/vnd.cyclonedx+json` (a CycloneDX BOM), or say `?format=`"
                    .to_owned(),
                None,
            ),
            Self::UnsupportedEncoding => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_encoding",
                "send the body uncompressed or with `Content-Encoding: gzip`".to_owned(),
                None,
            ),
            Self::MalformedBody { message } => (
                StatusCode::BAD_REQUEST,
                "malformed_body",
                message.clone(),
                None,
            ),
            Self::InvalidContent { field, message } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                message.clone(),
                Some(field.clone()),
            ),
            Self::InvalidReport(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                e.code,
                e.message.clone(),
                Some(e.field.clone()),
            ),
            Self::DatabaseUnavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                "the database is unavailable; retry later".to_owned(),
                None,
            ),
            Self::Timeout { limit } => (
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!(
                    "the request took longer than {}; retry later",
                    humantime::format_duration(*limit)
                ),
                None,
            ),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error".to_owned(),
                None,
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(source) => tracing::error!(error = %source, "request failed"),
            Self::DatabaseUnavailable(source) => {
                tracing::warn!(error = %source, "database unavailable")
            }
            Self::Timeout { limit } => {
                tracing::warn!(limit_ms = limit.as_millis() as u64, "request timed out")
            }
            _ => {}
        }
        let (status, code, message, field) = self.parts();
        let mut error = json!({ "code": code, "message": message });
        if let Some(field) = field {
            error["field"] = json!(field);
        }
        let mut response = (status, Json(json!({ "error": error }))).into_response();
        match self {
            Self::Unauthorized => {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Self::NotThisMethod { allow } => {
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            Self::NotFound { settled: false, .. } => {
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            }
            Self::DatabaseUnavailable(_) | Self::Timeout { .. } => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            }
            _ => {}
        }
        response
    }
}
