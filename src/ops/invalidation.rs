//! Keeps every replica's badge cache honest: LISTEN on the report channel and drop a project's
//! cached status when a write anywhere NOTIFYs its slug. While not listening (connection lost),
//! writes may go unheard, so the cache is flushed each time listening (re)starts; meanwhile the
//! cache TTL bounds staleness.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::Notify;

use super::backoff::Backoff;
use super::metrics::Metrics;
use crate::badge::ProjectStore;
use crate::badge::known::NewFilter;
use crate::db::{self, Db, REPORT_CHANNEL, Route};

/// The listener's connection, which must keep one server process: LISTEN is session state.
pub struct Session {
    pub options: PgConnectOptions,
    /// True when configured apart from the pool's (`DEPBADGE_LISTEN_DATABASE_URL`).
    pub own: bool,
}

/// Runs until the task is aborted. `listening_started` wakes the task that builds the filter of
/// known slugs ([`keep_known_slugs`]) each time listening (re)starts.
///
/// Before listening, the session connection is probed ([`db::pooler::probe`]): through a
/// transaction pooler, LISTEN would stay behind on a server process that other clients are then
/// handed, and they would receive its notifications in the middle of their queries. So a pooled
/// session connection is never listened on: that is said once, as an error, and the badge cache
/// relies on its TTL. When the session connection is also the pool's, the probe's answer tells the
/// pool how to run its statements ([`Db::set_route`]).
pub async fn listen<A: Send + Sync + 'static>(
    db: Db,
    session: Session,
    cache: Arc<ProjectStore<A>>,
    metrics: Metrics,
    listening_started: Arc<Notify>,
) {
    // One connection, made when listening starts and again after it is lost.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with(session.options.clone());
    let mut backoff = Backoff::default();
    loop {
        let route = match db::pooler::probe(&session.options).await {
            Ok(route) => route,
            Err(error) => {
                metrics.set_listening(false);
                tracing::warn!(%error, retry_in_ms = backoff.peek().as_millis() as u64, "not listening for report notifications");
                tokio::time::sleep(backoff.take()).await;
                continue;
            }
        };
        if !session.own {
            db.set_route(route);
        }
        if route == Route::Pooler {
            metrics.set_listening(false);
            tracing::error!(
                "the listener's connection goes through a transaction pooler: not listening \
                 for report notifications (badges change only when their cache entry expires, \
                 DEPBADGE_CACHE_TTL); set DEPBADGE_LISTEN_DATABASE_URL to PostgreSQL itself \
                 (CloudNativePG: the -rw Service)"
            );
            // A probe through a pooler leaves a LISTEN behind on some server process: not
            // repeated. A corrected address comes with a new configuration, hence a restart.
            return;
        }
        match listen_once(&pool, &cache, &metrics, &listening_started).await {
            Ok(()) => backoff.reset(),
            Err(error) => {
                cache.known().forget();
                metrics.set_listening(false);
                tracing::warn!(%error, retry_in_ms = backoff.peek().as_millis() as u64, "not listening for report notifications");
                tokio::time::sleep(backoff.take()).await;
            }
        }
    }
}

/// Listens until the connection fails; `Ok` when it was lost after listening worked.
async fn listen_once<A: Send + Sync + 'static>(
    pool: &sqlx::PgPool,
    cache: &ProjectStore<A>,
    metrics: &Metrics,
    listening_started: &Notify,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(REPORT_CHANNEL).await?;
    flush(cache, metrics);
    // Every write from now on is heard, so the filter of known slugs can be built.
    cache.known().listening();
    listening_started.notify_one();
    metrics.set_listening(true);
    tracing::info!(
        channel = REPORT_CHANNEL,
        "listening for report notifications; badge cache flushed"
    );
    loop {
        match listener.try_recv().await? {
            Some(notification) => {
                cache.invalidate(notification.payload());
                metrics.record_notification();
            }
            None => {
                // The connection dropped (and will be re-established on the next call):
                // notifications sent meanwhile are lost.
                flush(cache, metrics);
                cache.known().forget();
                metrics.set_listening(false);
                tracing::warn!("report notification connection lost; badge cache flushed");
                return Ok(());
            }
        }
    }
}

fn flush<A: Send + Sync + 'static>(cache: &ProjectStore<A>, metrics: &Metrics) {
    cache.flush();
    metrics.record_cache_flush();
}

/// Rebuilds the filter of known slugs from the database: how many there are, or `None` when it
/// could not be installed (listening stopped meanwhile, or too many writes to keep).
async fn rebuild_known<A: Send + Sync + 'static>(
    pool: &Db,
    cache: &ProjectStore<A>,
) -> Result<Option<usize>, sqlx::Error> {
    let Some(rebuild) = cache.known().start_rebuild() else {
        return Ok(None);
    };
    // Read in batches, each added to the new filter and dropped: memory stays one batch, however
    // many projects there are. A slug created behind a batch already read is among the writes
    // heard meanwhile; one deleted meanwhile is a false positive until the next rebuild.
    let expected = db::projects::count(pool).await?;
    let Some(mut filter) = NewFilter::new(rebuild, expected) else {
        return Ok(None);
    };
    let mut read = 0;
    let mut after: Option<String> = None;
    loop {
        let batch = db::projects::slug_keys_after(pool, after.as_deref(), SLUG_BATCH).await?;
        read += batch.len();
        for key in &batch {
            filter.add(key);
        }
        if batch.len() < SLUG_BATCH as usize {
            break;
        }
        after = batch.into_iter().next_back();
    }
    Ok(cache.known().install(filter).then_some(read))
}

/// Slug keys read per query when the filter is rebuilt.
const SLUG_BATCH: i64 = 10_000;

/// Keeps the filter of known slugs: builds it each time listening starts, rebuilds it every
/// `period` (so that deleted projects stop costing reads and the filter keeps its size), and
/// retries a failed build with backoff, without waiting for the next period or reconnection.
/// While there is no filter every slug is read, which is correct, only dearer. Runs until aborted.
pub async fn keep_known_slugs<A: Send + Sync + 'static>(
    pool: Db,
    cache: Arc<ProjectStore<A>>,
    metrics: Metrics,
    period: Duration,
    listening_started: Arc<Notify>,
) {
    let mut backoff = Backoff::default();
    loop {
        let wait = if !cache.known().is_listening() {
            None
        } else {
            match rebuild_known(&pool, &cache).await {
                Ok(Some(known)) => {
                    metrics.record_known_slugs_build(true);
                    tracing::info!(known, "known slugs loaded");
                    backoff.reset();
                    Some(period)
                }
                // Listening stopped meanwhile (the next start wakes this task), or more writes
                // came in during the read than the rebuild keeps: tried again later.
                Ok(None) => cache.known().is_listening().then(|| backoff.take()),
                Err(error) => {
                    metrics.record_known_slugs_build(false);
                    tracing::warn!(%error, retry_in_ms = backoff.peek().as_millis() as u64,
                        "could not build the filter of known slugs; every slug is read until it is built");
                    Some(backoff.take())
                }
            }
        };
        match wait {
            Some(wait) => {
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = listening_started.notified() => {}
                }
            }
            None => listening_started.notified().await,
        }
    }
}
