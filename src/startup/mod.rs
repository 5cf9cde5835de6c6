//! Builds the application from its configuration: pool, listener, background tasks, and the
//! server with graceful shutdown. Tests build it with port 0 and read the bound address.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;

mod server;

use server::Limits;

use crate::config::Config;
use crate::db::{Db, Route};
use crate::http::{self, AppState};
use crate::ops;
use crate::ops::metrics::Metrics;
use crate::ops::readiness::Readiness;

/// A request waits at most this long for a connection, so that an unreachable database gives a
/// prompt 503 instead of a hung request.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// A pool that connects on first use: the service starts, and is live, while the database is down.
/// How often the filter of known slugs is rebuilt from the database (deletions leave it with
/// false positives, which cost a read each).
const KNOWN_SLUGS_REBUILD: Duration = Duration::from_secs(600);

/// How often histogram samples are folded into buckets when nobody scrapes.
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

pub fn lazy_pool(config: &Config) -> Db {
    Db::connect_lazy(
        PgPoolOptions::new()
            .max_connections(config.db_max_connections)
            .acquire_timeout(ACQUIRE_TIMEOUT),
        config
            .database
            .connect_options()
            .application_name("depbadge"),
        declared_route(config),
    )
}

/// What the configuration says the pool reaches: a transaction pooler when a session connection
/// of its own is configured (`DEPBADGE_LISTEN_DATABASE_URL`), else not known until probed.
pub fn declared_route(config: &Config) -> Route {
    if config.database.has_session_url() {
        Route::Pooler
    } else {
        Route::Unknown
    }
}

pub struct Application {
    listener: TcpListener,
    admin_listener: TcpListener,
    state: AppState,
    migrate: bool,
    /// The session connection: the listener's, and migrations'.
    session: ops::invalidation::Session,
    limits: Limits,
}

impl Application {
    /// Binds both listeners; the database is not contacted.
    pub async fn build(config: &Config, pool: impl Into<Db>) -> std::io::Result<Self> {
        let pool: Db = pool.into();
        let listener = TcpListener::bind(config.listen_addr).await?;
        let admin_listener = TcpListener::bind(config.metrics_addr).await?;
        Ok(Self {
            listener,
            admin_listener,
            session: ops::invalidation::Session {
                // Without a session URL of its own, the pool's address (tests give their pool).
                options: if config.database.has_session_url() {
                    config.database.session_options()
                } else {
                    (*pool.pool().connect_options()).clone()
                }
                .application_name("depbadge-listener"),
                own: config.database.has_session_url(),
            },
            state: AppState::new(config, pool, Readiness::default(), Metrics::new()),
            migrate: config.migrate,
            limits: Limits {
                header_timeout: config.header_timeout,
                max_connections: config.max_connections,
                drain_timeout: config.drain_timeout,
            },
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The application's metrics registry.
    pub fn metrics(&self) -> Metrics {
        self.state.metrics.clone()
    }

    /// The admin listener's address (`/metrics`).
    pub fn admin_addr(&self) -> std::io::Result<SocketAddr> {
        self.admin_listener.local_addr()
    }

    pub fn readiness(&self) -> Readiness {
        self.state.readiness.clone()
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight. The database
    /// watcher and the NOTIFY listener run alongside and stop with the server.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let pool = self.state.pool.clone();
        let metrics = self.state.metrics.clone();
        let listening_started = Arc::new(tokio::sync::Notify::new());
        let background = [
            tokio::spawn(ops::database::watch(
                pool.clone(),
                self.migrate.then(|| self.session.options.clone()),
                metrics.clone(),
                self.state.readiness.clone(),
            )),
            tokio::spawn(ops::invalidation::listen(
                pool.clone(),
                self.session,
                self.state.store.clone(),
                metrics.clone(),
                listening_started.clone(),
            )),
            tokio::spawn(metrics.clone().run_upkeep_every(METRICS_UPKEEP)),
            tokio::spawn(
                self.state
                    .key_uses
                    .clone()
                    .write_every(pool.clone(), ops::key_uses::KEY_USES_FLUSH),
            ),
            tokio::spawn(ops::invalidation::keep_known_slugs(
                pool.clone(),
                self.state.store.clone(),
                metrics.clone(),
                KNOWN_SLUGS_REBUILD,
                listening_started,
            )),
            // Scrapes may go on while the main listener drains; the admin server ends with the process.
            tokio::spawn(serve_admin(self.admin_listener, metrics.clone(), pool)),
        ];
        let served = server::serve(
            self.listener,
            http::router(self.state),
            self.limits,
            metrics,
            shutdown,
        )
        .await;
        for task in background {
            task.abort();
        }
        served
    }
}

async fn serve_admin(listener: TcpListener, metrics: Metrics, pool: Db) {
    if let Err(error) = axum::serve(listener, http::admin_router(metrics, pool)).await {
        tracing::error!(%error, "the admin listener stopped");
    }
}
