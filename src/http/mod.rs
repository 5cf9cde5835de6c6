//! The HTTP interface: every route and the layer stack in [`router`], one file per resource.

mod access_log;
mod badges;
mod deadline;
mod error;
mod extract;
mod finished;
mod finished_badge;
mod health;
mod keys;
mod pages;
mod projects;
mod reads;

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Router;
use axum::extract::MatchedPath;
use axum::handler::Handler;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get};
use tower_http::catch_panic::CatchPanicLayer;

pub use error::{ApiError, ApiResult};
pub use projects::ProjectDocument;

use crate::badge::RenderCache;
use crate::config::{ApiTokens, Config};
use crate::db::Db;
use crate::domain::Visibility;
use crate::ops::key_uses::KeyUses;
use crate::ops::metrics::Metrics;
use crate::ops::readiness::Readiness;
use finished_badge::{FINISHED_BADGE_BYTES, StaticAnswers, Store};

/// What handlers share: one reference count to clone (axum clones the state for every request),
/// and nothing in it is locked by a request.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub pool: Db,
    pub readiness: Readiness,
    pub api_tokens: Arc<ApiTokens>,
    pub max_report_bytes: usize,
    pub stale_after: Option<Duration>,
    /// `Cache-Control` for `DEPBADGE_BADGE_MAX_AGE`, made once: most badge responses carry it.
    pub badge_cache_control: axum::http::HeaderValue,
    /// `DEPBADGE_BADGE_MAX_AGE` in seconds, for private badges' `Cache-Control`.
    pub badge_max_age: u64,
    /// Projects' statuses and reports, as reads need them, with the badges kept finished.
    pub store: Arc<Store>,
    /// Rendered SVGs, by what they show.
    pub renders: RenderCache,
    /// Static badges' finished answers, by path.
    pub static_answers: StaticAnswers,
    pub metrics: Metrics,
    /// `DEPBADGE_PUBLIC_URL`: the base of the links the project page offers.
    pub public_url: Option<Arc<str>>,
    pub request_timeout: Duration,
    /// What a new project is when its first report does not say.
    pub default_visibility: Visibility,
    /// Read keys used since their last use was written.
    pub key_uses: Arc<KeyUses>,
}

impl AppState {
    /// The caches share `DEPBADGE_CACHE_MAX_BYTES` in thirds: statuses, reports, and rendered
    /// SVGs with static badges' finished answers (half that third each).
    pub fn new(config: &Config, pool: Db, readiness: Readiness, metrics: Metrics) -> Self {
        let third = (config.cache_max_bytes / 3).max(1);
        Self(Arc::new(Shared {
            pool,
            readiness,
            api_tokens: Arc::new(config.api_tokens.clone()),
            max_report_bytes: config.max_report_bytes,
            stale_after: config.stale_after,
            badge_cache_control: badges::max_age_header(config.badge_max_age.as_secs()),
            badge_max_age: config.badge_max_age.as_secs(),
            store: Arc::new(Store::new(
                2 * third,
                config.cache_ttl,
                FINISHED_BADGE_BYTES,
            )),
            renders: RenderCache::new(third / 2),
            static_answers: StaticAnswers::new(third / 2),
            metrics,
            public_url: config.public_url.as_deref().map(Arc::from),
            request_timeout: config.request_timeout,
            default_visibility: config.default_visibility,
            key_uses: Arc::default(),
        }))
    }
}

/// The badge routes' templates, which the finished-badge path answers for too.
const PROJECT_BADGE_ROUTE: &str = "/badges/{*path}";
const STATIC_BADGE_ROUTE: &str = "/badge/{*spec}";

