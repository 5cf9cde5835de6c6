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
use depbadge::domain::access::ReadKeys;
use depbadge::domain::status::{Counts, GuardedStatus, ScopeStatus, Status, Summary};
use depbadge::domain::{Access, ScopeSelection};
use depbadge::http::{AppState, PublicService, router};
use depbadge::ops::metrics::Metrics;
use depbadge::ops::readiness::Readiness;
use http_body_util::BodyExt;
use sqlx::postgres::PgPoolOptions;
use tower::ServiceExt;

const SLUG: &str = "github.com/bench/project";
const PRIVATE_SLUG: &str = "github.com/bench/private";
/// The private project's key (made from fixed bytes: a benchmark needs no secret).
fn private_key() -> (String, depbadge::domain::access::KeyDigest) {
    depbadge::domain::access::new_key(&[42; depbadge::domain::access::KEY_RANDOM_BYTES])
}

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
    let state = AppState::new(&config, pool.into(), Readiness::default(), Metrics::new());
    let store = &state.store;
    let public = GuardedStatus {
        status,
        access: Access::Public,
    };
    store.store_status(SLUG, ScopeSelection::Runtime, Some(public), store.ticket());
    store.known().insert(SLUG);
    // A private project with as many keys as it may have, the one used last.
    let mut keys: Vec<(std::sync::Arc<str>, _)> = (0..15u8)
        .map(|i| {
            let (_, digest) = depbadge::domain::access::new_key(&[i; 32]);
            (std::sync::Arc::from(format!("key-{i}")), digest)
        })
        .collect();
    keys.push((std::sync::Arc::from("key-used"), private_key().1));
    let private = GuardedStatus {
        status,
        access: Access::Private(std::sync::Arc::new(ReadKeys::new(keys))),
    };
    store.store_status(
        PRIVATE_SLUG,
        ScopeSelection::Runtime,
        Some(private),
        store.ticket(),
    );
    store.known().insert(PRIVATE_SLUG);
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
    let private = format!("/badges/{PRIVATE_SLUG}.svg?key={}", private_key().0);
    // The key is checked and accepted: the badge shows the status, not `unknown`.
    let shown = runtime.block_on(async {
        let response = app
            .clone()
            .oneshot(
                Request::get(&private)
                    .body(Body::empty())
                    .unwrap_or_else(|e| panic!("{e}")),
            )
            .await
            .unwrap_or_else(|e| match e {});
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .to_bytes();
        String::from_utf8_lossy(&body).into_owned()
    });
    assert!(shown.contains("3 of 12 outdated"), "{shown}");
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
            "private badge, with its key",
            private.as_str(),
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
