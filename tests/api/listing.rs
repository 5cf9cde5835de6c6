use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{minutes_ago, report_at, spawn_app};

#[sqlx::test]
async fn projects_are_listed_in_pages_by_slug_with_a_status_filter(pool: PgPool) {
    let app = spawn_app(pool).await;
    let analyzed_at = minutes_ago(120);
    let written_from = chrono::Utc::now();
    // 5 outdated (version 1.0.0 < latest 5.0.0) and 4 up to date.
    for i in 0..9 {
        let version = if i % 2 == 0 { "1.0.0" } else { "5.0.0" };
        let response = app
            .put_report(
                &format!("github.com/list/p{i}"),
                &report_at(&analyzed_at, version, 2),
            )
            .await;
        assert_eq!(response.status().as_u16(), 201);
    }

    let mut seen = Vec::new();
    let mut path = "/v1/projects?status=out-of-date&limit=2".to_owned();
    loop {
        let (status, page) = app.get_json(&path).await;
        assert_eq!(status, 200);
        let projects = page["projects"].as_array().unwrap();
        assert!(projects.len() <= 2);
        for project in projects {
            assert_eq!(project["status"], "out-of-date");
            assert_eq!(project["counts"]["total"], 2);
            seen.push(project["slug"].as_str().unwrap().to_owned());
        }
        match &page["next_cursor"] {
            Value::String(cursor) => {
                path = format!("/v1/projects?status=out-of-date&limit=2&cursor={cursor}")
            }
            Value::Null => break,
            other => panic!("unexpected cursor {other}"),
        }
    }
    assert_eq!(
        seen,
        [
            "github.com/list/p0",
            "github.com/list/p2",
            "github.com/list/p4",
            "github.com/list/p6",
            "github.com/list/p8"
        ]
    );

    let (_, all) = app.get_json("/v1/projects").await;
    assert_eq!(all["projects"].as_array().unwrap().len(), 9);
    assert_eq!(all["next_cursor"], Value::Null);
    let mut summary = all["projects"][1].clone();
    // The write time is the server's clock during this test's PUTs (stored to the microsecond).
    let updated_at: chrono::DateTime<chrono::Utc> =
        summary["updated_at"].as_str().unwrap().parse().unwrap();
    assert!(
        updated_at >= written_from - chrono::Duration::milliseconds(1)
            && updated_at <= chrono::Utc::now(),
        "updated_at {updated_at} is not the time of the write (from {written_from})"
    );
    summary.as_object_mut().unwrap().remove("updated_at");
    assert_eq!(
        summary,
        json!({
            "slug": "github.com/list/p1", "status": "up-to-date", "stale": false,
            "counts": {"total": 2, "up_to_date": 2, "outdated": 0, "vulnerable": 0, "unknown": 0},
            "analyzed_at": analyzed_at
        })
    );
    let (status, first) = app.get_json("/v1/projects?cursor=").await;
    assert_eq!(status, 200, "an empty cursor is the first page");
    assert_eq!(first, all);
    let (_, none) = app.get_json("/v1/projects?status=vulnerable").await;
    assert_eq!(none["projects"], json!([]));
}
