//! Exactly one active watcher: the one holding a PostgreSQL session advisory lock on its own
//! connection. A standby tries for the lock every few seconds; when the active process dies,
//! PostgreSQL ends its session and releases the lock, and a standby takes over within one poll.
//! The active watcher checks its lock connection as often: if it is gone, so is the lock (another
//! process may hold it already), and it stops its work at once.
//!
//! The lock lives on a session: the connection (`DEPBADGE_LISTEN_DATABASE_URL`, else
//! `DATABASE_URL`) must go to PostgreSQL directly or through a session-mode pooler
//! (docs/watching.md), never a transaction-mode PgBouncer.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{Context, WatchState, advisories, recompute, registries};
use crate::ops::backoff::Backoff;
use crate::ops::metrics::Metrics;

/// The advisory lock's key: "depbadge" in ASCII.
pub const LOCK_KEY: i64 = 0x6465_7062_6164_6765;

/// How often a standby tries for the lock, and the active watcher checks that it still has it.
const POLL: Duration = Duration::from_secs(5);

/// Leads while holding the lock, stands by otherwise; never returns.
pub async fn lead(
    options: PgConnectOptions,
    state: WatchState,
    metrics: Metrics,
    context: impl Fn(mpsc::UnboundedSender<String>) -> Arc<Context>,
) {
    let mut backoff = Backoff::default();
    loop {
        let mut connection = match PgConnection::connect_with(&options).await {
            Ok(connection) => connection,
            Err(error) => {
                let wait = backoff.take();
                tracing::warn!(%error, retry_in_ms = wait.as_millis() as u64, "watch: cannot reach the database");
                tokio::time::sleep(wait).await;
                continue;
            }
        };
        backoff.reset();
        state.reached();
        loop {
            let locked: Result<bool, sqlx::Error> =
                sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                    .bind(LOCK_KEY)
                    .fetch_one(&mut connection)
                    .await;
            match locked {
                Err(error) => {
                    tracing::warn!(%error, "watch: the lock's connection failed");
                    break;
                }
                Ok(false) => tokio::time::sleep(POLL).await,
                Ok(true) => {
                    tracing::info!("watch: active (holding the lock)");
                    metrics.set_watch_active(true);
                    let (changed, heard) = mpsc::unbounded_channel();
                    let mut tasks = start(context(changed), heard);
                    let error = loop {
                        tokio::select! {
                            () = tokio::time::sleep(POLL) => {}
                            Some(ended) = tasks.join_next() => {
                                // A task ended: that is a bug, not a reason to stop watching.
                                tracing::error!(?ended, "watch: a task ended");
                            }
                        }
                        if let Err(error) = connection.ping().await {
                            break error;
                        }
                    };
                    tasks.abort_all();
                    metrics.set_watch_active(false);
                    tracing::warn!(%error, "watch: lost the lock's connection; standing by");
                    break;
                }
            }
        }
    }
}

/// The active watcher's tasks: one per watched registry, the advisory sources, the recompute
/// of changed packages' projects, and the upkeep.
fn start(context: Arc<Context>, heard: mpsc::UnboundedReceiver<String>) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    for (registry, base) in context.settings.registries.clone() {
        tasks.spawn(registries::watch(context.clone(), registry, base));
    }
    if !context.settings.advisories.is_empty() {
        tasks.spawn(advisories::watch(context.clone()));
    }
    tasks.spawn(recompute::run(context.clone(), heard));
    tasks.spawn(recompute::upkeep(context));
    tasks
}
