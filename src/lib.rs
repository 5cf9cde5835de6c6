//! depbadge: dependency-status badges served from a PostgreSQL cache of dependency reports.

/// Badges: texts, colors, rendering and caching.
pub mod badge;
/// The command line: subcommands and their flags.
pub mod cli;
/// Configuration from the environment, `NAME_FILE` files and flags.
pub mod config;
/// PostgreSQL: migrations and queries, one module per aggregate.
pub mod db;
/// Domain rules with no I/O: slugs, purls, version order, freshness and status.
pub mod domain;
/// HTTP: the router, one module per resource, and the error type.
pub mod http;
/// Operations: logs, readiness, the database watcher, shutdown.
pub mod ops;
/// Assembly: pool, listener, state and server.
pub mod startup;
/// `depbadge watch`: registries and advisory sources, and the recompute of statuses.
pub mod watch;
