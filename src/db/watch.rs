//! What the watcher knows about packages (table `watched_packages`), and the reverse index from
//! packages to the projects that use them (`projects.packages`). The write path reads the first
//! and fills both; the watcher (`crate::watch`) checks packages and recomputes projects.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgExecutor, Row};

use serde::Deserialize;

use crate::domain::Dependency;
use crate::domain::project::ProjectWatch;
use crate::domain::watch::{AdvisoryRule, Watched, key_ecosystem, key_name, package_key};

/// A package's row as the readers need it (also aggregated as JSON by `projects::find`).
#[derive(Debug, Deserialize)]
pub struct WatchedRow {
    pub key: String,
    pub latest: Option<String>,
    pub advisories: Vec<AdvisoryRule>,
    pub checked_at: Option<DateTime<Utc>>,
}

/// What is known of the packages of `keys`, and when advisories were last read.
pub async fn project_watch(
    connection: &mut sqlx::PgConnection,
    keys: &[String],
) -> Result<ProjectWatch, sqlx::Error> {
    let rows = if keys.is_empty() {
        Vec::new()
    } else {
        sqlx::query(
            "SELECT w.key, w.latest, w.osv_advisories || w.registry_advisories AS advisories, w.checked_at
             FROM watched_packages w WHERE w.key = ANY($1)",
        )
        .bind(keys)
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .map(|row| {
            Ok(WatchedRow {
                key: row.try_get("key")?,
                latest: row.try_get("latest")?,
                advisories: row.try_get::<Json<Vec<AdvisoryRule>>, _>("advisories")?.0,
                checked_at: row.try_get("checked_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?
    };
    let advisories_as_of = advisories_as_of(&mut *connection).await?;
    Ok(watch_of(rows, advisories_as_of))
}

/// The project's view of its packages' rows.
pub fn watch_of(rows: Vec<WatchedRow>, advisories_as_of: Option<DateTime<Utc>>) -> ProjectWatch {
    let checked_at = rows.iter().filter_map(|r| r.checked_at).min();
    ProjectWatch {
        packages: rows
            .into_iter()
            .map(|r| {
                (
                    r.key,
                    Watched {
                        latest: r.latest,
                        advisories: r.advisories,
                    },
                )
            })
            .collect(),
        checked_at,
        advisories_as_of,
    }
}

/// Starts watching the packages of `keys` that `known` did not have (checked before every
/// other package), and the PyPI releases the dependencies name (PyPI lists advisories per
/// release).
pub async fn name_packages(
    executor: impl PgExecutor<'_>,
    keys: &[String],
    known: &ProjectWatch,
    dependencies: &[Dependency],
) -> Result<(), sqlx::Error> {
    let new: Vec<&String> = keys
        .iter()
        .filter(|k| !known.packages.contains_key(*k))
        .collect();
    let mut pypi: Vec<(String, &str)> = dependencies
        .iter()
        .filter(|d| d.ecosystem == "pypi")
        .map(|d| (package_key(&d.ecosystem, &d.name), d.version.as_str()))
        .collect();
    pypi.sort_unstable();
    pypi.dedup();
    if new.is_empty() && pypi.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "WITH named AS (
             INSERT INTO watched_packages (key, ecosystem, name)
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[])
             ON CONFLICT (key) DO NOTHING
         )
         INSERT INTO watched_versions (key, version)
         SELECT * FROM UNNEST($4::text[], $5::text[])
         ON CONFLICT (key, version) DO NOTHING",
    )
    .bind(new.iter().map(|k| k.as_str()).collect::<Vec<_>>())
    .bind(new.iter().map(|k| key_ecosystem(k)).collect::<Vec<_>>())
    .bind(new.iter().map(|k| key_name(k)).collect::<Vec<_>>())
    .bind(pypi.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
    .bind(pypi.iter().map(|(_, v)| *v).collect::<Vec<_>>())
    .execute(executor)
    .await?;
    Ok(())
}

/// When the advisory sources were last read completely.
pub async fn advisories_as_of(
    executor: impl PgExecutor<'_>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar("SELECT advisories_as_of FROM watch_state")
        .fetch_optional(executor)
        .await
        .map(Option::flatten)
}
