//! PostgreSQL access: the embedded migrations, and one module per aggregate. Functions take an
//! executor or a pool and return `sqlx::Error`; the HTTP layer decides what a failure means.

pub mod access;
pub mod handle;
pub mod pooler;
pub mod projects;
pub mod schema;
pub mod watch;

pub use handle::{Db, Route, Tx};

/// The migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The channel on which every report write and delete is announced, with the slug key as
/// payload, so that every replica can drop its cached badge for that project.
pub const REPORT_CHANNEL: &str = "depbadge_reports";

/// True when `error` means the database cannot be reached (as opposed to a bad query): the
/// request may succeed later, so the API answers 503 and readiness fails.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(e) => e.code().is_some_and(|code| {
            // 08: connection exception; 57P01-03: shutdown, crash, cannot connect now; 53300: too
            // many connections; 25006: read-only (the address reaches a standby, for now).
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    "57P01" | "57P02" | "57P03" | "53300" | "25006"
                )
        }),
        _ => false,
    }
}
