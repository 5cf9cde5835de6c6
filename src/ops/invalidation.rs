//! Keeps every replica's badge cache honest: LISTEN on the report channel and drop a project's
//! cached status when a write anywhere NOTIFYs its slug. While not listening (connection lost),
//! writes may go unheard, so the cache is flushed each time listening (re)starts; meanwhile the
//! cache TTL bounds staleness.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use super::metrics::Metrics;
use crate::badge::BadgeCache;
use crate::db::{self, REPORT_CHANNEL};

const FIRST_RETRY: Duration = Duration::from_millis(250);
const MAX_RETRY: Duration = Duration::from_secs(10);

/// Runs until the task is aborted.
pub async fn listen(pool: PgPool, cache: Arc<BadgeCache>, metrics: Metrics) {
    let mut delay = FIRST_RETRY;
    loop {
        match listen_once(&pool, &cache, &metrics).await {
            Ok(()) => delay = FIRST_RETRY,
            Err(error) => {
                cache.known().forget();
                metrics.set_listening(false);
                tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "not listening for report notifications");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(MAX_RETRY);
            }
        }
    }
}

/// Listens until the connection fails; `Ok` when it was lost after listening worked.
async fn listen_once(
    pool: &PgPool,
    cache: &BadgeCache,
    metrics: &Metrics,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(REPORT_CHANNEL).await?;
    flush(cache, metrics);
    // Every write from now on is heard, so the filter of known slugs can be built.
    let known = rebuild_known(pool, cache).await?;
    metrics.set_listening(true);
    tracing::info!(
        channel = REPORT_CHANNEL,
        known,
        "listening for report notifications; badge cache flushed, known slugs loaded"
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

fn flush(cache: &BadgeCache, metrics: &Metrics) {
    cache.flush();
    metrics.record_cache_flush();
}

/// Rebuilds the filter of known slugs from the database; how many there are.
async fn rebuild_known(pool: &PgPool, cache: &BadgeCache) -> Result<usize, sqlx::Error> {
    let rebuild = cache.known().start_rebuild();
    let keys = db::projects::all_slug_keys(pool).await?;
    cache
        .known()
        .finish_rebuild(rebuild, keys.iter().map(String::as_str));
    Ok(keys.len())
}

/// Rebuilds the filter of known slugs every `period` while it is complete (listening), so that
/// deleted projects stop costing reads and the filter keeps its size. Runs until aborted.
pub async fn rebuild_known_every(pool: PgPool, cache: Arc<BadgeCache>, period: Duration) {
    loop {
        tokio::time::sleep(period).await;
        if cache.known().is_complete()
            && let Err(error) = rebuild_known(&pool, &cache).await
        {
            tracing::warn!(%error, "could not rebuild the filter of known slugs");
        }
    }
}
