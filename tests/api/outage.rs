//! A database that goes away and comes back: a TCP proxy in front of the test's PostgreSQL that a
//! test can cut (every connection closed, new ones refused, as when the server stops) and restore.

use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct DatabaseSwitch {
    pub port: u16,
    up: watch::Sender<bool>,
    upstream_options: PgConnectOptions,
}

impl DatabaseSwitch {
    /// A proxy to `pool`'s server, up or not as `up` says.
    pub async fn start(pool: &PgPool, up: bool) -> Self {
        let upstream_options = pool.connect_options().as_ref().clone();
        let upstream = format!(
            "{}:{}",
            upstream_options.get_host(),
            upstream_options.get_port()
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (sender, receiver) = watch::channel(up);
        tokio::spawn(forward(listener, upstream, receiver));
        Self {
            port,
            up: sender,
            upstream_options,
        }
    }

    /// A pool that reaches the database through this switch, giving up on a connection after
    /// half a second as the service's own pool does.
    pub fn pool(&self) -> PgPool {
        PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(500))
            .connect_lazy_with(
                self.upstream_options
                    .clone()
                    .host("127.0.0.1")
                    .port(self.port),
            )
    }

    /// The database "stops": open connections are closed, new ones refused.
    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    pub fn restore(&self) {
        self.up.send_replace(true);
    }
}

async fn forward(listener: TcpListener, upstream: String, up: watch::Receiver<bool>) {
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            return;
        };
        if !*up.borrow() {
            drop(inbound);
            continue;
        }
        let upstream = upstream.clone();
        let mut up = up.clone();
        tokio::spawn(async move {
            let Ok(mut outbound) = TcpStream::connect(&upstream).await else {
                return;
            };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                _ = up.wait_for(|up| !*up) => {}
            }
        });
    }
}
