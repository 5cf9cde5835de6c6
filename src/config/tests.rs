use std::io::Write;
use std::time::Duration;

use super::*;

fn load(env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_sources(&Sources::from_env(env.iter().map(|(k, v)| (*k, *v)))?)
}

/// A value other than the default for every setting: a setting added to the table without one
/// here fails [`every_setting_has_a_sample_and_each_is_read`].
const SAMPLES: &[(&str, &str)] = &[
    (
        "DATABASE_URL",
        "postgres://app:s3cret@db.internal:6543/badges",
    ),
    ("PGHOST", "pg.example"),
    ("PGPORT", "5433"),
    ("PGUSER", "badger"),
    ("PGDATABASE", "deps"),
    ("PGPASSWORD", "pw"),
    (
        "DEPBADGE_LISTEN_DATABASE_URL",
        "postgres://app:s3cret@db-rw.internal:5432/badges",
    ),
    ("DEPBADGE_LISTEN_ADDR", "127.0.0.1:18080"),
    ("DEPBADGE_METRICS_ADDR", "127.0.0.1:19090"),
    ("DEPBADGE_DB_MAX_CONNECTIONS", "25"),
    ("DEPBADGE_BADGE_MAX_AGE", "6m"),
    ("DEPBADGE_CACHE_MAX_BYTES", "16MiB"),
    ("DEPBADGE_CACHE_TTL", "90"),
    ("DEPBADGE_SHUTDOWN_DELAY", "11s"),
    ("DEPBADGE_MAX_REPORT_BYTES", "2MiB"),
    (
        "DEPBADGE_API_TOKENS",
        "analyzer:0123456789abcdef0123\nci:fedcba9876543210fedc:github.com/acme/*",
    ),
    ("DEPBADGE_DEFAULT_VISIBILITY", "private"),
    ("DEPBADGE_MIGRATE", "true"),
    ("DEPBADGE_STALE_AFTER", "0"),
    ("DEPBADGE_LOG_FORMAT", "text"),
    ("DEPBADGE_PUBLIC_URL", "https://badges.example.com/"),
    ("DEPBADGE_HEADER_TIMEOUT", "3s"),
    ("DEPBADGE_MAX_CONNECTIONS", "100"),
    ("DEPBADGE_DRAIN_TIMEOUT", "2m"),
    ("DEPBADGE_REQUEST_TIMEOUT", "4s"),
    ("RUST_LOG", "depbadge=debug"),
    (
        "DEPBADGE_REGISTRY_NPM",
        "https://npm.mirror.example/artifactory/api/npm/npm/",
    ),
    ("DEPBADGE_REGISTRY_PYPI", "https://pypi.org"),
    ("DEPBADGE_REGISTRY_CARGO", "https://index.crates.io"),
    ("DEPBADGE_REGISTRY_GEM", "https://rubygems.org"),
    ("DEPBADGE_REGISTRY_GOLANG", "https://proxy.golang.org"),
    ("DEPBADGE_WATCH_INTERVAL", "30m"),
    ("DEPBADGE_WATCH_RATE", "3"),
    (
        "DEPBADGE_ADVISORIES",
        "/var/lib/osv, https://osv.example/npm/all.zip",
    ),
    ("DEPBADGE_ADVISORIES_INTERVAL", "15m"),
];

