use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{days_ago, minutes_ago, report_at, spawn_app, spec_example};

#[sqlx::test]
async fn putting_the_spec_example_creates_the_project_and_returns_its_status(pool: PgPool) {
    let app = spawn_app(pool).await;

    let report = spec_example();
    let response = app.put_report("github.com/rust-lang/cargo", &report).await;
    assert_eq!(response.status().as_u16(), 201);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["slug"], "github.com/rust-lang/cargo");
    assert_eq!(document["changed"], true);
    // Default scope is runtime: serde is outdated, lodash (dev) is not counted.
    assert_eq!(document["status"], "out-of-date");
    assert_eq!(
        document["counts"],
        json!({"total": 1, "up_to_date": 0, "outdated": 1, "vulnerable": 0, "unknown": 0})
    );
    assert_eq!(document["analyzed_at"], report["analyzed_at"]);

    let (status, document) = app
        .get_json("/v1/projects/github.com/rust-lang/cargo?scope=all")
        .await;
    assert_eq!(status, 200);
    assert_eq!(document["status"], "vulnerable");
    assert_eq!(
        document["counts"],
        json!({"total": 2, "up_to_date": 0, "outdated": 1, "vulnerable": 1, "unknown": 0})
    );
    assert!(document.get("changed").is_none());
    assert_eq!(
        document["dependencies"][1],
        json!({
            "purl": "pkg:npm/lodash@4.17.20", "ecosystem": "npm", "name": "lodash", "version": "4.17.20",
            "latest": "4.17.21", "scope": "dev", "freshness": "vulnerable",
            "advisories": [{"id": "GHSA-35jh-r3h4-6jhm", "severity": "high", "url": "https://github.com/advisories/GHSA-35jh-r3h4-6jhm"}],
            "latest_source": "report"
        })
    );
}

#[sqlx::test]
async fn a_retried_put_changes_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    assert_eq!(
        app.put_report("github.com/a/b", &spec_example())
            .await
            .status()
            .as_u16(),
        201
    );
    let (_, before) = app.get_json("/v1/projects/github.com/a/b").await;

    let response = app.put_report("github.com/a/b", &spec_example()).await;
    assert_eq!(response.status().as_u16(), 200);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["changed"], false);

    let (_, after) = app.get_json("/v1/projects/github.com/a/b").await;
    assert_eq!(
        before["updated_at"], after["updated_at"],
        "an unchanged PUT does not touch the stored report"
    );
    assert_eq!(before, after);
}

#[sqlx::test]
async fn a_newer_report_replaces_the_old_one(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.put_report("github.com/a/b", &report_at(&minutes_ago(120), "1.0.0", 3))
        .await;
    let newer = report_at(&minutes_ago(60), "5.0.0", 2);
    let response = app.put_report("github.com/a/b", &newer).await;
    assert_eq!(response.status().as_u16(), 200);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["changed"], true);
    assert_eq!(document["status"], "up-to-date");

    let (_, stored) = app.get_json("/v1/projects/github.com/a/b").await;
    assert_eq!(stored["counts"]["total"], 2);
    assert_eq!(stored["analyzed_at"], newer["analyzed_at"]);
    assert_eq!(app.row_counts().await, (1, 2));
}

#[sqlx::test]
async fn a_late_report_older_than_the_stored_one_is_refused_with_409(pool: PgPool) {
    let app = spawn_app(pool).await;
    let newer = report_at(&minutes_ago(60), "5.0.0", 2);
    app.put_report("github.com/a/b", &newer).await;

    let response = app
        .put_report("github.com/a/b", &report_at(&minutes_ago(120), "1.0.0", 3))
        .await;
    assert_eq!(response.status().as_u16(), 409);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "out_of_order");
    assert_eq!(error["error"]["field"], "analyzed_at");

    let (_, stored) = app.get_json("/v1/projects/github.com/a/b").await;
    assert_eq!(stored["analyzed_at"], newer["analyzed_at"]);
    assert_eq!(stored["status"], "up-to-date");
    assert_eq!(app.row_counts().await, (1, 2));
}

#[sqlx::test]
async fn slugs_are_case_insensitive_and_keep_their_first_spelling(pool: PgPool) {
    let app = spawn_app(pool).await;
    assert_eq!(
        app.put_report("GitHub.com/Rust-Lang/Cargo", &spec_example())
            .await
            .status()
            .as_u16(),
        201
    );
    let (status, document) = app
        .get_json("/v1/projects/github.com/rust-lang/cargo")
        .await;
    assert_eq!(status, 200);
    assert_eq!(document["slug"], "github.com/Rust-Lang/Cargo");
    // A second spelling updates the same project.
    let response = app
        .put_report(
            "github.com/RUST-LANG/cargo",
            &report_at(&minutes_ago(60), "5.0.0", 1),
        )
        .await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(app.row_counts().await.0, 1);
}

#[sqlx::test]
async fn delete_removes_the_project_and_a_second_delete_is_404(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.put_report("github.com/a/b", &spec_example()).await;
    let delete = || app.delete_project("github.com/a/b");
    assert_eq!(delete().await.status().as_u16(), 204);
    assert_eq!(app.row_counts().await, (0, 0));
    let response = delete().await;
    assert_eq!(response.status().as_u16(), 404);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "not_found");
    assert_eq!(
        app.get_project("github.com/a/b").await.status().as_u16(),
        404
    );
}

