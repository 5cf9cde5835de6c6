//! Badge routes (docs/contract.md §3): every answer is 200 (or 304) with an image, whatever went wrong,
//! because image proxies such as GitHub's camo show nothing for other statuses.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::AppState;
use super::extract::QueryParams;
use super::finished_badge::{FinishedBadge, FinishedSlot};
use super::reads::{Source, StatusRead, scope_status};
use crate::badge::render::etag_of;
use crate::badge::status::{COMPACT_LABEL, DEFAULT_LABEL, last_modified};
use crate::badge::{BadgeSpec, Face, Style, color, static_badge, text};
use crate::domain::{Credentials, ScopeSelection, ScopeStatus, Slug, Status, is_stale, stale_at};

/// How long proxies may keep badges that may change soon: unknown projects, invalid URLs, and
/// last-known badges served while the database is down.
const SHORT_MAX_AGE: u64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Svg,
    Json,
}

/// The query options of contract §3.1. An invalid style, scope or compact flag makes the badge
/// `invalid`; an invalid color falls back to the default.
#[derive(Default)]
struct Options {
    style: Style,
    label: Option<String>,
    compact: bool,
    scope: ScopeSelection,
    color: Option<String>,
    label_color: Option<String>,
}

impl Options {
    fn parse(query: &QueryParams) -> Result<Self, ()> {
        let style = query
            .get("style")
            .map_or(Ok(Style::default()), |s| Style::parse(s).ok_or(()))?;
        let compact = compact_flag(query.get("compact")).ok_or(())?;
        let scope = query
            .get("scope")
            .map_or(Ok(ScopeSelection::default()), |s| {
                ScopeSelection::parse(s).ok_or(())
            })?;
        let valid_color = |name: &str| {
            query
                .get(name)
                .filter(|c| color::is_valid(c))
                .map(str::to_owned)
        };
        Ok(Self {
            style,
            label: query.get("label").map(str::to_owned),
            compact,
            scope,
            color: valid_color("color"),
            label_color: valid_color("labelColor"),
        })
    }

    /// Cleaned here, not only when rendered, so that cache keys stay small and labels that
    /// render alike share one cached SVG.
    fn label(&self) -> String {
        self.label.as_deref().map(text::clean).unwrap_or_else(|| {
            if self.compact {
                COMPACT_LABEL
            } else {
                DEFAULT_LABEL
            }
            .to_owned()
        })
    }

    fn spec(&self, face: &Face) -> BadgeSpec {
        BadgeSpec {
            label: self.label(),
            message: face.message.clone(),
            color: Some(self.color.clone().unwrap_or_else(|| face.color.to_owned())),
            label_color: self.label_color.clone(),
            style: self.style,
        }
    }
}

/// `?compact=`: absent, `false` or `0` is off; `true`, `1` or empty is on; anything else is
/// not a flag (the badge is `invalid`, the builder shows it off).
pub(super) fn compact_flag(value: Option<&str>) -> Option<bool> {
    match value {
        None | Some("false" | "0") => Some(false),
        Some("true" | "1" | "") => Some(true),
        Some(_) => None,
    }
}

/// How long proxies and browsers may keep a badge.
enum CachePolicy {
    /// `DEPBADGE_BADGE_MAX_AGE`: a badge that reflects a stored report.
    Badge,
    /// [`SHORT_MAX_AGE`]: a badge that may change soon.
    Short,
    NoCache,
}

struct Answer {
    spec: BadgeSpec,
    last_modified: Option<DateTime<Utc>>,
    cache: CachePolicy,
    /// A private project's badge, read with its key: for this reader only.
    private: bool,
    is_error: bool,
    /// See [`FinishedBadge::valid_until`].
    valid_until: Option<Instant>,
}

/// What both badge routes read from a request. Extraction never fails: a bad path or query
/// becomes an `invalid` badge, never an error response.
pub struct BadgeRequest {
    /// The wildcard path, percent-decoded; empty when it could not be decoded.
    path: String,
    /// `None` when the query string could not be parsed or an option is invalid.
    options: Option<Options>,
    conditions: Conditions,
    /// No query string, or only a read key (`?key=…`): the requests most clients send, whose
    /// answers are kept finished (a private project's for the readers with one of its keys).
    plain: bool,
    /// `?key=`: a private project's read key.
    key: Option<String>,
}

