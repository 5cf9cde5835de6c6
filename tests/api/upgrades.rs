//! Release N beside release N-1 on one database (docs/upgrades.md): what this version writes,
//! release 0.1.0 (which reads dependencies only as rows) reads whole, and the migrations that
//! moved dependencies into documents and back keep every dependency. The whole fleet of both
//! releases is run by `scripts/upgrade`.

use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{AS_RELEASE_0_1_0_READS_ROWS, minutes_ago, report_at, spawn_app};

/// A replica of release 0.1.0 reads a project's dependencies with this statement (its `find`).
async fn as_release_0_1_0_reads(pool: &PgPool, slug: &str) -> Value {
    sqlx::query_scalar(
        "SELECT COALESCE((SELECT jsonb_agg(jsonb_build_object(
                  'purl', d.purl, 'ecosystem', d.ecosystem, 'name', d.name, 'version', d.version,
                  'latest', d.latest, 'scope', d.scope, 'freshness', d.freshness, 'advisories', d.advisories)
                  ORDER BY d.position)
              FROM dependencies d WHERE d.slug = $1), '[]'::jsonb)",
    )
    .bind(slug)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The dependencies as served, without what the watcher adds (`latest_source`): what the rows
/// of release 0.1.0 hold.
fn as_reported(served: &serde_json::Value) -> serde_json::Value {
    let mut served = served.clone();
    for dependency in served.as_array_mut().unwrap() {
        assert_eq!(dependency["latest_source"], "report");
        dependency.as_object_mut().unwrap().remove("latest_source");
    }
    served
}

#[sqlx::test]
async fn a_report_this_version_writes_is_read_whole_by_release_0_1_0(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut report = report_at(&minutes_ago(120), "1.0.0", 3);
    report["dependencies"][1]["scope"] = json!("dev");
    report["dependencies"][2]["advisories"] =
        json!([{"id": "GHSA-35jh-r3h4-6jhm", "severity": "high"}]);
    app.put_report("github.com/a/b", &report).await;
    let (_, served) = app.get_json("/v1/projects/github.com/a/b?scope=all").await;
    assert_eq!(served["dependencies"].as_array().unwrap().len(), 3);
    assert_eq!(
        as_release_0_1_0_reads(&app.pool, "github.com/a/b").await,
        as_reported(&served["dependencies"])
    );

    // Replaced by a smaller report: no row of the first one is left.
    app.put_report("github.com/a/b", &report_at(&minutes_ago(60), "2.0.0", 1))
        .await;
    let (_, served) = app.get_json("/v1/projects/github.com/a/b?scope=all").await;
    assert_eq!(
        as_release_0_1_0_reads(&app.pool, "github.com/a/b").await,
        as_reported(&served["dependencies"])
    );
    assert_eq!(app.row_counts().await, (1, 1));
}

