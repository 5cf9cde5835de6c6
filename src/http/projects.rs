//! `/v1/projects`: reports in (PUT, DELETE) and statuses out (GET), as JSON (docs/contract.md §2 and §4).

use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::error::{ApiError, ApiResult};
use super::extract::{ProjectPath, QueryParams, Reader, ReportBody, Writer};
use super::reads::{Read, read_document};
use super::{AppState, keys, set_static_headers};
use crate::db::projects::{self, WriteOutcome};
use crate::domain::project::ProjectWatch;
use crate::domain::watch::{self as domain_watch, LatestSource};
use crate::domain::{
    Counts, Credentials, Dependency, ProjectMeta, ScopeSelection, Slug, Status, Summary, ToolUsed,
    Visibility, is_stale,
};
use crate::ops::metrics::{Metrics, ReportResult};

/// The methods of each kind of `/v1/projects/…` path, for a 405's `Allow`.
const PROJECT_METHODS: &str = "GET, HEAD, PUT, DELETE";
const KEYS_METHODS: &str = "GET, HEAD, POST";
const KEY_METHODS: &str = "DELETE";

const DEFAULT_PAGE: i64 = 50;
const MAX_PAGE: i64 = 200;

/// The status document of contract §4, with `changed` added in answers to a PUT.
#[derive(Debug, Serialize)]
pub struct ProjectDocument<'a> {
    slug: &'a str,
    status: Status,
    stale: bool,
    counts: Counts,
    analyzed_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// When the registry data behind the status was last confirmed by `depbadge watch`.
    checked_at: Option<DateTime<Utc>>,
    /// When `depbadge watch` last read the advisory sources.
    advisories_as_of: Option<DateTime<Utc>>,
    dependencies: Vec<DependencyDocument>,
    /// The tools that produced the report, as it named them.
    tools: &'a [ToolUsed],
    /// Who may read the project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    #[serde(skip_serializing_if = "Option::is_none")]
    changed: Option<bool>,
}

/// A dependency as the watcher leaves it, with where its `latest` came from.
#[derive(Debug, Serialize)]
struct DependencyDocument {
    #[serde(flatten)]
    dependency: Dependency,
    latest_source: Option<LatestSource>,
}

impl<'a> ProjectDocument<'a> {
    pub fn new(
        meta: &'a ProjectMeta,
        summary: Summary,
        dependencies: &[Dependency],
        watch: &ProjectWatch,
        selection: ScopeSelection,
        stale_after: Option<std::time::Duration>,
    ) -> Self {
        Self {
            slug: meta.slug.display(),
            status: summary.status,
            stale: is_stale(meta.analyzed_at, Utc::now(), stale_after),
            counts: summary.counts,
            analyzed_at: meta.analyzed_at,
            updated_at: meta.updated_at,
            checked_at: watch.checked_at,
            advisories_as_of: watch.advisories_as_of,
            dependencies: dependencies
                .iter()
                .filter(|d| selection.includes(d.scope))
                .map(|d| {
                    let watched = domain_watch::apply(
                        d,
                        watch
                            .packages
                            .get(&domain_watch::package_key(&d.ecosystem, &d.name)),
                    );
                    DependencyDocument {
                        dependency: watched.dependency,
                        latest_source: watched.latest_source,
                    }
                })
                .collect(),
            tools: &meta.tools,
            visibility: None,
            changed: None,
        }
    }
}