#[test]
fn defaults_follow_the_spec() {
    let config = load(&[]).unwrap();
    assert_eq!(config.listen_addr.to_string(), "0.0.0.0:8080");
    assert_eq!(config.metrics_addr.to_string(), "0.0.0.0:9090");
    assert_eq!(config.db_max_connections, 10);
    assert_eq!(config.badge_max_age, Duration::from_secs(300));
    assert_eq!(config.cache_max_bytes, 64 << 20);
    assert_eq!(config.cache_ttl, Duration::from_secs(600));
    assert_eq!(config.shutdown_delay, Duration::from_secs(5));
    assert_eq!(config.max_report_bytes, 1 << 20);
    assert!(config.api_tokens.is_empty());
    assert_eq!(config.default_visibility, Visibility::Public);
    assert!(!config.migrate);
    assert_eq!(config.stale_after, Some(Duration::from_secs(30 * 86_400)));
    assert_eq!(config.log_format, LogFormat::Json);
    assert_eq!(config.public_url, None);
    assert_eq!(config.header_timeout, Duration::from_secs(10));
    assert!(config.watch.registries.is_empty());
    assert_eq!(config.watch.interval, Duration::from_secs(6 * 3600));
    assert_eq!(config.watch.rate, 10);
    assert!(config.watch.advisories.is_empty());
    assert_eq!(config.watch.advisories_interval, Duration::from_secs(3600));
    assert_eq!(config.max_connections, 4096);
    assert_eq!(config.drain_timeout, Duration::from_secs(15));
    assert_eq!(config.request_timeout, Duration::from_secs(10));
    assert_eq!(config.rust_log, "info,sqlx=warn");
}

#[test]
fn every_variable_is_read_and_typed() {
    let config = load(SAMPLES).unwrap();
    assert_eq!(config.listen_addr.to_string(), "127.0.0.1:18080");
    assert_eq!(config.metrics_addr.to_string(), "127.0.0.1:19090");
    assert_eq!(config.db_max_connections, 25);
    assert_eq!(config.badge_max_age, Duration::from_secs(360));
    assert_eq!(config.cache_max_bytes, 16 << 20);
    assert_eq!(config.cache_ttl, Duration::from_secs(90));
    assert_eq!(config.shutdown_delay, Duration::from_secs(11));
    assert_eq!(config.max_report_bytes, 2 << 20);
    assert_eq!(
        config
            .api_tokens
            .verify("fedcba9876543210fedc")
            .map(|token| (&*token.name, token.coverage.describe())),
        Some(("ci", "github.com/acme/*".to_owned()))
    );
    assert_eq!(config.default_visibility, Visibility::Private);
    assert!(config.migrate);
    assert_eq!(config.stale_after, None);
    assert_eq!(config.log_format, LogFormat::Text);
    assert_eq!(
        config.public_url.as_deref(),
        Some("https://badges.example.com")
    );
    assert_eq!(config.header_timeout, Duration::from_secs(3));
    assert_eq!(config.max_connections, 100);
    assert_eq!(config.drain_timeout, Duration::from_secs(120));
    assert_eq!(config.request_timeout, Duration::from_secs(4));
    assert_eq!(config.rust_log, "depbadge=debug");
    use crate::domain::watch::registry::Registry;
    assert_eq!(
        config.watch.registries,
        [
            (
                Registry::Npm,
                "https://npm.mirror.example/artifactory/api/npm/npm".to_owned()
            ),
            (Registry::Pypi, "https://pypi.org".to_owned()),
            (Registry::Cargo, "https://index.crates.io".to_owned()),
            (Registry::Gem, "https://rubygems.org".to_owned()),
            (Registry::Golang, "https://proxy.golang.org".to_owned()),
        ]
    );
    assert_eq!(config.watch.interval, Duration::from_secs(1800));
    assert_eq!(config.watch.rate, 3);
    assert_eq!(
        config.watch.advisories,
        ["/var/lib/osv", "https://osv.example/npm/all.zip"]
    );
    assert_eq!(config.watch.advisories_interval, Duration::from_secs(900));
    // The URL wins over the PG* variables.
    assert_eq!(
        config.database.redacted_url(),
        "postgres://app:***@db.internal:6543/badges"
    );
}

