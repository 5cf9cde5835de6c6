//! The handle every query goes through: a pool of connections, and what stands between them and
//! PostgreSQL. Reached directly, statements are prepared once per connection and cached. Reached
//! through a transaction pooler (PgBouncer's `pool_mode = transaction`, CloudNativePG's `Pooler`),
//! a connection may be handed a different server process after every transaction, so nothing may
//! outlive one: every statement is unnamed and runs inside a transaction (a lone statement gets its
//! own), which keeps the Parse, the Bind and the Execute on one server process.
//!
//! The handle also drops connections that an error shows to be useless: when one finds its server
//! gone, or read-only (a standby after a switchover), every connection made before that moment
//! is closed instead of being handed out again, and new ones are made to the same address, where
//! the new primary answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::{BoxFuture, TryFutureExt};
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use sqlx::postgres::{
    PgArguments, PgConnectOptions, PgPoolOptions, PgQueryResult, PgRow, PgStatement, PgTypeInfo,
};
use sqlx::{Either, Error, Execute, Executor, PgPool, Postgres, SqlStr, Transaction};

/// What the pool's address reaches, as far as is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Not yet found out: treated as a pooler, which is correct either way, only dearer.
    Unknown = 0,
    /// PostgreSQL itself (or a session-mode pooler): statements are cached per connection.
    Direct = 1,
    /// A transaction-mode pooler: no statement or session state outlives a transaction.
    Pooler = 2,
}

impl Route {
    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Direct,
            2 => Self::Pooler,
            _ => Self::Unknown,
        }
    }

    fn is_direct(self) -> bool {
        self == Self::Direct
    }
}

/// A pool and what its address reaches. Cheap to clone: clones share the pool and the route.
#[derive(Clone, Debug)]
pub struct Db {
    pool: PgPool,
    route: Arc<AtomicU8>,
    failures: Arc<Failures>,
}

/// When a connection last found its server gone or read-only: connections made before then are
/// closed rather than used (the pool's `before_acquire` asks).
#[derive(Debug)]
struct Failures {
    epoch: Instant,
    /// Milliseconds from `epoch` to the last such failure, plus one; 0 for never.
    last: AtomicU64,
}

impl Failures {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    fn record(&self, error: &Error) {
        if ends_connection(error) {
            let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.last
                .fetch_max(now.saturating_add(1), Ordering::Relaxed);
        }
    }

    /// True when a connection opened `age` ago predates the last failure.
    fn outlived(&self, age: Duration) -> bool {
        let last = self.last.load(Ordering::Relaxed);
        let opened = self.epoch.elapsed().saturating_sub(age).as_millis();
        last != 0 && opened < u128::from(last)
    }
}

impl Db {
    /// A pool whose connections are made on first use (the service starts while the database is
    /// down), and closed when a failure made after them says their server changed.
    pub fn connect_lazy(pool: PgPoolOptions, options: PgConnectOptions, route: Route) -> Self {
        let failures = Arc::new(Failures::new());
        let pool = Self::watching(pool, &failures).connect_lazy_with(options);
        Self::with(pool, route, failures)
    }

    /// As [`Self::connect_lazy`], with a first connection made now.
    pub async fn connect(
        pool: PgPoolOptions,
        options: PgConnectOptions,
        route: Route,
    ) -> Result<Self, Error> {
        let failures = Arc::new(Failures::new());
        let pool = Self::watching(pool, &failures)
            .connect_with(options)
            .await?;
        Ok(Self::with(pool, route, failures))
    }

    /// A pool made elsewhere (tests): its connections are not closed after failures.
    pub fn new(pool: PgPool, route: Route) -> Self {
        Self::with(pool, route, Arc::new(Failures::new()))
    }

    fn with(pool: PgPool, route: Route, failures: Arc<Failures>) -> Self {
        Self {
            pool,
            route: Arc::new(AtomicU8::new(route as u8)),
            failures,
        }
    }

    fn watching(pool: PgPoolOptions, failures: &Arc<Failures>) -> PgPoolOptions {
        let failures = failures.clone();
        pool.before_acquire(move |_, meta| {
            let keep = !failures.outlived(meta.age);
            Box::pin(async move { Ok(keep) })
        })
    }

    /// The pool underneath, for its size and for what must hold one connection throughout.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn route(&self) -> Route {
        Route::from_u8(self.route.load(Ordering::Relaxed))
    }

    /// Records what the address was found to reach (the pooler probe, at each connection of the
    /// notification listener). Statements started before keep the way they were started.
    pub fn set_route(&self, route: Route) {
        self.route.store(route as u8, Ordering::Relaxed);
    }

    pub async fn begin(&self) -> Result<Tx, Error> {
        let inner = self
            .pool
            .begin()
            .await
            .inspect_err(|e| self.failures.record(e))?;
        Ok(Tx {
            inner,
            direct: self.route().is_direct(),
            failures: self.failures.clone(),
        })
    }

    /// Runs one statement on a connection of its own and collects what it returned; drops the
    /// connection when the error shows it useless.
    async fn run<'q, E>(&self, query: E) -> Result<Vec<Either<PgQueryResult, PgRow>>, Error>
    where
        E: 'q + Execute<'q, Postgres>,
    {
        let direct = self.route().is_direct();
        let mut connection = self.pool.acquire().await?;
        let result = if direct {
            connection.fetch_many(query).try_collect().await
        } else {
            in_transaction(&mut connection, query).await
        };
        if let Err(error) = &result
            && ends_connection(error)
        {
            // Closed rather than returned: the pool opens a new one to the same address.
            self.failures.record(error);
            connection.detach();
        }
        result
    }
}

