//! `GET /projects/{slug}`: a project's page (docs/contract.md §4, §13). Status, dependencies
//! grouped by scope with advisory links, and the badge builder: a GET form with a preview and the
//! snippets that embed the badge, which the builder's script keeps in step as the form changes.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::Utc;

use super::super::extract::{QueryParams, SlugPath};
use super::super::reads::{Read, read_document};
use super::super::{AppState, set_static_headers};
use super::builder::{BuilderOptions, Snippets};
use super::{html, message_page, query_string, when};
use crate::badge::{Face, Style};
use crate::db;
use crate::domain::project::ProjectWatch;
use crate::domain::watch::Watchful;
use crate::domain::{Counts, Credentials, Scope, ScopeSelection, is_stale};

#[derive(Template)]
#[template(path = "project.html")]
struct ProjectPage<'a> {
    slug: String,
    /// The badge as this page shows it: a path on this origin, with the builder's options.
    badge_path: String,
    message: String,
    report: Option<ReportView>,
    /// The builder's form: its options, the choices it offers and what it keeps (the key).
    options: BuilderOptions,
    styles: [Style; 5],
    scopes: [ScopeSelection; 3],
    key: Option<&'a str>,
    /// The badge and the page as others link to them (no query), for the script.
    badge_url: String,
    page_url: String,
    /// (id, name, text) of each snippet, in the order shown.
    snippets: [(&'static str, &'static str, String); 4],
    /// The shell command that sends this project its first report.
    first_push: String,
}

struct ReportView {
    status: &'static str,
    stale: bool,
    stale_after: String,
    counts: Counts,
    analyzed_at: String,
    updated_at: String,
    /// `npm outdated --json 11.19.1`: what produced the report.
    tools: Vec<String>,
    /// "registries checked …", "advisories read …": the watcher's data behind the status.
    data_as_of: Vec<String>,
    groups: Vec<Group>,
}

struct Group {
    scope: &'static str,
    dependencies: Vec<DependencyView>,
}

struct DependencyView {
    name: String,
    ecosystem: String,
    version: String,
    latest: Option<String>,
    freshness: &'static str,
    advisories: Vec<AdvisoryView>,
}

struct AdvisoryView {
    id: String,
    url: Option<String>,
    severity: String,
}

