//! Request extractors whose rejections are [`ApiError`]s: the bearer token, the slug in the path,
//! query parameters and the JSON report body.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::config::Token;
use chrono::{DateTime, Utc};

use crate::domain::report::cyclonedx::{Bom, BomReport};
use crate::domain::{Report, ReportError, ReportInput, ScopeSelection, Slug, Status};

/// The API token that authorized this request: its name (for logs, never the token) and the
/// slugs it covers.
#[derive(Debug, Clone)]
pub struct Writer(pub Token);

impl Writer {
    /// Refuses a slug outside the token's patterns: `403`, whether or not the project exists.
    pub fn may_write(&self, slug: &Slug) -> Result<(), ApiError> {
        if self.0.coverage.covers(slug.key()) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }

    pub fn name(&self) -> &str {
        &self.0.name
    }
}

impl FromRequestParts<AppState> for Writer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        bearer_token(parts, state)?.ok_or(ApiError::Unauthorized)
    }
}

/// A read's optional token: absent, the reader is anyone; present, it must be valid (a wrong
/// one is `401`, as on writes), and its patterns say which private projects it reads.
pub struct Reader(pub Option<Writer>);

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        bearer_token(parts, state).map(Reader)
    }
}

/// The request's bearer token: `None` without an `Authorization` header, `401` when it is not a
/// configured token.
fn bearer_token(parts: &Parts, state: &AppState) -> Result<Option<Writer>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let presented = value
        .to_str()
        .ok()
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or(ApiError::Unauthorized)?;
    state
        .api_tokens
        .verify(presented)
        .map(|token| Some(Writer(token.clone())))
        .ok_or(ApiError::Unauthorized)
}

/// The `{*slug}` path segment, parsed into a [`Slug`].
pub struct SlugPath(pub Slug);

impl<S: Send + Sync> FromRequestParts<S> for SlugPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::InvalidSlug(crate::domain::SlugError::NotUtf8))?;
        Ok(Self(Slug::parse(&raw)?))
    }
}

/// What `/v1/projects/{*path}` names: a project, its read keys (`…/keys`, for GET and POST), or
/// one of them (`…/keys/{id}`, for DELETE). A slug may itself end in `keys`: for those methods
/// the key routes win (docs/decisions.md, "Private projects").
pub enum ProjectPath {
    Project(Slug),
    Keys(Slug),
    Key(Slug, uuid::Uuid),
}

impl<S: Send + Sync> FromRequestParts<S> for ProjectPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::InvalidSlug(crate::domain::SlugError::NotUtf8))?;
        Ok(Self::parse(&parts.method, &raw)?)
    }
}

impl ProjectPath {
    fn parse(method: &axum::http::Method, raw: &str) -> Result<Self, crate::domain::SlugError> {
        use axum::http::Method;
        if matches!(*method, Method::GET | Method::POST)
            && let Some(slug) = raw.strip_suffix("/keys")
            && let Ok(slug) = Slug::parse(slug)
        {
            return Ok(Self::Keys(slug));
        }
        if *method == Method::DELETE
            && let Some((slug, id)) = raw.rsplit_once("/keys/")
            && let Ok(id) = uuid::Uuid::try_parse(id)
            && let Ok(slug) = Slug::parse(slug)
        {
            return Ok(Self::Key(slug, id));
        }
        Slug::parse(raw).map(Self::Project)
    }
}

/// Query parameters as name/value pairs; each route validates the ones it knows and names the
/// parameter in its error. Unknown parameters are ignored, as caches and trackers add their own.
pub struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::parse(parts.uri.query().unwrap_or(""))
    }
}

impl QueryParams {
    fn parse(query: &str) -> Result<Self, ApiError> {
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .map(Self)
            .map_err(|e| ApiError::InvalidParameter {
                field: "query",
                message: e.to_string(),
            })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    pub fn scope(&self) -> Result<ScopeSelection, ApiError> {
        self.get("scope")
            .map_or(Ok(ScopeSelection::default()), |value| {
                ScopeSelection::parse(value).ok_or_else(|| ApiError::InvalidParameter {
                    field: "scope",
                    message: format!("`{value}` is not one of runtime, dev, all"),
                })
            })
    }

    pub fn status(&self) -> Result<Option<Status>, ApiError> {
        self.get("status")
            .map(|value| {
                Status::parse(value).ok_or_else(|| ApiError::InvalidParameter {
                    field: "status",
                    message: format!(
                        "`{value}` is not one of up-to-date, out-of-date, vulnerable, none, unknown"
                    ),
                })
            })
            .transpose()
    }
}

/// The body of a report PUT (docs/contract.md §2.0): depbadge's JSON (`application/json`) or a
/// CycloneDX BOM (`application/vnd.cyclonedx+json`), or as `?format=depbadge|cyclonedx` says;
/// gzip-compressed or not. At most `DEPBADGE_MAX_REPORT_BYTES` once decompressed (else 413),
/// valid JSON (else 400) of the expected shape (else 422 naming the field).
pub enum ReportBody {
    Native(ReportInput),
    CycloneDx(BomReport),
}

impl ReportBody {
    /// The validated report; errors name the field as the client wrote it.
    pub fn into_report(self, received_at: DateTime<Utc>) -> Result<Report, ReportError> {
        match self {
            Self::Native(input) => Report::from_input(input, received_at),
            Self::CycloneDx(bom) => bom.into_report(received_at),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Native,
    CycloneDx,
}

impl FromRequest<AppState> for ReportBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let format = format_of(&request)?;
        let gzip = match request
            .headers()
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap_or("").trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("" | "identity") => false,
            Some("gzip" | "x-gzip") => true,
            Some(_) => return Err(ApiError::UnsupportedEncoding),
        };
        let limit = state.max_report_bytes;
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        let bytes = axum::body::to_bytes(Body::new(request.into_body()), limit)
            .await
            .map_err(|_| ApiError::PayloadTooLarge { limit })?;
        let bytes = if gzip {
            gunzip(&bytes, limit)?
        } else {
            bytes.to_vec()
        };
        match format {
            Format::Native => parse_json::<ReportInput>(&bytes).map(Self::Native),
            Format::CycloneDx => parse_json::<Bom>(&bytes)?
                .into_report()
                .map(Self::CycloneDx)
                .map_err(ApiError::InvalidReport),
        }
    }
}

