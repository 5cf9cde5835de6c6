//! Operations: logging, readiness state, the database watcher and shutdown signals.

pub mod database;
pub mod invalidation;
pub mod metrics;
pub mod readiness;
pub mod shutdown;
pub mod telemetry;
