//! What a request reads about a project, in one place for every handler: the store's fresh
//! entry, else nothing for a slug nobody reported (the filter of known slugs), else one database
//! read shared by concurrent requests; for badges, within a budget, and the last known status
//! when the database fails. Each outcome is counted.
//!
//! Who may read it is decided here too, for every handler: a private project read without one of
//! its keys or a covering token is answered exactly as a slug nobody reported (the filter's "not
//! known", so the same headers too), and nothing made from a private status is ever kept for
//! the answers given before the router.

use std::sync::Arc;
use std::time::Duration;

use super::AppState;
use super::finished_badge::{FinishedBadge, FinishedSlot, kept_badge};
use crate::badge::Lookup;
use crate::db;
use crate::domain::{
    Credentials, Granted, GuardedStatus, ScopeSelection, ScopeStatus, Slug, StoredProject,
};
use crate::ops::metrics::{CacheResult, DbRead};

/// Image proxies give up after a few seconds: a badge read waits at most this for the database
/// before answering from what this replica knows.
const DATABASE_BUDGET: Duration = Duration::from_secs(1);

/// The answer kept with the project's fresh default status, if it still shows that status and
/// `key` may read it (a public project's, with any key or none; a private project's, with one of
/// its keys): a hit, counted as [`scope_status`] counts its own.
pub fn kept_answer(state: &AppState, slug: &Slug, key: Option<&str>) -> Option<Arc<FinishedBadge>> {
    let mut granted_to = None;
    let badge = kept_badge(
        &state.store,
        slug.key(),
        ScopeSelection::default(),
        std::time::Instant::now(),
        |status| {
            let Some(status) = status else { return true };
            let credentials = Credentials { key, token: None };
            let grant = status.access.grant(slug.key(), credentials);
            let allowed = grant != Granted::Denied;
            granted_to = Some(grant);
            allowed
        },
    )?;
    if let Some(grant) = granted_to {
        granted(state, grant);
    }
    state.metrics.record_badge_lookup(CacheResult::Hit);
    Some(badge)
}

/// Where a status came from.
pub enum Source {
    /// A fresh cache entry, with the slot for the finished badge made from it (for a private
    /// project, only given to a reader with one of its keys: see [`StatusRead::not_known`]).
    Cache(FinishedSlot),
    Database,
    /// No report, said by the filter of known slugs without a read: another replica may have
    /// written it a moment ago, its NOTIFY not heard yet.
    NotKnown,
    /// The database failed: the last status this replica knew.
    LastKnown,
}

/// A status as one reader may see it.
pub struct StatusRead {
    pub status: Option<ScopeStatus>,
    pub source: Source,
    /// Read by a key or a covering token: the answer is for this reader alone.
    pub private: bool,
}

impl StatusRead {
    /// What a slug nobody reported gets, said without a database read.
    fn not_known() -> Self {
        Self {
            status: None,
            source: Source::NotKnown,
            private: false,
        }
    }
}

/// The project's status from the cache, else from the database; when the database fails, the
/// last known status if this replica has one, else `Err`. A private project's is given only to
/// `credentials` that may read it.
pub async fn scope_status(
    state: &AppState,
    slug: &Slug,
    scope: ScopeSelection,
    credentials: Credentials<'_>,
) -> Result<StatusRead, ()> {
    let (cached, slot) = state.store.status_and_slot(slug.key(), scope);
    if let (Lookup::Fresh(status), Some(slot)) = (&cached, slot) {
        // Counted as the kept answer's is: the same hit, answered another way.
        state.metrics.record_badge_lookup(CacheResult::Hit);
        return Ok(guarded(state, slug, status.as_ref(), credentials, || {
            Source::Cache(slot)
        }));
    }
    // Nobody reported this slug: no read, and nothing cached (anyone can ask for any slug).
    if !state.store.known().may_exist(slug.key()) {
        state.metrics.record_badge_lookup(CacheResult::Absent);
        return Ok(StatusRead::not_known());
    }
    let read = tokio::time::timeout(
        DATABASE_BUDGET,
        state.store.read_status(slug.key(), scope, async {
            state.metrics.record_db_read(DbRead::Status);
            db::projects::find_scope_status(&state.pool, slug, scope).await
        }),
    )
    .await;
    match read {
        Ok(Ok(status)) => {
            state.metrics.record_badge_lookup(CacheResult::Miss);
            Ok(guarded(state, slug, status.as_ref(), credentials, || {
                Source::Database
            }))
        }
        failure => {
            let error = match failure {
                Ok(Err(e)) => e.to_string(),
                _ => format!("no answer within {DATABASE_BUDGET:?}"),
            };
            match cached {
                Lookup::Stale(status) => {
                    tracing::warn!(%error, "database read failed; serving the last known badge");
                    state.metrics.record_badge_lookup(CacheResult::Stale);
                    Ok(guarded(state, slug, status.as_ref(), credentials, || {
                        Source::LastKnown
                    }))
                }
                _ => {
                    tracing::warn!(%error, "database read failed and no badge is cached; serving `unavailable`");
                    Err(())
                }
            }
        }
    }
}

