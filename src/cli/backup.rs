//! `depbadge export [FILE]` and `depbadge import FILE` (docs/contract.md §7): every report as JSON lines, for
//! backup and restore. A line is a PUT body plus the slug and write time, so that an import goes
//! through the same validation, the same out-of-order rule and the same NOTIFY as the API.
//! A private project's line keeps its visibility and its read keys' digests (never a key: no key
//! is stored), so that a restore keeps every key working.

use std::io::{BufRead, Write};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

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
pub async fn export(pool: &PgPool, out: &mut impl Write) -> Result<usize, String> {
    let mut tx = pool.begin().await.map_err(|e| e.to_string())?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    let slugs = projects::all_slugs(&mut *tx)
        .await
        .map_err(|e| e.to_string())?;
    let mut count = 0;
    for slug in slugs {
        let Some(project) = projects::find(&mut *tx, &slug, ScopeSelection::All)
            .await
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        let read_keys = access::exported(&mut *tx, &slug)
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
        count += 1;
    }
    out.flush().map_err(|e| e.to_string())?;
    Ok(count)
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Older than what is stored: kept as stored, as the API's 409 would.
    pub older: usize,
    /// `line number: reason` for each line that could not be imported.
    pub errors: Vec<String>,
}

/// Imports JSON lines; each line is its own transaction, so one bad line stops nothing else.
pub async fn import(
    pool: &PgPool,
    input: impl BufRead,
    default_visibility: Visibility,
) -> Result<ImportSummary, String> {
    let mut summary = ImportSummary::default();
    for (index, line) in input.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| format!("line {number}: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        match import_line(pool, &line, default_visibility).await {
            Ok(WriteOutcome::Created(_)) => summary.created += 1,
            Ok(WriteOutcome::Updated(_)) => summary.updated += 1,
            Ok(WriteOutcome::Unchanged(_)) => summary.unchanged += 1,
            Ok(WriteOutcome::OutOfOrder { .. }) => summary.older += 1,
            Err(reason) => summary.errors.push(format!("line {number}: {reason}")),
        }
    }
    Ok(summary)
}

async fn import_line(
    pool: &PgPool,
    line: &str,
    default_visibility: Visibility,
) -> Result<WriteOutcome, String> {
    let line: Line = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let slug = Slug::parse(&line.slug).map_err(|e| format!("slug: {e}"))?;
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
    if !matches!(outcome, WriteOutcome::OutOfOrder { .. }) {
        access::restore(pool, &slug, &line.read_keys)
            .await
            .map_err(|e| format!("{}: {e}", slug.display()))?;
    }
    Ok(outcome)
}
