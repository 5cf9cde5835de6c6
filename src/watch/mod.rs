//! `depbadge watch` (docs/watching.md): keeps stored statuses true between pushes. One watcher
//! is active at a time (a PostgreSQL advisory lock, see [`leader`]); it checks the registries
//! ([`registries`]), reads the advisory sources ([`advisories`]) and recomputes the projects
//! that use a package whose newest release or advisories changed ([`recompute`]). `serve`
//! never does any of this: badge replicas need nothing but PostgreSQL.

mod admin;
mod advisories;
mod leader;
mod recompute;
mod registries;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::db::Db;
use tokio::sync::mpsc;

use crate::config::{Config, WatchSettings};
use crate::ops::metrics::Metrics;

/// What every task of the active watcher shares.
struct Context {
    pool: Db,
    settings: WatchSettings,
    metrics: Metrics,
    client: reqwest::Client,
    /// Packages whose newest release or advisories changed: their projects are recomputed.
    changed: mpsc::UnboundedSender<String>,
    /// When each recent change was recomputed, for the second look at writes made meanwhile.
    recent: std::sync::Mutex<Vec<(chrono::DateTime<chrono::Utc>, String)>>,
}

/// The watcher's state for its probes.
#[derive(Debug, Clone, Default)]
pub struct WatchState {
    /// Set once the database was reached: a standby is ready too (it takes over when needed).
    reached_database: Arc<AtomicBool>,
}

impl WatchState {
    fn reached(&self) {
        self.reached_database.store(true, Ordering::SeqCst);
    }

    pub fn ready(&self) -> bool {
        self.reached_database.load(Ordering::SeqCst)
    }
}

/// The `User-Agent` of every registry request: depbadge, its version, and where it runs.
pub fn user_agent(public_url: Option<&str>) -> String {
    let version = env!("CARGO_PKG_VERSION");
    match public_url {
        Some(url) => format!("depbadge/{version} (+{url})"),
        None => format!("depbadge/{version}"),
    }
}

/// A registry request gives up after this long (docs/contract.md §10).
pub const REGISTRY_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the watcher until `shutdown` completes: the admin listener, and the leader loop that
/// makes this process the active watcher whenever it holds the lock.
pub async fn run(
    config: &Config,
    admin: tokio::net::TcpListener,
    pool: Db,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let metrics = Metrics::new();
    // Every series exists from the start, at 0: a rate over a counter that appears late misses
    // its first increments, and an alert cannot tell "none" from "not scraped".
    metrics.set_watch_active(false);
    metrics.set_watch_interval(config.watch.interval);
    metrics.set_watch_packages(0);
    metrics.set_watch_overdue(0.0);
    metrics.set_advisories_loaded(0);
    metrics.record_status_recomputes(0);
    for (registry, _) in &config.watch.registries {
        for result in registries::RESULTS {
            metrics.record_registry_request_count(registry.ecosystem(), result, 0);
        }
    }
    let state = WatchState::default();
    let client = reqwest::Client::builder()
        .user_agent(user_agent(config.public_url.as_deref()))
        .timeout(REGISTRY_TIMEOUT)
        .connect_timeout(REGISTRY_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let admin_task = tokio::spawn(admin::serve(admin, metrics.clone(), state.clone()));
    let upkeep = tokio::spawn(metrics.clone().run_upkeep_every(Duration::from_secs(5)));
    // The lock is held by a session: DEPBADGE_LISTEN_DATABASE_URL when DATABASE_URL is pooled.
    let options = config
        .database
        .session_options()
        .application_name("depbadge-watch");
    let leading = leader::lead(options, state, metrics.clone(), move |changed| {
        Arc::new(Context {
            pool: pool.clone(),
            settings: config.watch.clone(),
            metrics: metrics.clone(),
            client: client.clone(),
            changed,
            recent: std::sync::Mutex::default(),
        })
    });
    tokio::select! {
        () = shutdown => {}
        () = leading => {}
    }
    admin_task.abort();
    upkeep.abort();
    Ok(())
}