/// `status` from `source`, as `credentials` may see it.
fn guarded(
    state: &AppState,
    slug: &Slug,
    status: Option<&GuardedStatus>,
    credentials: Credentials<'_>,
    source: impl FnOnce() -> Source,
) -> StatusRead {
    let Some(guarded) = status else {
        return StatusRead {
            status: None,
            source: source(),
            private: false,
        };
    };
    match granted(state, guarded.access.grant(slug.key(), credentials)) {
        Some(private) => StatusRead {
            status: Some(guarded.status),
            source: source(),
            private,
        },
        None => StatusRead::not_known(),
    }
}

/// Whether the answer is private (`Some(true)`), public, or refused (`None`); a key's use is
/// noted for its `last_used_at`.
fn granted(state: &AppState, granted: Granted) -> Option<bool> {
    match granted {
        Granted::Public => Some(false),
        Granted::Private { key_id } => {
            if let Some(id) = &key_id {
                state.key_uses.note(id);
            }
            Some(true)
        }
        Granted::Denied => None,
    }
}

/// What a read of a project's report found.
pub enum Read {
    /// The report, and whether it is private (read by a key or a covering token).
    Found {
        project: Arc<StoredProject>,
        private: bool,
    },
    /// No report: the database said so, to this request.
    Missing,
    /// No report as far as this replica knows without a read (the filter of known slugs, or a
    /// "no report" kept from an earlier read). Another replica may have just written it, its
    /// NOTIFY not heard yet: an answer resting on this is never cacheable.
    NotKnown,
}

/// A project's report, from the cache while it is fresh: the JSON API and the page show the
/// same thing as the badge, and reading it again costs no query until a write or the TTL. A slug
/// nobody reported costs no query at all.
pub async fn read_document(
    state: &AppState,
    slug: &Slug,
    selection: ScopeSelection,
    credentials: Credentials<'_>,
) -> Result<Read, Arc<sqlx::Error>> {
    if let Lookup::Fresh(document) = state.store.document(slug.key(), selection) {
        state.metrics.record_document_lookup(CacheResult::Hit);
        // A "no report" kept from an earlier read is as old as that read.
        return Ok(document.map_or(Read::NotKnown, |project| {
            found(state, slug, project, credentials)
        }));
    }
    if !state.store.known().may_exist(slug.key()) {
        state.metrics.record_document_lookup(CacheResult::Absent);
        return Ok(Read::NotKnown);
    }
    let read = async {
        state.metrics.record_db_read(DbRead::Document);
        Ok::<_, sqlx::Error>(
            db::projects::find(&state.pool, slug, selection)
                .await?
                .map(Arc::new),
        )
    };
    let document = state
        .store
        .read_document(slug.key(), selection, read)
        .await?;
    state.metrics.record_document_lookup(CacheResult::Miss);
    Ok(document.map_or(Read::Missing, |project| {
        found(state, slug, project, credentials)
    }))
}

fn found(
    state: &AppState,
    slug: &Slug,
    project: Arc<StoredProject>,
    credentials: Credentials<'_>,
) -> Read {
    match granted(state, project.access.grant(slug.key(), credentials)) {
        Some(private) => Read::Found { project, private },
        // As a slug nobody reported, said without a read: the same answer, headers included.
        None => Read::NotKnown,
    }
}