/// During a rollout, a replica of release 0.1.0 writes dependency rows and the report's digest,
/// and leaves the document as it was: readers of this version read those rows, until this
/// version writes the slug again.
#[sqlx::test]
async fn a_report_release_0_1_0_wrote_is_read_from_its_rows(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.put_report("github.com/a/b", &report_at(&minutes_ago(120), "1.0.0", 3))
        .await;
    let mut tx = app.pool.begin().await.unwrap();
    for statement in [
        "DELETE FROM dependencies WHERE slug = 'github.com/a/b'",
        "INSERT INTO dependencies (slug, position, purl, ecosystem, name, version, latest, scope, freshness)
         SELECT 'github.com/a/b', g, 'pkg:npm/old-' || g || '@2.0.0', 'npm', 'old-' || g, '2.0.0', '2.0.0', 'runtime', 'up-to-date'
         FROM generate_series(0, 4) g",
        "UPDATE projects SET report_sha256 = '\\x00' WHERE slug = 'github.com/a/b'",
    ] {
        sqlx::query(statement).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    let names = |document: &Value| -> Vec<String> {
        document["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, stored) = app.get_json("/v1/projects/github.com/a/b").await;
    assert_eq!(
        names(&stored),
        ["old-0", "old-1", "old-2", "old-3", "old-4"]
    );
    assert_eq!(stored["dependencies"][0]["latest"], "2.0.0");

    app.put_report("github.com/a/b", &report_at(&minutes_ago(60), "5.0.0", 2))
        .await;
    let (_, stored) = app.get_json("/v1/projects/github.com/a/b").await;
    assert_eq!(names(&stored).len(), 2);
    assert_eq!(
        app.row_counts().await,
        (1, 2),
        "the document and the rows hold the new report"
    );
}

/// The migrations before documents, as a database that release 0.1.0 migrated has them.
const BEFORE_DOCUMENTS: [&str; 3] = [
    include_str!("../../migrations/20261126090000_reports.sql"),
    include_str!("../../migrations/20261128090000_report_tools.sql"),
    include_str!("../../migrations/20261128120000_dependencies_without_foreign_key.sql"),
];
const TO_DOCUMENTS: &str =
    include_str!("../../migrations/20261128150000_dependencies_as_one_document.sql");
const ROWS_RESTORED: &str =
    include_str!("../../migrations/20261203120000_dependency_rows_restored.sql");

async fn run(pool: &PgPool, sql: &'static str) {
    sqlx::raw_sql(sql).execute(pool).await.unwrap();
}

/// Two projects as release 0.1.0 wrote them: one with two rows (out of position order in the
/// table), one without dependencies.
async fn written_by_release_0_1_0(pool: &PgPool) {
    run(
        pool,
        "INSERT INTO projects (slug, display_slug, analyzed_at, updated_at, created_at, report_sha256)
         VALUES ('a.io/rows', 'a.io/rows', now(), now(), now(), '\\x01'),
                ('a.io/none', 'a.io/none', now(), now(), now(), '\\x02');
         INSERT INTO dependencies (slug, position, purl, ecosystem, name, version, latest, scope, freshness, advisories)
         VALUES ('a.io/rows', 1, 'pkg:cargo/second@1.0.0', 'cargo', 'second', '1.0.0', NULL, 'dev', 'unknown', '[]'),
                ('a.io/rows', 0, 'pkg:npm/first@1.0.0', 'npm', 'first', '1.0.0', '2.0.0', 'runtime', 'vulnerable',
                 '[{\"id\": \"GHSA-xxxx\", \"severity\": \"high\", \"url\": null}]');",
    )
    .await;
}

fn first_and_second() -> Value {
    json!([
        {"purl": "pkg:npm/first@1.0.0", "ecosystem": "npm", "name": "first",
         "version": "1.0.0", "latest": "2.0.0", "scope": "runtime", "freshness": "vulnerable",
         "advisories": [{"id": "GHSA-xxxx", "severity": "high", "url": null}]},
        {"purl": "pkg:cargo/second@1.0.0", "ecosystem": "cargo", "name": "second",
         "version": "1.0.0", "latest": null, "scope": "dev", "freshness": "unknown", "advisories": []}
    ])
}

/// The migration to documents turns every project's rows into its document, in order.
#[sqlx::test(migrations = false)]
async fn the_migration_to_documents_keeps_every_dependency(pool: PgPool) {
    for migration in BEFORE_DOCUMENTS {
        run(&pool, migration).await;
    }
    written_by_release_0_1_0(&pool).await;
    // Rows read in the table's order, not the index's: the order must come from the migration.
    let mut connection = pool.acquire().await.unwrap();
    sqlx::raw_sql(
        "SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off",
    )
    .execute(&mut *connection)
    .await
    .unwrap();
    sqlx::raw_sql(TO_DOCUMENTS)
        .execute(&mut *connection)
        .await
        .unwrap();
    drop(connection);

    let documents: Vec<(String, Value, bool)> = sqlx::query_as(
        "SELECT slug, dependencies::jsonb, dependencies_sha256 = report_sha256 FROM projects ORDER BY slug",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        documents,
        [
            ("a.io/none".to_owned(), json!([]), true),
            ("a.io/rows".to_owned(), first_and_second(), true),
        ]
    );
}

/// 20261128150000 emptied the rows that release 0.1.0 reads; the migration after it puts back
/// the rows of every current document, and leaves alone the rows 0.1.0 wrote after it.
#[sqlx::test(migrations = false)]
async fn the_fix_forward_migration_gives_release_0_1_0_its_rows_back(pool: PgPool) {
    for migration in BEFORE_DOCUMENTS {
        run(&pool, migration).await;
    }
    written_by_release_0_1_0(&pool).await;
    run(&pool, TO_DOCUMENTS).await;
    assert_eq!(
        as_release_0_1_0_reads(&pool, "a.io/rows").await,
        json!([]),
        "what 0.1.0 replicas saw after 20261128150000"
    );
    // Written by 0.1.0 after that migration: rows and a digest, the document left behind.
    run(
        &pool,
        "INSERT INTO projects (slug, display_slug, analyzed_at, updated_at, created_at, report_sha256)
         VALUES ('a.io/late', 'a.io/late', now(), now(), now(), '\\x03');
         INSERT INTO dependencies (slug, position, purl, ecosystem, name, version, latest, scope, freshness)
         VALUES ('a.io/late', 0, 'pkg:npm/late@3.0.0', 'npm', 'late', '3.0.0', '3.0.0', 'runtime', 'up-to-date');",
    )
    .await;

    run(&pool, ROWS_RESTORED).await;

    assert_eq!(
        as_release_0_1_0_reads(&pool, "a.io/rows").await,
        first_and_second()
    );
    assert_eq!(as_release_0_1_0_reads(&pool, "a.io/none").await, json!([]));
    assert_eq!(
        as_release_0_1_0_reads(&pool, "a.io/late").await[0]["purl"],
        "pkg:npm/late@3.0.0"
    );
    let late_rows: i64 =
        sqlx::query_scalar("SELECT count(*) FROM dependencies WHERE slug = 'a.io/late'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        late_rows, 1,
        "rows newer than their document are kept as they are"
    );
    let differing: Vec<String> = sqlx::query_scalar(AS_RELEASE_0_1_0_READS_ROWS)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(differing.is_empty(), "{differing:?}");
}