pub async fn project(
    State(state): State<AppState>,
    slug: Result<SlugPath, super::super::ApiError>,
    query: QueryParams,
    headers: HeaderMap,
) -> Response {
    let Ok(SlugPath(slug)) = slug else {
        return message_page(
            StatusCode::BAD_REQUEST,
            "Not a project slug: use HOST/PATH, like github.com/owner/repo.",
        );
    };
    let Ok(selection) = query.scope() else {
        return message_page(
            StatusCode::BAD_REQUEST,
            "scope must be runtime, dev or all.",
        );
    };
    let key = query.get("key");
    let credentials = Credentials { key, token: None };
    let found = read_document(&state, &slug, selection, credentials).await;
    let (project, settled, private) = match found {
        Ok(Read::Found { project, private }) => (Some(project), true, private),
        Ok(Read::Missing) => (None, true, false),
        Ok(Read::NotKnown) => (None, false, false),
        Err(error) if db::is_unavailable(&error) => {
            tracing::warn!(%error, "database unavailable");
            return message_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The database is unavailable; try again in a moment.",
            );
        }
        Err(error) => {
            tracing::error!(%error, "project page failed");
            return message_page(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.");
        }
    };
    // A private project's links carry the key the visitor came with: they read nothing without.
    let key = key.filter(|_| private);
    let options = BuilderOptions::from_query(&query, selection);
    let badge_query = query_string(&options.badge_query(key));
    let page_query = key.map_or_else(String::new, |key| query_string(&[("key", key)]));
    // The configured public URL; else the request's own, and the page then varies with it.
    let (base, varies) = match &state.public_url {
        Some(url) => (url.to_string(), false),
        None => (base_url(&headers), true),
    };
    // Shown as first reported, whatever case the URL used.
    let slug = project
        .as_ref()
        .map_or(slug, |project| project.meta.slug.clone());
    let (status, report, message) = match project {
        Some(project) => {
            let stale = is_stale(project.meta.analyzed_at, Utc::now(), state.stale_after);
            let face = Face::of(&project.summary, stale);
            let view = ReportView {
                status: project.summary.status.as_str(),
                stale,
                stale_after: state
                    .stale_after
                    .map(|d| humantime::format_duration(d).to_string())
                    .unwrap_or_default(),
                counts: project.summary.counts,
                analyzed_at: when(project.meta.analyzed_at),
                updated_at: when(project.meta.updated_at),
                tools: project
                    .meta
                    .tools
                    .iter()
                    .map(|tool| match &tool.version {
                        Some(version) => format!("{} {version}", tool.name),
                        None => tool.name.clone(),
                    })
                    .collect(),
                data_as_of: data_as_of(&project.watch),
                groups: groups(&project.watched_dependencies()),
            };
            (StatusCode::OK, Some(view), face.message)
        }
        None => (StatusCode::NOT_FOUND, None, Face::no_report().message),
    };
    let badge_url = format!("{base}/badges/{}.svg", slug.display());
    let page_url = format!("{base}/projects/{}{page_query}", slug.display());
    let page = ProjectPage {
        slug: slug.display().to_owned(),
        badge_path: format!("/badges/{}.svg{badge_query}", slug.display()),
        message,
        report,
        snippets: Snippets::new(&format!("{badge_url}{badge_query}"), &page_url).named(),
        options,
        styles: Style::ALL,
        scopes: ScopeSelection::ALL,
        key,
        first_push: first_push(&base, slug.display()),
        badge_url,
        page_url,
    };
    match page.render() {
        Ok(body) => {
            let mut response = html(status, body);
            if private {
                set_static_headers(
                    response.headers_mut(),
                    &[
                        (header::CACHE_CONTROL, "private, max-age=60"),
                        (header::REFERRER_POLICY, "no-referrer"),
                    ],
                );
            }
            if !settled {
                // "No report" without a read of the database by this request: not to be cached.
                set_static_headers(
                    response.headers_mut(),
                    &[(header::CACHE_CONTROL, "no-cache")],
                );
            }
            if varies {
                set_static_headers(
                    response.headers_mut(),
                    &[(header::VARY, "Host, X-Forwarded-Proto")],
                );
            }
            response
        }
        Err(error) => {
            tracing::error!(%error, "project page template failed");
            message_page(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.")
        }
    }
}

/// What the watcher's data behind the page dates from, when it has any.
fn data_as_of(watch: &ProjectWatch) -> Vec<String> {
    let mut parts = Vec::new();
    if let Some(at) = watch.checked_at {
        parts.push(format!("registries checked {}", when(at)));
    }
    if let Some(at) = watch.advisories_as_of {
        parts.push(format!("advisories read {}", when(at)));
    }
    parts
}

/// Dependencies by scope, runtime first, in reported order within each.
fn groups(dependencies: &[Watchful]) -> Vec<Group> {
    [Scope::Runtime, Scope::Build, Scope::Optional, Scope::Dev]
        .into_iter()
        .map(|scope| Group {
            scope: scope.as_str(),
            dependencies: dependencies
                .iter()
                .map(|w| &w.dependency)
                .filter(|d| d.scope == scope)
                .map(|d| DependencyView {
                    name: d.name.clone(),
                    ecosystem: d.ecosystem.clone(),
                    version: d.version.clone(),
                    latest: d.latest.clone(),
                    freshness: d.freshness.as_str(),
                    advisories: d
                        .advisories
                        .iter()
                        .map(|a| AdvisoryView {
                            id: a.id.clone(),
                            url: a.url.clone(),
                            severity: serde_json::to_value(a.severity)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_owned))
                                .unwrap_or_default(),
                        })
                        .collect(),
                })
                .collect(),
        })
        .filter(|group| !group.dependencies.is_empty())
        .collect()
}

/// The public base URL as the client reached us: behind an OpenShift edge Route, `Host` is the
/// route's host and `X-Forwarded-Proto` says https.
fn base_url(headers: &HeaderMap) -> String {
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
    {
        Some(proto) if proto.trim() == "https" => "https",
        _ => "http",
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 260
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
        })
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// How a first report reaches this project, with nothing but curl (docs/contract.md §2).
fn first_push(base: &str, slug: &str) -> String {
    format!(
        "curl -X PUT -H \"Authorization: Bearer $DEPBADGE_TOKEN\" \\\n  -H 'Content-Type: application/json' --data @report.json \\\n  {base}/v1/projects/{slug}"
    )
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn the_base_url_follows_the_proxy_headers_and_refuses_odd_hosts() {
        let mut headers = HeaderMap::new();
        assert_eq!(base_url(&headers), "http://localhost");
        headers.insert(header::HOST, HeaderValue::from_static("badges.example.com"));
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(base_url(&headers), "https://badges.example.com");
        headers.insert(
            header::HOST,
            HeaderValue::from_static("evil.com/\"><script>"),
        );
        assert_eq!(base_url(&headers), "https://localhost");
    }
}
