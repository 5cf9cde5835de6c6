//! The project aggregate: a report (project row + dependencies) and its per-scope statuses,
//! always written together in one transaction.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgExecutor, Row};

use super::Db;

use super::REPORT_CHANNEL;
use super::access::{ACCESS_COLUMNS, access_from_row};
use super::watch::{self, WatchedRow};
use crate::domain::project::ProjectWatch;
use crate::domain::watch as domain_watch;
use crate::domain::{
    Counts, Coverage, Dependency, GuardedStatus, ProjectMeta, Report, ScopeSelection, ScopeStatus,
    Slug, Status, StoredProject, Summary, ToolUsed, Visibility,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    Created(ProjectMeta),
    Updated(ProjectMeta),
    /// Identical to the stored report (a retried PUT): nothing was written.
    Unchanged(ProjectMeta),
    /// Older than the stored report: refused, nothing was written.
    OutOfOrder {
        stored_analyzed_at: DateTime<Utc>,
    },
}

/// A project's status for one scope, with its slug: a row of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub slug: Slug,
    pub status: ScopeStatus,
}

/// Replaces the project's report with `report`, atomically.
///
/// Concurrent writers of one slug are serialized by the project row's lock (`FOR UPDATE`, or the
/// unique key for the first insert), so each sees the other's committed report before it
/// decides; readers never wait, and see the old report or the new one through MVCC.
/// What a write did, and what the watcher knows of the report's packages (the statuses
/// written were computed with it).
#[derive(Debug, Clone)]
pub struct Written {
    pub outcome: WriteOutcome,
    pub watch: ProjectWatch,
    /// The report's status for each scope selection, with what the watcher knows.
    pub summaries: Vec<(ScopeSelection, Summary)>,
}

pub async fn write_report(
    pool: &Db,
    slug: &Slug,
    report: &Report,
    default_visibility: Visibility,
    now: DateTime<Utc>,
) -> Result<Written, sqlx::Error> {
    let digest = report.content_digest();
    let keys = domain_watch::report_keys(&report.dependencies);
    let mut tx = pool.begin().await?;
    let project_watch = watch::project_watch(&mut tx, &keys).await?;
    let summaries = domain_watch::summaries(&report.dependencies, &project_watch.packages);
    let written = |outcome| Written {
        outcome,
        watch: project_watch.clone(),
        summaries: summaries.clone(),
    };

    // Claims the slug for a new project; the report itself is written below, by the statement
    // that also replaces an existing one.
    let inserted = sqlx::query(
        "INSERT INTO projects (slug, display_slug, analyzed_at, updated_at, created_at, report_sha256, visibility)
         VALUES ($1, $2, $3, $4, $4, $5, $6)
         ON CONFLICT (slug) DO NOTHING",
    )
    .bind(slug.key())
    .bind(slug.display())
    .bind(report.analyzed_at)
    .bind(now)
    .bind(&digest)
    .bind(report.visibility.unwrap_or(default_visibility).as_str())
    .execute(&mut tx)
    .await?
    .rows_affected()
        == 1;

    let outcome = if inserted {
        WriteOutcome::Created(ProjectMeta {
            slug: slug.clone(),
            analyzed_at: report.analyzed_at,
            updated_at: now,
            tools: report.tools.clone(),
            visibility: report.visibility.unwrap_or(default_visibility),
        })
    } else {
        // The conflicting row is committed (ON CONFLICT waited for its writer); lock it so that
        // the comparison below and the replacement are one step for any concurrent writer.
        let stored = sqlx::query("SELECT display_slug, analyzed_at, updated_at, report_sha256, tools, visibility FROM projects WHERE slug = $1 FOR UPDATE")
            .bind(slug.key())
            .fetch_one(&mut tx)
            .await?;
        let Json(tools) = stored.try_get("tools")?;
        let stored_visibility: String = stored.try_get("visibility")?;
        let meta = ProjectMeta {
            slug: Slug::from_stored(slug.key().to_owned(), stored.try_get("display_slug")?),
            analyzed_at: stored.try_get("analyzed_at")?,
            updated_at: stored.try_get("updated_at")?,
            tools,
            visibility: Visibility::parse(&stored_visibility).unwrap_or(Visibility::Private),
        };
        let stored_digest: Vec<u8> = stored.try_get("report_sha256")?;
        let same_time = !report.analyzed_at_given || report.analyzed_at == meta.analyzed_at;
        let same_visibility = report
            .visibility
            .is_none_or(|visibility| visibility == meta.visibility);
        if stored_digest == digest && same_time && same_visibility {
            return Ok(written(WriteOutcome::Unchanged(meta)));
        }
        if report.analyzed_at < meta.analyzed_at {
            return Ok(written(WriteOutcome::OutOfOrder {
                stored_analyzed_at: meta.analyzed_at,
            }));
        }
        WriteOutcome::Updated(ProjectMeta {
            slug: meta.slug,
            analyzed_at: report.analyzed_at,
            updated_at: now,
            tools: report.tools.clone(),
            visibility: report.visibility.unwrap_or(meta.visibility),
        })
    };

    // Sent as text and stored as `json`: PostgreSQL checks it and keeps it as it is, where
    // `jsonb` would take it apart (twice the time for a large report; see the migration).
    let dependencies = serde_json::to_string(&report.dependencies)
        .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    sqlx::query(
        "UPDATE projects SET analyzed_at = $2, updated_at = $3, report_sha256 = $4, tools = $5,
                             dependencies = $6::json, dependencies_sha256 = $4,
                             packages = $7, packages_sha256 = $4,
                             visibility = COALESCE($8, visibility)
         WHERE slug = $1",
    )
    .bind(slug.key())
    .bind(report.analyzed_at)
    .bind(now)
    .bind(&digest)
    .bind(Json(&report.tools))
    .bind(&dependencies)
    .bind(&keys)
    .bind(report.visibility.map(Visibility::as_str))
    .execute(&mut tx)
    .await?;
    watch::name_packages(&mut tx, &keys, &project_watch, &report.dependencies).await?;
    // Release 0.1.0 reads dependencies only as rows: until no running version reads them, the
    // rows are written too, in the same transaction (docs/upgrades.md). Readers of this version
    // read the document, whose digest says it is current.
    sqlx::query("DELETE FROM dependencies WHERE slug = $1")
        .bind(slug.key())
        .execute(&mut tx)
        .await?;
    insert_rows(&mut tx, slug, &report.dependencies).await?;
    let rows = status_writes(slug.key(), &summaries, report.analyzed_at);
    upsert_statuses(&mut tx, &rows, now).await?;
    notify(&mut tx, slug).await?;
    tx.commit().await?;
    Ok(written(outcome))
}