pub async fn put(
    State(state): State<AppState>,
    path: ProjectPath,
    Reader(token): Reader,
    query: QueryParams,
    request: Request,
) -> ApiResult<Response> {
    // Before the body is read: a token outside its patterns learns nothing, and costs nothing.
    let (writer, slug) = project_write(path, token)?;
    let selection = query.scope()?;
    let asked_visibility = query
        .get("visibility")
        .map(|value| {
            Visibility::parse(value).ok_or_else(|| ApiError::InvalidContent {
                field: "visibility".to_owned(),
                message: format!("`{value}` is not one of public, private"),
            })
        })
        .transpose()?;
    let body = ReportBody::from_request(request, &state).await?;
    let now = Utc::now();
    let mut report = body.into_report(now)?;
    // The URL's word wins: it is what a person typed (`depbadge push --private`), where the
    // body may come from a tool.
    report.visibility = asked_visibility.or(report.visibility);
    let written =
        projects::write_report(&state.pool, &slug, &report, state.default_visibility, now).await?;
    let outcome = written.outcome;
    if matches!(outcome, WriteOutcome::Created(_) | WriteOutcome::Updated(_)) {
        // Other replicas hear of it through NOTIFY; this one must not wait for that.
        state.store.invalidate(slug.key());
    }
    let (status, changed, meta) = match outcome {
        WriteOutcome::Created(meta) => (StatusCode::CREATED, true, meta),
        WriteOutcome::Updated(meta) => (StatusCode::OK, true, meta),
        WriteOutcome::Unchanged(meta) => (StatusCode::OK, false, meta),
        WriteOutcome::OutOfOrder { stored_analyzed_at } => {
            return Err(ApiError::OutOfOrder { stored_analyzed_at });
        }
    };
    state.metrics.record_report(match status {
        StatusCode::CREATED => ReportResult::Created,
        _ if changed => ReportResult::Updated,
        _ => ReportResult::Unchanged,
    });
    tracing::info!(writer = writer.name(), slug = %slug.key(), changed, dependencies = report.dependencies.len(), "report received");
    let summary = written
        .summaries
        .iter()
        .copied()
        .find(|(scope, _)| *scope == selection)
        .map_or(Summary::NO_REPORT, |(_, summary)| summary);
    let mut document = ProjectDocument::new(
        &meta,
        summary,
        &report.dependencies,
        &written.watch,
        selection,
        state.stale_after,
    );
    document.changed = Some(changed);
    document.visibility = Some(meta.visibility);
    Ok((status, Json(document)).into_response())
}

/// `GET /v1/projects/{slug}`, and `GET /v1/projects/{slug}/keys`.
pub async fn get(
    State(state): State<AppState>,
    path: ProjectPath,
    Reader(token): Reader,
    query: QueryParams,
) -> ApiResult<Response> {
    let slug = match path {
        ProjectPath::Project(slug) => slug,
        ProjectPath::Keys(slug) => {
            let writer = token.ok_or(ApiError::Unauthorized)?;
            return keys::list(&state, &writer, &slug?).await;
        }
        ProjectPath::Key(..) => return Err(ApiError::NotThisMethod { allow: KEY_METHODS }),
        ProjectPath::Invalid(error) => return Err(error.into()),
    };
    let selection = query.scope()?;
    let credentials = Credentials {
        key: query.get("key"),
        token: token.as_ref().map(|writer| &*writer.0.coverage),
    };
    let (project, private) = match read_document(&state, &slug, selection, credentials).await? {
        Read::Found { project, private } => (project, private),
        Read::Missing => return Err(not_found(&slug, true)),
        Read::NotKnown => return Err(not_found(&slug, false)),
    };
    let mut document = ProjectDocument::new(
        &project.meta,
        project.summary,
        &project.dependencies,
        &project.watch,
        selection,
        state.stale_after,
    );
    document.visibility = Some(project.meta.visibility);
    let mut response = Json(document).into_response();
    if private {
        set_static_headers(
            response.headers_mut(),
            &[
                (header::CACHE_CONTROL, "private, max-age=0"),
                (header::REFERRER_POLICY, "no-referrer"),
            ],
        );
    }
    Ok(response)
}

/// `POST /v1/projects/{slug}/keys`; on any other path a 405, token or not.
pub async fn post(
    State(state): State<AppState>,
    path: ProjectPath,
    Reader(token): Reader,
) -> ApiResult<Response> {
    match path {
        ProjectPath::Keys(slug) => {
            let writer = token.ok_or(ApiError::Unauthorized)?;
            keys::create(&state, &writer, &slug?).await
        }
        ProjectPath::Key(..) => Err(ApiError::NotThisMethod { allow: KEY_METHODS }),
        ProjectPath::Project(_) | ProjectPath::Invalid(_) => Err(ApiError::NotThisMethod {
            allow: PROJECT_METHODS,
        }),
    }
}

