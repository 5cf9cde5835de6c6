//! depbadge: dependency-status badges served from a PostgreSQL cache of dependency reports.

/// Domain rules with no I/O: slugs, purls, version order, freshness and status.
pub mod domain;
/// Configuration from the environment, `NAME_FILE` files and flags.
pub mod config;
