//! Every setting depbadge reads, declared once: name, default, parser, how `depbadge config`
//! prints it, and what it is for. Reading the environment ([`super::Sources`]), building the
//! typed [`super::Config`], `depbadge config`, and the tests that check the README's table are all
//! derived from [`SETTINGS`].

use std::net::SocketAddr;
use std::time::Duration;

use super::values;
use super::{ApiTokens, LogFormat};
use crate::domain::Visibility;

/// One setting, typed: its value is parsed from the variable (or its `_FILE`, or a flag) when
/// given, else from `default`, by the same parser; so a default is spelled once, as a user
/// would write it.
pub struct Setting<T> {
    pub name: &'static str,
    pub fallback: Fallback,
    pub parse: fn(&str) -> Result<T, String>,
    /// The value as `depbadge config` prints it: secrets never appear.
    pub show: fn(&T) -> String,
    pub doc: &'static str,
}

/// What a setting is when it is not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// This value, as a user would write it, parsed like a given one.
    Default(&'static str),
    /// No value; `depbadge config` prints this text for it.
    Unset(&'static str),
}

impl Fallback {
    /// The default value's text, if there is one.
    pub const fn default(self) -> Option<&'static str> {
        match self {
            Self::Default(text) => Some(text),
            Self::Unset(_) => None,
        }
    }
}

/// A setting without its type: what a table of them needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct About {
    pub name: &'static str,
    /// `None`: unset unless given.
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

impl<T> Setting<T> {
    pub const fn about(&self) -> About {
        About {
            name: self.name,
            default: self.fallback.default(),
            doc: self.doc,
        }
    }
}

/// Every variable depbadge reads, in the order `depbadge config` prints them. Each may also be
/// given as `NAME_FILE`. A setting read but missing here is an error at start
/// (see `Config::from_sources`), never silently ignored.
pub const SETTINGS: &[About] = &[
    DATABASE_URL.about(),
    PGHOST.about(),
    PGPORT.about(),
    PGUSER.about(),
    PGDATABASE.about(),
    PGPASSWORD.about(),
    LISTEN_DATABASE_URL.about(),
    LISTEN_ADDR.about(),
    METRICS_ADDR.about(),
    DB_MAX_CONNECTIONS.about(),
    BADGE_MAX_AGE.about(),
    CACHE_MAX_BYTES.about(),
    CACHE_TTL.about(),
    SHUTDOWN_DELAY.about(),
    MAX_REPORT_BYTES.about(),
    API_TOKENS.about(),
    DEFAULT_VISIBILITY.about(),
    MIGRATE.about(),
    STALE_AFTER.about(),
    LOG_FORMAT.about(),
    PUBLIC_URL.about(),
    HEADER_TIMEOUT.about(),
    MAX_CONNECTIONS.about(),
    DRAIN_TIMEOUT.about(),
    REQUEST_TIMEOUT.about(),
    RUST_LOG.about(),
    REGISTRY_NPM.about(),
    REGISTRY_PYPI.about(),
    REGISTRY_CARGO.about(),
    REGISTRY_GEM.about(),
    REGISTRY_GOLANG.about(),
    WATCH_INTERVAL.about(),
    WATCH_RATE.about(),
    ADVISORIES.about(),
    ADVISORIES_INTERVAL.about(),
];

/// A text taken as given (the database settings are checked together, in `DatabaseSettings`).
const fn text(
    name: &'static str,
    doc: &'static str,
    show: fn(&String) -> String,
) -> Setting<String> {
    Setting {
        name,
        fallback: Fallback::Unset(""),
        parse: as_given,
        show,
        doc,
    }
}

pub const DATABASE_URL: Setting<String> = text(
    "DATABASE_URL",
    "the database, `postgres://user:password@host:5432/database`; else the PG* variables",
    redacted,
);
pub const PGHOST: Setting<String> =
    text("PGHOST", "the database host, without DATABASE_URL", shown);
pub const PGPORT: Setting<String> =
    text("PGPORT", "the database port, without DATABASE_URL", shown);
