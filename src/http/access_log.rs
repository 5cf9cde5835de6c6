//! One access event per request (docs/contract.md §8): method, path and query (read keys
//! redacted), route template, status, latency and request id;
//! and the request's HTTP metrics, under the same labels.
//! The request id is taken from `X-Request-Id` when it is sane, else generated, and echoed back.
//!
//! This runs for every request, so it is written for speed (docs/performance.md): the JSON line is
//! written straight into a reused buffer, the same as the tracing subscriber would write it, and
//! handed to the log sink that batches writes to stdout.

use std::borrow::Cow;
use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use axum::response::Response;
use tower::{Layer, Service};
use tracing::Instrument;
use tracing::instrument::Instrumented;

use crate::ops::metrics::Metrics;
use crate::ops::{log_sink, telemetry};

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const MAX_REQUEST_ID_LEN: usize = 128;
const TARGET: &str = "depbadge::access";

/// The layer that logs and counts every request: a tower layer rather than `from_fn`, which boxes
/// a future and clones the inner service on every request.
#[derive(Clone)]
pub struct AccessLogLayer {
    metrics: Metrics,
}

impl AccessLogLayer {
    pub fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessLog {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AccessLog<S> {
    inner: S,
    metrics: Metrics,
}

impl<S> Service<Request> for AccessLog<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Logged<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let pending = Pending::start(
            request.method(),
            request.uri(),
            request.headers(),
            // The route template: the raw path would make metrics unbounded.
            super::route_label(request.extensions().get::<MatchedPath>()),
            Instant::now(),
            &self.metrics,
        );
        // Every line logged while handling the request carries its id. At ERROR level, so that
        // the span exists whenever any line would be written (RUST_LOG=warn included), and is
        // nothing at all when none would be.
        let span = tracing::error_span!(telemetry::REQUEST_SPAN, request_id = pending.request_id());
        let response = span.in_scope(|| self.inner.call(request));
        Logged {
            pending: Some(pending),
            response: response.instrument(span),
        }
    }
}

pin_project_lite::pin_project! {
    /// The inner service's response future, logged and counted when it completes.
    pub struct Logged<F> {
        #[pin]
        response: Instrumented<F>,
        pending: Option<Pending>,
    }
}

impl<F: Future<Output = Result<Response, Infallible>>> Future for Logged<F> {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut response) = std::task::ready!(this.response.poll(cx));
        if let Some(pending) = this.pending.take() {
            pending.finish(&mut response);
        }
        Poll::Ready(Ok(response))
    }
}

/// A request's access event from its start to its response: [`AccessLog`] makes one for every
/// request the router routes, and the finished-badge path for those it answers itself.
pub struct Pending {
    method: &'static str,
    /// The request's path and query, logged with read keys redacted.
    uri: Uri,
    route: &'static str,
    started: Instant,
    request_id: HeaderValue,
    metrics: Metrics,
}

impl Pending {
    pub fn start(
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        route: &'static str,
        started: Instant,
        metrics: &Metrics,
    ) -> Self {
        let request_id = headers
            .get(&REQUEST_ID)
            // Only visible ASCII, bounded: a client must not be able to forge log lines.
            .filter(|id| {
                let id = id.as_bytes();
                !id.is_empty()
                    && id.len() <= MAX_REQUEST_ID_LEN
                    && id.iter().all(u8::is_ascii_graphic)
            })
            .cloned()
            .unwrap_or_else(generated_request_id);
        Self {
            // The method as sent only when it is a known one: a client may send any token.
            method: Metrics::method_label(method.as_str()),
            // A reference count: the parts of a `Uri` are shared bytes.
            uri: uri.clone(),
            route,
            started,
            request_id,
            metrics: metrics.clone(),
        }
    }

    /// The request's id: visible ASCII, checked or generated.
    pub fn request_id(&self) -> &str {
        self.request_id.to_str().unwrap_or_default()
    }

