//! Black-box tests: the real router on a random port, or the real binary, against a real
//! PostgreSQL. `#[sqlx::test]` gives each test a fresh, migrated database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod badges;
pub mod binary;
mod browser;
mod clock;
mod concurrency;
mod errors;
mod fixtures;
mod formats;
mod front_door;
mod health;
mod helpers;
mod hostile;
mod invalidation;
mod known_slugs;
mod listing;
mod manifests;
mod metrics;
mod openapi;
mod outage;
mod pages;
mod pooler;
mod private;
mod push;
mod reports;
mod upgrades;
pub mod watch;
