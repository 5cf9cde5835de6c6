//! Operations: logging (batched on its way to stdout), readiness state, the database watcher and shutdown signals.

pub mod backoff;
pub mod database;
pub mod invalidation;
pub mod key_uses;
pub mod log_sink;
pub mod metrics;
pub mod readiness;
pub mod shutdown;
pub mod telemetry;
