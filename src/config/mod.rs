//! The only code that reads the environment (docs/contract.md §6). Values come from environment
//! variables, `NAME_FILE` files and flags ([`Sources`]) and are parsed, by the one table of
//! settings ([`SETTINGS`]), into a typed [`Config`]; an invalid value is reported with the
//! variable's name and the process exits 2.

mod database;
pub mod settings;
mod sources;
mod tokens;
mod values;

use std::net::SocketAddr;
use std::time::Duration;

use crate::domain::Visibility;

pub use database::DatabaseSettings;
pub use settings::{About, Fallback, SETTINGS, Setting};
pub use sources::{Sources, variable_or_file};
pub use tokens::{ApiTokens, Token};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub database: DatabaseSettings,
    pub db_max_connections: u32,
    pub badge_max_age: Duration,
    pub cache_max_bytes: u64,
    pub cache_ttl: Duration,
    pub shutdown_delay: Duration,
    pub max_report_bytes: usize,
    pub api_tokens: ApiTokens,
    /// What a new project is when its first report does not say.
    pub default_visibility: Visibility,
    pub migrate: bool,
    /// `None` when `DEPBADGE_STALE_AFTER` is 0: reports never go stale.
    pub stale_after: Option<Duration>,
    pub log_format: LogFormat,
    /// Where users reach the service (`https://badges.example.com`), for the links the project
    /// page offers; `None`: taken from each request's `Host`.
    pub public_url: Option<String>,
    /// How long a connection may take to send a request's headers, counted from when it opens or
    /// its previous response was sent: so also how long a keep-alive connection may sit idle.
    pub header_timeout: Duration,
    /// Connections served at once; past it a connection gets a 503 and is closed.
    pub max_connections: usize,
    /// After the shutdown delay, how long requests in flight may take before the process exits.
    pub drain_timeout: Duration,
    /// How long a JSON API or page request may take, body and database included; then 503.
    pub request_timeout: Duration,
    pub rust_log: String,
    pub watch: WatchSettings,
    /// `NAME` and value as `depbadge config` prints them, secrets redacted.
    printed: Vec<(&'static str, String)>,
}

/// An invalid configuration value: one line naming the variable and what is wrong.
/// What `depbadge watch` reads (docs/contract.md §10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchSettings {
    /// Base URL per watched registry; a registry without one is not watched.
    pub registries: Vec<(crate::domain::watch::registry::Registry, String)>,
    pub interval: Duration,
    pub rate: u32,
    pub advisories: Vec<String>,
    pub advisories_interval: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {variable}: {message}")]
pub struct ConfigError {
    pub variable: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(variable: &str, message: impl Into<String>) -> Self {
        Self {
            variable: variable.to_owned(),
            message: message.into(),
        }
    }
}