/// Every path the public listener serves, with its handlers. The router is built from this list
/// and nothing else, so that [`route_paths`] (checked against docs/openapi.json by the tests)
/// cannot miss a route.
fn public_routes(
    metrics: &Metrics,
    request_timeout: Duration,
) -> Vec<(&'static str, MethodRouter<AppState>)> {
    // Badges have their own, shorter budget for the database (they answer from the cache past
    // it); the JSON API and the page get a deadline for the whole request.
    let api_deadline =
        || axum::middleware::from_fn_with_state(request_timeout, deadline::api_request);
    let page_deadline =
        || axum::middleware::from_fn_with_state(request_timeout, deadline::page_request);
    vec![
        ("/", get(pages::home).layer(page_deadline())),
        ("/lookup", get(pages::lookup)),
        ("/favicon.ico", get(pages::favicon)),
        ("/assets/builder.js", get(pages::builder_script)),
        ("/openapi.json", get(openapi)),
        ("/healthz", get(health::live)),
        ("/readyz", get(health::ready)),
        (PROJECT_BADGE_ROUTE, get(badges::project)),
        (STATIC_BADGE_ROUTE, get(badges::fixed)),
        (
            "/projects/{*slug}",
            get(pages::project).layer(page_deadline()),
        ),
        ("/v1/projects", get(projects::list).layer(api_deadline())),
        (
            "/v1/projects/{*slug}",
            get(projects::get)
                .put(projects::put.layer(axum::middleware::from_fn_with_state(
                    metrics.clone(),
                    projects::count_rejected_reports,
                )))
                .post(projects::post)
                .delete(projects::delete)
                // Other methods: 405 with the methods of what the path names (a project, its
                // keys, one key), not of the whole wildcard route.
                .fallback(projects::other_method)
                .layer(api_deadline()),
        ),
    ]
}

/// The path templates of the public router, in axum's syntax (`/badges/{*path}`).
pub fn route_paths() -> Vec<&'static str> {
    public_routes(&Metrics::new(), Duration::MAX)
        .into_iter()
        .map(|(path, _)| path)
        .collect()
}

/// The route label of logs and metrics: the template the request matched, or `unmatched`.
fn route_label(matched: Option<&MatchedPath>) -> &'static str {
    static TEMPLATES: LazyLock<Vec<&'static str>> = LazyLock::new(route_paths);
    matched
        .and_then(|matched| {
            TEMPLATES
                .iter()
                .find(|template| **template == matched.as_str())
        })
        .copied()
        .unwrap_or("unmatched")
}

/// What the public listener serves: the router, behind the answers kept for repeated badge
/// requests.
pub type PublicService = finished::FinishedBadges<Router>;

pub fn router(state: AppState) -> PublicService {
    let metrics = state.metrics.clone();
    let finished_badges = state.clone();
    let mut router = Router::new();
    for (path, methods) in public_routes(&metrics, state.request_timeout) {
        router = router.route(path, methods);
    }
    let router = router
        .fallback(not_found_for)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        // Read bottom-up: the access log sees every response, including a caught panic's.
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(access_log::AccessLogLayer::new(metrics));
    finished::FinishedBadges::new(router, finished_badges)
}

/// Handlers are written not to panic (clippy denies unwrap/expect/panic outside tests); this is
/// the net under that rule, so that a bug costs one request a JSON 500, never the process.
fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    ApiError::Internal("a request handler panicked".into()).into_response()
}

/// Sets headers whose values are fixed strings.
fn set_static_headers(
    headers: &mut axum::http::HeaderMap,
    pairs: &[(axum::http::HeaderName, &'static str)],
) {
    for (name, value) in pairs {
        headers.insert(name.clone(), axum::http::HeaderValue::from_static(value));
    }
}

/// The protocol's definition (docs/contract.md §4), kept in `docs/openapi.json` and embedded at build time.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

async fn openapi() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

/// The admin listener (`DEPBADGE_METRICS_ADDR`): Prometheus metrics, kept off the public port.
pub fn admin_router(metrics: Metrics, pool: Db) -> Router {
    let metrics = move || async move {
        let body = metrics.render(pool.pool());
        (
            [(
                axum::http::header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            body,
        )
    };
    Router::new()
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/healthz", get(health::live))
        .fallback(not_found)
}

/// A path nothing serves: a page with the lookup form for a browser, JSON for everyone else.
async fn not_found_for(headers: axum::http::HeaderMap) -> axum::response::Response {
    if pages::accepts_html(&headers) {
        pages::not_found_page()
    } else {
        not_found().await.into_response()
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound {
        settled: true,
        what: "route".to_owned(),
    }
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