/// The dependencies as rows, in report order, for readers of release 0.1.0: one statement,
/// arrays bound as parameters and unnested by PostgreSQL.
async fn insert_rows(
    executor: impl PgExecutor<'_>,
    slug: &Slug,
    dependencies: &[Dependency],
) -> Result<(), sqlx::Error> {
    if dependencies.is_empty() {
        return Ok(());
    }
    let positions: Vec<i32> = (0..).take(dependencies.len()).collect();
    let column = |f: fn(&Dependency) -> &str| -> Vec<&str> { dependencies.iter().map(f).collect() };
    let advisories: Vec<Json<&Vec<crate::domain::Advisory>>> =
        dependencies.iter().map(|d| Json(&d.advisories)).collect();
    sqlx::query(
        "INSERT INTO dependencies (slug, position, purl, ecosystem, name, version, latest, scope, freshness, advisories)
         SELECT $1, * FROM UNNEST($2::int4[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::jsonb[])",
    )
    .bind(slug.key())
    .bind(positions)
    .bind(column(|d| &d.purl))
    .bind(column(|d| &d.ecosystem))
    .bind(column(|d| &d.name))
    .bind(column(|d| &d.version))
    .bind(dependencies.iter().map(|d| d.latest.as_deref()).collect::<Vec<_>>())
    .bind(column(|d| d.scope.as_str()))
    .bind(column(|d| d.freshness.as_str()))
    .bind(advisories)
    .execute(executor)
    .await?;
    Ok(())
}

/// One scope's status of one project, to be written.
pub(super) struct StatusWrite<'a> {
    pub slug_key: &'a str,
    pub selection: ScopeSelection,
    pub summary: Summary,
    pub analyzed_at: DateTime<Utc>,
}

