//! The badge cache across replicas: a write anywhere reaches every replica's cache through
//! PostgreSQL NOTIFY, and a lost notification connection flushes the cache. Every replica here
//! keeps the default 10-minute TTL, so only a notification or a flush can explain a new badge.

use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::badges::badge;
use crate::helpers::{TestApp, minutes_ago, report_at, spawn_app};
use crate::metrics::{sample, scrape, wait_for_sample};

const LISTENING: &str = "depbadge_notifications_listening";
const FLUSHES: &str = "depbadge_badge_cache_flushes_total";
const HITS: &str = r#"depbadge_badge_cache_requests_total{result="hit"}"#;
pub const NOTIFICATIONS: &str = "depbadge_notifications_received_total";
const PATH: &str = "/badges/github.com/a/b.svg";

/// Reads the badge until it says `expected`; fails after `limit` (a deadline, not a speed claim:
/// without the mechanism under test the badge would not change for ten minutes).
async fn wait_for_badge(app: &TestApp, expected: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let label = badge(app, PATH).await.aria_label();
        if label == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "still {label:?} after {limit:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Puts the badge in `app`'s cache, and shows that it is there: the second read is a hit.
async fn cache_badge(app: &TestApp, expected: &str) {
    let hits = sample(&scrape(app).await, HITS).unwrap_or(0.0);
    for _ in 0..2 {
        assert_eq!(badge(app, PATH).await.aria_label(), expected);
    }
    assert_eq!(sample(&scrape(app).await, HITS), Some(hits + 1.0));
}

#[sqlx::test]
async fn a_write_on_one_replica_reaches_another_replicas_cache_by_notification(pool: PgPool) {
    let writer = spawn_app(pool.clone()).await;
    let reader = spawn_app(pool).await;
    // Listening has started (and its start-up flush is behind us).
    let metrics = wait_for_sample(&reader, LISTENING, 1.0).await;
    let flushes = sample(&metrics, FLUSHES);
    assert_eq!(flushes, Some(1.0), "{metrics}");

    let outdated = report_at(&minutes_ago(120), "1.0.0", 2);
    assert_eq!(
        writer
            .put_report("github.com/a/b", &outdated)
            .await
            .status(),
        201
    );
    // The write's own notification is behind us before the badge is cached: it cannot be the
    // one that refreshes it later.
    wait_for_sample(&reader, NOTIFICATIONS, 1.0).await;
    cache_badge(&reader, "dependencies: 2 of 2 outdated").await;

    let fresh = report_at(&minutes_ago(60), "5.0.0", 2);
    assert_eq!(
        writer.put_report("github.com/a/b", &fresh).await.status(),
        200
    );
    let took = wait_for_badge(&reader, "dependencies: up to date", Duration::from_secs(10)).await;
    println!("the other replica showed the new badge after {took:?}");

    let metrics = scrape(&reader).await;
    assert_eq!(sample(&metrics, NOTIFICATIONS), Some(2.0), "{metrics}");
    assert_eq!(sample(&metrics, FLUSHES), flushes, "no flush explains it");
    assert_eq!(sample(&metrics, LISTENING), Some(1.0));
}

#[sqlx::test]
async fn losing_the_notification_connection_flushes_the_cache(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let metrics = wait_for_sample(&app, LISTENING, 1.0).await;
    let flushes = sample(&metrics, FLUSHES).unwrap();

    let outdated = report_at(&minutes_ago(120), "1.0.0", 2);
    assert_eq!(
        app.put_report("github.com/a/b", &outdated).await.status(),
        201
    );
    wait_for_sample(&app, NOTIFICATIONS, 1.0).await;
    cache_badge(&app, "dependencies: 2 of 2 outdated").await;

    // A change no notification announces (as a repair by hand in psql would be): the cached
    // badge stays as it was.
    let updated = sqlx::query(
        "UPDATE project_statuses SET status = 'up-to-date', up_to_date = total, outdated = 0
         WHERE slug = 'github.com/a/b'",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(updated.rows_affected(), 3);
    assert_eq!(
        badge(&app, PATH).await.aria_label(),
        "dependencies: 2 of 2 outdated"
    );

    // The server ends the listener's connection, as a failover or an idle-connection reaper would.
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(terminated, [true], "one listening connection");

    wait_for_badge(&app, "dependencies: up to date", Duration::from_secs(20)).await;
    let metrics = wait_for_sample(&app, LISTENING, 1.0).await;
    assert!(
        sample(&metrics, FLUSHES).unwrap() > flushes,
        "the badge changed because the cache was flushed:\n{metrics}"
    );
}

const DOCUMENTS: &str = "depbadge_document_cache_requests_total";

fn document_lookups(metrics: &str, result: &str) -> f64 {
    sample(metrics, &format!(r#"{DOCUMENTS}{{result="{result}"}}"#)).unwrap_or(0.0)
}

/// The page's row for `report_at`'s first dependency at `version` (its latest is 5.0.0, which the
/// page shows in another column whatever the version).
fn row(version: &str) -> String {
    format!("<td>crate0</td><td>cargo</td><td>{version}</td><td>5.0.0</td>")
}

/// The JSON API and the page read a project's report once per scope, then from the cache, until
/// a write on any replica names the project.
#[sqlx::test]
async fn json_and_page_reads_are_cached_until_a_write_names_the_project(pool: PgPool) {
    let writer = spawn_app(pool.clone()).await;
    let reader = crate::helpers::spawn_listening_app(pool, &[]).await;
    let slug = "github.com/a/b";
    assert_eq!(
        writer
            .put_report(slug, &report_at(&minutes_ago(120), "1.0.0", 2))
            .await
            .status(),
        201
    );
    wait_for_sample(&reader, NOTIFICATIONS, 1.0).await;

    for _ in 0..3 {
        let (status, document) = reader.get_json(&format!("/v1/projects/{slug}")).await;
        assert_eq!(status, 200);
        assert_eq!(document["status"], "out-of-date");
        let page = reader.get_text(&format!("/projects/{slug}")).await;
        assert!(page.contains(&row("1.0.0")), "{page}");
        // What the page must show after the write is not already there.
        assert!(!page.contains(&row("5.0.0")), "{page}");
    }
    let metrics = scrape(&reader).await;
    assert_eq!(document_lookups(&metrics, "miss"), 1.0, "{metrics}");
    assert_eq!(document_lookups(&metrics, "hit"), 5.0, "{metrics}");
    // Another scope is another read.
    let (status, _) = reader
        .get_json(&format!("/v1/projects/{slug}?scope=all"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(document_lookups(&scrape(&reader).await, "miss"), 2.0);

    // Written through the other replica: the notification drops the cached report.
    assert_eq!(
        writer
            .put_report(slug, &report_at(&minutes_ago(60), "5.0.0", 2))
            .await
            .status(),
        200
    );
    wait_for_sample(&reader, NOTIFICATIONS, 2.0).await;
    let (_, document) = reader.get_json(&format!("/v1/projects/{slug}")).await;
    assert_eq!(document["status"], "up-to-date");
    assert_eq!(document["dependencies"][0]["version"], "5.0.0");
    let page = reader.get_text(&format!("/projects/{slug}")).await;
    assert!(
        page.contains(&row("5.0.0")),
        "the page shows the new report: {page}"
    );
    let metrics = scrape(&reader).await;
    assert_eq!(document_lookups(&metrics, "miss"), 3.0, "{metrics}");
    assert_eq!(document_lookups(&metrics, "hit"), 6.0, "{metrics}");

    // Deleted through the other replica: gone from this one too.
    let deleted = writer
        .client
        .delete(writer.url(&format!("/v1/projects/{slug}")))
        .bearer_auth(crate::helpers::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    wait_for_sample(&reader, NOTIFICATIONS, 3.0).await;
    let (status, _) = reader.get_json(&format!("/v1/projects/{slug}")).await;
    assert_eq!(status, 404);
}

/// A popular project just invalidated, with 64 clients asking for it at once: one database read.
/// The read is held back by a lock until every client is connected (a fast read would otherwise
/// end before the next request, and the test would pass without coalescing).
#[sqlx::test]
async fn concurrent_misses_of_one_project_share_one_database_read(pool: PgPool) {
    let (reads, bodies) =
        burst_on_an_invalidated_project(pool, "/v1/projects/github.com/a/b", DOCUMENT_READS).await;
    for body in bodies {
        let document: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(document["status"], "up-to-date");
    }
    assert_eq!(reads, 1.0);
}

/// The same for the badge: 64 requests for a badge just invalidated (its cached status stale)
/// share one read of its status. The lock is released as soon as every client is connected and
/// one read waits: well within a badge's 1-second database budget, after which a request would
/// give up its read and answer the last known badge (the one thing here that a machine stalled
/// for a second would change).
#[sqlx::test]
async fn concurrent_requests_for_an_invalidated_badge_share_one_database_read(pool: PgPool) {
    let (reads, bodies) = burst_on_an_invalidated_project(
        pool,
        "/badges/github.com/a/b.svg",
        r#"depbadge_db_reads_total{read="status"}"#,
    )
    .await;
    for body in bodies {
        assert!(body.contains("dependencies: up to date"), "{body}");
    }
    assert_eq!(reads, 1.0);
}

/// Writes a project twice (the second write invalidates what the first left cached), reads
/// `path` once to cache it, invalidates it with a third write, then sends 64 requests for `path`
/// at once while a lock holds the database read back until all 64 are connected and a read
/// waits. Requests that reach the cache after the read has ended find its value (a hit, not a
/// read). The number of database reads counted in `reads` during the burst, and the bodies.
async fn burst_on_an_invalidated_project(
    pool: PgPool,
    path: &str,
    reads: &str,
) -> (f64, Vec<String>) {
    const CLIENTS: usize = 64;
    let app = crate::helpers::spawn_listening_app(pool.clone(), &[]).await;
    let slug = "github.com/a/b";
    let outdated = report_at(&minutes_ago(120), "1.0.0", 2);
    assert_eq!(app.put_report(slug, &outdated).await.status(), 201);
    app.get_text(path).await;
    let fresh = report_at(&minutes_ago(60), "5.0.0", 2);
    assert_eq!(app.put_report(slug, &fresh).await.status(), 200);
    // Both notifications heard before the burst: no invalidation during it.
    wait_for_sample(&app, NOTIFICATIONS, 2.0).await;
    let before = scrape(&app).await;
    let reads_before = sample(&before, reads).unwrap_or(0.0);
    let open_before = sample(&before, CONNECTIONS_OPEN).unwrap_or(0.0);

    // Its own connection: without coalescing, 64 reads would take every one of the pool's.
    let mut watcher = pool.acquire().await.unwrap();
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE project_statuses IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let url = app.url(path);
    let burst = futures_util::future::join_all(
        (0..CLIENTS)
            .map(|_| async { client.get(&url).send().await.unwrap().text().await.unwrap() }),
    );
    let release = async {
        let started = Instant::now();
        loop {
            let connected = sample(&scrape(&app).await, CONNECTIONS_OPEN).unwrap_or(0.0);
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&mut *watcher)
            .await
            .unwrap();
            if connected >= open_before + CLIENTS as f64 && waiting > 0 {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{connected} connections open, {waiting} reads waiting"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        lock.commit().await.unwrap();
    };
    let (bodies, ()) = tokio::join!(burst, release);
    let metrics = scrape(&app).await;
    let read = sample(&metrics, reads).unwrap_or(0.0) - reads_before;
    println!("{CLIENTS} concurrent requests for {path}, just invalidated: {read} database read(s)");
    (read, bodies)
}

const CONNECTIONS_OPEN: &str = "depbadge_http_connections_open";
const DOCUMENT_READS: &str = r#"depbadge_db_reads_total{read="document"}"#;
