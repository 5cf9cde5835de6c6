//! The filter of known slugs (docs/decisions.md, "Unknown slugs"): its "no" costs no read, but
//! may be a moment old, so nothing resting on it alone is cacheable; and a filter that cannot be
//! built is said so, counted and built again.

use std::time::{Duration, Instant};

use reqwest::header::CACHE_CONTROL;
use sqlx::PgPool;

use crate::binary::{start, wait_for};
use crate::helpers::{TestApp, database_url, spawn_app, spawn_listening_app, spec_example};

/// `series` on the real binary's admin listener; 0 when absent.
async fn admin_sample(client: &reqwest::Client, admin: std::net::SocketAddr, series: &str) -> f64 {
    let metrics = client
        .get(format!("http://{admin}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    crate::metrics::sample(&metrics, series).unwrap_or(0.0)
}

async fn cache_control(app_url: &str, client: &reqwest::Client) -> (u16, String, String) {
    let response = client.get(app_url).send().await.unwrap();
    let status = response.status().as_u16();
    let cache = response
        .headers()
        .get(CACHE_CONTROL)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, cache, response.text().await.unwrap())
}

/// Every route that answers for a slug: badge, endpoint JSON, JSON API, page.
fn routes(slug: &str) -> [String; 4] {
    [
        format!("/badges/{slug}.svg"),
        format!("/badges/{slug}.json"),
        format!("/v1/projects/{slug}"),
        format!("/projects/{slug}"),
    ]
}

async fn absent_lookups(app: &TestApp) -> f64 {
    let metrics = crate::metrics::scrape(app).await;
    ["badge", "document"]
        .iter()
        .map(|cache| {
            crate::metrics::sample(
                &metrics,
                &format!(r#"depbadge_{cache}_cache_requests_total{{result="absent"}}"#),
            )
            .unwrap_or(0.0)
        })
        .sum()
}

#[sqlx::test]
async fn answers_resting_on_the_filter_alone_are_not_cacheable(pool: PgPool) {
    let app = spawn_listening_app(pool, &[]).await;
    let before = absent_lookups(&app).await;
    for path in routes("github.com/never/reported") {
        let (status, cache, _) = cache_control(&app.url(&path), &app.client).await;
        assert!([200, 404].contains(&status), "{path}: {status}");
        assert_eq!(cache, "no-cache", "{path}");
    }
    assert_eq!(
        absent_lookups(&app).await - before,
        4.0,
        "all four answered by the filter"
    );

    // Deleted: the filter still says "maybe" (until its next rebuild), so the database is read,
    // and its "no report" is cacheable as before (the badge 60 s; the JSON API's 404 carries no
    // Cache-Control). The same answer kept from that read is as old as the read: not cacheable.
    let heard = crate::metrics::sample(
        &crate::metrics::scrape(&app).await,
        crate::invalidation::NOTIFICATIONS,
    )
    .unwrap_or_default();
    app.put_report("github.com/gone/project", &spec_example())
        .await;
    let deleted = app.delete_project("github.com/gone/project").await;
    assert_eq!(deleted.status().as_u16(), 204);
    // Both writes' notifications heard before the reads: arriving between them, the delete's
    // would invalidate the answer kept by the first read (a clean-clone run saw it once).
    crate::metrics::wait_for_at_least(&app, crate::invalidation::NOTIFICATIONS, heard + 2.0).await;
    let [svg, json, api, page] = routes("github.com/gone/project");
    for (path, expected) in [
        (&svg, "max-age=60, s-maxage=60"),
        (&svg, "no-cache"),
        (&json, "no-cache"),
        (&api, ""),
        (&api, "no-cache"),
        (&page, "no-cache"),
    ] {
        let (_, cache, _) = cache_control(&app.url(path), &app.client).await;
        assert_eq!(cache, expected, "{path}");
    }
}

/// A slug pushed through one replica, read on another before and after its NOTIFY arrives: every
/// answer is either the new status or not cacheable, never a cacheable `unknown`.
#[sqlx::test]
async fn a_first_push_through_another_replica_is_never_hidden_behind_a_cacheable_unknown(
    pool: PgPool,
) {
    let reader = spawn_listening_app(pool.clone(), &[]).await;
    let writer = spawn_app(pool).await;
    let badge = reader.url("/badges/github.com/first/push.svg");
    let (_, cache, _) = cache_control(&badge, &reader.client).await;
    assert_eq!(cache, "no-cache");

    let report = spec_example();
    let put = writer.put_report("github.com/first/push", &report);
    let (written, answers) = tokio::join!(put, async {
        let mut answers = Vec::new();
        for _ in 0..40 {
            answers.push(cache_control(&badge, &reader.client).await);
        }
        answers
    });
    assert_eq!(written.status().as_u16(), 201);
    let started = Instant::now();
    let mut answers = answers;
    loop {
        let answer = cache_control(&badge, &reader.client).await;
        let shown = answer.2.contains("1 of 1 outdated");
        answers.push(answer);
        if shown {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "never shown");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for (_, cache, svg) in &answers {
        assert!(
            svg.contains("1 of 1 outdated") || cache == "no-cache",
            "a cacheable answer without the pushed status: {cache} {svg}"
        );
    }
}

/// The real binary, with the table the filter is built from out of reach: the failure is
/// logged and counted, every slug is read meanwhile, and the build is retried until it works,
/// without waiting for a reconnection.
#[sqlx::test]
async fn a_failed_build_of_the_filter_is_logged_counted_and_retried(pool: PgPool) {
    sqlx::query("ALTER TABLE projects RENAME TO projects_out_of_reach")
        .execute(&pool)
        .await
        .unwrap();
    let mut server = start(&database_url(&pool), &[("DEPBADGE_LOG_FORMAT", "json")]);
    let client = reqwest::Client::new();
    wait_for(&client, &server, "/readyz", 200, Duration::from_secs(20)).await;
    let builds = |result: &'static str| {
        let (client, admin) = (client.clone(), server.admin);
        async move {
            admin_sample(
                &client,
                admin,
                &format!(r#"depbadge_known_slugs_builds_total{{result="{result}"}}"#),
            )
            .await
        }
    };
    // Until a build with `result` is counted; the deadline only ends the wait.
    let counted = |result: &'static str, limit: Duration| async move {
        let started = Instant::now();
        while builds(result).await < 1.0 {
            assert!(started.elapsed() < limit, "no {result} build counted");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    counted("failed", Duration::from_secs(20)).await;
    assert_eq!(builds("loaded").await, 0.0);
    // No filter: the slug is read. The read fails too here (a status is read with its
    // project's visibility), so the badge is `unavailable`; the read is what shows that no
    // filter answered.
    let reads = || {
        let (client, admin) = (client.clone(), server.admin);
        async move { admin_sample(&client, admin, r#"depbadge_db_reads_total{read="status"}"#).await }
    };
    let badge = server.url("/badges/github.com/never/reported.svg");
    let before = reads().await;
    let (_, cache, _) = cache_control(&badge, &client).await;
    assert_eq!(cache, "no-cache");
    assert_eq!(reads().await, before + 1.0, "read from the database");

    sqlx::query("ALTER TABLE projects_out_of_reach RENAME TO projects")
        .execute(&pool)
        .await
        .unwrap();
    // Retried on its own, the connection never lost.
    counted("loaded", Duration::from_secs(30)).await;
    let before = reads().await;
    let (_, cache, _) = cache_control(&badge, &client).await;
    assert_eq!(cache, "no-cache", "answered by the filter now");
    assert_eq!(reads().await, before, "without a read");

    let stdout = server.stop().await;
    let failed = stdout
        .lines()
        .position(|l| {
            l.contains(r#""level":"WARN""#)
                && l.contains("could not build the filter of known slugs")
        })
        .unwrap_or_else(|| panic!("no warning for the failed build in {stdout}"));
    let loaded = stdout
        .lines()
        .position(|l| l.contains("known slugs loaded"))
        .unwrap_or_else(|| panic!("no line for the loaded filter in {stdout}"));
    assert!(failed < loaded, "{stdout}");
}

/// The filter is filled from the database a batch of slugs at a time (memory stays one batch at
/// a million projects): every slug of every batch is known, the last partial batch included,
/// and a slug nobody reported is still answered without a read.
#[sqlx::test]
async fn the_filter_is_built_batch_by_batch_and_knows_every_slug(pool: PgPool) {
    // 25,001 projects: two full batches of 10,000 and a partial one.
    sqlx::query(
        "INSERT INTO projects (slug, display_slug, analyzed_at, updated_at, created_at, report_sha256)
         SELECT 'github.com/batch/p' || i, 'github.com/batch/p' || i, now(), now(), now(), '\\x00'
         FROM generate_series(1, 25001) AS i",
    )
    .execute(&pool)
    .await
    .unwrap();
    let app = spawn_listening_app(pool, &[]).await;
    let reads = |metrics: &str| {
        crate::metrics::sample(metrics, r#"depbadge_db_reads_total{read="status"}"#).unwrap_or(0.0)
    };
    // In slug order `p1` comes first and `p9999` last; `p19999` and `p5000` fall in between.
    for i in [1, 10, 19999, 25001, 5000, 9999] {
        let before = reads(&crate::metrics::scrape(&app).await);
        crate::badges::badge(&app, &format!("/badges/github.com/batch/p{i}.svg")).await;
        let after = reads(&crate::metrics::scrape(&app).await);
        assert_eq!(after, before + 1.0, "p{i} is known: it is read");
    }
    let before = reads(&crate::metrics::scrape(&app).await);
    crate::badges::badge(&app, "/badges/github.com/batch/never.svg").await;
    assert_eq!(
        reads(&crate::metrics::scrape(&app).await),
        before,
        "not known: no read"
    );
}