    /// Counts and logs the request, and echoes its id on the response.
    pub fn finish(self, response: &mut Response) {
        let elapsed = self.started.elapsed();
        let status = response.status().as_u16();
        self.metrics
            .record_request(self.method, self.route, status, elapsed.as_secs_f64());
        if tracing::enabled!(target: TARGET, tracing::Level::INFO) {
            AccessEvent {
                method: self.method,
                path: &redacted(&self.uri),
                route: self.route,
                status,
                // Whole microseconds: the clock's finer digits are noise.
                latency_ms: elapsed.as_micros() as f64 / 1000.0,
                // Visible ASCII, checked above or generated.
                request_id: self.request_id.to_str().unwrap_or_default(),
            }
            .log();
        }
        response.headers_mut().insert(REQUEST_ID, self.request_id);
    }
}

/// A UUID v4 from a fast generator seeded once per thread: it correlates log lines and is no
/// secret, so it needs no system call for entropy (docs/decisions.md, "Request ids").
fn generated_request_id() -> HeaderValue {
    let uuid = uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid();
    let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
    HeaderValue::from_bytes(uuid.hyphenated().encode_lower(&mut text).as_bytes())
        .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

struct AccessEvent<'a> {
    method: &'static str,
    /// Path and query, read keys redacted.
    path: &'a str,
    route: &'static str,
    status: u16,
    latency_ms: f64,
    request_id: &'a str,
}

impl AccessEvent<'_> {
    fn log(&self) {
        if !telemetry::json_lines() {
            // Text for a person at a terminal, or whatever subscriber a test installed.
            self.emit();
            return;
        }
        thread_local! {
            static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
        }
        LINE.with_borrow_mut(|line| {
            line.clear();
            self.write_json(SystemTime::now(), line);
            log_sink::append(line);
        });
    }

    /// The event through the installed subscriber.
    fn emit(&self) {
        tracing::info!(
            target: TARGET,
            method = self.method,
            path = self.path,
            route = self.route,
            status = self.status,
            latency_ms = self.latency_ms,
            request_id = self.request_id,
            "request"
        );
    }

    /// The line the JSON subscriber writes for this event, field for field.
    fn write_json(&self, now: SystemTime, line: &mut Vec<u8>) {
        line.extend_from_slice(b"{\"timestamp\":\"");
        write_timestamp(now, line);
        line.extend_from_slice(b"\",\"level\":\"INFO\",\"message\":\"request\",\"method\":");
        write_json_value(line, self.method);
        line.extend_from_slice(b",\"path\":");
        write_json_value(line, self.path);
        line.extend_from_slice(b",\"route\":");
        write_json_value(line, self.route);
        line.extend_from_slice(b",\"status\":");
        write_json_value(line, &self.status);
        line.extend_from_slice(b",\"latency_ms\":");
        write_json_value(line, &self.latency_ms);
        line.extend_from_slice(b",\"request_id\":");
        write_json_value(line, self.request_id);
        line.extend_from_slice(b",\"target\":\"");
        line.extend_from_slice(TARGET.as_bytes());
        line.extend_from_slice(b"\"}\n");
    }
}

/// What a read key is replaced with in a logged query.
const REDACTED: &str = "REDACTED";

/// The request's path and query as sent, each `key` parameter's value replaced by
/// [`REDACTED`]: a read key never reaches the logs. Borrowed when the query cannot hold one.
fn redacted(uri: &Uri) -> Cow<'_, str> {
    let Some(path_and_query) = uri.path_and_query() else {
        return Cow::Borrowed(uri.path());
    };
    let Some(query) = path_and_query.query() else {
        return Cow::Borrowed(path_and_query.as_str());
    };
    // A parameter named `key` is spelled with those letters or percent-escapes them.
    let may_hold_key = query
        .as_bytes()
        .windows(3)
        .any(|w| w.eq_ignore_ascii_case(b"key"))
        || query.contains('%');
    if !may_hold_key {
        return Cow::Borrowed(path_and_query.as_str());
    }
    let mut logged = String::with_capacity(path_and_query.as_str().len());
    logged.push_str(path_and_query.path());
    logged.push('?');
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            logged.push('&');
        }
        let name = pair.split_once('=').map_or(pair, |(name, _)| name);
        let decoded: String = form_urlencoded_name(name);
        if decoded == "key" {
            logged.push_str(name);
            logged.push('=');
            logged.push_str(REDACTED);
        } else {
            logged.push_str(pair);
        }
    }
    Cow::Owned(logged)
}

