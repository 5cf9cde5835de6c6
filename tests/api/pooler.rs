//! The database handle as a transaction pooler needs it (no statement outlives its transaction),
//! and a connection that turned read-only is dropped, not kept. The real PgBouncer is exercised
//! by scripts/failover; these tests pin what the handle itself does, on PostgreSQL.

use depbadge::config::{Config, Sources};
use depbadge::db::{Db, Route};
use depbadge::domain::{Report, ReportInput, ScopeSelection, Slug, Visibility};
use depbadge::startup::Application;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::helpers::spec_example;

/// A pool of one connection on the test database, so that what a statement leaves behind on the
/// server process is seen by the next.
async fn one_connection(pool: &PgPool) -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap()
}

/// A handle on a pool of one connection that closes connections after a failover failure, as
/// the service's does.
async fn one_watched_connection(pool: &PgPool, route: Route) -> Db {
    Db::connect(
        PgPoolOptions::new().max_connections(1),
        (*pool.connect_options()).clone(),
        route,
    )
    .await
    .unwrap()
}

/// Runs `sql` (a `SET SESSION`) on the pool's one connection.
async fn set_session(db: &Db, sql: &'static str) {
    sqlx::raw_sql(sql).execute(db.pool()).await.unwrap();
}

fn example_report() -> Report {
    let input: ReportInput = serde_json::from_value(spec_example()).unwrap();
    Report::from_input(input, chrono::Utc::now()).unwrap()
}

async fn prepared_statements(pool: &PgPool) -> i64 {
    // Run by the simple query protocol: it prepares nothing itself.
    let rows = sqlx::raw_sql("SELECT count(*)::int8 FROM pg_prepared_statements")
        .fetch_all(pool)
        .await
        .unwrap();
    sqlx::Row::get(&rows[0], 0)
}

async fn write_and_read(db: &Db) {
    let report = example_report();
    let slug = Slug::parse("github.com/pooled/app").unwrap();
    depbadge::db::projects::write_report(
        db,
        &slug,
        &report,
        Visibility::Public,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let found = depbadge::db::projects::find(db, &slug, ScopeSelection::All)
        .await
        .unwrap();
    assert!(found.is_some());
    assert_eq!(depbadge::db::projects::count(db).await.unwrap(), 1);
}

#[sqlx::test]
async fn through_a_pooler_no_statement_outlives_its_transaction(pool: PgPool) {
    let single = one_connection(&pool).await;
    let db = Db::new(single.clone(), Route::Pooler);
    write_and_read(&db).await;
    assert_eq!(prepared_statements(&single).await, 0);
}

#[sqlx::test]
async fn not_yet_probed_is_treated_as_a_pooler(pool: PgPool) {
    let single = one_connection(&pool).await;
    write_and_read(&Db::new(single.clone(), Route::Unknown)).await;
    assert_eq!(prepared_statements(&single).await, 0);
}

#[sqlx::test]
async fn directly_statements_are_prepared_once_and_kept(pool: PgPool) {
    // The other side of the two tests above: without it they would pass on a handle that never
    // keeps a statement, which would cost every direct deployment a parse per query.
    let single = one_connection(&pool).await;
    let db = Db::new(single.clone(), Route::Direct);
    // Inside a transaction (a write) ...
    let report = example_report();
    let slug = Slug::parse("github.com/pooled/app").unwrap();
    depbadge::db::projects::write_report(
        &db,
        &slug,
        &report,
        Visibility::Public,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let written = prepared_statements(&single).await;
    assert!(written > 0);
    // ... and alone (reads).
    write_and_read(&db).await;
    assert!(prepared_statements(&single).await > written);
}

/// The application name of the pool's one connection: a marker that a new connection lacks.
async fn marker(pool: &PgPool) -> String {
    let rows = sqlx::raw_sql("SHOW application_name")
        .fetch_all(pool)
        .await
        .unwrap();
    sqlx::Row::get(&rows[0], 0)
}

#[sqlx::test]
async fn a_query_that_fails_keeps_its_connection(pool: PgPool) {
    for route in [Route::Direct, Route::Pooler] {
        let db = one_watched_connection(&pool, route).await;
        set_session(&db, "SET SESSION application_name = 'kept'").await;
        // A division by zero says nothing about the server: the connection stays in the pool.
        let failed = sqlx::query("SELECT 1 / $1").bind(0).fetch_one(&db).await;
        assert!(failed.is_err());
        assert_eq!(marker(db.pool()).await, "kept", "{route:?}");
    }
}

#[sqlx::test]
async fn a_serving_pool_not_known_to_be_direct_is_probed_and_found_direct(pool: PgPool) {
    let db = Db::new(pool, Route::Unknown);
    let env = [
        ("DEPBADGE_LISTEN_ADDR", "127.0.0.1:0"),
        ("DEPBADGE_METRICS_ADDR", "127.0.0.1:0"),
    ];
    let config = Config::from_sources(&Sources::from_env(env).unwrap()).unwrap();
    let app = Application::build(&config, db.clone()).await.unwrap();
    let serving = tokio::spawn(app.run_until(std::future::pending()));
    // The listener's probe decides, once it reached the database.
    for _ in 0..600 {
        if db.route() != Route::Unknown {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(db.route(), Route::Direct);
    serving.abort();
}

#[sqlx::test]
async fn a_connection_that_turned_read_only_is_dropped_and_the_next_write_succeeds(pool: PgPool) {
    for route in [Route::Direct, Route::Pooler] {
        let db = one_watched_connection(&pool, route).await;
        // The one connection now behaves as one to a standby after a switchover.
        set_session(&db, "SET SESSION default_transaction_read_only = on").await;
        let report = example_report();
        let slug = Slug::parse("github.com/pooled/failover").unwrap();
        let write = || {
            depbadge::db::projects::write_report(
                &db,
                &slug,
                &report,
                Visibility::Public,
                chrono::Utc::now(),
            )
        };
        let error = write().await.unwrap_err();
        assert!(
            depbadge::db::is_unavailable(&error),
            "{route:?}: a read-only server is a 503, not a 500: {error}"
        );
        // The read-only connection was closed; the pool's next one is writable.
        write().await.unwrap();
        // And kept: a connection opened after the failure is not closed because of it.
        set_session(&db, "SET SESSION application_name = 'after'").await;
        write().await.unwrap();
        assert_eq!(marker(db.pool()).await, "after", "{route:?}");
    }
}
