//! The pages for people (docs/contract.md §13): the home page with its lookup form, a project's
//! page with its badge builder, and the HTML answers for missing pages. askama escapes every
//! value; the one script is served from here and is the only one the pages' CSP allows.

mod assets;
mod builder;
mod home;
mod project;

use askama::Template;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

pub use assets::{builder_script, favicon};
pub use home::{home, lookup};
pub use project::project;

use super::set_static_headers;

/// The service's version, shown at the foot of every page.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every page: nothing from elsewhere, images and the builder's script from this origin only,
/// forms sent only here.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; \
     script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    text: &'a str,
    lookup: &'a str,
    lookup_error: Option<String>,
}

/// A page that says one thing, titled by its status, with the lookup form under it.
pub(super) fn message_page(status: StatusCode, text: &str) -> Response {
    message_page_with(status, text, "", None)
}

fn message_page_with(
    status: StatusCode,
    text: &str,
    lookup: &str,
    lookup_error: Option<String>,
) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let page = MessagePage {
        title,
        text,
        lookup,
        lookup_error,
    };
    html(status, page.render().unwrap_or_else(|_| text.to_owned()))
}

/// The answer to a browser that asked for a page that does not exist.
pub(super) fn not_found_page() -> Response {
    message_page(
        StatusCode::NOT_FOUND,
        "There is no page at this address. Look a project up by its repository instead.",
    )
}

/// Whether the client asked for HTML (a browser navigating), not JSON or anything (`*/*`).
pub(super) fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default();
            let refused = parts.any(|param| {
                param
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (media.eq_ignore_ascii_case("text/html")
                || media.eq_ignore_ascii_case("application/xhtml+xml"))
                && !refused
        })
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    set_static_headers(
        response.headers_mut(),
        &[
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, PAGE_CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "max-age=60"),
        ],
    );
    response
}

/// `?name=value&…`, encoded; empty for no pairs.
fn query_string(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    format!(
        "?{}",
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    )
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn browsers_are_told_from_api_clients_by_accept() {
        let cases = [
            (
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                true,
            ),
            ("application/xhtml+xml", true),
            ("TEXT/HTML", true),
            ("application/json", false),
            ("*/*", false),
            ("text/html;q=0", false),
            ("text/html; q=0.0, application/json", false),
            ("application/json, text/html;q=0.5", true),
            ("", false),
        ];
        for (accept, expected) in cases {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_static(accept));
            assert_eq!(accepts_html(&headers), expected, "{accept:?}");
        }
        assert!(!accepts_html(&HeaderMap::new()));
    }
}