/// A query parameter's name as the server reads it (`+` is a space, percent-escapes decoded).
fn form_urlencoded_name(name: &str) -> String {
    let spaced = name.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8_lossy()
        .into_owned()
}

/// serde_json's escaping and number formatting, without building a value.
fn write_json_value<T: serde::Serialize + ?Sized>(line: &mut Vec<u8>, value: &T) {
    // Writing a string or a number into a Vec cannot fail.
    let _ = serde_json::to_writer(line, value);
}

/// RFC 3339 in UTC with microseconds, as the subscriber writes it. The part up to the seconds is
/// formatted once per second per thread.
fn write_timestamp(now: SystemTime, line: &mut Vec<u8>) {
    thread_local! {
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let seconds = since_epoch.as_secs();
    SECOND.with_borrow_mut(|(cached, text)| {
        if *cached != seconds {
            *cached = seconds;
            text.clear();
            let at =
                chrono::DateTime::<chrono::Utc>::from(UNIX_EPOCH + Duration::from_secs(seconds));
            text.push_str(&at.format("%Y-%m-%dT%H:%M:%S").to_string());
        }
        line.extend_from_slice(text.as_bytes());
    });
    // Writing into a Vec cannot fail.
    let _ = write!(line, ".{:06}Z", since_epoch.subsec_micros());
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    /// What the JSON subscriber (as `telemetry::init` configures it) writes for `event`.
    fn subscriber_line(event: &AccessEvent<'_>) -> String {
        let written = Arc::new(Mutex::new(Vec::new()));
        let sink = written.clone();
        let subscriber = telemetry::as_json_lines(
            tracing_subscriber::fmt().with_writer(move || WriterTo(sink.clone())),
        )
        .finish();
        tracing::subscriber::with_default(subscriber, || event.emit());
        let bytes = written.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    struct WriterTo(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for WriterTo {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn our_line(event: &AccessEvent<'_>, now: SystemTime) -> String {
        let mut line = Vec::new();
        event.write_json(now, &mut line);
        String::from_utf8(line).unwrap()
    }

    /// The timestamp is the only part that differs between two writes; swap it for a marker.
    fn without_timestamp(line: &str) -> String {
        let start = line.find("\"timestamp\":\"").unwrap() + 13;
        let end = start + line[start..].find('"').unwrap();
        format!("{}T{}", &line[..start], &line[end..])
    }

    #[test]
    fn the_line_is_the_one_the_json_subscriber_writes() {
        for request_id in [
            "3537aa76-daa8-49be-9868-705ba2cd95d1",
            r#"a"b\c"#,
            "tab\there\u{7}bell\u{2028}é",
        ] {
            for latency_ms in [0.054, 12.5, 0.0, 1234.567] {
                let event = AccessEvent {
                    method: "GET",
                    path: "/badges/a.io/b.svg?style=flat&label=%22x%22",
                    route: "/badges/{*path}",
                    status: 304,
                    latency_ms,
                    request_id,
                };
                let theirs = subscriber_line(&event);
                let ours = our_line(&event, SystemTime::now());
                assert_eq!(without_timestamp(&ours), without_timestamp(&theirs));
            }
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        let event = AccessEvent {
            method: "GET",
            path: "/healthz",
            route: "/healthz",
            status: 200,
            latency_ms: 0.1,
            request_id: "x",
        };
        // Today, a year ahead, two instants in one second (the cached part) and the next second.
        let now = SystemTime::now();
        for at in [
            now,
            now + Duration::from_secs(366 * 86_400),
            UNIX_EPOCH + Duration::new(1_795_000_000, 7_000),
            UNIX_EPOCH + Duration::new(1_795_000_000, 999_999_000),
            UNIX_EPOCH + Duration::new(1_795_000_001, 0),
        ] {
            let line: Value = serde_json::from_str(&our_line(&event, at)).unwrap();
            let text = line["timestamp"].as_str().unwrap();
            assert_eq!(text.len(), "2026-11-28T01:07:24.138004Z".len(), "{text}");
            let parsed = chrono::DateTime::parse_from_rfc3339(text).unwrap();
            let expected = chrono::DateTime::<chrono::Utc>::from(at);
            assert_eq!(
                parsed.timestamp_micros(),
                expected.timestamp_micros(),
                "{text}"
            );
        }
    }

    #[test]
    fn generated_request_ids_are_uuid_v4_and_differ() {
        let ids: Vec<String> = (0..1000)
            .map(|_| generated_request_id().to_str().unwrap().to_owned())
            .collect();
        for id in &ids {
            let uuid = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!(uuid.get_version_num(), 4, "{id}");
        }
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
    }

    #[test]
    fn read_keys_are_redacted_from_the_logged_query() {
        let key = "dbk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let cases = [
            ("/healthz", "/healthz".to_owned()),
            (
                "/badges/a.io/b.svg?style=flat",
                "/badges/a.io/b.svg?style=flat".to_owned(),
            ),
            (
                &format!("/badges/a.io/b.svg?key={key}") as &str,
                "/badges/a.io/b.svg?key=REDACTED".to_owned(),
            ),
            (
                &format!("/projects/a.io/b?scope=dev&key={key}&key={key}"),
                "/projects/a.io/b?scope=dev&key=REDACTED&key=REDACTED".to_owned(),
            ),
            (
                &format!("/badges/a.io/b.json?%6Bey={key}&monkey=1&keys=2"),
                "/badges/a.io/b.json?%6Bey=REDACTED&monkey=1&keys=2".to_owned(),
            ),
            ("/x?key", "/x?key=REDACTED".to_owned()),
            ("/x?label=key", "/x?label=key".to_owned()),
        ];
        for (sent, logged) in cases {
            let uri: Uri = sent.parse().unwrap();
            assert_eq!(redacted(&uri), logged, "{sent}");
            assert!(!redacted(&uri).contains(key));
        }
        // Nothing to redact: the path is not copied.
        let uri: Uri = "/badges/a.io/b.svg?style=flat".parse().unwrap();
        assert!(matches!(redacted(&uri), Cow::Borrowed(_)));
    }

    proptest! {
        /// Whatever the query, no `key` parameter's value is logged as sent.
        #[test]
        fn no_key_value_survives_redaction(pairs in proptest::collection::vec(("(key|%6bey|k%65y|style|keys)", "[A-Za-z0-9_-]{1,20}"), 0..5)) {
            let query: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}=secret{v}")).collect();
            let uri: Uri = format!("/badges/a.io/b.svg?{}", query.join("&")).parse().unwrap();
            let logged = redacted(&uri);
            for (name, value) in &pairs {
                let is_key = name.eq_ignore_ascii_case("key") || name.eq_ignore_ascii_case("%6bey") || name.eq_ignore_ascii_case("k%65y");
                prop_assert_eq!(logged.contains(&format!("{name}=secret{value}")), !is_key);
            }
        }

        /// Whatever the request id (any text, though only visible ASCII gets here), the line is
        /// one JSON object on one line that gives the id back.
        #[test]
        fn any_request_id_makes_one_valid_line(request_id in any::<String>(), latency_ms in any::<f64>()) {
            let event = AccessEvent { method: "GET", path: "/", route: "unmatched", status: 404, latency_ms: latency_ms.abs() % 1e9, request_id: &request_id };
            let line = our_line(&event, SystemTime::now());
            prop_assert!(line.ends_with('\n'));
            prop_assert_eq!(line.matches('\n').count(), 1);
            let parsed: Value = serde_json::from_str(&line).unwrap();
            prop_assert_eq!(parsed["request_id"].as_str(), Some(request_id.as_str()));
        }
    }
}