impl Config {
    /// Reads the process environment; flags are applied by the caller through [`Sources`].
    pub fn sources_from_process_env() -> Result<Sources, ConfigError> {
        Sources::from_env(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// Every setting of [`SETTINGS`], parsed and validated; the first invalid one is the error.
    pub fn from_sources(sources: &Sources) -> Result<Self, ConfigError> {
        let mut read = Reader {
            sources,
            printed: Vec::with_capacity(SETTINGS.len()),
        };
        for setting in [
            &settings::DATABASE_URL,
            &settings::PGHOST,
            &settings::PGPORT,
            &settings::PGUSER,
            &settings::PGDATABASE,
            &settings::PGPASSWORD,
            &settings::LISTEN_DATABASE_URL,
        ] {
            read.optional(setting)?;
        }
        let database = DatabaseSettings::from_sources(sources)?;
        let config = Self {
            listen_addr: read.value(&settings::LISTEN_ADDR)?,
            metrics_addr: read.value(&settings::METRICS_ADDR)?,
            db_max_connections: read.value(&settings::DB_MAX_CONNECTIONS)?,
            badge_max_age: read.value(&settings::BADGE_MAX_AGE)?,
            cache_max_bytes: read.value(&settings::CACHE_MAX_BYTES)?,
            cache_ttl: read.value(&settings::CACHE_TTL)?,
            shutdown_delay: read.value(&settings::SHUTDOWN_DELAY)?,
            max_report_bytes: read.value(&settings::MAX_REPORT_BYTES)?,
            api_tokens: read.optional(&settings::API_TOKENS)?.unwrap_or_default(),
            default_visibility: read.value(&settings::DEFAULT_VISIBILITY)?,
            migrate: read.value(&settings::MIGRATE)?,
            stale_after: read.value(&settings::STALE_AFTER)?,
            log_format: read.value(&settings::LOG_FORMAT)?,
            public_url: read.optional(&settings::PUBLIC_URL)?,
            header_timeout: read.value(&settings::HEADER_TIMEOUT)?,
            max_connections: read.value(&settings::MAX_CONNECTIONS)?,
            drain_timeout: read.value(&settings::DRAIN_TIMEOUT)?,
            request_timeout: read.value(&settings::REQUEST_TIMEOUT)?,
            rust_log: read.value(&settings::RUST_LOG)?,
            watch: read.watch()?,
            printed: Vec::new(),
            database,
        };
        let mut printed = read.printed;
        // The connection as it will be made (from the URL or the PG* variables), password hidden.
        if let Some(line) = printed.iter_mut().find(|(name, _)| *name == "DATABASE_URL") {
            line.1 = config.database.redacted_url();
        }
        if let Some(url) = config.database.redacted_session_url()
            && let Some(line) = printed
                .iter_mut()
                .find(|(name, _)| *name == settings::LISTEN_DATABASE_URL.name)
        {
            line.1 = url;
        }
        Ok(Self { printed, ..config })
    }

    /// The effective configuration as `NAME=value` lines in the order of [`SETTINGS`], secrets
    /// redacted (`depbadge config`).
    pub fn redacted_lines(&self) -> Vec<String> {
        self.printed
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect()
    }

    /// The names of the settings read, in the order they were read.
    pub fn names_read(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.printed.iter().map(|(name, _)| *name)
    }
}

/// Reads settings from the sources, remembering how `depbadge config` prints each.
struct Reader<'a> {
    sources: &'a Sources,
    printed: Vec<(&'static str, String)>,
}

impl Reader<'_> {
    /// The setting's value, from the sources or its default.
    fn value<T>(&mut self, setting: &Setting<T>) -> Result<T, ConfigError> {
        self.optional(setting)?
            .ok_or_else(|| ConfigError::new(setting.name, "has no default and must be set"))
    }

    /// The setting's value, from the sources or its default; `None` when neither gives one.
    fn optional<T>(&mut self, setting: &Setting<T>) -> Result<Option<T>, ConfigError> {
        // A setting missing from the table would never be read from the environment: refuse it
        // loudly here (every test that loads a configuration fails) rather than ignore it.
        if !SETTINGS.iter().any(|about| about.name == setting.name) {
            return Err(ConfigError::new(
                setting.name,
                "is read but missing from the settings table (src/config/settings.rs)",
            ));
        }
        let given = self.sources.get(setting.name);
        let value = given
            .or(setting.fallback.default())
            .map(|text| {
                (setting.parse)(text).map_err(|message| {
                    let origin = if given.is_some() {
                        self.sources.origin(setting.name)
                    } else {
                        format!("{} (its default)", setting.name)
                    };
                    ConfigError::new(&origin, message)
                })
            })
            .transpose()?;
        let shown = match (&value, setting.fallback) {
            (Some(value), _) => (setting.show)(value),
            (None, Fallback::Unset(text)) => text.to_owned(),
            (None, Fallback::Default(_)) => String::new(),
        };
        self.printed.push((setting.name, shown));
        Ok(value)
    }

    fn watch(&mut self) -> Result<WatchSettings, ConfigError> {
        use crate::domain::watch::registry::Registry;
        let mut registries = Vec::new();
        for (registry, setting) in [
            (Registry::Npm, &settings::REGISTRY_NPM),
            (Registry::Pypi, &settings::REGISTRY_PYPI),
            (Registry::Cargo, &settings::REGISTRY_CARGO),
            (Registry::Gem, &settings::REGISTRY_GEM),
            (Registry::Golang, &settings::REGISTRY_GOLANG),
        ] {
            if let Some(base) = self.optional(setting)? {
                registries.push((registry, base));
            }
        }
        Ok(WatchSettings {
            registries,
            interval: self.value(&settings::WATCH_INTERVAL)?,
            rate: self.value(&settings::WATCH_RATE)?,
            advisories: self.optional(&settings::ADVISORIES)?.unwrap_or_default(),
            advisories_interval: self.value(&settings::ADVISORIES_INTERVAL)?,
        })
    }
}

#[cfg(test)]
mod tests;
