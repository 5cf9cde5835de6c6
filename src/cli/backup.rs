//! `depbadge export [FILE]` and `depbadge import FILE` (docs/contract.md §7): every report as JSON lines, for
//! backup and restore. A line is a PUT body plus the slug and write time, so that an import goes
//! through the same validation, the same out-of-order rule and the same NOTIFY as the API.
//! A private project's line keeps its visibility and its read keys' digests (never a key: no key
//! is stored), so that a restore keeps every key working.

use std::io::{BufRead, Write};

use crate::db::{Db, Tx};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::db::access::{self, ExportedKey};
use crate::db::projects::{self, WriteOutcome};
use crate::domain::{
    Advisory, Report, ReportInput, Scope, ScopeSelection, Slug, ToolUsed, Visibility,
};

/// One exported report.
#[derive(Debug, Serialize, Deserialize)]
pub struct Line {
    pub slug: String,
    pub analyzed_at: DateTime<Utc>,
    /// When the report was written; restored, so that badges keep their Last-Modified.
    pub updated_at: DateTime<Utc>,
    pub dependencies: Vec<LineDependency>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolUsed>,
    /// Absent in exports of releases before private projects: as the import's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_keys: Vec<ExportedKey>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct LineDependency {
    pub purl: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<String>,
    pub scope: Scope,
    pub advisories: Vec<Advisory>,
}

/// Writes every report to `out`, from one consistent snapshot. Returns how many.
pub async fn export(pool: &Db, out: &mut impl Write) -> Result<usize, String> {
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut tx)
        .await
        .map_err(|e| e.to_string())?;
    let mut count = 0;
    let mut after: Option<String> = None;
    loop {
        // A batch of slugs at a time, each project read and written out before the next: memory
        // stays one batch and one project, however many projects there are.
        let batch = projects::slugs_after(&mut tx, after.as_deref(), EXPORT_BATCH)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = batch.last() else { break };
        after = Some(last.key().to_owned());
        for slug in batch {
            count += export_project(&mut tx, &slug, out).await?;
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(count)
}

/// Slugs read per query by an export.
const EXPORT_BATCH: i64 = 1_000;

/// Writes one project's line; 0 when it is gone (it cannot be, in the export's snapshot).
async fn export_project(tx: &mut Tx, slug: &Slug, out: &mut impl Write) -> Result<usize, String> {
    let Some(project) = projects::find(&mut *tx, slug, ScopeSelection::All)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(0);
    };
    let read_keys = access::exported(&mut *tx, slug)
        .await
        .map_err(|e| e.to_string())?;
    let line = Line {
        slug: project.meta.slug.display().to_owned(),
        analyzed_at: project.meta.analyzed_at,
        updated_at: project.meta.updated_at,
        dependencies: project
            .dependencies
            .into_iter()
            .map(|d| LineDependency {
                purl: d.purl,
                latest: d.latest,
                scope: d.scope,
                advisories: d.advisories,
            })
            .collect(),
        tools: project.meta.tools,
        visibility: Some(project.meta.visibility),
        read_keys,
    };
    serde_json::to_writer(&mut *out, &line).map_err(|e| e.to_string())?;
    out.write_all(b"\n").map_err(|e| e.to_string())?;
    Ok(1)
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Older than what is stored: kept as stored, as the API's 409 would.
    pub older: usize,
    /// The line number and the reason, for each line that could not be imported, in order.
    pub errors: Vec<(usize, String)>,
}

