use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{minutes_ago, report_at, spawn_app};

const WRITERS: usize = 12;
const DEPENDENCIES: usize = 40;

/// Writers race on one slug with reports of different ages while readers read it. Every read
/// must show one whole report; the newest report must win; exactly one PUT creates the project.
#[sqlx::test]
async fn concurrent_writers_of_one_slug_never_mix_reports_and_the_newest_wins(pool: PgPool) {
    let app = Arc::new(spawn_app(pool).await);
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (app, done) = (app.clone(), done.clone());
            tokio::spawn(async move {
                let mut reads = 0;
                while !done.load(Ordering::SeqCst) {
                    let response = app.get_project("github.com/race/one?scope=all").await;
                    if response.status().as_u16() == 404 {
                        continue;
                    }
                    let document: Value = response.json().await.unwrap();
                    let dependencies = document["dependencies"].as_array().unwrap();
                    assert_eq!(
                        dependencies.len(),
                        DEPENDENCIES,
                        "a read saw a partial report"
                    );
                    assert_eq!(document["counts"]["total"], DEPENDENCIES);
                    let version = &dependencies[0]["version"];
                    assert!(
                        dependencies.iter().all(|d| &d["version"] == version),
                        "a read mixed two reports"
                    );
                    let major: u32 = version
                        .as_str()
                        .unwrap()
                        .split('.')
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap();
                    let expected_status = if major < 5 {
                        "out-of-date"
                    } else {
                        "up-to-date"
                    };
                    assert_eq!(
                        document["status"], expected_status,
                        "status and dependencies disagree"
                    );
                    reads += 1;
                }
                reads
            })
        })
        .collect();

    // Writer i sends a report analyzed at minute i of the hour before last, with every dependency
    // at version i.0.0; they start in reverse age order so that late, older reports really arrive
    // after newer ones.
    let hour = minutes_ago(120);
    let analyzed_at = |i: usize| format!("{}{i:02}:00Z", &hour[..14]);
    let writers: Vec<_> = (1..=WRITERS)
        .rev()
        .map(|i| {
            let app = app.clone();
            let body = report_at(&analyzed_at(i), &format!("{i}.0.0"), DEPENDENCIES);
            tokio::spawn(async move {
                app.put_report("github.com/race/one", &body)
                    .await
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for writer in writers {
        statuses.push(writer.await.unwrap());
    }
    done.store(true, Ordering::SeqCst);
    let mut reads = 0;
    for reader in readers {
        reads += reader.await.unwrap();
    }

    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "exactly one PUT creates: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 201, 409].contains(s)),
        "{statuses:?}"
    );
    let (_, stored) = app
        .get_json("/v1/projects/github.com/race/one?scope=all")
        .await;
    assert_eq!(
        stored["analyzed_at"],
        analyzed_at(WRITERS),
        "the newest report wins"
    );
    assert_eq!(
        stored["dependencies"][0]["version"],
        format!("{WRITERS}.0.0")
    );
    assert_eq!(app.row_counts().await, (1, DEPENDENCIES as i64));
    assert!(reads > 0, "the readers read while writers wrote");
}

/// The same report sent many times at once (retries racing each other) is stored once.
#[sqlx::test]
async fn concurrent_identical_puts_store_the_report_once(pool: PgPool) {
    let app = Arc::new(spawn_app(pool).await);
    let body = report_at(&minutes_ago(120), "1.0.0", DEPENDENCIES);
    let puts: Vec<_> = (0..8)
        .map(|_| {
            let (app, body) = (app.clone(), body.clone());
            tokio::spawn(async move {
                let response = app.put_report("github.com/race/same", &body).await;
                let status = response.status().as_u16();
                (
                    status,
                    response.json::<Value>().await.unwrap()["changed"].clone(),
                )
            })
        })
        .collect();
    let mut results = Vec::new();
    for put in puts {
        results.push(put.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .filter(|(s, _)| *s != 201)
            .all(|(s, changed)| *s == 200 && changed == false),
        "{results:?}"
    );
    assert_eq!(app.row_counts().await, (1, DEPENDENCIES as i64));
}