pub const PGUSER: Setting<String> =
    text("PGUSER", "the database role, without DATABASE_URL", shown);
pub const PGDATABASE: Setting<String> = text(
    "PGDATABASE",
    "the database name, without DATABASE_URL",
    shown,
);
pub const PGPASSWORD: Setting<String> = text(
    "PGPASSWORD",
    "the role's password, without DATABASE_URL",
    redacted,
);

pub const LISTEN_DATABASE_URL: Setting<String> = text(
    "DEPBADGE_LISTEN_DATABASE_URL",
    "a session connection to PostgreSQL itself (listener, watch lock, migrations) when DATABASE_URL goes through a transaction pooler",
    redacted,
);

pub const LISTEN_ADDR: Setting<SocketAddr> = Setting {
    name: "DEPBADGE_LISTEN_ADDR",
    fallback: Fallback::Default("0.0.0.0:8080"),
    parse: address,
    show: display,
    doc: "HTTP listener",
};
pub const METRICS_ADDR: Setting<SocketAddr> = Setting {
    name: "DEPBADGE_METRICS_ADDR",
    fallback: Fallback::Default("0.0.0.0:9090"),
    parse: address,
    show: display,
    doc: "admin listener: /metrics (and /healthz)",
};
pub const DB_MAX_CONNECTIONS: Setting<u32> = Setting {
    name: "DEPBADGE_DB_MAX_CONNECTIONS",
    fallback: Fallback::Default("10"),
    parse: pool_size,
    show: display,
    doc: "pool size",
};
pub const BADGE_MAX_AGE: Setting<Duration> = Setting {
    name: "DEPBADGE_BADGE_MAX_AGE",
    fallback: Fallback::Default("300s"),
    parse: values::duration,
    show: seconds,
    doc: "Cache-Control max-age of badges",
};
pub const CACHE_MAX_BYTES: Setting<u64> = Setting {
    name: "DEPBADGE_CACHE_MAX_BYTES",
    fallback: Fallback::Default("64MiB"),
    parse: values::byte_size,
    show: display,
    doc: "in-process cache size (statuses, reports, rendered badges)",
};
pub const CACHE_TTL: Setting<Duration> = Setting {
    name: "DEPBADGE_CACHE_TTL",
    fallback: Fallback::Default("600s"),
    parse: values::duration,
    show: seconds,
    doc: "how long a cached status is trusted without a notification",
};
pub const SHUTDOWN_DELAY: Setting<Duration> = Setting {
    name: "DEPBADGE_SHUTDOWN_DELAY",
    fallback: Fallback::Default("5s"),
    parse: values::duration,
    show: seconds,
    doc: "after SIGTERM: readiness fails, serving goes on this long, then requests drain",
};
pub const MAX_REPORT_BYTES: Setting<usize> = Setting {
    name: "DEPBADGE_MAX_REPORT_BYTES",
    fallback: Fallback::Default("1MiB"),
    parse: report_bytes,
    show: display,
    doc: "largest accepted report body",
};
pub const API_TOKENS: Setting<ApiTokens> = Setting {
    name: "DEPBADGE_API_TOKENS",
    fallback: Fallback::Unset("(none: writes are refused)"),
    parse: ApiTokens::parse,
    show: token_names,
    doc: "NAME:TOKEN (every slug) or NAME:TOKEN:PATTERNS (slugs and `prefix/*`, comma-separated) per line; tokens of 16 characters or more; writes are refused without",
};
pub const DEFAULT_VISIBILITY: Setting<Visibility> = Setting {
    name: "DEPBADGE_DEFAULT_VISIBILITY",
    fallback: Fallback::Default("public"),
    parse: visibility,
    show: display,
    doc: "public or private: what a new project is when its first report does not say",
};
pub const MIGRATE: Setting<bool> = Setting {
    name: "DEPBADGE_MIGRATE",
    fallback: Fallback::Default("false"),
    parse: values::boolean,
    show: display,
    doc: "apply migrations when `serve` starts (also once the database comes up)",
};
pub const STALE_AFTER: Setting<Option<Duration>> = Setting {
    name: "DEPBADGE_STALE_AFTER",
    fallback: Fallback::Default("30d"),
    parse: stale_after,
    show: |after| after.map_or_else(|| "0 (disabled)".to_owned(), |d| seconds(&d)),
    doc: "reports older than this are stale; 0 disables",
};
pub const LOG_FORMAT: Setting<LogFormat> = Setting {
    name: "DEPBADGE_LOG_FORMAT",
    fallback: Fallback::Default("json"),
    parse: log_format,
    show: |format| {
        match format {
            LogFormat::Json => "json",
            LogFormat::Text => "text",
        }
        .to_owned()
    },
    doc: "json (one object per line on stdout) or text",
};
pub const PUBLIC_URL: Setting<String> = Setting {
    name: "DEPBADGE_PUBLIC_URL",
    fallback: Fallback::Unset("(unset: from each request's Host)"),
    parse: values::public_url,
    show: String::clone,
    doc: "where users reach the service: the base of the project page's links; unset, each request's Host",
};
pub const HEADER_TIMEOUT: Setting<Duration> = Setting {
    name: "DEPBADGE_HEADER_TIMEOUT",
    fallback: Fallback::Default("10s"),
    parse: positive_duration,
    show: seconds,
    doc: "time a connection has to send a request's headers (so also the keep-alive idle timeout)",
};
pub const MAX_CONNECTIONS: Setting<usize> = Setting {
    name: "DEPBADGE_MAX_CONNECTIONS",
    fallback: Fallback::Default("4096"),
    parse: connection_cap,
    show: display,
    doc: "connections served at once; past it a connection is answered 503 and closed",
};
pub const DRAIN_TIMEOUT: Setting<Duration> = Setting {
    name: "DEPBADGE_DRAIN_TIMEOUT",
    fallback: Fallback::Default("15s"),
    parse: values::duration,
    show: seconds,
    doc: "after the shutdown delay, how long requests in flight may take",
};
pub const REQUEST_TIMEOUT: Setting<Duration> = Setting {
    name: "DEPBADGE_REQUEST_TIMEOUT",
    fallback: Fallback::Default("10s"),
    parse: positive_duration,
    show: seconds,
    doc: "how long a JSON API or page request may take; then 503 timeout",
};
pub const RUST_LOG: Setting<String> = Setting {
    name: "RUST_LOG",
    fallback: Fallback::Default("info,sqlx=warn"),
    parse: as_given,
    show: String::clone,
    doc: "log filter",
};