/// `DELETE /v1/projects/{slug}`, and `DELETE /v1/projects/{slug}/keys/{id}`.
pub async fn delete(
    State(state): State<AppState>,
    path: ProjectPath,
    Reader(token): Reader,
) -> ApiResult<StatusCode> {
    if let ProjectPath::Key(slug, id) = path {
        let writer = token.ok_or(ApiError::Unauthorized)?;
        return keys::revoke(&state, &writer, &slug?, id).await;
    }
    let (writer, slug) = project_write(path, token)?;
    if projects::delete(&state.pool, &slug).await? {
        state.store.invalidate(slug.key());
        tracing::info!(writer = writer.name(), slug = %slug.key(), "project deleted");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found(&slug, true))
    }
}

#[derive(Debug, Serialize)]
struct ProjectSummary {
    slug: String,
    status: Status,
    stale: bool,
    counts: Counts,
    analyzed_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct ProjectPage {
    projects: Vec<ProjectSummary>,
    /// Pass as `cursor` to get the next page; null on the last page.
    next_cursor: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    Reader(token): Reader,
    query: QueryParams,
) -> ApiResult<Response> {
    let selection = query.scope()?;
    let status = query.status()?;
    let limit = match query.get("limit") {
        None => DEFAULT_PAGE,
        Some(value) => value
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| ApiError::InvalidParameter {
                field: "limit",
                message: format!("`{value}` is not a number from 1 to {MAX_PAGE}"),
            })?,
    };
    // The cursor is the last slug key of the previous page: keyset pagination stays correct while
    // projects are added or removed, and costs one index range scan whatever the page number.
    let cursor = query
        .get("cursor")
        .filter(|cursor| !cursor.is_empty())
        .map(|value| {
            Slug::parse(value)
                .map(|slug| slug.key().to_owned())
                .map_err(|_| ApiError::InvalidParameter {
                    field: "cursor",
                    message: "not a cursor returned by this API".to_owned(),
                })
        })
        .transpose()?;
    let mut rows = projects::list(
        &state.pool,
        selection,
        status,
        cursor.as_deref(),
        limit + 1,
        token.as_ref().map(|writer| &*writer.0.coverage),
    )
    .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|row| row.slug.key().to_owned()))
        .flatten();
    let now = Utc::now();
    let projects = rows
        .into_iter()
        .map(|row| ProjectSummary {
            slug: row.slug.display().to_owned(),
            status: row.status.summary.status,
            stale: is_stale(row.status.analyzed_at, now, state.stale_after),
            counts: row.status.summary.counts,
            analyzed_at: row.status.analyzed_at,
            updated_at: row.status.updated_at,
        })
        .collect();
    Ok(Json(ProjectPage {
        projects,
        next_cursor,
    })
    .into_response())
}

/// A method `/v1/projects/…` has for none of the things a path can name.
pub async fn other_method(path: Result<ProjectPath, ApiError>) -> ApiError {
    let allow = match path {
        Ok(ProjectPath::Keys(_)) => KEYS_METHODS,
        Ok(ProjectPath::Key(..)) => KEY_METHODS,
        Ok(ProjectPath::Project(_) | ProjectPath::Invalid(_)) | Err(_) => PROJECT_METHODS,
    };
    ApiError::NotThisMethod { allow }
}

/// The token and the slug of a write to a project: a key route's path is 405 (before the token:
/// the method is what is wrong), then the token (401), then the slug (400), then the token's
/// patterns (403).
fn project_write(path: ProjectPath, token: Option<Writer>) -> ApiResult<(Writer, Slug)> {
    let slug = match path {
        ProjectPath::Keys(_) => {
            return Err(ApiError::NotThisMethod {
                allow: KEYS_METHODS,
            });
        }
        ProjectPath::Key(..) => return Err(ApiError::NotThisMethod { allow: KEY_METHODS }),
        ProjectPath::Project(slug) => Ok(slug),
        ProjectPath::Invalid(error) => Err(error),
    };
    let writer = token.ok_or(ApiError::Unauthorized)?;
    let slug = slug?;
    writer.may_write(&slug)?;
    Ok((writer, slug))
}

/// `settled`: the database said so to this request (see [`Read`]); else the answer is `no-cache`.
fn not_found(slug: &Slug, settled: bool) -> ApiError {
    ApiError::NotFound {
        what: format!("project {}", slug.display()),
        settled,
    }
}

/// Counts refused report PUTs, whichever step refused them (token, body, content, order).
pub async fn count_rejected_reports(
    State(metrics): State<Metrics>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    if response.status().is_client_error() || response.status().is_server_error() {
        metrics.record_report(ReportResult::Rejected);
    }
    response
}
