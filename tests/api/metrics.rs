use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{TestApp, spawn_app, spec_example};

async fn scrape(app: &TestApp) -> String {
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

/// The value of the first sample whose line starts with `series` (name and labels).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[sqlx::test]
async fn the_admin_listener_serves_the_spec_metrics_with_route_templates(pool: PgPool) {
    let app = spawn_app(pool).await;
    assert_eq!(
        app.put_report("github.com/metrics/project", &spec_example())
            .await
            .status()
            .as_u16(),
        201
    );
    assert_eq!(
        app.put_report("github.com/metrics/project", &spec_example())
            .await
            .status()
            .as_u16(),
        200
    );
    let refused = app
        .client
        .put(app.url("/v1/projects/github.com/metrics/project"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    for _ in 0..2 {
        app.client
            .get(app.url("/badges/github.com/metrics/project.svg"))
            .send()
            .await
            .unwrap();
    }
    app.client
        .get(app.url("/badges/github.com/metrics/never-reported.svg"))
        .send()
        .await
        .unwrap();

    // The database watcher reports the database up within its first check.
    let started = Instant::now();
    let metrics = loop {
        let metrics = scrape(&app).await;
        if sample(&metrics, "depbadge_db_up ") == Some(1.0)
            || started.elapsed() > Duration::from_secs(10)
        {
            break metrics;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(sample(&metrics, "depbadge_db_up "), Some(1.0), "{metrics}");

    let at_least_one = [
        r#"http_requests_total{method="GET",route="/badges/{*path}",status="200"}"#,
        r#"http_requests_total{method="PUT",route="/v1/projects/{*slug}",status="201"}"#,
        r#"http_requests_total{method="PUT",route="/v1/projects/{*slug}",status="401"}"#,
        r#"http_request_duration_seconds_bucket{method="GET",route="/badges/{*path}",status="200",le="0.0005"}"#,
        r#"http_request_duration_seconds_count{method="GET",route="/badges/{*path}",status="200"}"#,
        r#"depbadge_badge_cache_requests_total{result="hit"}"#,
        r#"depbadge_badge_cache_requests_total{result="miss"}"#,
        r#"depbadge_reports_ingested_total{result="created"}"#,
        r#"depbadge_reports_ingested_total{result="unchanged"}"#,
        r#"depbadge_reports_ingested_total{result="rejected"}"#,
        r#"depbadge_db_pool_connections{state="max"}"#,
        r#"depbadge_build_info{version=""#,
    ];
    for series in at_least_one {
        let value = sample(&metrics, series).unwrap_or_else(|| panic!("no {series} in\n{metrics}"));
        if !series.contains("_bucket") {
            assert!(value >= 1.0, "{series} = {value}");
        }
    }
    assert!(metrics.contains("depbadge_db_pool_connections{state=\"active\"}"));
    assert!(metrics.contains("# TYPE http_request_duration_seconds histogram"));
    // Labels are route templates: no slug ever reaches a metric.
    assert!(!metrics.contains("github.com/metrics"), "{metrics}");
}

#[sqlx::test]
async fn metrics_are_not_served_on_the_public_listener(pool: PgPool) {
    let app = spawn_app(pool).await;
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);
}
