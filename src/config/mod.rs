//! The only code that reads the environment (docs/contract.md §6). Values come from environment variables,
//! `NAME_FILE` files and flags ([`Sources`]), are read with `envy` and validated into a typed
//! [`Config`]; an invalid value is reported with the variable's name and the process exits 2.

mod database;
mod sources;
mod tokens;
mod values;

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

pub use database::DatabaseSettings;
pub use sources::{Sources, VARIABLES, variable_or_file};
pub use tokens::ApiTokens;

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
    pub rust_log: Option<String>,
}

/// An invalid configuration value: one line naming the variable and what is wrong.
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

/// The `DEPBADGE_*` variables as strings, read with envy; each is validated in [`Config::from_sources`].
#[derive(Debug, Default, Deserialize)]
struct ServiceVariables {
    listen_addr: Option<String>,
    metrics_addr: Option<String>,
    db_max_connections: Option<String>,
    badge_max_age: Option<String>,
    cache_max_bytes: Option<String>,
    cache_ttl: Option<String>,
    shutdown_delay: Option<String>,
    max_report_bytes: Option<String>,
    api_tokens: Option<String>,
    migrate: Option<String>,
    stale_after: Option<String>,
    log_format: Option<String>,
    public_url: Option<String>,
    header_timeout: Option<String>,
    max_connections: Option<String>,
    drain_timeout: Option<String>,
    request_timeout: Option<String>,
}

