use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{TestApp, spawn_app, spec_example};

pub async fn scrape(app: &TestApp) -> String {
    let response = reqwest::get(format!("http://{}/metrics", app.admin_address))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    response.text().await.unwrap()
}

/// The value of the sample named exactly `series` (name and labels), if it is exposed.
pub fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

/// Scrapes until `series` has `value`: for what background tasks set (the database watcher, the
/// notification listener), which a test cannot wait for otherwise.
pub async fn wait_for_sample(app: &TestApp, series: &str, value: f64) -> String {
    wait_until(app, series, value, |sampled| sampled == value).await
}

/// Scrapes until the counter `series` has reached `value` (it may have passed it).
pub async fn wait_for_at_least(app: &TestApp, series: &str, value: f64) -> String {
    wait_until(app, series, value, |sampled| sampled >= value).await
}

async fn wait_until(
    app: &TestApp,
    series: &str,
    value: f64,
    reached: impl Fn(f64) -> bool,
) -> String {
    let started = Instant::now();
    loop {
        let metrics = scrape(app).await;
        if sample(&metrics, series).is_some_and(&reached) {
            return metrics;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{series} never became {value}:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Each application has its own registry, so the counts are exactly this test's requests.
#[sqlx::test]
async fn the_admin_listener_serves_the_spec_metrics_with_route_templates(pool: PgPool) {
    // Listening, so that the filter of known slugs is loaded: a never-reported slug is `absent`.
    let app = crate::helpers::spawn_listening_app(pool, &[]).await;

    let slug = "github.com/metrics/project";
    assert_eq!(
        app.put_report(slug, &spec_example())
            .await
            .status()
            .as_u16(),
        201
    );
    assert_eq!(
        app.put_report(slug, &spec_example())
            .await
            .status()
            .as_u16(),
        200
    );
    let refused = app
        .client
        .put(app.url(&format!("/v1/projects/{slug}")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    for path in [
        "/badges/github.com/metrics/project.svg",
        "/badges/github.com/metrics/project.svg",
        "/badges/github.com/metrics/never-reported.svg",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
    }
    let response = app
        .client
        .request(
            reqwest::Method::from_bytes(b"BREW").unwrap(),
            app.url("/healthz"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);

    // The database watcher reports the database up within its first check.
    let metrics = wait_for_sample(&app, "depbadge_db_up", 1.0).await;
    let max = f64::from(app.pool.options().get_max_connections());
    let version = env!("CARGO_PKG_VERSION");
    let expected = [
        (r#"http_requests_total{method="GET",route="/badges/{*path}",status="200"}"#.to_owned(), 3.0),
        (r#"http_requests_total{method="PUT",route="/v1/projects/{*slug}",status="201"}"#.to_owned(), 1.0),
        (r#"http_requests_total{method="PUT",route="/v1/projects/{*slug}",status="200"}"#.to_owned(), 1.0),
        (r#"http_requests_total{method="PUT",route="/v1/projects/{*slug}",status="401"}"#.to_owned(), 1.0),
        (r#"http_requests_total{method="other",route="/healthz",status="405"}"#.to_owned(), 1.0),
        (r#"http_request_duration_seconds_count{method="GET",route="/badges/{*path}",status="200"}"#.to_owned(), 3.0),
        (r#"http_request_duration_seconds_bucket{method="GET",route="/badges/{*path}",status="200",le="+Inf"}"#.to_owned(), 3.0),
        (r#"depbadge_badge_cache_requests_total{result="hit"}"#.to_owned(), 1.0),
        (r#"depbadge_badge_cache_requests_total{result="miss"}"#.to_owned(), 1.0),
        (r#"depbadge_badge_cache_requests_total{result="absent"}"#.to_owned(), 1.0),
        (r#"depbadge_reports_ingested_total{result="created"}"#.to_owned(), 1.0),
        (r#"depbadge_reports_ingested_total{result="unchanged"}"#.to_owned(), 1.0),
        (r#"depbadge_reports_ingested_total{result="rejected"}"#.to_owned(), 1.0),
        (r#"depbadge_db_pool_connections{state="max"}"#.to_owned(), max),
        (format!(r#"depbadge_build_info{{version="{version}"}}"#), 1.0),
    ];
    for (series, value) in &expected {
        assert_eq!(
            sample(&metrics, series),
            Some(*value),
            "{series} in\n{metrics}"
        );
    }
    // Every outcome's series exists from the start (at 0), so that rates and ratios over them
    // are defined before the first event of a kind.
    for zero in [
        r#"depbadge_reports_ingested_total{result="updated"}"#,
        r#"depbadge_badge_cache_requests_total{result="stale"}"#,
        r#"depbadge_document_cache_requests_total{result="miss"}"#,
        r#"depbadge_db_reads_total{read="document"}"#,
    ] {
        assert_eq!(sample(&metrics, zero), Some(0.0), "{zero} in\n{metrics}");
    }
    assert!(metrics.contains("depbadge_db_pool_connections{state=\"active\"}"));
    assert!(metrics.contains("# TYPE http_request_duration_seconds histogram"));
    // Labels are route templates and known methods: no slug or invented method reaches a metric.
    assert!(!metrics.contains("github.com/metrics"), "{metrics}");
    assert!(!metrics.contains("BREW"), "{metrics}");
}

#[sqlx::test]
async fn metrics_are_not_served_on_the_public_listener(pool: PgPool) {
    let app = spawn_app(pool).await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

/// Histogram samples wait in memory until drained; a replica nobody scrapes (no Prometheus yet,
/// a failing scrape) drains them on its own every few seconds instead of growing without bound.
#[sqlx::test]
async fn histograms_are_drained_without_a_scrape(pool: PgPool) {
    let app = crate::helpers::spawn_app(pool).await;
    for _ in 0..10 {
        assert_eq!(app.get_json("/healthz").await.0, 200);
    }
    // No scrape here: only the periodic upkeep can drain them.
    let started = Instant::now();
    while app.metrics.upkeeps() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no periodic upkeep in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The README's list of metrics names every metric the registry exposes.
#[sqlx::test]
async fn the_readme_lists_every_metric(pool: PgPool) {
    let app = spawn_app(pool).await;
    // A request, so that the request metrics exist too.
    assert_eq!(app.get_json("/healthz").await.0, 200);
    let metrics = scrape(&app).await;
    let readme = include_str!("../../README.md");
    let names: std::collections::BTreeSet<&str> = metrics
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split(' ').next())
        .collect();
    assert!(names.len() >= 10, "{metrics}");
    // And the watcher's, which registers every series at start.
    let watcher = crate::watch::start_watcher(
        &app.pool,
        &[("DEPBADGE_REGISTRY_NPM", "http://127.0.0.1:9")],
    )
    .await;
    let watched = watcher.metrics().await;
    let mut names = names;
    names.extend(
        watched
            .lines()
            .filter_map(|line| line.strip_prefix("# TYPE "))
            .filter_map(|rest| rest.split(' ').next())
            .map(|name| &*Box::leak(name.to_owned().into_boxed_str())),
    );
    assert!(
        names.contains("depbadge_registry_requests_total"),
        "{watched}"
    );
    for name in names {
        assert!(
            readme.contains(&format!("`{name}")),
            "the README does not list {name}"
        );
    }
}
