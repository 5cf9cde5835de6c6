//! `GET /`: what the service is, the lookup form, and the public projects by status, a page at a
//! time; `GET /lookup?q=…`: the form's answer, a redirect to the project's page.

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;

use super::super::AppState;
use super::super::extract::QueryParams;
use super::{html, message_page, message_page_with, query_string, when};
use crate::badge::Face;
use crate::db::{self, projects};
use crate::domain::lookup::slug_from_lookup;
use crate::domain::{ScopeSelection, Slug, Status, is_stale};

/// Projects on one page of the home page's list.
const PAGE_SIZE: i64 = 25;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    lookup: &'static str,
    lookup_error: Option<String>,
    filters: Vec<Filter>,
    projects: Vec<ProjectRow>,
    /// Said instead of the list when it cannot be read.
    notice: Option<&'static str>,
    first_page: Option<String>,
    next_page: Option<String>,
}

struct Filter {
    name: &'static str,
    href: String,
    current: bool,
}

struct ProjectRow {
    slug: String,
    status: &'static str,
    message: String,
    analyzed_at: String,
}

/// The status filters, in the order people look for them: what needs attention first.
const FILTERS: [(&str, Option<Status>); 6] = [
    ("all", None),
    ("insecure", Some(Status::Vulnerable)),
    ("outdated", Some(Status::OutOfDate)),
    ("up to date", Some(Status::UpToDate)),
    ("no dependencies", Some(Status::None)),
    ("unknown", Some(Status::Unknown)),
];

pub async fn home(State(state): State<AppState>, query: QueryParams) -> Response {
    let Ok(status) = query.status() else {
        return message_page(
            StatusCode::BAD_REQUEST,
            "status must be up-to-date, out-of-date, vulnerable, none or unknown.",
        );
    };
    let cursor = match query.get("cursor").filter(|c| !c.is_empty()) {
        None => None,
        Some(cursor) => match Slug::parse(cursor) {
            Ok(slug) => Some(slug.key().to_owned()),
            Err(_) => {
                return message_page(
                    StatusCode::BAD_REQUEST,
                    "That is not a page of this list; start again from the first page.",
                );
            }
        },
    };
    let filters = FILTERS
        .iter()
        .map(|(name, filter)| Filter {
            name,
            href: home_href(*filter, None),
            current: *filter == status,
        })
        .collect();
    // Public projects only: a private one is never listed, whoever asks.
    let listed = projects::list(
        &state.pool,
        ScopeSelection::default(),
        status,
        cursor.as_deref(),
        PAGE_SIZE + 1,
        None,
    )
    .await;
    let (rows, notice, response_status) = match listed {
        Ok(rows) => (rows, None, StatusCode::OK),
        Err(error) if db::is_unavailable(&error) => {
            tracing::warn!(%error, "database unavailable");
            (
                Vec::new(),
                Some(
                    "The list of projects cannot be read right now; the lookup still opens a project's page.",
                ),
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
        Err(error) => {
            tracing::error!(%error, "home page list failed");
            (
                Vec::new(),
                Some("The list of projects failed; the lookup still opens a project's page."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    };
    let more = rows.len() as i64 > PAGE_SIZE;
    let now = Utc::now();
    let next_page = more
        .then(|| rows.get(PAGE_SIZE as usize - 1))
        .flatten()
        .map(|last| home_href(status, Some(last.slug.key())));
    let projects = rows
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(|row| {
            let stale = is_stale(row.status.analyzed_at, now, state.stale_after);
            ProjectRow {
                slug: row.slug.display().to_owned(),
                status: row.status.summary.status.as_str(),
                message: Face::of(&row.status.summary, stale).message,
                analyzed_at: when(row.status.analyzed_at),
            }
        })
        .collect();
    let page = HomePage {
        lookup: "",
        lookup_error: None,
        filters,
        projects,
        notice,
        first_page: cursor.map(|_| home_href(status, None)),
        next_page,
    };
    match page.render() {
        Ok(body) => html(response_status, body),
        Err(error) => {
            tracing::error!(%error, "home page template failed");
            message_page(StatusCode::INTERNAL_SERVER_ERROR, "Internal error.")
        }
    }
}

/// A page of the home page's list: `/`, filtered by `status`, from after `cursor`.
fn home_href(status: Option<Status>, cursor: Option<&str>) -> String {
    let pairs: Vec<_> = status
        .map(|s| ("status", s.as_str()))
        .into_iter()
        .chain(cursor.map(|c| ("cursor", c)))
        .collect();
    format!("/{}", query_string(&pairs))
}

/// The lookup form's answer: a 303 to the project's page, which says when nothing is reported
/// for it; else the form again, with what it could not read and why.
pub async fn lookup(query: QueryParams) -> Response {
    let typed = query.get("q").unwrap_or_default();
    match slug_from_lookup(typed) {
        Ok(slug) => {
            let mut response =
                Redirect::to(&format!("/projects/{}", slug.display())).into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("max-age=60"),
            );
            response
        }
        Err(error) => message_page_with(
            StatusCode::BAD_REQUEST,
            "That does not name a project.",
            typed,
            Some(format!("{typed:?} is not a repository: {error}.")),
        ),
    }
}
