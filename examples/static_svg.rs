//! The baseline for `scripts/bench`: the smallest server on our stack (tokio + axum) that answers
//! every GET with one fixed badge SVG. depbadge's badge route is measured against it, so the
//! difference is the cost of depbadge's own work (lookup, cache, headers, logging).
//!
//! `cargo run --release --example static_svg -- 127.0.0.1:8090 [--badge-headers]`
//!
//! With `--badge-headers` it also sends the headers a depbadge badge response carries (the same
//! names and values of the same lengths, all fixed): the part of the difference that is the
//! response's size and header count rather than depbadge's work.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::get;

const SVG: &str = include_str!("../tests/fixtures/badges/svg/status-up-to-date-flat.svg");

/// What `GET /badges/{slug}.svg` answers besides its body (request id: a generated UUID's length).
const BADGE_HEADERS: [(HeaderName, &str); 8] = [
    (header::ETAG, "\"0123456789abcdef0123456789abcdef\""),
    (header::CACHE_CONTROL, "max-age=300, s-maxage=300"),
    (header::LAST_MODIFIED, "Sat, 28 Nov 2026 01:00:00 GMT"),
    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        "cross-origin",
    ),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (
        HeaderName::from_static("x-request-id"),
        "3537aa76-daa8-49be-9868-705ba2cd95d1",
    ),
];

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let address = args.next().unwrap_or_else(|| "127.0.0.1:8090".to_owned());
    let app = if args.next().as_deref() == Some("--badge-headers") {
        Router::new().fallback(get(|| async {
            let mut headers = axum::http::HeaderMap::with_capacity(9);
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml;charset=utf-8"),
            );
            for (name, value) in BADGE_HEADERS {
                headers.insert(name, HeaderValue::from_static(value));
            }
            (headers, SVG)
        }))
    } else {
        Router::new().fallback(get(|| async {
            ([(header::CONTENT_TYPE, "image/svg+xml;charset=utf-8")], SVG)
        }))
    };
    let listener = tokio::net::TcpListener::bind(&address).await?;
    axum::serve(listener, app).await
}