/// A project's statuses as rows to write, one per scope selection.
fn status_writes<'a>(
    slug_key: &'a str,
    summaries: &[(ScopeSelection, Summary)],
    analyzed_at: DateTime<Utc>,
) -> Vec<StatusWrite<'a>> {
    summaries
        .iter()
        .map(|(selection, summary)| StatusWrite {
            slug_key,
            selection: *selection,
            summary: *summary,
            analyzed_at,
        })
        .collect()
}

/// Writes statuses, any number of projects in one statement; `updated_at` (the badge's
/// `Last-Modified`) is now.
pub(super) async fn upsert_statuses(
    executor: impl PgExecutor<'_>,
    rows: &[StatusWrite<'_>],
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let count = |f: fn(&Counts) -> u32| -> Vec<i32> {
        rows.iter()
            .map(|row| i32::try_from(f(&row.summary.counts)).unwrap_or(i32::MAX))
            .collect()
    };
    sqlx::query(
        "INSERT INTO project_statuses (slug, scope, status, total, up_to_date, outdated, vulnerable, unknown, analyzed_at, updated_at)
         SELECT t.*, $10 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int4[], $5::int4[], $6::int4[], $7::int4[], $8::int4[], $9::timestamptz[]) AS t
         ON CONFLICT (slug, scope) DO UPDATE SET
             status = EXCLUDED.status, total = EXCLUDED.total, up_to_date = EXCLUDED.up_to_date,
             outdated = EXCLUDED.outdated, vulnerable = EXCLUDED.vulnerable, unknown = EXCLUDED.unknown,
             analyzed_at = EXCLUDED.analyzed_at, updated_at = EXCLUDED.updated_at",
    )
    .bind(rows.iter().map(|row| row.slug_key).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.selection.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|row| row.summary.status.as_str()).collect::<Vec<_>>())
    .bind(count(|c| c.total))
    .bind(count(|c| c.up_to_date))
    .bind(count(|c| c.outdated))
    .bind(count(|c| c.vulnerable))
    .bind(count(|c| c.unknown))
    .bind(rows.iter().map(|row| row.analyzed_at).collect::<Vec<_>>())
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}

/// Queued with the transaction: PostgreSQL delivers it to listeners only if the write commits.
pub(super) async fn notify(executor: impl PgExecutor<'_>, slug: &Slug) -> Result<(), sqlx::Error> {
    notify_all(executor, &[slug.key()]).await
}

/// [`notify`] for many projects, in one statement.
pub(super) async fn notify_all(
    executor: impl PgExecutor<'_>,
    slug_keys: &[&str],
) -> Result<(), sqlx::Error> {
    if slug_keys.is_empty() {
        return Ok(());
    }
    sqlx::query("SELECT pg_notify($1, slug) FROM UNNEST($2::text[]) AS s (slug)")
        .bind(REPORT_CHANNEL)
        .bind(slug_keys)
        .execute(executor)
        .await?;
    Ok(())
}

/// Deletes a project and everything about it; false when there was none.
pub async fn delete(pool: &Db, slug: &Slug) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // The project's row first: that waits for a write in flight to commit, so that the
    // dependencies deleted next are the ones it wrote. Statuses go by their foreign key.
    let deleted = sqlx::query("DELETE FROM projects WHERE slug = $1")
        .bind(slug.key())
        .execute(&mut tx)
        .await?
        .rows_affected()
        == 1;
    if deleted {
        sqlx::query("DELETE FROM dependencies WHERE slug = $1")
            .bind(slug.key())
            .execute(&mut tx)
            .await?;
        notify(&mut tx, slug).await?;
    }
    tx.commit().await?;
    Ok(deleted)
}

