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
use crate::domain::{Report, ReportError, ReportInput, ScopeSelection, Slug, SlugError, Status};

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

/// What `/v1/projects/{*path}` names, by the path as sent: a path ending in `/keys` is a
/// project's read keys (GET, POST), one ending in `/keys/{uuid}` one key (DELETE), whatever the
/// method (the others are 405); any other path is a project. A project whose own slug ends so
/// is reached with a letter of `keys` percent-escaped (`…/%6Beys`): the router decodes it, the
/// path as sent does not end in `/keys` (docs/decisions.md, "Private projects").
pub enum ProjectPath {
    Project(Slug),
    /// The slug before `/keys`, or why it is none (said after the token is checked).
    Keys(Result<Slug, SlugError>),
    Key(Result<Slug, SlugError>, uuid::Uuid),
    /// Neither a slug nor a key route.
    Invalid(SlugError),
}

impl<S: Send + Sync> FromRequestParts<S> for ProjectPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(decoded) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::InvalidSlug(SlugError::NotUtf8))?;
        Ok(Self::parse(parts.uri.path(), &decoded))
    }
}

impl ProjectPath {
    /// `sent`: the request's path as sent; `decoded`: the wildcard, percent-decoded.
    fn parse(sent: &str, decoded: &str) -> Self {
        if sent.ends_with("/keys") {
            let slug = decoded.strip_suffix("/keys").unwrap_or_default();
            return Self::Keys(Slug::parse(slug));
        }
        if let Some((_, id)) = sent.rsplit_once("/keys/")
            && let Ok(id) = uuid::Uuid::try_parse(id)
        {
            let slug = decoded.rsplit_once("/keys/").map_or("", |(slug, _)| slug);
            return Self::Key(Slug::parse(slug), id);
        }
        match Slug::parse(decoded) {
            Ok(slug) => Self::Project(slug),
            Err(error) => Self::Invalid(error),
        }
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
    pub(super) fn parse(query: &str) -> Result<Self, ApiError> {
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
    use proptest::prelude::*;

    use super::*;

    fn named(sent: &str, decoded: &str) -> String {
        match ProjectPath::parse(&format!("/v1/projects/{sent}"), decoded) {
            ProjectPath::Project(slug) => format!("project {}", slug.key()),
            ProjectPath::Keys(Ok(slug)) => format!("keys of {}", slug.key()),
            ProjectPath::Keys(Err(_)) => "keys of no slug".to_owned(),
            ProjectPath::Key(Ok(slug), id) => format!("key {id} of {}", slug.key()),
            ProjectPath::Key(Err(_), id) => format!("key {id} of no slug"),
            ProjectPath::Invalid(_) => "invalid".to_owned(),
        }
    }

    #[test]
    fn key_routes_are_recognised_by_the_path_as_sent() {
        let id = "0b0e6b6c-4a4e-4c57-9d3e-6f1f2a3b4c5d";
        let key_path = format!("github.com/a/b/keys/{id}");
        let escaped_key_path = format!("github.com/a/b/%6Beys/{id}");
        let cases = [
            (
                "github.com/a/b",
                "github.com/a/b",
                "project github.com/a/b".to_owned(),
            ),
            (
                "github.com/A/b/keys",
                "github.com/A/b/keys",
                "keys of github.com/a/b".to_owned(),
            ),
            (
                "github.com/keys",
                "github.com/keys",
                "keys of no slug".to_owned(),
            ),
            ("0/keys", "0/keys", "keys of no slug".to_owned()),
            (&key_path, &key_path, format!("key {id} of github.com/a/b")),
            // An escaped letter: the project whose slug ends in `keys`.
            (
                "github.com/a/%6Beys",
                "github.com/a/keys",
                "project github.com/a/keys".to_owned(),
            ),
            (&escaped_key_path, &key_path, format!("project {key_path}")),
            (
                "github.com/a/b/keys/not-a-uuid",
                "github.com/a/b/keys/not-a-uuid",
                "project github.com/a/b/keys/not-a-uuid".to_owned(),
            ),
            ("nodot/x", "nodot/x", "invalid".to_owned()),
        ];
        for (sent, decoded, expected) in cases {
            assert_eq!(named(sent, decoded), expected, "{sent}");
        }
    }

    proptest! {
        #[test]
        fn any_path_is_named_without_panicking(raw in "[a-zA-Z0-9./_-]{0,80}(/keys(/[0-9a-f-]{0,40})?)?") {
            let _ = named(&raw, &raw);
        }
    }
}