/// Imports JSON lines; each line is its own transaction, so one bad line stops nothing else.
///
/// Lines are read and parsed here, in order, and written by [`IMPORT_WORKERS`] tasks at once, each
/// on its own connection: a write waits on the database most of its time, so several in flight
/// keep it busy. Every line of one project goes to the same task, in the file's order, so the
/// out-of-order rule sees a project's lines as a one-by-one import would; projects are
/// independent. Memory stays bounded: each task's queue holds at most [`QUEUED_LINES`] lines.
pub async fn import(
    pool: &Db,
    input: impl BufRead,
    default_visibility: Visibility,
) -> Result<ImportSummary, String> {
    let mut queues = Vec::with_capacity(IMPORT_WORKERS as usize);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..IMPORT_WORKERS {
        let (queue, mut lines) = tokio::sync::mpsc::channel::<(usize, Slug, Line)>(QUEUED_LINES);
        queues.push(queue);
        let pool = pool.clone();
        workers.spawn(async move {
            let mut summary = ImportSummary::default();
            while let Some((number, slug, line)) = lines.recv().await {
                let outcome = import_line(&pool, slug, line, default_visibility).await;
                summary.count(number, outcome);
            }
            summary
        });
    }
    let mut summary = ImportSummary::default();
    for (index, text) in input.lines().enumerate() {
        let number = index + 1;
        let text = text.map_err(|e| format!("line {number}: {e}"))?;
        if text.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<Line>(&text)
            .map_err(|e| e.to_string())
            .and_then(|line| {
                let slug = Slug::parse(&line.slug).map_err(|e| format!("slug: {e}"))?;
                Ok((slug, line))
            });
        match parsed {
            Ok((slug, line)) => {
                let queue = &queues[worker_of(&slug)];
                if queue.send((number, slug, line)).await.is_err() {
                    break; // a task ended early: its panic is reported below
                }
            }
            Err(reason) => summary.count(number, Err(reason)),
        }
    }
    drop(queues);
    while let Some(done) = workers.join_next().await {
        summary.add(done.map_err(|e| format!("an import task failed: {e}"))?);
    }
    summary.errors.sort_by_key(|(number, _)| *number);
    Ok(summary)
}

/// Writes in flight at once during an import (each on a connection of its own).
pub const IMPORT_WORKERS: u32 = 8;

/// Lines waiting for each import task.
const QUEUED_LINES: usize = 64;

/// The task that writes `slug`'s lines: the same for every line of one project.
fn worker_of(slug: &Slug) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    slug.key().hash(&mut hasher);
    usize::try_from(hasher.finish() % u64::from(IMPORT_WORKERS)).unwrap_or(0)
}

impl ImportSummary {
    fn count(&mut self, number: usize, outcome: Result<WriteOutcome, String>) {
        match outcome {
            Ok(WriteOutcome::Created(_)) => self.created += 1,
            Ok(WriteOutcome::Updated(_)) => self.updated += 1,
            Ok(WriteOutcome::Unchanged(_)) => self.unchanged += 1,
            Ok(WriteOutcome::OutOfOrder { .. }) => self.older += 1,
            Err(reason) => self.errors.push((number, reason)),
        }
    }

    fn add(&mut self, other: Self) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.older += other.older;
        self.errors.extend(other.errors);
    }
}

async fn import_line(
    pool: &Db,
    slug: Slug,
    line: Line,
    default_visibility: Visibility,
) -> Result<WriteOutcome, String> {
    let dependencies = line
        .dependencies
        .into_iter()
        .map(|d| {
            serde_json::json!({ "purl": d.purl, "latest": d.latest, "scope": d.scope, "advisories": d.advisories })
        })
        .collect::<Vec<_>>();
    let input: ReportInput = serde_json::from_value(
        serde_json::json!({ "analyzed_at": line.analyzed_at, "dependencies": dependencies, "tools": line.tools }),
    )
    .map_err(|e| e.to_string())?;
    // Validated as of its original write time, so that nothing counts as "in the future".
    let mut report = Report::from_input(input, line.updated_at.max(line.analyzed_at))
        .map_err(|e| e.to_string())?;
    report.visibility = line.visibility;
    // One write exported twice cannot differ. A line that does came from a replica that could
    // not read that report (release 0.1.0 beside migration 20261128150000 exported projects
    // without their dependencies): the stored report is kept.
    let stored = projects::stored_version(pool, &slug)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(stored) = stored
        && stored.analyzed_at == report.analyzed_at
        && stored.updated_at == line.updated_at
        && stored.report_sha256 != report.content_digest()
    {
        return Err(format!(
            "{}: differs from the stored report of the same write (same analyzed_at and \
             updated_at), so one of the two was read incompletely; the stored one is kept \
             (docs/upgrades.md)",
            slug.display()
        ));
    }
    let outcome = projects::write_report(pool, &slug, &report, default_visibility, line.updated_at)
        .await
        .map(|written| written.outcome)
        .map_err(|e| e.to_string())?;
    // A project this line created has no keys yet: nothing to restore when it brings none.
    let nothing_to_restore =
        line.read_keys.is_empty() && matches!(outcome, WriteOutcome::Created(_));
    if !matches!(outcome, WriteOutcome::OutOfOrder { .. }) && !nothing_to_restore {
        access::restore(pool, &slug, &line.read_keys)
            .await
            .map_err(|e| format!("{}: {e}", slug.display()))?;
    }
    Ok(outcome)
}