/// The project, its status for `selection` and its dependencies, read in one statement so that
/// all of it comes from one snapshot even while a writer replaces the report.
pub async fn find(
    executor: impl PgExecutor<'_>,
    slug: &Slug,
    selection: ScopeSelection,
) -> Result<Option<StoredProject>, sqlx::Error> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
        "SELECT p.display_slug, p.analyzed_at, p.updated_at, p.tools,
                s.status, s.total, s.up_to_date, s.outdated, s.vulnerable, s.unknown,
                CASE WHEN p.dependencies_sha256 = p.report_sha256 THEN p.dependencies
                     -- Written by an earlier version (see the migration): its rows.
                     ELSE COALESCE((SELECT json_agg(json_build_object(
                              'purl', d.purl, 'ecosystem', d.ecosystem, 'name', d.name, 'version', d.version,
                              'latest', d.latest, 'scope', d.scope, 'freshness', d.freshness, 'advisories', d.advisories)
                              ORDER BY d.position)
                          FROM dependencies d WHERE d.slug = p.slug), '[]'::json)
                END AS dependencies,
                (SELECT json_agg(json_build_object('key', w.key, 'latest', w.latest, 'advisories', w.osv_advisories || w.registry_advisories, 'checked_at', w.checked_at))
                 FROM UNNEST(p.packages) AS k (key) JOIN watched_packages w ON w.key = k.key) AS watched,
                (SELECT advisories_as_of FROM watch_state) AS advisories_as_of,
                {ACCESS_COLUMNS}
         FROM projects p JOIN project_statuses s ON s.slug = p.slug AND s.scope = $2
         WHERE p.slug = $1"
        )
    });
    let row = sqlx::query(SQL.as_str())
        .bind(slug.key())
        .bind(selection.as_str())
        .fetch_optional(executor)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let Json(dependencies): Json<Vec<Dependency>> = row.try_get("dependencies")?;
    let watched: Option<Json<Vec<WatchedRow>>> = row.try_get("watched")?;
    let watch = watch::watch_of(
        watched.map(|Json(rows)| rows).unwrap_or_default(),
        row.try_get("advisories_as_of")?,
    );
    let access = access_from_row(&row)?;
    Ok(Some(StoredProject {
        meta: ProjectMeta {
            slug: Slug::from_stored(slug.key().to_owned(), row.try_get("display_slug")?),
            analyzed_at: row.try_get("analyzed_at")?,
            updated_at: row.try_get("updated_at")?,
            tools: row.try_get::<Json<Vec<ToolUsed>>, _>("tools")?.0,
            visibility: access.visibility(),
        },
        summary: summary_from_row(&row)?,
        dependencies,
        watch,
        access,
    }))
}

/// When the stored report was analyzed and written, and its digest: what an import compares a
/// line with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    pub analyzed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub report_sha256: Vec<u8>,
}

pub async fn stored_version(
    executor: impl PgExecutor<'_>,
    slug: &Slug,
) -> Result<Option<StoredVersion>, sqlx::Error> {
    sqlx::query("SELECT analyzed_at, updated_at, report_sha256 FROM projects WHERE slug = $1")
        .bind(slug.key())
        .fetch_optional(executor)
        .await?
        .map(|row| {
            Ok(StoredVersion {
                analyzed_at: row.try_get("analyzed_at")?,
                updated_at: row.try_get("updated_at")?,
                report_sha256: row.try_get("report_sha256")?,
            })
        })
        .transpose()
}

/// The status of one project for one scope, with who may read it: a primary-key lookup (the
/// badge read).
pub async fn find_scope_status(
    executor: impl PgExecutor<'_>,
    slug: &Slug,
    selection: ScopeSelection,
) -> Result<Option<GuardedStatus>, sqlx::Error> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT s.status, s.total, s.up_to_date, s.outdated, s.vulnerable, s.unknown,
                    s.analyzed_at, s.updated_at, {ACCESS_COLUMNS}
             FROM project_statuses s JOIN projects p ON p.slug = s.slug
             WHERE s.slug = $1 AND s.scope = $2"
        )
    });
    sqlx::query(SQL.as_str())
        .bind(slug.key())
        .bind(selection.as_str())
        .fetch_optional(executor)
        .await?
        .map(|row| {
            Ok(GuardedStatus {
                status: scope_status_from_row(&row)?,
                access: access_from_row(&row)?,
            })
        })
        .transpose()
}