/// Each setting of the table is read, once, in the table's order, and `depbadge config` prints
/// a different line for it when it is given than when it is not.
#[test]
fn every_setting_has_a_sample_and_each_is_read() {
    let names: Vec<&str> = SETTINGS.iter().map(|setting| setting.name).collect();
    let sampled: Vec<&str> = SAMPLES.iter().map(|(name, _)| *name).collect();
    assert_eq!(
        sampled, names,
        "one sample per setting, in the table's order"
    );
    let defaults = load(&[]).unwrap();
    assert_eq!(defaults.names_read().collect::<Vec<_>>(), names);
    for sample in SAMPLES {
        // A database URL hides the PG* variables' effect on the printed connection.
        let given = load(&[*sample]).unwrap();
        let line = |config: &Config| {
            config
                .redacted_lines()
                .into_iter()
                .find(|line| line.starts_with(&format!("{}=", sample.0)))
                .unwrap_or_else(|| panic!("{} is not printed", sample.0))
        };
        assert_ne!(
            line(&given),
            line(&defaults),
            "{} changes nothing `depbadge config` prints",
            sample.0
        );
    }
}

/// A setting read by `Config::from_sources` must be in the table, or nothing would ever read it
/// from the environment: it is refused, not silently left at its default.
#[test]
fn a_setting_missing_from_the_table_is_refused() {
    const STRAY: Setting<String> = Setting {
        name: "DEPBADGE_NOT_IN_THE_TABLE",
        fallback: Fallback::Default("x"),
        parse: |value| Ok(value.to_owned()),
        show: String::clone,
        doc: "",
    };
    let sources = Sources::default();
    let mut reader = Reader {
        sources: &sources,
        printed: Vec::new(),
    };
    let error = reader.optional(&STRAY).unwrap_err();
    assert_eq!(error.variable, "DEPBADGE_NOT_IN_THE_TABLE");
    assert!(reader.optional(&settings::LISTEN_ADDR).is_ok());
}

/// What `depbadge config` prints for the database: the connection (password hidden), the PG*
/// variables as given (the password hidden), and the same in the configuration's `Debug`.
#[test]
fn the_database_lines_show_the_connection_and_hide_passwords() {
    let config = load(SAMPLES).unwrap();
    let lines = config.redacted_lines();
    for expected in [
        "DATABASE_URL=postgres://app:***@db.internal:6543/badges",
        "PGHOST=pg.example",
        "PGPASSWORD=(redacted)",
    ] {
        assert!(
            lines.iter().any(|line| line == expected),
            "{expected} in {lines:?}"
        );
    }
    assert_eq!(
        format!("{:?}", config.database),
        r#"DatabaseSettings("postgres://app:***@db.internal:6543/badges")"#
    );
    // Without a password in the URL, none is shown as hidden.
    let config = load(&[("DATABASE_URL", "postgres://app@db.internal:6543/badges")]).unwrap();
    assert_eq!(
        config.database.redacted_url(),
        "postgres://app@db.internal:6543/badges"
    );
}

/// The README's configuration table names every setting, and no other, with its default.
#[test]
fn the_readme_table_shows_every_setting_and_its_default() {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README has a Configuration section");
    let mut documented = Vec::new();
    for row in section.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let names: Vec<&str> = cells[0].split('`').skip(1).step_by(2).collect();
        for name in names {
            let setting = SETTINGS
                .iter()
                .find(|setting| setting.name == name)
                .unwrap_or_else(|| panic!("the README documents {name}, which is not a setting"));
            let expected = setting
                .default
                .map_or_else(|| None, |default| Some(format!("`{default}`")));
            match expected {
                Some(default) => assert_eq!(cells[1], default, "README default of {name}"),
                None => assert!(
                    ["none", "unset", "libpq defaults"].contains(&cells[1]),
                    "README default of {name}: {:?} for a setting without one",
                    cells[1]
                ),
            }
            documented.push(name);
        }
    }
    let mut names: Vec<&str> = SETTINGS.iter().map(|setting| setting.name).collect();
    names.sort_unstable();
    documented.sort_unstable();
    assert_eq!(documented, names, "README settings table");
}