/// The request's validators, for a 304.
pub(super) struct Conditions {
    if_none_match: Option<String>,
    if_modified_since: Option<DateTime<Utc>>,
}

impl Conditions {
    pub(super) fn from_headers(headers: &HeaderMap) -> Self {
        let text = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        Self {
            if_none_match: text(header::IF_NONE_MATCH).map(str::to_owned),
            if_modified_since: text(header::IF_MODIFIED_SINCE)
                .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
                .map(|at| at.with_timezone(&Utc)),
        }
    }

    /// RFC 9110: `If-None-Match` decides when present (weak comparison); else `If-Modified-Since`.
    fn not_modified(&self, etag: &str, last_modified: Option<DateTime<Utc>>) -> bool {
        if let Some(candidates) = &self.if_none_match {
            return candidates
                .split(',')
                .map(|c| c.trim().trim_start_matches("W/"))
                .any(|c| c == "*" || c == etag);
        }
        match (self.if_modified_since, last_modified) {
            // HTTP dates have whole seconds.
            (Some(since), Some(modified)) => modified.timestamp() <= since.timestamp(),
            _ => false,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for BadgeRequest {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let path = Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(p)| p)
            .unwrap_or_default();
        let plain = parts.uri.query().is_none_or(is_only_a_key);
        let query = QueryParams::from_request_parts(parts, state).await.ok();
        let options = query.as_ref().and_then(|query| Options::parse(query).ok());
        let key = query
            .as_ref()
            .and_then(|query| query.get("key"))
            .map(str::to_owned);
        Ok(Self {
            path,
            options,
            conditions: Conditions::from_headers(&parts.headers),
            plain,
            key,
        })
    }
}

/// Whether a query string is one `key` parameter, as a private badge's URL has it: such a
/// request's answer is kept, and given before the router to the next one with a key that reads
/// it (see [`super::finished`]).
pub(super) fn is_only_a_key(query: &str) -> bool {
    query
        .strip_prefix("key=")
        .is_some_and(|key| !key.contains(['&', '%', '+', ';']))
}

/// `GET /badges/{slug}.svg` and `GET /badges/{slug}.json`.
pub async fn project(State(state): State<AppState>, request: BadgeRequest) -> Response {
    let path = request.path.as_str();
    let (slug, format) = match path.strip_suffix(".json") {
        Some(slug) => (slug, Format::Json),
        None => (path.strip_suffix(".svg").unwrap_or(""), Format::Svg),
    };
    let credentials = Credentials {
        key: request.key.as_deref(),
        token: None,
    };
    let (answer, slot) = match (Slug::parse(slug), request.options) {
        (Ok(slug), Some(options)) => status_answer(&state, &slug, options, credentials).await,
        (_, options) => (invalid(options.unwrap_or_default()), None),
    };
    let finished = finish(&state, format, answer);
    let response = response(&finished, &request.conditions);
    // The default SVG of a fresh status: the next request for it is answered before the router
    // (a private one's only to a request with one of its keys).
    if let (Some(slot), true, Format::Svg) = (slot, request.plain, format) {
        slot.keep(Arc::new(finished));
    }
    response
}

/// `GET /badge/{label}-{message}-{color}.svg`: shields.io's static badge.
pub async fn fixed(State(state): State<AppState>, uri: Uri, request: BadgeRequest) -> Response {
    let parsed = request
        .path
        .strip_suffix(".svg")
        .and_then(static_badge::parse);
    let answer = match (parsed, request.options) {
        (Some(mut spec), Some(options)) => {
            spec.style = options.style;
            if options.label.is_some() {
                spec.label = options.label();
            }
            if options.color.is_some() {
                spec.color = options.color;
            }
            spec.label_color = options.label_color;
            Answer {
                spec,
                last_modified: None,
                cache: CachePolicy::Badge,
                private: false,
                is_error: false,
                valid_until: None,
            }
        }
        (_, options) => invalid(options.unwrap_or_default()),
    };
    let finished = finish(&state, Format::Svg, answer);
    let response = response(&finished, &request.conditions);
    // A static badge never changes: the next request for this path is answered before the router.
    if request.plain {
        state.static_answers.keep(uri.path(), Arc::new(finished));
    }
    response
}

fn invalid(options: Options) -> Answer {
    Answer {
        spec: options.spec(&Face::invalid()),
        last_modified: None,
        cache: CachePolicy::Short,
        private: false,
        is_error: true,
        valid_until: None,
    }
}

/// The badge for the project's status, and where to keep it finished when the status came fresh
/// from the cache (never for a private project).
async fn status_answer(
    state: &AppState,
    slug: &Slug,
    options: Options,
    credentials: Credentials<'_>,
) -> (Answer, Option<FinishedSlot>) {
    let Ok(read) = scope_status(state, slug, options.scope, credentials).await else {
        let answer = Answer {
            spec: options.spec(&Face::unavailable()),
            last_modified: None,
            cache: CachePolicy::NoCache,
            private: false,
            is_error: true,
            valid_until: None,
        };
        return (answer, None);
    };
    let StatusRead {
        status,
        source,
        private,
    } = read;
    let served_stale = matches!(source, Source::LastKnown);
    // "No report" is settled only when the database said so to this request: the filter's
    // answer, or one kept from an earlier read, may be a moment old (another replica's write
    // not heard yet).
    let settled = matches!(source, Source::Database);
    let slot = match source {
        Source::Cache(slot) => Some(slot),
        Source::Database | Source::NotKnown | Source::LastKnown => None,
    };
    let Some(status) = status else {
        let answer = Answer {
            spec: options.spec(&Face::no_report()),
            last_modified: None,
            // A first push through another replica must show at once, not in a minute.
            cache: if settled {
                CachePolicy::Short
            } else {
                CachePolicy::NoCache
            },
            private: false,
            is_error: false,
            valid_until: None,
        };
        return (answer, slot);
    };
    let now = Utc::now();
    let stale = is_stale(status.analyzed_at, now, state.stale_after);
    let cache = if served_stale || status.summary.status == Status::Unknown {
        CachePolicy::Short
    } else {
        CachePolicy::Badge
    };
    let answer = Answer {
        spec: options.spec(&Face::of(&status.summary, stale)),
        last_modified: Some(last_modified(
            status.updated_at,
            status.analyzed_at,
            state.stale_after,
            now,
        )),
        cache,
        private,
        is_error: false,
        valid_until: turns_stale_at(&status, state.stale_after, now),
    };
    (answer, slot)
}

/// When a badge drawn `now` stops showing its status: when the report turns stale (grey, with a
/// later Last-Modified). `None`: never, while the status lasts (stale already, or no limit; a
/// time too far to count is never too).
fn turns_stale_at(
    status: &ScopeStatus,
    stale_after: Option<Duration>,
    now: DateTime<Utc>,
) -> Option<Instant> {
    let remaining = (stale_at(status.analyzed_at, stale_after)? - now)
        .to_std()
        .ok()?;
    Instant::now().checked_add(remaining)
}

/// The response for `answer`, before the request's validators are applied.
fn finish(state: &AppState, format: Format, answer: Answer) -> FinishedBadge {
    let Answer {
        spec,
        last_modified,
        cache,
        private,
        is_error,
        valid_until,
    } = answer;
    let (body, etag, content_type) = match format {
        Format::Svg => {
            let rendered = state.renders.rendered(spec);
            (
                rendered.svg.clone(),
                rendered.etag.clone(),
                "image/svg+xml;charset=utf-8",
            )
        }
        Format::Json => {
            let body = endpoint_json(&spec, is_error);
            let etag = etag_of(&body);
            (Bytes::from(body), etag, "application/json")
        }
    };
    let cache_control = match (cache, private) {
        (CachePolicy::Badge, false) => state.badge_cache_control.clone(),
        (CachePolicy::Badge, true) => private_max_age_header(state.badge_max_age),
        (CachePolicy::Short, false) => max_age_header(SHORT_MAX_AGE),
        (CachePolicy::Short, true) => private_max_age_header(SHORT_MAX_AGE),
        (CachePolicy::NoCache, _) => HeaderValue::from_static("no-cache"),
    };
    FinishedBadge {
        body,
        content_type: HeaderValue::from_static(content_type),
        // Hex digits in quotes: always a valid header value.
        etag: HeaderValue::try_from(etag).unwrap_or_else(|_| HeaderValue::from_static("\"\"")),
        cache_control,
        last_modified: last_modified.and_then(|at| {
            let header = HeaderValue::try_from(httpdate::fmt_http_date(at.into())).ok()?;
            Some((at, header))
        }),
        valid_until,
        private,
    }
}

/// The response to send: `finished`, or a 304 when the request's validators match it.
pub(super) fn response(finished: &FinishedBadge, conditions: &Conditions) -> Response {
    let not_modified = conditions.not_modified(
        finished.etag.to_str().unwrap_or_default(),
        finished.last_modified.as_ref().map(|(at, _)| *at),
    );
    let mut response = if not_modified {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response
    } else {
        Response::new(Body::from(finished.body.clone()))
    };
    // Built in place: a `(StatusCode, HeaderMap, body)` response merges a second map into it.
    let headers = response.headers_mut();
    headers.reserve(9);
    if !not_modified {
        headers.insert(header::CONTENT_TYPE, finished.content_type.clone());
    }
    headers.insert(header::ETAG, finished.etag.clone());
    headers.insert(header::CACHE_CONTROL, finished.cache_control.clone());
    if let Some((_, modified)) = &finished.last_modified {
        headers.insert(header::LAST_MODIFIED, modified.clone());
    }
    for (name, value) in BADGE_HEADERS {
        headers.insert(name, value);
    }
    if finished.private {
        // The URL carries the key: a link followed from the badge must not send it on.
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    response
}

/// Headers on every badge response, whatever it shows: usable from any origin, never sniffed
/// or scripted.
const BADGE_HEADERS: [(header::HeaderName, HeaderValue); 4] = [
    (
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    ),
    (
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    ),
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
];

/// `Cache-Control` for a private badge: the reader's browser may keep it, shared caches not.
pub fn private_max_age_header(seconds: u64) -> HeaderValue {
    HeaderValue::try_from(format!("private, max-age={seconds}"))
        .unwrap_or_else(|_| HeaderValue::from_static("no-cache"))
}

/// `Cache-Control` for a badge proxies and browsers may keep for `seconds`.
pub fn max_age_header(seconds: u64) -> HeaderValue {
    HeaderValue::try_from(format!("max-age={seconds}, s-maxage={seconds}"))
        .unwrap_or_else(|_| HeaderValue::from_static("no-cache"))
}

/// The shields.io endpoint schema, so that `img.shields.io/endpoint?url=...` can use this badge.
fn endpoint_json(spec: &BadgeSpec, is_error: bool) -> String {
    let mut body = json!({
        "schemaVersion": 1,
        "label": crate::badge::text::clean(&spec.label),
        "message": crate::badge::text::clean(&spec.message),
        "color": spec.color.clone().unwrap_or_else(|| "lightgrey".to_owned()),
    });
    if let Some(label_color) = &spec.label_color {
        body["labelColor"] = json!(label_color);
    }
    if spec.style != Style::default() {
        body["style"] = json!(spec.style.as_str());
    }
    if is_error {
        body["isError"] = json!(true);
    }
    body.to_string()
}

#[cfg(test)]
mod tests {
    use crate::domain::{Counts, Summary};

    use super::*;

    #[test]
    fn a_badge_stops_showing_its_status_when_the_report_turns_stale() {
        const HOUR: Duration = Duration::from_secs(3600);
        const DAY: Duration = Duration::from_secs(86_400);
        let now = Utc::now();
        let analyzed = |ago: chrono::Duration| ScopeStatus {
            summary: Summary {
                status: Status::UpToDate,
                counts: Counts::default(),
            },
            analyzed_at: now - ago,
            updated_at: now - ago,
        };
        // Roughly: the test's own run time is far below an hour.
        let in_about = |until: Option<Instant>, expected: Duration| {
            let until = until.unwrap();
            let after = Instant::now();
            until > after + expected - HOUR && until < after + expected + HOUR
        };
        let fresh = analyzed(chrono::Duration::hours(1));
        assert!(in_about(turns_stale_at(&fresh, Some(DAY), now), DAY - HOUR));
        assert!(in_about(
            turns_stale_at(&analyzed(-chrono::Duration::days(1)), Some(DAY), now),
            2 * DAY
        ));
        // Stale already, no limit, or a limit too far to count: it never changes.
        assert_eq!(
            turns_stale_at(&analyzed(chrono::Duration::days(2)), Some(DAY), now),
            None
        );
        assert_eq!(turns_stale_at(&fresh, None, now), None);
        assert_eq!(turns_stale_at(&fresh, Some(Duration::MAX), now), None);
        assert!(in_about(
            turns_stale_at(&fresh, Some(Duration::from_secs(1 << 40)), now),
            Duration::from_secs(1 << 40) - HOUR
        ));
    }
}