/// The base URL of one ecosystem's registry for `depbadge watch`; unset: not watched.
const fn registry(name: &'static str, doc: &'static str) -> Setting<String> {
    Setting {
        name,
        fallback: Fallback::Unset("(unset: not watched)"),
        parse: values::public_url,
        show: String::clone,
        doc,
    }
}

pub const REGISTRY_NPM: Setting<String> = registry(
    "DEPBADGE_REGISTRY_NPM",
    "watch: npm registry base URL (https://registry.npmjs.org, or a mirror)",
);
pub const REGISTRY_PYPI: Setting<String> = registry(
    "DEPBADGE_REGISTRY_PYPI",
    "watch: PyPI base URL, serving /pypi/NAME/json (https://pypi.org, or a mirror)",
);
pub const REGISTRY_CARGO: Setting<String> = registry(
    "DEPBADGE_REGISTRY_CARGO",
    "watch: cargo sparse index base URL (https://index.crates.io, or a mirror)",
);
pub const REGISTRY_GEM: Setting<String> = registry(
    "DEPBADGE_REGISTRY_GEM",
    "watch: RubyGems base URL (https://rubygems.org, or a mirror)",
);
pub const REGISTRY_GOLANG: Setting<String> = registry(
    "DEPBADGE_REGISTRY_GOLANG",
    "watch: Go module proxy base URL (https://proxy.golang.org, or a mirror)",
);
pub const WATCH_INTERVAL: Setting<Duration> = Setting {
    name: "DEPBADGE_WATCH_INTERVAL",
    fallback: Fallback::Default("6h"),
    parse: positive_duration,
    show: seconds,
    doc: "watch: how often each package's newest release is checked again",
};
pub const WATCH_RATE: Setting<u32> = Setting {
    name: "DEPBADGE_WATCH_RATE",
    fallback: Fallback::Default("10"),
    parse: positive_number,
    show: display,
    doc: "watch: requests per second at most, to each registry",
};
pub const ADVISORIES: Setting<Vec<String>> = Setting {
    name: "DEPBADGE_ADVISORIES",
    fallback: Fallback::Unset("(unset: no advisory source)"),
    parse: values::advisory_sources,
    show: comma_separated,
    doc: "watch: OSV sources, comma-separated: directories of OSV JSON files, or http(s) URLs of an OSV all.zip",
};
pub const ADVISORIES_INTERVAL: Setting<Duration> = Setting {
    name: "DEPBADGE_ADVISORIES_INTERVAL",
    fallback: Fallback::Default("1h"),
    parse: positive_duration,
    show: seconds,
    doc: "watch: how often the advisory sources are read again",
};