#[test]
fn pg_variables_build_the_connection_when_there_is_no_url() {
    let config = load(&[
        ("PGHOST", "pg.example"),
        ("PGPORT", "5433"),
        ("PGUSER", "badger"),
        ("PGDATABASE", "deps"),
        ("PGPASSWORD", "pw"),
    ])
    .unwrap();
    assert_eq!(
        config.database.redacted_url(),
        "postgres://badger:***@pg.example:5433/deps"
    );
}

#[test]
fn a_file_variable_supplies_the_value_with_its_trailing_newline_trimmed() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "analyzer:0123456789abcdef0123").unwrap();
    let path = file.path().to_str().unwrap();
    let config = load(&[("DEPBADGE_API_TOKENS_FILE", path)]).unwrap();
    assert_eq!(
        config
            .api_tokens
            .verify("0123456789abcdef0123")
            .map(|token| &*token.name),
        Some("analyzer")
    );

    let mut url = tempfile::NamedTempFile::new().unwrap();
    writeln!(url, "postgres://u:p@h:1/d").unwrap();
    let config = load(&[("DATABASE_URL_FILE", url.path().to_str().unwrap())]).unwrap();
    assert_eq!(config.database.redacted_url(), "postgres://u:***@h:1/d");
}

#[test]
fn invalid_values_name_the_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("DEPBADGE_LISTEN_ADDR", "8080")], "DEPBADGE_LISTEN_ADDR"),
        (
            &[("DEPBADGE_METRICS_ADDR", "localhost:9090")],
            "DEPBADGE_METRICS_ADDR",
        ),
        (
            &[("DEPBADGE_DB_MAX_CONNECTIONS", "0")],
            "DEPBADGE_DB_MAX_CONNECTIONS",
        ),
        (
            &[("DEPBADGE_DB_MAX_CONNECTIONS", "1")],
            "DEPBADGE_DB_MAX_CONNECTIONS",
        ),
        (
            &[("DEPBADGE_BADGE_MAX_AGE", "soon")],
            "DEPBADGE_BADGE_MAX_AGE",
        ),
        (
            &[("DEPBADGE_CACHE_MAX_BYTES", "lots")],
            "DEPBADGE_CACHE_MAX_BYTES",
        ),
        (&[("DEPBADGE_CACHE_TTL", "-5")], "DEPBADGE_CACHE_TTL"),
        (
            &[("DEPBADGE_SHUTDOWN_DELAY", "5 fortnights")],
            "DEPBADGE_SHUTDOWN_DELAY",
        ),
        (
            &[("DEPBADGE_MAX_REPORT_BYTES", "0")],
            "DEPBADGE_MAX_REPORT_BYTES",
        ),
        (
            &[("DEPBADGE_API_TOKENS", "analyzer")],
            "DEPBADGE_API_TOKENS",
        ),
        (&[("DEPBADGE_MIGRATE", "maybe")], "DEPBADGE_MIGRATE"),
        (
            &[("DEPBADGE_STALE_AFTER", "a month")],
            "DEPBADGE_STALE_AFTER",
        ),
        (&[("DEPBADGE_LOG_FORMAT", "xml")], "DEPBADGE_LOG_FORMAT"),
        (
            &[("DATABASE_URL", "mysql://root:hunter2@x/y")],
            "DATABASE_URL",
        ),
        (&[("PGPORT", "five")], "PGPORT"),
        (
            &[("DEPBADGE_LISTEN_DATABASE_URL", "mysql://root:hunter2@x/y")],
            "DEPBADGE_LISTEN_DATABASE_URL",
        ),
        (
            &[
                ("DEPBADGE_MIGRATE", "true"),
                ("DEPBADGE_MIGRATE_FILE", "/x"),
            ],
            "DEPBADGE_MIGRATE",
        ),
        (
            &[("DEPBADGE_API_TOKENS_FILE", "/nonexistent/tokens")],
            "DEPBADGE_API_TOKENS_FILE",
        ),
    ];
    for (env, variable) in cases {
        let error = load(env).unwrap_err();
        assert_eq!(error.variable, *variable, "{env:?}: {error}");
        let line = error.to_string();
        assert!(!line.contains('\n'), "one line: {line}");
        assert!(!line.contains("hunter2"), "no secret in: {line}");
    }
}

