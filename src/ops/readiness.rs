//! What `/readyz` reports (docs/contract.md §5): whether the router should send this replica
//! traffic, not whether the database is up.
//!
//! Not ready until the replica has reached the database once and found a schema it can serve, so
//! that a rollout with a wrong `DATABASE_URL` or a missing migration never replaces healthy pods.
//! Ready from then on, through database outages too: badges still come from the cache (or say
//! `unavailable`) and the JSON API answers 503 with `Retry-After` itself, whereas a fleet whose
//! every replica turned unready at once would leave the router answering its own error page.
//! Not ready again from SIGTERM on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::db::schema::{self, SchemaState};

/// contract §5: before the first success, the database must answer within this time.
pub const DATABASE_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Default)]
pub struct Readiness {
    shutting_down: Arc<AtomicBool>,
    /// Set by the first check that found the database with a schema this binary serves; never
    /// unset, so that later checks cost nothing and do not depend on the database.
    servable: Arc<AtomicBool>,
    /// The database watcher's last word (`ops::database::watch`), for the body and the alerts.
    database_up: Arc<AtomicBool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReady {
    ShuttingDown,
    DatabaseUnavailable(String),
    SchemaBehind { missing: Vec<i64> },
}

impl NotReady {
    pub fn reason(&self) -> String {
        match self {
            Self::ShuttingDown => "shutting down".to_owned(),
            Self::DatabaseUnavailable(why) => format!("database unavailable: {why}"),
            Self::SchemaBehind { missing } => {
                format!("database schema is missing migrations {missing:?}; run `depbadge migrate`")
            }
        }
    }
}

impl Readiness {
    /// From now on the service reports not ready, so that the router stops sending traffic.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    pub fn set_database_up(&self, up: bool) {
        self.database_up.store(up, Ordering::SeqCst);
    }

    /// Whether the database answered the last time anyone looked.
    pub fn database_up(&self) -> bool {
        self.database_up.load(Ordering::SeqCst)
    }

    pub async fn check(&self, pool: &crate::db::Db) -> Result<(), NotReady> {
        if self.is_shutting_down() {
            return Err(NotReady::ShuttingDown);
        }
        if self.servable.load(Ordering::SeqCst) {
            return Ok(());
        }
        match tokio::time::timeout(DATABASE_TIMEOUT, schema::state(pool)).await {
            Err(_elapsed) => Err(NotReady::DatabaseUnavailable(format!(
                "no answer within {DATABASE_TIMEOUT:?}"
            ))),
            Ok(Err(e)) => Err(NotReady::DatabaseUnavailable(e.to_string())),
            Ok(Ok(SchemaState::Behind { missing })) => {
                self.set_database_up(true);
                Err(NotReady::SchemaBehind { missing })
            }
            Ok(Ok(SchemaState::Current)) => {
                self.set_database_up(true);
                self.servable.store(true, Ordering::SeqCst);
                Ok(())
            }
        }
    }
}