/// One page of projects ordered by slug key, after `after` (keyset pagination), optionally only
/// those with `status`. Returns up to `limit` rows.
///
/// Private projects are listed only when `private` covers them (`None`: to nobody).
pub async fn list(
    executor: impl PgExecutor<'_>,
    selection: ScopeSelection,
    status: Option<Status>,
    after: Option<&str>,
    limit: i64,
    private: Option<&Coverage>,
) -> Result<Vec<StatusRow>, sqlx::Error> {
    let (exact, prefixes) = private.map(Coverage::split).unwrap_or_default();
    sqlx::query(
        "SELECT s.slug, p.display_slug, s.status, s.total, s.up_to_date, s.outdated, s.vulnerable, s.unknown, s.analyzed_at, s.updated_at
         FROM project_statuses s JOIN projects p ON p.slug = s.slug
         WHERE s.scope = $1 AND ($2::text IS NULL OR s.status = $2) AND ($3::text IS NULL OR s.slug > $3)
           AND (p.visibility = 'public' OR $5
                OR p.slug = ANY($6::text[])
                OR EXISTS (SELECT 1 FROM UNNEST($7::text[]) AS c (prefix) WHERE starts_with(p.slug, c.prefix)))
         ORDER BY s.slug
         LIMIT $4",
    )
    .bind(selection.as_str())
    .bind(status.map(Status::as_str))
    .bind(after)
    .bind(limit)
    .bind(private.is_some_and(Coverage::covers_everything))
    .bind(exact)
    .bind(prefixes)
    .fetch_all(executor)
    .await?
    .iter()
    .map(status_from_row)
    .collect()
}

/// How many projects there are.
pub async fn count(executor: impl PgExecutor<'_>) -> Result<usize, sqlx::Error> {
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM projects")
        .fetch_one(executor)
        .await?;
    Ok(usize::try_from(count).unwrap_or(0))
}

/// Up to `limit` slug keys after `after`, in order: what the filter of known slugs is built from,
/// a batch at a time.
pub async fn slug_keys_after(
    executor: impl PgExecutor<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT slug FROM projects WHERE $1::text IS NULL OR slug > $1 ORDER BY slug LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(executor)
    .await
}