#[test]
fn debug_output_of_the_configuration_holds_no_secret() {
    let config = load(&[
        ("DATABASE_URL", "postgres://app:hunter2@db:5432/badges"),
        ("DEPBADGE_API_TOKENS", "analyzer:0123456789abcdef0123"),
    ])
    .unwrap();
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("hunter2") && !debug.contains("0123456789abcdef0123"),
        "{debug}"
    );
}

#[test]
fn flags_override_the_environment_and_are_named_in_errors() {
    let mut sources = Sources::from_env([("DEPBADGE_LISTEN_ADDR", "0.0.0.0:1")]).unwrap();
    sources.set_from_flag("DEPBADGE_LISTEN_ADDR", "--listen-addr", "127.0.0.1:2");
    assert_eq!(
        Config::from_sources(&sources)
            .unwrap()
            .listen_addr
            .to_string(),
        "127.0.0.1:2"
    );
    sources.set_from_flag("DEPBADGE_LISTEN_ADDR", "--listen-addr", "nope");
    let error = Config::from_sources(&sources).unwrap_err();
    assert_eq!(error.variable, "DEPBADGE_LISTEN_ADDR (from --listen-addr)");
}

#[test]
fn unknown_depbadge_variables_are_ignored_because_kubernetes_injects_service_variables() {
    let config = load(&[
        ("DEPBADGE_PORT", "tcp://10.0.0.1:8080"),
        ("DEPBADGE_SERVICE_HOST", "10.0.0.1"),
    ])
    .unwrap();
    assert_eq!(config.listen_addr.to_string(), "0.0.0.0:8080");
}

#[test]
fn the_printed_configuration_redacts_secrets() {
    let config = load(&[
        ("DATABASE_URL", "postgres://app:hunter2@db:5432/badges"),
        ("DEPBADGE_API_TOKENS", "analyzer:0123456789abcdef0123"),
        (
            "DEPBADGE_LISTEN_DATABASE_URL",
            "postgres://app:hunter2@db-rw:5432/badges",
        ),
    ])
    .unwrap();
    let printed = config.redacted_lines().join("\n");
    assert!(
        printed.contains("\nDATABASE_URL=postgres://app:***@db:5432/badges")
            || printed.starts_with("DATABASE_URL=postgres://app:***@db:5432/badges"),
        "{printed}"
    );
    assert!(
        printed.contains("DEPBADGE_LISTEN_DATABASE_URL=postgres://app:***@db-rw:5432/badges"),
        "{printed}"
    );
    assert!(
        printed.contains("DEPBADGE_API_TOKENS=(redacted: analyzer for every slug)"),
        "{printed}"
    );
    assert!(
        !printed.contains("hunter2") && !printed.contains("0123456789abcdef0123"),
        "{printed}"
    );
}

#[test]
fn a_session_url_of_its_own_is_known_and_otherwise_the_pools_address_is_used() {
    let pooled = load(&[
        ("DATABASE_URL", "postgres://app@pooler:6432/badges"),
        (
            "DEPBADGE_LISTEN_DATABASE_URL",
            "postgres://app@db-rw:5432/badges",
        ),
    ])
    .unwrap();
    assert!(pooled.database.has_session_url());
    assert_eq!(pooled.database.session_options().get_host(), "db-rw");
    assert_eq!(pooled.database.connect_options().get_host(), "pooler");
    let direct = load(&[("DATABASE_URL", "postgres://app@db:5432/badges")]).unwrap();
    assert!(!direct.database.has_session_url());
    assert_eq!(direct.database.session_options().get_host(), "db");
}
