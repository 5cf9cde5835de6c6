//! What the watcher knows about packages (table `watched_packages`), and the reverse index from
//! packages to the projects that use them (`projects.packages`). The write path reads the first
//! and fills both; the watcher (`crate::watch`) checks packages and recomputes projects.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgExecutor, Row};

use super::Db;

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
    connection: &mut super::Tx,
    keys: &[String],
) -> Result<ProjectWatch, sqlx::Error> {
    let rows = if keys.is_empty() {
        Vec::new()
    } else {
        sqlx::query(
            // A join, not `key = ANY($1)`: with a bound array PostgreSQL does not hash the
            // array, and a sequential scan (stale statistics) then costs keys × rows comparisons
            // (600 ms for a 10,000-dependency report, measured).
            "SELECT w.key, w.latest, w.osv_advisories || w.registry_advisories AS advisories, w.checked_at
             FROM UNNEST($1::text[]) AS k (key) JOIN watched_packages w ON w.key = k.key",
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

/// A package due for a registry check.
#[derive(Debug, Clone)]
pub struct DuePackage {
    pub key: String,
    pub name: String,
    pub latest: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub failures: i32,
}

/// Packages of `ecosystem` whose check is due: never checked first, then the most overdue.
pub async fn due(pool: &Db, ecosystem: &str, limit: i64) -> Result<Vec<DuePackage>, sqlx::Error> {
    sqlx::query(
        "SELECT key, name, latest, etag, last_modified, failures FROM watched_packages
         WHERE ecosystem = $1 AND next_check_at <= now()
         ORDER BY checked_at IS NOT NULL, next_check_at
         LIMIT $2",
    )
    .bind(ecosystem)
    .bind(limit)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|row| {
        Ok(DuePackage {
            key: row.try_get("key")?,
            name: row.try_get("name")?,
            latest: row.try_get("latest")?,
            etag: row.try_get("etag")?,
            last_modified: row.try_get("last_modified")?,
            failures: row.try_get("failures")?,
        })
    })
    .collect()
}

/// What a registry check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The registry answered with the package (200): its newest stable release when it named
    /// one (`None` keeps what was known), and its validators for the next conditional request.
    Found {
        newest: Option<String>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    /// 304: what was known is confirmed.
    NotModified,
    /// 404: the registry does not know the package (a private one, say); what was known stays.
    NotFound,
    /// An error or a timeout: what was known stays, and the next check backs off.
    Failed,
}

/// Records a check's outcome, and that the package is next due `next_check_in` from now, by
/// the database's clock: the one the due query compares with (a watcher whose clock is off
/// must not make packages due never, or always).
pub async fn record_check(
    pool: &Db,
    key: &str,
    checked: &Checked,
    next_check_in: std::time::Duration,
) -> Result<(), sqlx::Error> {
    let next_check_in = next_check_in.as_secs_f64();
    let query = match checked {
        Checked::Found {
            newest,
            etag,
            last_modified,
        } => sqlx::query(
            "UPDATE watched_packages SET latest = COALESCE($3, latest), etag = $4, last_modified = $5,
                 checked_at = now(), next_check_at = now() + make_interval(secs => $2), failures = 0
             WHERE key = $1",
        )
        .bind(key)
        .bind(next_check_in)
        .bind(newest.as_deref())
        .bind(etag.as_deref())
        .bind(last_modified.as_deref()),
        Checked::NotModified => sqlx::query(
            "UPDATE watched_packages SET checked_at = now(), next_check_at = now() + make_interval(secs => $2), failures = 0
             WHERE key = $1",
        )
        .bind(key)
        .bind(next_check_in),
        Checked::NotFound => sqlx::query(
            "UPDATE watched_packages SET next_check_at = now() + make_interval(secs => $2), failures = 0 WHERE key = $1",
        )
        .bind(key)
        .bind(next_check_in),
        Checked::Failed => sqlx::query(
            "UPDATE watched_packages SET next_check_at = now() + make_interval(secs => $2), failures = failures + 1 WHERE key = $1",
        )
        .bind(key)
        .bind(next_check_in),
    };
    query.execute(pool).await?;
    Ok(())
}

/// The versions of a package that reports name (kept for PyPI).
pub async fn versions(pool: &Db, key: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM watched_versions WHERE key = $1 ORDER BY version")
        .bind(key)
        .fetch_all(pool)
        .await
}

/// Replaces the registry's advisories of a package; true when they changed.
pub async fn set_registry_advisories(
    pool: &Db,
    key: &str,
    rules: &[AdvisoryRule],
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(
        "UPDATE watched_packages SET registry_advisories = $2
         WHERE key = $1 AND registry_advisories IS DISTINCT FROM $2",
    )
    .bind(key)
    .bind(Json(rules))
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// Every watched package's key, with its rules from the OSV sources.
pub async fn osv_advisories(pool: &Db) -> Result<Vec<(String, Vec<AdvisoryRule>)>, sqlx::Error> {
    sqlx::query("SELECT key, osv_advisories FROM watched_packages")
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| {
            Ok((
                row.try_get("key")?,
                row.try_get::<Json<Vec<AdvisoryRule>>, _>("osv_advisories")?
                    .0,
            ))
        })
        .collect()
}

/// Stores new rules from the OSV sources for the packages of `changed`, and when the sources
/// were read.
pub async fn set_osv_advisories(
    pool: &Db,
    changed: &[(String, Vec<AdvisoryRule>)],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for chunk in changed.chunks(1000) {
        sqlx::query(
            "UPDATE watched_packages w SET osv_advisories = u.rules
             FROM UNNEST($1::text[], $2::jsonb[]) AS u (key, rules)
             WHERE w.key = u.key",
        )
        .bind(
            chunk
                .iter()
                .map(|(key, _)| key.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(
            chunk
                .iter()
                .map(|(_, rules)| Json(rules))
                .collect::<Vec<_>>(),
        )
        .execute(&mut tx)
        .await?;
    }
    sqlx::query("UPDATE watch_state SET advisories_as_of = now()")
        .execute(&mut tx)
        .await?;
    tx.commit().await
}

/// The projects whose reports name any of `keys` (the reverse index), by slug key.
pub async fn projects_using(pool: &Db, keys: &[String]) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT slug FROM projects WHERE packages && $1::text[] ORDER BY slug")
        .bind(keys)
        .fetch_all(pool)
        .await
}

/// Projects written since `since` whose reports name any of `keys`: a write that read what the
/// watcher knew just before a change, and committed after the change's recompute looked.
pub async fn written_since_using(
    pool: &Db,
    keys: &[String],
    since: DateTime<Utc>,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT slug FROM projects WHERE updated_at >= $2 AND packages && $1::text[] ORDER BY slug",
    )
    .bind(keys)
    .bind(since)
    .fetch_all(pool)
    .await
}

/// Projects whose reverse-index entry is missing or was taken from an earlier report (written
/// by a release before the watcher, or before this schema).
pub async fn unindexed_projects(pool: &Db, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT slug FROM projects WHERE packages_sha256 IS DISTINCT FROM report_sha256
         ORDER BY slug LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Stops watching packages no stored report names any more (and their PyPI releases). Then
/// names again the packages of reports written in the last minutes: a write that saw a
/// package's row just before it was removed here must not leave the package unwatched.
pub async fn prune(pool: &Db) -> Result<u64, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let pruned = sqlx::query(
        "DELETE FROM watched_packages w
         WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.packages @> ARRAY[w.key])
           AND NOT EXISTS (SELECT 1 FROM projects p WHERE p.packages_sha256 IS DISTINCT FROM p.report_sha256)",
    )
    .execute(&mut tx)
    .await?
    .rows_affected();
    sqlx::query(
        "DELETE FROM watched_versions v
         WHERE NOT EXISTS (SELECT 1 FROM watched_packages w WHERE w.key = v.key)",
    )
    .execute(&mut tx)
    .await?;
    tx.commit().await?;
    sqlx::query(
        "INSERT INTO watched_packages (key, ecosystem, name)
         SELECT DISTINCT k, split_part(k, '/', 1), substr(k, strpos(k, '/') + 1)
         FROM projects p, UNNEST(p.packages) AS k
         WHERE p.updated_at >= now() - interval '10 minutes'
         ON CONFLICT (key) DO NOTHING",
    )
    .execute(pool)
    .await?;
    Ok(pruned)
}

/// The number of watched packages, and how late the most overdue check of `ecosystems` is.
pub async fn backlog(pool: &Db, ecosystems: &[&str]) -> Result<(i64, f64), sqlx::Error> {
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM watched_packages) AS packages,
                COALESCE(EXTRACT(EPOCH FROM now() - min(CASE WHEN checked_at IS NULL THEN named_at ELSE next_check_at END))::float8, 0) AS overdue
         FROM watched_packages WHERE ecosystem = ANY($1)",
    )
    .bind(ecosystems)
    .fetch_one(pool)
    .await?;
    let overdue: f64 = row.try_get("overdue")?;
    Ok((row.try_get("packages")?, overdue.max(0.0)))
}
