//! The whole in-process request path, without a socket: `cargo bench --bench handler`. A request
//! goes in, the response comes out with its body read. A repeated badge request without a query
//! string is answered from its kept answer, before the router; the same badge with a query string
//! (`?style=flat`, the default) goes through the router, its extractors and the handler.
//! What it leaves out (the connection, HTTP parsing, the kernel) is what `scripts/bench` measures.
#![allow(clippy::panic)] // a benchmark whose setup fails should stop loudly

use std::hint::black_box;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use depbadge::config::{Config, Sources};
use depbadge::domain::ScopeSelection;
use depbadge::domain::status::{Counts, ScopeStatus, Status, Summary};
use depbadge::http::{AppState, PublicService, router};
use depbadge::ops::metrics::Metrics;
use depbadge::ops::readiness::Readiness;
use http_body_util::BodyExt;
use sqlx::postgres::PgPoolOptions;
use tower::ServiceExt;

const SLUG: &str = "github.com/bench/project";

/// The service as `depbadge serve` assembles it, with one badge cached. The pool never connects:
/// a cache hit does not touch the database (if it did, requests would fail and the checks below
/// would stop the benchmark).
fn app() -> PublicService {
    let config = Config::from_sources(
        &Sources::from_env([("DEPBADGE_API_TOKENS", "bench:bench-token-0123456789abcdef")])
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let pool = PgPoolOptions::new().connect_lazy_with(config.database.connect_options());
    let now = Utc::now();
    let status = ScopeStatus {
        summary: Summary {
            status: Status::OutOfDate,
            counts: Counts {
                total: 12,
                outdated: 3,
                ..Counts::default()
            },
        },
        analyzed_at: now,
        updated_at: now,
    };
    let state = AppState::new(&config, pool, Readiness::default(), Metrics::new());
    let store = &state.store;
    store.store_status(SLUG, ScopeSelection::Runtime, Some(status), store.ticket());
    store.known().insert(SLUG);
    router(state)
}

async fn call(
    app: &PublicService,
    uri: &str,
    if_none_match: Option<&str>,
    expected: StatusCode,
) -> usize {
    let mut request = Request::get(uri);
    if let Some(etag) = if_none_match {
        request = request.header("if-none-match", etag);
    }
    let request = request
        .body(Body::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    let response = app
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(response.status(), expected, "{uri}");
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_bytes();
    body.len()
}

fn handler(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    // The pool spawns its maintenance task on the runtime it is made in.
    let app = runtime.block_on(async { app() });
    let cached = format!("/badges/{SLUG}.svg");
    let etag = runtime.block_on(async {
        let response = app
            .clone()
            .oneshot(
                Request::get(&cached)
                    .body(Body::empty())
                    .unwrap_or_else(|e| panic!("{e}")),
            )
            .await
            .unwrap_or_else(|e| match e {});
        response.headers()["etag"]
            .to_str()
            .unwrap_or_else(|e| panic!("{e}"))
            .to_owned()
    });

    let routed = format!("{cached}?style=flat");
    let cases = [
        ("cached badge", cached.as_str(), None, StatusCode::OK),
        (
            "cached badge, 304",
            cached.as_str(),
            Some(etag.as_str()),
            StatusCode::NOT_MODIFIED,
        ),
        (
            "cached badge, routed (query string)",
            routed.as_str(),
            None,
            StatusCode::OK,
        ),
        (
            "static badge",
            "/badge/build-passing-brightgreen.svg",
            None,
            StatusCode::OK,
        ),
    ];
    let mut group = c.benchmark_group("handler");
    for (name, uri, if_none_match, expected) in cases {
        group.bench_function(name, |b| {
            b.iter(|| runtime.block_on(call(&app, black_box(uri), if_none_match, expected)))
        });
    }
    group.finish();
}

criterion_group!(benches, handler);
criterion_main!(benches);
