use std::net::SocketAddr;

use depbadge::config::{Config, Sources};
use depbadge::startup::Application;
use serde_json::{Value, json};
use sqlx::PgPool;

pub const TOKEN: &str = "test-token-0123456789abcdef";

pub struct TestApp {
    pub address: SocketAddr,
    /// The admin listener: `/metrics`.
    pub admin_address: SocketAddr,
    pub client: reqwest::Client,
    pub pool: PgPool,
    pub metrics: depbadge::ops::metrics::Metrics,
}

/// Starts the real router on 127.0.0.1 with a random port, using `pool`'s database.
pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_with(pool, &[]).await
}

/// `TEST_LOG=1 cargo test`: the application's logs (filtered by `RUST_LOG`, default `info`) go to
/// the test's output, which cargo shows for failing tests only.
pub fn test_logs_enabled() -> bool {
    std::env::var_os("TEST_LOG").is_some_and(|v| !v.is_empty() && v != "0")
}

fn init_test_logs() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        if test_logs_enabled() {
            let filter = tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .with_ansi(false)
                .try_init();
        }
    });
}

pub async fn spawn_app_with(pool: PgPool, extra_env: &[(&str, &str)]) -> TestApp {
    init_test_logs();
    let token_line = format!("test:{TOKEN}");
    let mut env = vec![
        ("DEPBADGE_LISTEN_ADDR", "127.0.0.1:0"),
        ("DEPBADGE_METRICS_ADDR", "127.0.0.1:0"),
        ("DEPBADGE_API_TOKENS", token_line.as_str()),
    ];
    env.extend_from_slice(extra_env);
    let config = Config::from_sources(&Sources::from_env(env).unwrap()).unwrap();
    let app = Application::build(&config, pool.clone()).await.unwrap();
    let address = app.local_addr().unwrap();
    let admin_address = app.admin_addr().unwrap();
    let metrics = app.metrics();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        address,
        admin_address,
        client: reqwest::Client::new(),
        pool,
        metrics,
    }
}

