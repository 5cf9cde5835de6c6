//! What `/readyz` reports: the database answers within a second, the schema is at this binary's
//! version, and no SIGTERM has arrived.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sqlx::PgPool;

use crate::db::schema::{self, SchemaState};

/// contract §5: the database must answer within this time for the service to be ready.
pub const DATABASE_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Default)]
pub struct Readiness {
    shutting_down: Arc<AtomicBool>,
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

    pub async fn check(&self, pool: &PgPool) -> Result<(), NotReady> {
        if self.is_shutting_down() {
            return Err(NotReady::ShuttingDown);
        }
        match tokio::time::timeout(DATABASE_TIMEOUT, schema::state(pool)).await {
            Err(_elapsed) => Err(NotReady::DatabaseUnavailable(format!(
                "no answer within {DATABASE_TIMEOUT:?}"
            ))),
            Ok(Err(e)) => Err(NotReady::DatabaseUnavailable(e.to_string())),
            Ok(Ok(SchemaState::Behind { missing })) => Err(NotReady::SchemaBehind { missing }),
            Ok(Ok(SchemaState::Current)) => Ok(()),
        }
    }
}
