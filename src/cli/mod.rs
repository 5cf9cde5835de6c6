//! The command line (docs/contract.md §7): `depbadge [serve]`, `watch`, `migrate`, `config`, `render`, `status SLUG`,
//! `export [FILE]`, `import FILE`.
//! Exit codes: 0 success, 1 failure at run time, 2 invalid configuration or usage.

mod backup;
mod ci;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use sqlx::Connection;
use sqlx::postgres::PgPoolOptions;

use crate::badge::{BadgeSpec, Style};
use crate::config::{Config, ConfigError, Sources};
use crate::db::{self, Db, Route};
use crate::domain::{ScopeSelection, Slug, Visibility};
use crate::http::ProjectDocument;
use crate::ops;
use crate::startup::{self, Application, lazy_pool};

pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_CONFIG: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "depbadge",
    version,
    about = "Dependency-status badges served from a PostgreSQL cache of dependency reports"
)]
pub struct Cli {
    #[command(flatten)]
    pub overrides: Overrides,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags that override the environment variable of the same meaning.
#[derive(Debug, Args)]
pub struct Overrides {
    /// Overrides DATABASE_URL.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Overrides DEPBADGE_LISTEN_ADDR.
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen_addr: Option<String>,
    /// Overrides DEPBADGE_METRICS_ADDR.
    #[arg(long, global = true, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// Apply migrations when serving starts (overrides DEPBADGE_MIGRATE).
    #[arg(long, global = true)]
    pub migrate: bool,
    /// Overrides DEPBADGE_LOG_FORMAT: json or text.
    #[arg(long, global = true, value_name = "FORMAT")]
    pub log_format: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP (the default command).
    Serve,
    /// Watch the registries and advisory sources, and keep stored statuses true between
    /// pushes (one active watcher per database; others stand by).
    Watch,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Print a badge SVG to stdout (no database needed).
    Render {
        #[arg(long, default_value = "")]
        label: String,
        #[arg(long)]
        message: String,
        /// A shields.io color name, hex (with or without #) or CSS color; default brightgreen.
        #[arg(long)]
        color: Option<String>,
        #[arg(long)]
        label_color: Option<String>,
        /// flat, flat-square, plastic, for-the-badge or social.
        #[arg(long, default_value = "flat", value_parser = parse_style)]
        style: Style,
    },
    /// Write every report as JSON lines to FILE, or to stdout (backup).
    Export {
        /// Where to write; `-` or nothing for stdout.
        file: Option<std::path::PathBuf>,
    },
    /// Read reports from a file written by `export` (restore); `-` reads stdin.
    Import { file: std::path::PathBuf },
    /// Turn tool outputs (npm ls/outdated/audit, pip list, pip-audit, CycloneDX; files or `-`
    /// for stdin) into one depbadge report on stdout (no database or server needed).
    Report {
        /// One JSON output per tool; none reads stdin.
        files: Vec<std::path::PathBuf>,
    },
    /// Send a report to DEPBADGE_URL with DEPBADGE_TOKEN (or DEPBADGE_TOKEN_FILE): a depbadge
    /// report, a CycloneDX BOM, or the tool outputs `report` reads. Retries connection errors,
    /// 429 and 5xx; exits 0 when a newer report is already stored.
    Push {
        /// The project slug, like github.com/owner/repo.
        slug: String,
        /// One JSON output per tool, or a report or a BOM; none reads stdin.
        files: Vec<std::path::PathBuf>,
        /// Give up retrying after this long.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        max_time: Duration,
        /// Make the project private: read only with one of its read keys.
        #[arg(long, conflicts_with = "public")]
        private: bool,
        /// Make the project public (it is, unless made private or the server's default says).
        #[arg(long)]
        public: bool,
    },
    /// Print a project's status document as JSON.
    Status {
        /// The project slug, like github.com/owner/repo.
        slug: String,
        /// runtime (default), dev or all.
        #[arg(long, default_value = "runtime")]
        scope: String,
    },
}

impl Overrides {
    fn apply(&self, sources: &mut Sources) {
        let flags = [
            ("DATABASE_URL", "--database-url", self.database_url.clone()),
            (
                "DEPBADGE_LISTEN_ADDR",
                "--listen-addr",
                self.listen_addr.clone(),
            ),
            (
                "DEPBADGE_METRICS_ADDR",
                "--metrics-addr",
                self.metrics_addr.clone(),
            ),
            (
                "DEPBADGE_MIGRATE",
                "--migrate",
                self.migrate.then(|| "true".to_owned()),
            ),
            (
                "DEPBADGE_LOG_FORMAT",
                "--log-format",
                self.log_format.clone(),
            ),
        ];
        for (variable, flag, value) in flags {
            if let Some(value) = value {
                sources.set_from_flag(variable, flag, value);
            }
        }
    }
}

/// Loads the configuration: environment and files, then flags on top.
pub fn load_config(overrides: &Overrides) -> Result<Config, ConfigError> {
    let mut sources = Config::sources_from_process_env()?;
    overrides.apply(&mut sources);
    Config::from_sources(&sources)
}

fn parse_style(name: &str) -> Result<Style, String> {
    Style::parse(name)
        .ok_or_else(|| "use flat, flat-square, plastic, for-the-badge or social".to_owned())
}

pub async fn run(cli: Cli) -> ExitCode {
    let overrides = &cli.overrides;
    let result = async {
        match cli.command.unwrap_or(Command::Serve) {
            // Rendering needs no configuration, so that it works even with a broken environment.
            Command::Render {
                label,
                message,
                color,
                label_color,
                style,
            } => {
                println!(
                    "{}",
                    BadgeSpec {
                        label,
                        message,
                        color,
                        label_color,
                        style
                    }
                    .render_svg()
                );
                Ok(())
            }
            Command::Serve => serve(load_config(overrides)?).await,
            Command::Watch => watch(load_config(overrides)?).await,
            Command::Migrate => migrate(load_config(overrides)?).await,
            Command::Config => {
                println!("{}", load_config(overrides)?.redacted_lines().join("\n"));
                Ok(())
            }
            Command::Report { files } => ci::report(&files),
            Command::Push {
                slug,
                files,
                max_time,
                private,
                public,
            } => {
                let visibility = match (private, public) {
                    (true, _) => Some(Visibility::Private),
                    (_, true) => Some(Visibility::Public),
                    _ => None,
                };
                ci::push(&slug, &files, max_time, visibility).await
            }
            Command::Status { slug, scope } => status(load_config(overrides)?, &slug, &scope).await,
            Command::Export { file } => export(load_config(overrides)?, file).await,
            Command::Import { file } => import(load_config(overrides)?, &file).await,
        }
    }
    .await;
    // Log lines are written in batches: the last ones go out before anything else is said.
    ops::log_sink::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(error)) => {
            eprintln!("depbadge: {error}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(Failure::Run(message)) => {
            eprintln!("depbadge: {message}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Why a command failed, which decides the exit code; reported on stderr in one line.
enum Failure {
    Config(ConfigError),
    Run(String),
}

impl From<ConfigError> for Failure {
    fn from(error: ConfigError) -> Self {
        Self::Config(error)
    }
}

async fn serve(config: Config) -> Result<(), Failure> {
    ops::telemetry::init(config.log_format, Some(&config.rust_log));
    if config.api_tokens.is_empty() {
        tracing::warn!("DEPBADGE_API_TOKENS is empty: every write will be refused with 401");
    }
    let pool = lazy_pool(&config);
    let app = Application::build(&config, pool).await.map_err(|e| {
        Failure::Run(format!(
            "cannot listen on {} or {}: {e}",
            config.listen_addr, config.metrics_addr
        ))
    })?;
    let address = app.local_addr().map_err(|e| Failure::Run(e.to_string()))?;
    let admin = app.admin_addr().map_err(|e| Failure::Run(e.to_string()))?;
    tracing::info!(%address, %admin, database = %config.database.redacted_url(), version = env!("CARGO_PKG_VERSION"), "depbadge listening");
    let readiness = app.readiness();
    app.run_until(ops::shutdown::signal(readiness, config.shutdown_delay))
        .await
        .map_err(|e| Failure::Run(e.to_string()))?;
    tracing::info!("depbadge stopped");
    Ok(())
}

/// A pool for one-shot commands: connect now, and fail clearly if the database is not there.
/// Whether the pool reaches PostgreSQL directly is found out first (two short connections), so
/// that a command through a transaction pooler never leaves a named statement behind.
async fn connect(config: &Config) -> Result<Db, Failure> {
    let options = config
        .database
        .connect_options()
        .application_name("depbadge-cli");
    let cannot = |e: sqlx::Error| {
        Failure::Run(format!(
            "cannot connect to {}: {e}",
            config.database.redacted_url()
        ))
    };
    let route = match startup::declared_route(config) {
        Route::Unknown => db::pooler::probe(&options).await.map_err(cannot)?,
        declared => declared,
    };
    Db::connect(
        PgPoolOptions::new()
            // An import writes on this many connections at once.
            .max_connections(backup::IMPORT_WORKERS)
            .acquire_timeout(Duration::from_secs(10)),
        options,
        route,
    )
    .await
    .map_err(cannot)
}

async fn watch(config: Config) -> Result<(), Failure> {
    ops::telemetry::init(config.log_format, Some(&config.rust_log));
    let admin = tokio::net::TcpListener::bind(config.metrics_addr)
        .await
        .map_err(|e| Failure::Run(format!("cannot listen on {}: {e}", config.metrics_addr)))?;
    let address = admin
        .local_addr()
        .map_err(|e| Failure::Run(e.to_string()))?;
    let registries: Vec<&str> = config
        .watch
        .registries
        .iter()
        .map(|(registry, _)| registry.ecosystem())
        .collect();
    tracing::info!(admin = %address, registries = ?registries, advisories = config.watch.advisories.len(), version = env!("CARGO_PKG_VERSION"), "depbadge watch listening");
    let pool = lazy_pool(&config);
    crate::watch::run(&config, admin, pool, ops::shutdown::terminated())
        .await
        .map_err(Failure::Run)?;
    tracing::info!("depbadge watch stopped");
    Ok(())
}

async fn migrate(config: Config) -> Result<(), Failure> {
    ops::telemetry::init(config.log_format, Some(&config.rust_log));
    // On the session connection: sqlx holds its lock on the session while it migrates, which a
    // transaction pooler would not keep.
    let url = config
        .database
        .redacted_session_url()
        .unwrap_or_else(|| config.database.redacted_url());
    let options = config
        .database
        .session_options()
        .application_name("depbadge-cli");
    let mut connection = sqlx::PgConnection::connect_with(&options)
        .await
        .map_err(|e| Failure::Run(format!("cannot connect to {url}: {e}")))?;
    db::schema::migrate_on(&mut connection)
        .await
        .map_err(|e| Failure::Run(format!("migration failed on {url}: {e}")))?;
    let version = db::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap_or_default();
    tracing::info!(version, "database schema is up to date");
    Ok(())
}

async fn status(config: Config, slug: &str, scope: &str) -> Result<(), Failure> {
    let slug = Slug::parse(slug).map_err(|e| Failure::Run(format!("invalid slug: {e}")))?;
    let selection = ScopeSelection::parse(scope)
        .ok_or_else(|| Failure::Run(format!("invalid scope `{scope}`: use runtime, dev or all")))?;
    let pool = connect(&config).await?;
    let project = db::projects::find(&pool, &slug, selection)
        .await
        .map_err(|e| Failure::Run(format!("cannot read the project: {e}")))?
        .ok_or_else(|| Failure::Run(format!("no report for {}", slug.display())))?;
    let mut document = ProjectDocument::new(
        &project.meta,
        project.summary,
        &project.dependencies,
        &project.watch,
        selection,
        config.stale_after,
    );
    document.visibility = Some(project.meta.visibility);
    let json = serde_json::to_string_pretty(&document).map_err(|e| Failure::Run(e.to_string()))?;
    println!("{json}");
    Ok(())
}

async fn export(config: Config, file: Option<std::path::PathBuf>) -> Result<(), Failure> {
    let pool = connect(&config).await?;
    let count = match file.filter(|f| f.as_os_str() != "-") {
        Some(path) => {
            let created = std::fs::File::create(&path)
                .map_err(|e| Failure::Run(format!("cannot write {}: {e}", path.display())))?;
            backup::export(&pool, &mut std::io::BufWriter::new(created)).await
        }
        None => {
            backup::export(
                &pool,
                &mut std::io::BufWriter::new(std::io::stdout().lock()),
            )
            .await
        }
    }
    .map_err(|e| Failure::Run(format!("export failed: {e}")))?;
    eprintln!("exported {count} reports");
    Ok(())
}

async fn import(config: Config, file: &std::path::Path) -> Result<(), Failure> {
    let pool = connect(&config).await?;
    let summary = if file.as_os_str() == "-" {
        backup::import(&pool, std::io::stdin().lock(), config.default_visibility).await
    } else {
        let opened = std::fs::File::open(file)
            .map_err(|e| Failure::Run(format!("cannot read {}: {e}", file.display())))?;
        backup::import(
            &pool,
            std::io::BufReader::new(opened),
            config.default_visibility,
        )
        .await
    }
    .map_err(|e| Failure::Run(format!("import failed: {e}")))?;
    for (number, reason) in &summary.errors {
        eprintln!("depbadge: line {number}: {reason}");
    }
    eprintln!(
        "imported: {} created, {} updated, {} unchanged, {} older than stored (kept), {} invalid",
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.older,
        summary.errors.len()
    );
    if summary.errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::Run(format!(
            "{} lines could not be imported",
            summary.errors.len()
        )))
    }
}
