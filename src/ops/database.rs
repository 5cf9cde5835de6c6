//! Watches the database: connects with capped exponential backoff while it is down, applies
//! migrations once it answers (when asked to), and logs each change between up and down.
//! The pool itself reconnects on demand; this task makes recovery visible and timely.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;

use super::backoff::Backoff;
use super::metrics::Metrics;
use super::readiness::Readiness;
use crate::db::{Db, schema};

const CHECK_INTERVAL: Duration = Duration::from_secs(5);

/// Runs until the process ends. `migrate_on`: the session connection to apply migrations on, when
/// this process applies them.
pub async fn watch(
    pool: Db,
    migrate_on: Option<PgConnectOptions>,
    metrics: Metrics,
    readiness: Readiness,
) {
    let mut backoff = Backoff::default();
    let mut up: Option<bool> = None;
    let mut migrated = false;
    loop {
        let result = match sqlx::query("SELECT 1").execute(&pool).await {
            Ok(_) if let Some(options) = migrate_on.as_ref().filter(|_| !migrated) => {
                schema::migrate(options)
                    .await
                    .map_err(|e| e.to_string())
                    .map(|()| {
                        migrated = true;
                        tracing::info!("database migrations applied");
                    })
            }
            Ok(_) => Ok(()),
            Err(e) => Err(e.to_string()),
        };
        match result {
            Ok(()) => {
                if up != Some(true) {
                    tracing::info!("database is up");
                }
                metrics.set_db_up(true);
                readiness.set_database_up(true);
                up = Some(true);
                backoff.reset();
                tokio::time::sleep(CHECK_INTERVAL).await;
            }
            Err(error) => {
                metrics.set_db_up(false);
                readiness.set_database_up(false);
                if up != Some(false) {
                    tracing::warn!(%error, retry_in_ms = backoff.peek().as_millis() as u64, "database is unavailable");
                }
                up = Some(false);
                tokio::time::sleep(backoff.take()).await;
            }
        }
    }
}