impl Config {
    /// Reads the process environment; flags are applied by the caller through [`Sources`].
    pub fn sources_from_process_env() -> Result<Sources, ConfigError> {
        Sources::from_env(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    pub fn from_sources(sources: &Sources) -> Result<Self, ConfigError> {
        let vars: ServiceVariables = envy::prefixed("DEPBADGE_")
            .from_iter(sources.iter().map(|(k, v)| (k.clone(), v.clone())))
            .map_err(|e| ConfigError::new("DEPBADGE_*", e.to_string()))?;
        let read = |name: &str, value: &Option<String>| Variable {
            sources,
            name: format!("DEPBADGE_{name}"),
            value: value.clone(),
        };
        let address = |v: &str| {
            v.trim()
                .parse::<SocketAddr>()
                .map_err(|_| format!("`{v}` is not an address like 0.0.0.0:8080"))
        };
        let log_format = |v: &str| match v.trim() {
            "json" => Ok(LogFormat::Json),
            "text" => Ok(LogFormat::Text),
            other => Err(format!("`{other}` is not a log format; use json or text")),
        };
        let connections = |v: &str| {
            v.trim()
                .parse::<u32>()
                .ok()
                .filter(|n| (2..=1000).contains(n))
                .ok_or_else(|| {
                    format!(
                        "`{v}` is not a number from 2 to 1000 (one connection is held for LISTEN)"
                    )
                })
        };
        let report_bytes = |v: &str| {
            values::byte_size(v)
                .and_then(|n| usize::try_from(n).map_err(|_| format!("`{v}` is too large")))
        };
        let positive_duration = |v: &str| {
            values::duration(v).and_then(|d| {
                (!d.is_zero())
                    .then_some(d)
                    .ok_or_else(|| "must be more than 0".to_owned())
            })
        };
        let connection_cap = |v: &str| {
            v.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| format!("`{v}` is not a number from 1 to 1000000"))
        };
        let stale_after = read("STALE_AFTER", &vars.stale_after)
            .parse(values::duration)?
            .unwrap_or(Duration::from_secs(30 * 86_400));
        let any_ip = |port: u16| SocketAddr::from(([0, 0, 0, 0], port));

        Ok(Self {
            listen_addr: read("LISTEN_ADDR", &vars.listen_addr)
                .parse(address)?
                .unwrap_or(any_ip(8080)),
            metrics_addr: read("METRICS_ADDR", &vars.metrics_addr)
                .parse(address)?
                .unwrap_or(any_ip(9090)),
            database: DatabaseSettings::from_sources(sources)?,
            db_max_connections: read("DB_MAX_CONNECTIONS", &vars.db_max_connections)
                .parse(connections)?
                .unwrap_or(10),
            badge_max_age: read("BADGE_MAX_AGE", &vars.badge_max_age)
                .parse(values::duration)?
                .unwrap_or(Duration::from_secs(300)),
            cache_max_bytes: read("CACHE_MAX_BYTES", &vars.cache_max_bytes)
                .parse(values::byte_size)?
                .unwrap_or(64 << 20),
            cache_ttl: read("CACHE_TTL", &vars.cache_ttl)
                .parse(values::duration)?
                .unwrap_or(Duration::from_secs(600)),
            shutdown_delay: read("SHUTDOWN_DELAY", &vars.shutdown_delay)
                .parse(values::duration)?
                .unwrap_or(Duration::from_secs(5)),
            max_report_bytes: read("MAX_REPORT_BYTES", &vars.max_report_bytes)
                .parse(report_bytes)?
                .unwrap_or(1 << 20),
            api_tokens: read("API_TOKENS", &vars.api_tokens)
                .parse(ApiTokens::parse)?
                .unwrap_or_default(),
            migrate: read("MIGRATE", &vars.migrate)
                .parse(values::boolean)?
                .unwrap_or(false),
            stale_after: (!stale_after.is_zero()).then_some(stale_after),
            log_format: read("LOG_FORMAT", &vars.log_format)
                .parse(log_format)?
                .unwrap_or(LogFormat::Json),
            public_url: read("PUBLIC_URL", &vars.public_url).parse(values::public_url)?,
            header_timeout: read("HEADER_TIMEOUT", &vars.header_timeout)
                .parse(positive_duration)?
                .unwrap_or(Duration::from_secs(10)),
            max_connections: read("MAX_CONNECTIONS", &vars.max_connections)
                .parse(connection_cap)?
                .unwrap_or(4096),
            drain_timeout: read("DRAIN_TIMEOUT", &vars.drain_timeout)
                .parse(values::duration)?
                .unwrap_or(Duration::from_secs(15)),
            request_timeout: read("REQUEST_TIMEOUT", &vars.request_timeout)
                .parse(positive_duration)?
                .unwrap_or(Duration::from_secs(10)),
            rust_log: sources.get("RUST_LOG").map(str::to_owned),
        })
    }

    /// The effective configuration as `NAME=value` lines, secrets redacted (`depbadge config`).
    pub fn redacted_lines(&self) -> Vec<String> {
        let seconds = |d: Duration| format!("{}s", d.as_secs());
        let tokens = if self.api_tokens.is_empty() {
            "(none: writes are refused)".to_owned()
        } else {
            format!(
                "(redacted: {})",
                self.api_tokens.names().collect::<Vec<_>>().join(", ")
            )
        };
        vec![
            format!("DATABASE_URL={}", self.database.redacted_url()),
            format!("DEPBADGE_LISTEN_ADDR={}", self.listen_addr),
            format!("DEPBADGE_METRICS_ADDR={}", self.metrics_addr),
            format!("DEPBADGE_DB_MAX_CONNECTIONS={}", self.db_max_connections),
            format!("DEPBADGE_BADGE_MAX_AGE={}", seconds(self.badge_max_age)),
            format!("DEPBADGE_CACHE_MAX_BYTES={}", self.cache_max_bytes),
            format!("DEPBADGE_CACHE_TTL={}", seconds(self.cache_ttl)),
            format!("DEPBADGE_SHUTDOWN_DELAY={}", seconds(self.shutdown_delay)),
            format!("DEPBADGE_MAX_REPORT_BYTES={}", self.max_report_bytes),
            format!("DEPBADGE_API_TOKENS={tokens}"),
            format!("DEPBADGE_MIGRATE={}", self.migrate),
            format!(
                "DEPBADGE_STALE_AFTER={}",
                self.stale_after
                    .map_or_else(|| "0 (disabled)".to_owned(), seconds)
            ),
            format!(
                "DEPBADGE_LOG_FORMAT={}",
                match self.log_format {
                    LogFormat::Json => "json",
                    LogFormat::Text => "text",
                }
            ),
            format!(
                "DEPBADGE_PUBLIC_URL={}",
                self.public_url
                    .as_deref()
                    .unwrap_or("(unset: from each request's Host)")
            ),
            format!("DEPBADGE_HEADER_TIMEOUT={}", seconds(self.header_timeout)),
            format!("DEPBADGE_MAX_CONNECTIONS={}", self.max_connections),
            format!("DEPBADGE_DRAIN_TIMEOUT={}", seconds(self.drain_timeout)),
            format!("DEPBADGE_REQUEST_TIMEOUT={}", seconds(self.request_timeout)),
            format!("RUST_LOG={}", self.rust_log.as_deref().unwrap_or("")),
        ]
    }
}

/// One variable's value, parsed with the variable's name (and origin) attached to any error.
struct Variable<'a> {
    sources: &'a Sources,
    name: String,
    value: Option<String>,
}

impl Variable<'_> {
    fn parse<T>(
        self,
        parser: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        self.value
            .as_deref()
            .map(|v| {
                parser(v)
                    .map_err(|message| ConfigError::new(&self.sources.origin(&self.name), message))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests;
