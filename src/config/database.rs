//! Database connection settings: `DATABASE_URL`, or libpq's `PG*` variables.

use std::str::FromStr;

use sqlx::postgres::PgConnectOptions;

use super::{ConfigError, Sources, settings};

/// Connection settings. `Debug` is written by hand: sqlx's `PgConnectOptions` would print the password.
#[derive(Clone)]
pub struct DatabaseSettings {
    options: PgConnectOptions,
    password_set: bool,
}

impl DatabaseSettings {
    pub fn from_sources(sources: &Sources) -> Result<Self, ConfigError> {
        if let Some(url) = sources.get(settings::DATABASE_URL.name) {
            // The URL may hold a password: the error never repeats it.
            let scheme_ok = ["postgres://", "postgresql://"]
                .iter()
                .any(|scheme| url.trim().starts_with(scheme));
            let options = PgConnectOptions::from_str(url.trim())
                .ok()
                .filter(|_| scheme_ok);
            let options = options.ok_or_else(|| {
                ConfigError::new(
                    &sources.origin(settings::DATABASE_URL.name),
                    "not a PostgreSQL URL like postgres://user:password@host:5432/database",
                )
            })?;
            return Ok(Self {
                options,
                password_set: url_has_password(url),
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
        })
    }

    pub fn connect_options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    /// `postgres://user:***@host:port/database`, safe to print and log.
    pub fn redacted_url(&self) -> String {
        let o = &self.options;
        let password = if self.password_set { ":***" } else { "" };
        format!(
            "postgres://{}{password}@{}:{}/{}",
            o.get_username(),
            o.get_host(),
            o.get_port(),
            o.get_database().unwrap_or(o.get_username())
        )
    }
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