/// [`spawn_app_with`], returning once the application listens for report notifications, so that
/// every write from then on is heard (tests that count notifications need that), and its filter
/// of known slugs is built (a slug nobody reported is answered without a read).
pub async fn spawn_listening_app(pool: PgPool, extra_env: &[(&str, &str)]) -> TestApp {
    let app = spawn_app_with(pool, extra_env).await;
    crate::metrics::wait_for_sample(&app, "depbadge_notifications_listening", 1.0).await;
    // At least once: a reconnection under load rebuilds it again.
    crate::metrics::wait_for_at_least(
        &app,
        r#"depbadge_known_slugs_builds_total{result="loaded"}"#,
        1.0,
    )
    .await;
    app
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub async fn put_report(&self, slug: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(self.url(&format!("/v1/projects/{slug}")))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// `PUT /v1/projects/{slug}?visibility=private` with the test token: a private project.
    pub async fn put_private_report(&self, slug: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(self.url(&format!("/v1/projects/{slug}?visibility=private")))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// A client that shows redirects instead of following them.
    pub fn no_redirects() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// `DELETE /v1/projects/{slug}` with the test token.
    pub async fn delete_project(&self, slug: &str) -> reqwest::Response {
        self.client
            .delete(self.url(&format!("/v1/projects/{slug}")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_project(&self, slug_and_query: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/v1/projects/{slug_and_query}")))
            .send()
            .await
            .unwrap()
    }

    pub async fn get_text(&self, path: &str) -> String {
        self.client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(self.url(path)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// How many projects and dependencies are stored: to show that a refusal wrote nothing.
    /// Projects, and dependencies stored: in the projects' documents and in rows an earlier
    /// version wrote (none, once this version has written the slug).
    /// The number of projects and of dependencies in their documents. Also checks that every
    /// project's rows are its document, as release 0.1.0 reads them (docs/upgrades.md): a write
    /// of this version must be seen whole by a replica of that release.
    pub async fn row_counts(&self) -> (i64, i64) {
        let (projects, in_documents): (i64, i64) = sqlx::query_as(
            "SELECT count(*), COALESCE(sum(json_array_length(dependencies)), 0)::int8 FROM projects",
        )
        .fetch_one(&self.pool)
        .await
        .unwrap();
        let differing: Vec<String> = sqlx::query_scalar(AS_RELEASE_0_1_0_READS_ROWS)
            .fetch_all(&self.pool)
            .await
            .unwrap();
        assert!(
            differing.is_empty(),
            "rows differ from the document for {differing:?}"
        );
        let orphans: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM dependencies d WHERE NOT EXISTS (SELECT 1 FROM projects p WHERE p.slug = d.slug)",
        )
        .fetch_one(&self.pool)
        .await
        .unwrap();
        assert_eq!(orphans, 0, "rows left without their project");
        (projects, in_documents)
    }
}

/// An RFC 3339 timestamp (whole seconds, UTC) `minutes` before now. Reports in tests are dated
/// relative to the clock, so that the suite passes on any date (CI also runs it a year ahead).
pub fn minutes_ago(minutes: i64) -> String {
    let at = chrono::Utc::now() - chrono::Duration::minutes(minutes);
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn days_ago(days: i64) -> String {
    minutes_ago(days * 24 * 60)
}

/// The contract's example report (docs/contract.md), analyzed an hour before the test binary
/// started: the same report on every call, so that sending it twice is a retry.
pub fn spec_example() -> Value {
    static ANALYZED_AT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| minutes_ago(60));
    json!({
        "analyzed_at": *ANALYZED_AT,
        "dependencies": [
            { "purl": "pkg:cargo/serde@1.0.100", "latest": "1.0.215", "scope": "runtime", "advisories": [] },
            { "purl": "pkg:npm/lodash@4.17.20", "latest": "4.17.21", "scope": "dev",
              "advisories": [ { "id": "GHSA-35jh-r3h4-6jhm", "severity": "high",
                                "url": "https://github.com/advisories/GHSA-35jh-r3h4-6jhm" } ] }
        ]
    })
}

/// A report of `n` runtime dependencies, all at `version`, analyzed at `analyzed_at`.
pub fn report_at(analyzed_at: &str, version: &str, n: usize) -> Value {
    let dependencies: Vec<Value> = (0..n)
        .map(|i| json!({ "purl": format!("pkg:cargo/crate{i}@{version}"), "latest": "5.0.0" }))
        .collect();
    json!({ "analyzed_at": analyzed_at, "dependencies": dependencies })
}

/// The DATABASE_URL of `pool`'s database, for starting the real binary against it.
pub fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for the tests");
    let database = pool
        .connect_options()
        .get_database()
        .expect("test pools name their database")
        .to_owned();
    let (server, _) = base
        .rsplit_once('/')
        .expect("DATABASE_URL has a database path");
    format!("{server}/{database}")
}

/// Sends `GET path` exactly as written: HTTP clients normalize `..` segments (even encoded ones)
/// away before sending, and a test of how the server treats them must get them through.
pub async fn raw_get(address: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response.split(' ').nth(1).unwrap().parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The slugs whose current document differs from their rows read as release 0.1.0 (1ae8056)
/// reads them: its `find` query's aggregate, compared as JSON values.
pub const AS_RELEASE_0_1_0_READS_ROWS: &str = "
    SELECT p.slug FROM projects p
    WHERE p.dependencies_sha256 = p.report_sha256
      AND p.dependencies::jsonb IS DISTINCT FROM COALESCE(
          (SELECT jsonb_agg(jsonb_build_object(
                'purl', d.purl, 'ecosystem', d.ecosystem, 'name', d.name, 'version', d.version,
                'latest', d.latest, 'scope', d.scope, 'freshness', d.freshness, 'advisories', d.advisories)
                ORDER BY d.position)
           FROM dependencies d WHERE d.slug = p.slug), '[]'::jsonb)";
