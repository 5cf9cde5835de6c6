//! Database connection settings: `DATABASE_URL`, or libpq's `PG*` variables; and the session
//! connection, `DEPBADGE_LISTEN_DATABASE_URL`, for what needs one server process throughout
//! (LISTEN, the watch lock, migrations) when `DATABASE_URL` goes through a transaction pooler.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

use super::{ConfigError, Sources, settings};

/// Connection settings. `Debug` is written by hand: sqlx's `PgConnectOptions` would print the password.
#[derive(Clone)]
pub struct DatabaseSettings {
    options: PgConnectOptions,
    password_set: bool,
    /// `DEPBADGE_LISTEN_DATABASE_URL`, when given.
    session: Option<Url>,
}

/// A parsed URL, and whether it held a password (for printing it redacted).
#[derive(Clone)]
struct Url {
    options: PgConnectOptions,
    password_set: bool,
}

impl Url {
    fn parse(sources: &Sources, name: &str) -> Result<Option<Self>, ConfigError> {
        let Some(url) = sources.get(name) else {
            return Ok(None);
        };
        // The URL may hold a password: the error never repeats it.
        let scheme_ok = ["postgres://", "postgresql://"]
            .iter()
            .any(|scheme| url.trim().starts_with(scheme));
        let options = PgConnectOptions::from_str(url.trim())
            .ok()
            .filter(|_| scheme_ok);
        let options = options.ok_or_else(|| {
            ConfigError::new(
                &sources.origin(name),
                "not a PostgreSQL URL like postgres://user:password@host:5432/database",
            )
        })?;
        Ok(Some(Self {
            options,
            password_set: url_has_password(url),
        }))
    }
}

impl DatabaseSettings {
    pub fn from_sources(sources: &Sources) -> Result<Self, ConfigError> {
        let session = Url::parse(sources, settings::LISTEN_DATABASE_URL.name)?;
        if let Some(url) = Url::parse(sources, settings::DATABASE_URL.name)? {
            return Ok(Self {
                options: url.options,
                password_set: url.password_set,
                session,
            });
        }
        let mut options = PgConnectOptions::new_without_pgpass();
        if let Some(host) = sources.get(settings::PGHOST.name) {
            options = options.host(host);
        }
        if let Some(port) = sources.get(settings::PGPORT.name) {
            let port = port.trim().parse::<u16>().map_err(|_| {
                ConfigError::new(
                    &sources.origin(settings::PGPORT.name),
                    format!("`{port}` is not a port number"),
                )
            })?;
            options = options.port(port);
        }
        if let Some(user) = sources.get(settings::PGUSER.name) {
            options = options.username(user);
        }
        if let Some(database) = sources.get(settings::PGDATABASE.name) {
            options = options.database(database);
        }
        let password = sources.get(settings::PGPASSWORD.name);
        if let Some(password) = password {
            options = options.password(password);
        }
        Ok(Self {
            options,
            password_set: password.is_some(),
            session,
        })
    }

    /// The pool's connections: `DATABASE_URL`'s, which may go through a transaction pooler.
    pub fn connect_options(&self) -> PgConnectOptions {
        for_poolers(self.options.clone())
    }

    /// A connection that keeps one server process for its life: `DEPBADGE_LISTEN_DATABASE_URL`,
    /// else the pool's own address.
    pub fn session_options(&self) -> PgConnectOptions {
        self.session.as_ref().map_or_else(
            || self.connect_options(),
            |url| for_poolers(url.options.clone()),
        )
    }

    /// True when a session connection of its own is configured: then `DATABASE_URL` is taken to go
    /// through a transaction pooler.
    pub fn has_session_url(&self) -> bool {
        self.session.is_some()
    }

    /// `postgres://user:***@host:port/database`, safe to print and log.
    pub fn redacted_url(&self) -> String {
        redacted(&self.options, self.password_set)
    }

    /// The session connection's URL as [`Self::redacted_url`] prints it, when one is configured.
    pub fn redacted_session_url(&self) -> Option<String> {
        self.session
            .as_ref()
            .map(|url| redacted(&url.options, url.password_set))
    }
}

/// Without the startup parameter a pooler may refuse: PgBouncer ends the connection on
/// `extra_float_digits` unless configured to ignore it, and the address may be one (PostgreSQL 12
/// and later print floats exactly without it).
fn for_poolers(options: PgConnectOptions) -> PgConnectOptions {
    options.extra_float_digits(None)
}

fn redacted(o: &PgConnectOptions, password_set: bool) -> String {
    let password = if password_set { ":***" } else { "" };
    format!(
        "postgres://{}{password}@{}:{}/{}",
        o.get_username(),
        o.get_host(),
        o.get_port(),
        o.get_database().unwrap_or(o.get_username())
    )
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DatabaseSettings")
            .field(&self.redacted_url())
            .finish()
    }
}

fn url_has_password(url: &str) -> bool {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = after_scheme.split(['/', '?']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}
