use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::helpers::{TOKEN, spawn_app, spec_example};
use crate::outage::DatabaseSwitch;

#[sqlx::test]
async fn liveness_and_readiness_are_200_with_a_migrated_database(pool: PgPool) {
    let app = spawn_app(pool).await;
    assert_eq!(app.get_json("/healthz").await.0, 200);
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 200, "{body}");
}

#[sqlx::test(migrations = false)]
async fn readiness_fails_until_the_schema_is_migrated(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 503);
    assert!(
        body["reason"].as_str().unwrap().contains("migrations"),
        "{body}"
    );
    depbadge::db::schema::migrate(&pool.connect_options())
        .await
        .unwrap();
    assert_eq!(app.get_json("/readyz").await.0, 200);
}

#[sqlx::test(migrations = false)]
async fn replicas_migrating_at_once_each_succeed(pool: PgPool) {
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(
                async move { depbadge::db::schema::migrate(&pool.connect_options()).await },
            )
        })
        .collect();
    for run in runs {
        run.await.unwrap().unwrap();
    }
    assert_eq!(
        depbadge::db::schema::state(&pool.clone().into())
            .await
            .unwrap(),
        depbadge::db::schema::SchemaState::Current
    );
}

#[sqlx::test]
async fn with_the_database_unreachable_liveness_is_200_and_the_api_answers_503(_pool: PgPool) {
    // A port nothing listens on: bind one, then close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = PgPoolOptions::new()
        .acquire_timeout(Duration::from_millis(500))
        .connect_lazy(&format!("postgres://nobody@127.0.0.1:{port}/nothing"))
        .unwrap();
    let app = spawn_app(unreachable).await;
    assert_eq!(app.get_json("/healthz").await.0, 200);
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 503);
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .starts_with("database unavailable"),
        "{body}"
    );
    // Every JSON API route that needs the database answers 503 with Retry-After.
    let requests = [
        app.client.get(app.url("/v1/projects/github.com/a/b")),
        app.client.get(app.url("/v1/projects?status=out-of-date")),
        app.client
            .put(app.url("/v1/projects/github.com/a/b"))
            .bearer_auth(TOKEN)
            .json(&spec_example()),
        app.client
            .delete(app.url("/v1/projects/github.com/a/b"))
            .bearer_auth(TOKEN),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let what = format!("{} {}", response.url().path(), response.status());
        assert_eq!(response.status().as_u16(), 503, "{what}");
        assert_eq!(response.headers()["retry-after"], "5", "{what}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], "database_unavailable", "{what}");
    }
    // The alerting gauge says so (the watcher has tried and failed by now: the requests above
    // each waited for the pool's connect timeout).
    let metrics = crate::metrics::scrape(&app).await;
    assert_eq!(
        crate::metrics::sample(&metrics, "depbadge_db_up"),
        Some(0.0),
        "{metrics}"
    );
}

#[sqlx::test]
async fn the_request_id_is_taken_from_the_request_or_generated_and_echoed(pool: PgPool) {
    let app = spawn_app(pool).await;
    let echoed = |response: &reqwest::Response| {
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };

    let given = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed(&given), "trace-abc-123");

    // Missing, or unfit for a log line (spaces, too long): a fresh UUID instead.
    for header in [None, Some("two words"), Some(&*"x".repeat(200))] {
        let mut request = app.client.get(app.url("/badges/github.com/a/b.svg"));
        if let Some(value) = header {
            request = request.header("x-request-id", value);
        }
        let id = echoed(&request.send().await.unwrap());
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{header:?} gave {id}");
    }
    let first = echoed(&app.client.get(app.url("/healthz")).send().await.unwrap());
    let second = echoed(&app.client.get(app.url("/healthz")).send().await.unwrap());
    assert_ne!(first, second, "each request gets its own id");
}

/// Readiness says whether the router should send this replica traffic, not whether the database
/// is up: once the replica has found its schema it stays ready through an outage, answering
/// badges from its cache and 503 with Retry-After on the JSON API itself.
#[sqlx::test]
async fn once_ready_a_replica_stays_ready_through_a_database_outage(pool: PgPool) {
    let switch = DatabaseSwitch::start(&pool, true).await;
    let app = spawn_app(switch.pool()).await;
    let slug = "github.com/outage/project";
    let badge_path = format!("/badges/{slug}.svg");
    assert_eq!(app.put_report(slug, &spec_example()).await.status(), 201);
    let before = crate::badges::badge(&app, &badge_path).await.aria_label();
    let (status, body) = app.get_json("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["database"], "up", "{body}");

    switch.cut();
    // Ready all along; the body says what the database watcher saw.
    let started = Instant::now();
    loop {
        let (status, body) = app.get_json("/readyz").await;
        assert_eq!(status, 200, "not ready during the outage: {body}");
        if body["database"] == "down" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = app.get_project(slug).await;
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    assert_eq!(
        crate::badges::badge(&app, &badge_path).await.aria_label(),
        before
    );

    switch.restore();
    let started = Instant::now();
    loop {
        let status = app.put_report(slug, &spec_example()).await.status();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "writes never came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.get_json("/readyz").await.0, 200);
}

/// A query that never returns (here: a table locked by someone else) costs a JSON API or page
/// request at most `DEPBADGE_REQUEST_TIMEOUT`, then a 503 the client can retry.
#[sqlx::test]
async fn a_slow_query_ends_in_a_503_at_the_request_deadline(pool: PgPool) {
    let app =
        crate::helpers::spawn_app_with(pool.clone(), &[("DEPBADGE_REQUEST_TIMEOUT", "1s")]).await;
    let slug = "github.com/slow/project";
    assert_eq!(app.put_report(slug, &spec_example()).await.status(), 201);
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE project_statuses IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();

    let response = app.get_project(slug).await;
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "timeout", "{error}");

    let page = app
        .client
        .get(app.url(&format!("/projects/{slug}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 503);
    assert!(page.text().await.unwrap().contains("took too long"));

    lock.rollback().await.unwrap();
    assert_eq!(app.get_project(slug).await.status().as_u16(), 200);
}