/// Decompresses at most `limit` bytes: a bomb (a gigabyte of zeros in a megabyte) is refused
/// after reading `limit + 1` of them.
fn gunzip(compressed: &[u8], limit: usize) -> Result<Vec<u8>, ApiError> {
    use std::io::Read;
    let mut decompressed = Vec::new();
    flate2::read::MultiGzDecoder::new(compressed)
        .take(limit as u64 + 1)
        .read_to_end(&mut decompressed)
        .map_err(|e| ApiError::MalformedBody {
            message: format!("the body is not valid gzip: {e}"),
        })?;
    if decompressed.len() > limit {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    Ok(decompressed)
}

/// By Content-Type; `?format=` for clients that cannot set one (it does not override a
/// CycloneDX Content-Type, which a client only sends on purpose).
fn format_of(request: &Request) -> Result<Format, ApiError> {
    let essence = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if essence.as_deref() == Some("application/vnd.cyclonedx+json") {
        return Ok(Format::CycloneDx);
    }
    // A malformed query is refused by the handler's own `QueryParams`.
    let query = QueryParams::parse(request.uri().query().unwrap_or("")).ok();
    if let Some(value) = query.as_ref().and_then(|query| query.get("format")) {
        return match value {
            "depbadge" => Ok(Format::Native),
            "cyclonedx" => Ok(Format::CycloneDx),
            _ => Err(ApiError::InvalidParameter {
                field: "format",
                message: format!("`{value}` is not one of depbadge, cyclonedx"),
            }),
        };
    }
    match essence.as_deref() {
        Some(essence)
            if essence == "application/json"
                || (essence.starts_with("application/") && essence.ends_with("+json")) =>
        {
            Ok(Format::Native)
        }
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

/// Deserializes a report, naming the offending field: a syntax error is 400, a value of the
/// wrong shape 422.
fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let input: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let parent = (path != ".").then_some(path);
        // serde reports a missing field at its parent; name the field itself.
        let message = inner.to_string();
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = match (missing, parent) {
            (Some(name), Some(parent)) => Some(format!("{parent}.{name}")),
            (Some(name), None) => Some(name.to_owned()),
            (None, field) => field,
        };
        match inner.classify() {
            serde_json::error::Category::Data => ApiError::InvalidContent {
                field: field.unwrap_or_else(|| "body".to_owned()),
                message,
            },
            _ => ApiError::MalformedJson { message, field },
        }
    })?;
    // Going through serde_path_to_error skips this check: anything after the document is an error.
    deserializer.end().map_err(|e| ApiError::MalformedJson {
        message: e.to_string(),
        field: None,
    })?;
    Ok(input)
}

#[cfg(test)]
mod tests {
    use axum::http::Method;
    use proptest::prelude::*;

    use super::*;

    fn named(method: Method, raw: &str) -> String {
        match ProjectPath::parse(&method, raw) {
            Ok(ProjectPath::Project(slug)) => format!("project {}", slug.key()),
            Ok(ProjectPath::Keys(slug)) => format!("keys of {}", slug.key()),
            Ok(ProjectPath::Key(slug, id)) => format!("key {id} of {}", slug.key()),
            Err(_) => "invalid".to_owned(),
        }
    }

    #[test]
    fn key_routes_are_recognised_only_for_their_methods_and_shapes() {
        let id = "0b0e6b6c-4a4e-4c57-9d3e-6f1f2a3b4c5d";
        let cases = [
            (Method::GET, "github.com/a/b", "project github.com/a/b"),
            (Method::GET, "github.com/a/b/keys", "keys of github.com/a/b"),
            (
                Method::POST,
                "github.com/A/b/keys",
                "keys of github.com/a/b",
            ),
            // PUT and DELETE of `…/keys` are the project's whose last segment is `keys`.
            (
                Method::PUT,
                "github.com/a/keys",
                "project github.com/a/keys",
            ),
            (
                Method::DELETE,
                "github.com/a/keys",
                "project github.com/a/keys",
            ),
            (
                Method::DELETE,
                &format!("github.com/a/b/keys/{id}"),
                &format!("key {id} of github.com/a/b"),
            ),
            (
                Method::DELETE,
                "github.com/a/b/keys/not-a-uuid",
                "project github.com/a/b/keys/not-a-uuid",
            ),
            (
                Method::GET,
                &format!("github.com/a/b/keys/{id}"),
                &format!("project github.com/a/b/keys/{id}"),
            ),
            // `github.com/keys`: what comes before `/keys` is no slug, so it is a slug itself.
            (Method::GET, "github.com/keys", "project github.com/keys"),
            (Method::GET, "nodot/keys", "invalid"),
            (Method::POST, "github.com/a/b", "project github.com/a/b"),
        ];
        for (method, raw, expected) in cases {
            assert_eq!(named(method.clone(), raw), expected, "{method} {raw}");
        }
    }

    proptest! {
        #[test]
        fn any_path_is_named_without_panicking(raw in "[a-zA-Z0-9./_-]{0,80}(/keys(/[0-9a-f-]{0,40})?)?") {
            for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
                let _ = named(method, &raw);
            }
        }
    }
}