#[allow(clippy::ptr_arg)] // the show signature of a `Setting<Vec<String>>`
fn comma_separated(values: &Vec<String>) -> String {
    values.join(",")
}

fn positive_number(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("`{value}` is not a whole number above 0")),
    }
}

#[allow(clippy::unnecessary_wraps)] // the parser signature every setting shares
fn as_given(value: &str) -> Result<String, String> {
    Ok(value.to_owned())
}

#[allow(clippy::ptr_arg)] // the show signature of a `Setting<String>`
fn shown(value: &String) -> String {
    value.clone()
}

#[allow(clippy::ptr_arg)]
fn redacted(_: &String) -> String {
    "(redacted)".to_owned()
}

fn display<T: std::fmt::Display>(value: &T) -> String {
    value.to_string()
}

fn seconds(duration: &Duration) -> String {
    format!("{}s", duration.as_secs())
}

fn token_names(tokens: &ApiTokens) -> String {
    if tokens.is_empty() {
        "(none: writes are refused)".to_owned()
    } else {
        let scopes: Vec<String> = tokens
            .scopes()
            .map(|(name, scope)| format!("{name} for {scope}"))
            .collect();
        format!("(redacted: {})", scopes.join("; "))
    }
}

fn address(value: &str) -> Result<SocketAddr, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("`{value}` is not an address like 0.0.0.0:8080"))
}

fn pool_size(value: &str) -> Result<u32, String> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (2..=1000).contains(n))
        .ok_or_else(|| {
            format!("`{value}` is not a number from 2 to 1000 (one connection is held for LISTEN)")
        })
}

fn report_bytes(value: &str) -> Result<usize, String> {
    values::byte_size(value)
        .and_then(|n| usize::try_from(n).map_err(|_| format!("`{value}` is too large")))
}

fn positive_duration(value: &str) -> Result<Duration, String> {
    values::duration(value).and_then(|d| {
        (!d.is_zero())
            .then_some(d)
            .ok_or_else(|| "must be more than 0".to_owned())
    })
}

fn stale_after(value: &str) -> Result<Option<Duration>, String> {
    values::duration(value).map(|d| (!d.is_zero()).then_some(d))
}

fn connection_cap(value: &str) -> Result<usize, String> {
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=1_000_000).contains(n))
        .ok_or_else(|| format!("`{value}` is not a number from 1 to 1000000"))
}

fn visibility(value: &str) -> Result<Visibility, String> {
    Visibility::parse(value.trim())
        .ok_or_else(|| format!("`{value}` is not a visibility; use public or private"))
}

fn log_format(value: &str) -> Result<LogFormat, String> {
    match value.trim() {
        "json" => Ok(LogFormat::Json),
        "text" => Ok(LogFormat::Text),
        other => Err(format!("`{other}` is not a log format; use json or text")),
    }
}