/// Up to `limit` projects' slugs after the slug key `after`, in order: an export reads them a
/// batch at a time, so that its memory does not grow with the number of projects.
pub async fn slugs_after(
    executor: impl PgExecutor<'_>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Slug>, sqlx::Error> {
    sqlx::query(
        "SELECT slug, display_slug FROM projects WHERE $1::text IS NULL OR slug > $1
         ORDER BY slug LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(executor)
    .await?
    .iter()
    .map(|row| {
        Ok(Slug::from_stored(
            row.try_get("slug")?,
            row.try_get("display_slug")?,
        ))
    })
    .collect()
}

fn status_from_row(row: &sqlx::postgres::PgRow) -> Result<StatusRow, sqlx::Error> {
    Ok(StatusRow {
        slug: Slug::from_stored(row.try_get("slug")?, row.try_get("display_slug")?),
        status: scope_status_from_row(row)?,
    })
}

fn scope_status_from_row(row: &sqlx::postgres::PgRow) -> Result<ScopeStatus, sqlx::Error> {
    Ok(ScopeStatus {
        summary: summary_from_row(row)?,
        analyzed_at: row.try_get("analyzed_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn summary_from_row(row: &sqlx::postgres::PgRow) -> Result<Summary, sqlx::Error> {
    let status: String = row.try_get("status")?;
    let status = Status::parse(&status).ok_or_else(|| {
        sqlx::Error::Decode(format!("unknown status `{status}` in project_statuses").into())
    })?;
    let count = |column: &str| -> Result<u32, sqlx::Error> {
        let value: i32 = row.try_get(column)?;
        u32::try_from(value).map_err(|e| sqlx::Error::Decode(Box::new(e)))
    };
    Ok(Summary {
        status,
        counts: Counts {
            total: count("total")?,
            up_to_date: count("up_to_date")?,
            outdated: count("outdated")?,
            vulnerable: count("vulnerable")?,
            unknown: count("unknown")?,
        },
    })
}

/// What a recompute did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Recomputed {
    /// Projects read and recomputed.
    pub projects: usize,
    /// Of those, projects whose status or counts changed (written, badges invalidated).
    pub changed: usize,
}

/// Recomputes the statuses of the projects of `slugs` with what the watcher knows now, in one
/// transaction. Only changed statuses are written (their `updated_at`, the badge's
/// `Last-Modified`, moves); changed projects are announced, and with `announce_all` every
/// project (what the JSON API and the page show of a changed package moved even where the
/// status did not). A project whose reverse-index entry was taken from another report has it
/// replaced, and its new packages named.
pub async fn recompute(
    pool: &Db,
    slugs: &[String],
    announce_all: bool,
    now: DateTime<Utc>,
) -> Result<Recomputed, sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Locked in slug order, like any writer's single row: the report read here stays the
    // project's report until the statuses computed from it are written. Joins with the batch,
    // never `= ANY($1)`: a bound array is not hashed (see `watch::project_watch`).
    let rows = sqlx::query(
        "SELECT p.slug, p.analyzed_at, p.report_sha256, p.packages_sha256,
                CASE WHEN p.dependencies_sha256 = p.report_sha256 THEN p.dependencies
                     ELSE COALESCE((SELECT json_agg(json_build_object(
                              'purl', d.purl, 'ecosystem', d.ecosystem, 'name', d.name, 'version', d.version,
                              'latest', d.latest, 'scope', d.scope, 'freshness', d.freshness, 'advisories', d.advisories)
                              ORDER BY d.position)
                          FROM dependencies d WHERE d.slug = p.slug), '[]'::json)
                END AS dependencies
         FROM UNNEST($1::text[]) AS batch (slug) JOIN projects p ON p.slug = batch.slug
         ORDER BY p.slug FOR UPDATE OF p",
    )
    .bind(slugs)
    .fetch_all(&mut tx)
    .await?;
    let stored: std::collections::HashMap<(String, String), Summary> = sqlx::query(
        "SELECT s.slug, s.scope, s.status, s.total, s.up_to_date, s.outdated, s.vulnerable, s.unknown
         FROM UNNEST($1::text[]) AS batch (slug) JOIN project_statuses s ON s.slug = batch.slug",
    )
    .bind(slugs)
    .fetch_all(&mut tx)
    .await?
    .iter()
    .map(|row| {
        Ok((
            (row.try_get("slug")?, row.try_get("scope")?),
            summary_from_row(row)?,
        ))
    })
    .collect::<Result<_, sqlx::Error>>()?;

    struct Project {
        slug: Slug,
        analyzed_at: DateTime<Utc>,
        digest: Vec<u8>,
        indexed: bool,
        dependencies: Vec<Dependency>,
    }
    let projects = rows
        .iter()
        .map(|row| {
            let digest: Vec<u8> = row.try_get("report_sha256")?;
            let indexed_digest: Option<Vec<u8>> = row.try_get("packages_sha256")?;
            let key: String = row.try_get("slug")?;
            Ok(Project {
                slug: Slug::from_stored(key.clone(), key),
                analyzed_at: row.try_get("analyzed_at")?,
                indexed: indexed_digest.as_ref() == Some(&digest),
                digest,
                dependencies: row.try_get::<Json<Vec<Dependency>>, _>("dependencies")?.0,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let mut keys: Vec<String> = projects
        .iter()
        .flat_map(|p| domain_watch::report_keys(&p.dependencies))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let known = watch::project_watch(&mut tx, &keys).await?;

    let mut writes = Vec::new();
    let mut announced = Vec::new();
    let mut changed = 0;
    for project in &projects {
        if !project.indexed {
            let keys = domain_watch::report_keys(&project.dependencies);
            sqlx::query("UPDATE projects SET packages = $2, packages_sha256 = $3 WHERE slug = $1")
                .bind(project.slug.key())
                .bind(&keys)
                .bind(&project.digest)
                .execute(&mut tx)
                .await?;
            watch::name_packages(&mut tx, &keys, &known, &project.dependencies).await?;
        }
        let summaries = domain_watch::summaries(&project.dependencies, &known.packages);
        let same = summaries.iter().all(|(selection, summary)| {
            stored.get(&(project.slug.key().to_owned(), selection.as_str().to_owned()))
                == Some(summary)
        });
        if !same {
            writes.extend(status_writes(
                project.slug.key(),
                &summaries,
                project.analyzed_at,
            ));
            changed += 1;
        }
        if announce_all || !same {
            announced.push(project.slug.key());
        }
    }
    upsert_statuses(&mut tx, &writes, now).await?;
    notify_all(&mut tx, &announced).await?;
    tx.commit().await?;
    Ok(Recomputed {
        projects: projects.len(),
        changed,
    })
}
