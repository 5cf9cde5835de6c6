//! Recomputes the statuses of the projects that use a package whose newest release or
//! advisories changed, in bounded batches, each one transaction that also announces the changed
//! projects (NOTIFY), so that every replica drops their badges. And the upkeep: gauges, the
//! reverse index of projects written by a release without it, a second look at projects written
//! during a change, and forgetting packages no report names any more.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::Context;
use crate::db::projects;
use crate::db::watch as db;
use crate::ops::backoff::Backoff;

/// Projects per transaction: large enough to recompute 100,000 projects in well under a minute,
/// small enough that a writer of one of them waits a fraction of a second at most.
pub const BATCH: usize = 500;
/// Changes heard within this long are recomputed together.
const GATHER: Duration = Duration::from_millis(500);
/// How often the upkeep runs.
const UPKEEP: Duration = Duration::from_secs(30);
/// A write may have read what the watcher knew up to this long before it committed.
const WRITE_MARGIN: chrono::Duration = chrono::Duration::seconds(60);

pub async fn run(context: Arc<Context>, mut heard: mpsc::UnboundedReceiver<String>) {
    while let Some(first) = heard.recv().await {
        let mut keys = HashSet::from([first]);
        let deadline = tokio::time::Instant::now() + GATHER;
        while let Ok(Some(key)) = tokio::time::timeout_at(deadline, heard.recv()).await {
            keys.insert(key);
        }
        let keys: Vec<String> = keys.into_iter().collect();
        context.remember_change(&keys);
        let slugs = retrying("find the projects using changed packages", || {
            db::projects_using(&context.pool, &keys)
        })
        .await;
        recompute(&context, &slugs, true).await;
    }
}

/// Recomputes `slugs` in batches, retrying a batch until the database takes it; `announce_all`:
/// every project is announced, not only those whose status changed.
async fn recompute(context: &Context, slugs: &[String], announce_all: bool) {
    let mut changed = 0;
    for batch in slugs.chunks(BATCH) {
        let done = retrying("recompute statuses", || {
            projects::recompute(&context.pool, batch, announce_all, Utc::now())
        })
        .await;
        context
            .metrics
            .record_status_recomputes(done.projects as u64);
        changed += done.changed;
        // Room for the badges' and writers' own queries between two batches.
        tokio::task::yield_now().await;
    }
    if !slugs.is_empty() {
        tracing::info!(
            projects = slugs.len(),
            changed,
            "watch: statuses recomputed"
        );
    }
}

async fn retrying<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut backoff = Backoff::default();
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(error) => {
                let wait = backoff.take();
                tracing::warn!(%error, retry_in_ms = wait.as_millis() as u64, "watch: cannot {what}");
                tokio::time::sleep(wait).await;
            }
        }
    }
}

pub async fn upkeep(context: Arc<Context>) {
    let ecosystems: Vec<&'static str> = context
        .settings
        .registries
        .iter()
        .map(|(registry, _)| registry.ecosystem())
        .collect();
    // At most the check interval apart, so that a short interval (tests, a demo) prunes soon.
    let mut ticks = tokio::time::interval(UPKEEP.min(context.settings.interval));
    let mut last_prune = tokio::time::Instant::now();
    loop {
        ticks.tick().await;
        match db::backlog(&context.pool, &ecosystems).await {
            Ok((packages, overdue)) => {
                context.metrics.set_watch_packages(packages.max(0) as u64);
                context.metrics.set_watch_overdue(overdue);
            }
            Err(error) => tracing::warn!(%error, "watch: cannot read the backlog"),
        }
        // Projects written by a release that does not keep the reverse index.
        loop {
            match db::unindexed_projects(&context.pool, BATCH as i64).await {
                Ok(slugs) if !slugs.is_empty() => recompute(&context, &slugs, false).await,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(%error, "watch: cannot find unindexed projects");
                    break;
                }
            }
        }
        second_look(&context).await;
        if last_prune.elapsed() >= context.settings.interval {
            last_prune = tokio::time::Instant::now();
            match db::prune(&context.pool).await {
                Ok(pruned) => tracing::info!(pruned, "watch: packages no report names forgotten"),
                Err(error) => tracing::warn!(%error, "watch: cannot forget unnamed packages"),
            }
        }
    }
}

/// A write reads what the watcher knows, then commits; a change's recompute in between does
/// not see the write's project yet. So the projects written around a change, that use its
/// package, are recomputed once more.
async fn second_look(context: &Context) {
    let changes = context.recent_changes(Utc::now() - WRITE_MARGIN - WRITE_MARGIN);
    let Some(since) = changes.iter().map(|(at, _)| *at).min() else {
        return;
    };
    let keys: Vec<String> = changes.into_iter().map(|(_, key)| key).collect();
    match db::written_since_using(&context.pool, &keys, since - WRITE_MARGIN).await {
        Ok(slugs) => recompute(context, &slugs, false).await,
        Err(error) => tracing::warn!(%error, "watch: cannot look again at recent writes"),
    }
}

impl Context {
    fn remember_change(&self, keys: &[String]) {
        let now = Utc::now();
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        recent.extend(keys.iter().map(|key| (now, key.clone())));
    }

    /// Changes since `since`; older ones are forgotten.
    fn recent_changes(&self, since: DateTime<Utc>) -> Vec<(DateTime<Utc>, String)> {
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        recent.retain(|(at, _)| *at >= since);
        recent.clone()
    }
}