impl From<PgPool> for Db {
    /// A pool known to reach PostgreSQL directly (tests, the command line against a given URL).
    fn from(pool: PgPool) -> Self {
        Self::new(pool, Route::Direct)
    }
}

async fn in_transaction<'q, E>(
    connection: &mut sqlx::PgConnection,
    query: E,
) -> Result<Vec<Either<PgQueryResult, PgRow>>, Error>
where
    E: 'q + Execute<'q, Postgres>,
{
    let mut tx = sqlx::Connection::begin(connection).await?;
    let steps = (&mut *tx)
        .fetch_many(Unnamed::new(query, false))
        .try_collect()
        .await?;
    tx.commit().await?;
    Ok(steps)
}

/// True when the connection that returned `error` must not be used again: its server is gone,
/// shutting down, or read-only (`cannot execute … in a read-only transaction`: the address now
/// reaches a standby, and a new connection reaches the primary).
pub fn ends_connection(error: &Error) -> bool {
    match error {
        Error::Io(_) | Error::Tls(_) | Error::Protocol(_) => true,
        Error::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "25006" | "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// A transaction on [`Db`]. Through a pooler its statements are unnamed, so none is left on a
/// server process another client is handed next.
pub struct Tx {
    inner: Transaction<'static, Postgres>,
    direct: bool,
    failures: Arc<Failures>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").field("direct", &self.direct).finish()
    }
}

impl Tx {
    /// Returns once PostgreSQL has committed: only then may a write be acknowledged.
    pub async fn commit(self) -> Result<(), Error> {
        let failures = self.failures;
        self.inner
            .commit()
            .await
            .inspect_err(|e| failures.record(e))
    }
}

/// A statement that is never given a name on the server when `keep` is false.
struct Unnamed<E> {
    inner: E,
    keep: bool,
}

impl<E> Unnamed<E> {
    fn new(inner: E, keep: bool) -> Self {
        Self { inner, keep }
    }
}

impl<'q, E: Execute<'q, Postgres>> Execute<'q, Postgres> for Unnamed<E> {
    fn sql(self) -> SqlStr {
        self.inner.sql()
    }

    fn statement(&self) -> Option<&PgStatement> {
        self.inner.statement()
    }

    fn take_arguments(&mut self) -> Result<Option<PgArguments>, sqlx::error::BoxDynError> {
        self.inner.take_arguments()
    }

    fn persistent(&self) -> bool {
        self.keep && self.inner.persistent()
    }
}

impl<'c> Executor<'c> for &'c Db {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        // Collected, then streamed: through a pooler the transaction must end before the caller
        // sees the rows. Every query of ours reads a bounded number of rows.
        stream::once(self.run(query))
            .map_ok(|steps| stream::iter(steps.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<PgRow>, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        Box::pin(async move {
            let steps = self.run(query).await?;
            Ok(steps.into_iter().find_map(|step| step.right()))
        })
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement, Error>>
    where
        'c: 'e,
    {
        self.pool.prepare_with(sql, parameters)
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<sqlx::Describe<Postgres>, Error>>
    where
        'c: 'e,
    {
        self.pool.describe(sql)
    }
}

impl<'c> Executor<'c> for &'c mut Tx {
    type Database = Postgres;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<PgQueryResult, PgRow>, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let failures = self.failures.clone();
        (&mut *self.inner)
            .fetch_many(Unnamed::new(query, self.direct))
            .inspect_err(move |e| failures.record(e))
            .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(self, query: E) -> BoxFuture<'e, Result<Option<PgRow>, Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Postgres>,
    {
        let failures = self.failures.clone();
        Box::pin(
            (&mut *self.inner)
                .fetch_optional(Unnamed::new(query, self.direct))
                .inspect_err(move |e| failures.record(e)),
        )
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [PgTypeInfo],
    ) -> BoxFuture<'e, Result<PgStatement, Error>>
    where
        'c: 'e,
    {
        (&mut *self.inner).prepare_with(sql, parameters)
    }

    fn describe<'e>(self, sql: SqlStr) -> BoxFuture<'e, Result<sqlx::Describe<Postgres>, Error>>
    where
        'c: 'e,
    {
        (&mut *self.inner).describe(sql)
    }
}
