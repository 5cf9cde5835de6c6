//! Finds out whether an address reaches PostgreSQL directly or through a transaction pooler, by
//! trying what the notification listener needs: LISTEN on one connection, NOTIFY from another,
//! and see whether the first connection hears it.
//!
//! Directly, a connection is one server process for its whole life and hears the notification at
//! once. Through a transaction pooler (PgBouncer's `pool_mode = transaction`), an idle client has
//! no server process: the LISTEN stays behind on the process it ran on, and nothing reaches the
//! client. Other ways to tell (comparing `pg_backend_pid()` between statements) depend on the
//! order in which the pooler hands out its processes; this one does not.
//!
//! The probe listens on a channel of its own, named with a random number, which nobody else ever
//! notifies: a LISTEN left behind on a pooled server process costs nothing later. Its statements
//! carry no parameters and go by the simple query protocol, which any pooler carries.

use std::time::Duration;

use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};

use super::handle::Route;

/// How long the listening connection may take to hear the probe's notification. Directly it comes
/// within a round trip; through a pooler it never comes.
const WAIT: Duration = Duration::from_secs(3);

pub async fn probe(options: &PgConnectOptions) -> Result<Route, sqlx::Error> {
    let channel = format!("depbadge_probe_{:016x}", fastrand::u64(..));
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(options.clone())
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen(&channel).await?;
    // The notifier is a listener too, though it listens to nothing: through a pooler its NOTIFY
    // may run on the very server process that holds the LISTEN, which then delivers the
    // notification to the notifier. A plain connection would take that for a protocol error; a
    // listener keeps it, and the probe's verdict is what the first connection heard.
    let mut notifier = PgListener::connect_with(&pool).await?;
    sqlx::raw_sql(AssertSqlSafe(format!("NOTIFY {channel}")))
        .execute(&mut notifier)
        .await?;
    drop(notifier);
    let heard = tokio::time::timeout(WAIT, listener.recv()).await;
    let route = match heard {
        Ok(Ok(notification)) if notification.channel() == channel => Route::Direct,
        Ok(Err(error)) => return Err(error),
        _ => Route::Pooler,
    };
    // Directly, the connection goes back clean; through a pooler this lands on whichever server
    // process is free, which is the best that can be done.
    let _ = listener.unlisten_all().await;
    drop(listener);
    pool.close().await;
    Ok(route)
}