/// Rows an earlier version left for a slug (without their project: dependencies have no foreign
/// key) neither block a write nor survive it.
#[sqlx::test]
async fn a_report_replaces_dependency_rows_left_without_their_project(pool: PgPool) {
    let app = spawn_app(pool).await;
    sqlx::query(
        "INSERT INTO dependencies (slug, position, purl, ecosystem, name, version, scope, freshness)
         SELECT 'github.com/a/b', g, 'pkg:npm/left@1.0.0', 'npm', 'left', '1.0.0', 'runtime', 'unknown'
         FROM generate_series(0, 9) g",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let response = app.put_report("github.com/a/b", &spec_example()).await;
    assert_eq!(response.status().as_u16(), 201);
    let stored = spec_example()["dependencies"].as_array().unwrap().len() as i64;
    assert_eq!(app.row_counts().await, (1, stored));
    let document: Value = app
        .get_project("github.com/a/b?scope=all")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        document["dependencies"].as_array().unwrap().len() as i64,
        stored
    );
}

#[sqlx::test]
async fn delete_requires_a_token(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.put_report("github.com/a/b", &spec_example()).await;
    let response = app
        .client
        .delete(app.url("/v1/projects/github.com/a/b"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(app.row_counts().await.0, 1);
}

#[sqlx::test]
async fn status_and_counts_follow_the_scope_table(pool: PgPool) {
    let app = spawn_app(pool).await;
    let report = json!({ "analyzed_at": minutes_ago(120), "dependencies": [
        { "purl": "pkg:cargo/tokio@1.40.0", "latest": "1.40.0", "scope": "runtime" },
        { "purl": "pkg:cargo/cc@1.0.0", "latest": "1.2.0", "scope": "build" },
        { "purl": "pkg:cargo/serde_json@1.0.0", "scope": "optional" },
        { "purl": "pkg:cargo/proptest@1.0.0", "latest": "1.5.0", "scope": "dev",
          "advisories": [{ "id": "RUSTSEC-2099-0001", "severity": "low" }] },
        { "purl": "pkg:cargo/criterion@0.5.1", "latest": "0.5.1", "scope": "dev" }
    ]});
    app.put_report("github.com/a/b", &report).await;
    let table = [
        ("", "out-of-date", (3, 1, 1, 0, 1), 3),
        ("?scope=runtime", "out-of-date", (3, 1, 1, 0, 1), 3),
        ("?scope=dev", "vulnerable", (2, 1, 0, 1, 0), 2),
        ("?scope=all", "vulnerable", (5, 2, 1, 1, 1), 5),
    ];
    for (query, status, (total, up_to_date, outdated, vulnerable, unknown), listed) in table {
        let (code, document) = app
            .get_json(&format!("/v1/projects/github.com/a/b{query}"))
            .await;
        assert_eq!(code, 200, "{query}");
        assert_eq!(document["status"], status, "{query}");
        assert_eq!(
            document["counts"],
            json!({"total": total, "up_to_date": up_to_date, "outdated": outdated, "vulnerable": vulnerable, "unknown": unknown}),
            "{query}"
        );
        assert_eq!(
            document["dependencies"].as_array().unwrap().len(),
            listed,
            "{query}"
        );
    }
}

#[sqlx::test]
async fn special_statuses_none_and_unknown(pool: PgPool) {
    let app = spawn_app(pool).await;
    let empty = json!({ "dependencies": [] });
    let response = app.put_report("github.com/a/empty", &empty).await;
    assert_eq!(response.status().as_u16(), 201);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["status"], "none");
    let unknown = json!({ "dependencies": [{ "purl": "pkg:cargo/a@1.0.0" }, { "purl": "pkg:gem/b@not..valid", "latest": "1.0" }] });
    let response = app.put_report("github.com/a/unknown", &unknown).await;
    assert_eq!(response.status().as_u16(), 201);
    let document: Value = response.json().await.unwrap();
    assert_eq!(document["status"], "unknown");
    assert_eq!(document["counts"]["unknown"], 2);
    assert_eq!(document["dependencies"][1]["freshness"], "unknown");
}

#[sqlx::test]
async fn reports_older_than_the_stale_limit_are_marked_stale(pool: PgPool) {
    let app = spawn_app(pool).await;
    let document: Value = app
        .put_report("github.com/a/old", &report_at(&days_ago(400), "5.0.0", 1))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(document["stale"], true);
    let document: Value = app
        .put_report("github.com/a/new", &spec_example())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(document["stale"], false);
}

#[sqlx::test]
async fn omitting_analyzed_at_uses_the_time_of_receipt(pool: PgPool) {
    let app = spawn_app(pool).await;
    let before = chrono::Utc::now();
    let response = app
        .put_report("github.com/a/b", &json!({ "dependencies": [] }))
        .await;
    let document: Value = response.json().await.unwrap();
    let analyzed_at: chrono::DateTime<chrono::Utc> =
        document["analyzed_at"].as_str().unwrap().parse().unwrap();
    assert!(
        analyzed_at >= before - chrono::Duration::seconds(1) && analyzed_at <= chrono::Utc::now()
    );
    // The same report again, still without a timestamp, is a retry: unchanged.
    let document: Value = app
        .put_report("github.com/a/b", &json!({ "dependencies": [] }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(document["changed"], false);
}
