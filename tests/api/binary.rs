//! End-to-end: the real `depbadge` binary, as an operator runs it.

use std::collections::HashMap;
use std::io::Read;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::PgPool;
use tokio::net::{TcpListener, TcpStream};

use crate::helpers::{TOKEN, database_url, spec_example};

pub const BINARY: &str = env!("CARGO_BIN_EXE_depbadge");

/// The child process, killed if a test fails before it stops it. Its stdout and stderr are
/// read from the start (a pipe nobody reads fills at 64 KiB, and then the server blocks on its
/// next log line), into buffers a test can watch while the process runs.
pub struct Server {
    pub child: Child,
    /// The public listener, as the process reported it (it binds port 0: no port is picked by
    /// the test, released, and raced for by another test).
    pub address: SocketAddr,
    /// The admin listener (`/metrics`), likewise.
    pub admin: SocketAddr,
    stdout: Output,
    stderr: Output,
}

/// A pipe's text so far, and the thread that reads it to the end.
struct Output {
    text: Arc<std::sync::Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Output {
    fn drain(pipe: Option<impl Read + Send + 'static>) -> Self {
        let text = Arc::new(std::sync::Mutex::new(String::new()));
        let reader = pipe.map(|pipe| {
            let text = text.clone();
            std::thread::spawn(move || {
                let mut lines = std::io::BufReader::new(pipe);
                let mut line = Vec::new();
                while std::io::BufRead::read_until(&mut lines, b'\n', &mut line).unwrap_or(0) > 0 {
                    let mut text = text
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    text.push_str(&String::from_utf8_lossy(&line));
                    line.clear();
                }
            })
        });
        Self { text, reader }
    }

    fn now(&self) -> String {
        self.text
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Everything, once the pipe is closed (the process exited).
    fn all(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.now()
    }
}

impl Server {
    /// Sends SIGTERM, as the kubelet does.
    pub fn terminate(&self) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    pub async fn assert_exits_cleanly_within(&mut self, limit: Duration, what: &str) {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(started.elapsed() < limit, "{what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(status.success(), "exit status {status}");
    }
}

impl Server {
    /// What the process wrote on stdout; call after it exited.
    pub fn stdout(&mut self) -> String {
        self.stdout.all()
    }

    /// Waits until a line of stdout contains `text`, for at most `limit`; returns that line.
    pub async fn wait_for_line(&self, text: &str, limit: Duration) -> String {
        let started = Instant::now();
        loop {
            if let Some(line) = self.stdout.now().lines().find(|line| line.contains(text)) {
                return line.to_owned();
            }
            assert!(
                started.elapsed() < limit,
                "no line with {text:?} within {limit:?}:\n{}\n{}",
                self.stdout.now(),
                self.stderr.now()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Everything the process wrote, stdout then stderr; call after it exited.
    pub fn output(&mut self) -> String {
        let mut text = self.stdout();
        text.push_str(&self.stderr.all());
        text
    }

    /// SIGTERM, a clean exit, and everything the process wrote.
    pub async fn stop(&mut self) -> String {
        self.terminate();
        self.assert_exits_cleanly_within(Duration::from_secs(20), "no exit after SIGTERM")
            .await;
        self.output()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // With TEST_LOG=1, a failing test shows what the binary logged.
        if std::thread::panicking() && crate::helpers::test_logs_enabled() {
            let logs = self.output();
            eprintln!("--- depbadge's output ---\n{logs}");
        }
    }
}

/// The variables that make up the test's clock: CI also runs the suite under `faketime` (a year
/// ahead), and the binary must see the same time as the test that starts it with `env_clear`.
pub fn clock_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(name, _)| name == "LD_PRELOAD" || name.starts_with("FAKETIME"))
        .collect()
}

/// Starts `depbadge serve` on ports the system picks (unless `env` names them).
pub fn start(database_url: &str, env: &[(&str, &str)]) -> Server {
    let mut all = vec![
        ("DATABASE_URL", database_url),
        ("DEPBADGE_LISTEN_ADDR", "127.0.0.1:0"),
        ("DEPBADGE_METRICS_ADDR", "127.0.0.1:0"),
    ];
    all.extend_from_slice(env);
    spawn(&[], &all)
}

/// Starts `depbadge watch` with its admin listener on a port the system picks; `address` is
/// the admin listener too (the watcher has no other).
pub fn start_watcher(database_url: &str, env: &[(&str, &str)]) -> Server {
    let mut all = vec![
        ("DATABASE_URL", database_url),
        ("DEPBADGE_METRICS_ADDR", "127.0.0.1:0"),
    ];
    all.extend_from_slice(env);
    spawn_until(&["watch"], &all, "depbadge watch listening")
}

/// Runs `depbadge ARGS` with only `env` (and the test's clock), and waits until it says where it
/// listens: the start of serving, whatever the database does.
fn spawn(args: &[&str], env: &[(&str, &str)]) -> Server {
    spawn_until(args, env, "depbadge listening")
}

/// [`spawn`], waiting for the line that has `marker`.
fn spawn_until(args: &[&str], env: &[(&str, &str)], marker: &str) -> Server {
    let mut child = Command::new(BINARY)
        .args(args)
        .env_clear()
        .envs(clock_env())
        .env("DEPBADGE_API_TOKENS", format!("e2e:{TOKEN}"))
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = Output::drain(child.stdout.take());
    let stderr = Output::drain(child.stderr.take());
    let started = Instant::now();
    let (address, admin) = loop {
        let text = stdout.now();
        if let Some(found) = text
            .lines()
            .filter(|line| line.contains(marker))
            .find_map(|line| {
                let admin = logged_address(line, "admin")?;
                Some((logged_address(line, "address").unwrap_or(admin), admin))
            })
        {
            break found;
        }
        let exited = child.try_wait().unwrap();
        if exited.is_some() || started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "depbadge never said where it listens ({exited:?}):\n{text}\n{}",
                stderr.now()
            );
        }
        // Blocking the test's thread is fine: the server is another process.
        std::thread::sleep(Duration::from_millis(10));
    };
    Server {
        child,
        address,
        admin,
        stdout,
        stderr,
    }
}

/// The address logged as `field` in a JSON (`"field":"127.0.0.1:80"`) or text (`field=…`) line.
fn logged_address(line: &str, field: &str) -> Option<SocketAddr> {
    let rest = line
        .split_once(&format!("\"{field}\":\""))
        .or_else(|| line.split_once(&format!(" {field}=")))?
        .1;
    let end = rest
        .find(|c: char| !(c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

pub async fn get(client: &reqwest::Client, server: &Server, path: &str) -> Option<u16> {
    client
        .get(format!("http://{}{path}", server.address))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// Polls `path` until it answers `status`, for at most `limit`.
pub async fn wait_for(
    client: &reqwest::Client,
    server: &Server,
    path: &str,
    status: u16,
    limit: Duration,
) {
    let started = Instant::now();
    while started.elapsed() < limit {
        if get(client, server, path).await == Some(status) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} did not answer {status} within {limit:?}");
}

/// Forwards every connection on `listen` to `upstream`: the database "comes up" when it starts.
async fn proxy(listen: TcpListener, upstream: String) {
    loop {
        let Ok((mut inbound, _)) = listen.accept().await else {
            return;
        };
        let upstream = upstream.clone();
        tokio::spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

#[sqlx::test(migrations = false)]
async fn the_server_starts_without_a_database_and_recovers_when_it_comes_up(pool: PgPool) {
    let options = pool.connect_options();
    let upstream = format!("{}:{}", options.get_host(), options.get_port());
    let real_url = database_url(&pool);
    // Bound, so no other test takes the port, but not listening: connections are refused (the
    // database is down) until the proxy listens on it.
    let proxy_socket = tokio::net::TcpSocket::new_v4().unwrap();
    proxy_socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let proxy_port = proxy_socket.local_addr().unwrap().port();
    let via_proxy = real_url.replacen(&upstream, &format!("127.0.0.1:{proxy_port}"), 1);
    assert_ne!(
        via_proxy, real_url,
        "the test URL goes through the proxy port"
    );

    let server = start(&via_proxy, &[("DEPBADGE_MIGRATE", "true")]);
    let client = reqwest::Client::new();
    wait_for(&client, &server, "/healthz", 200, Duration::from_secs(20)).await;
    assert_eq!(
        get(&client, &server, "/readyz").await,
        Some(503),
        "not ready while the database is down"
    );

    let listener = proxy_socket.listen(64).unwrap();
    tokio::spawn(proxy(listener, upstream));

    // Backoff is capped at 10 s; migrations run once the database answers.
    wait_for(&client, &server, "/readyz", 200, Duration::from_secs(30)).await;
    let response = client
        .put(format!(
            "http://{}/v1/projects/github.com/e2e/recovered",
            server.address
        ))
        .bearer_auth(TOKEN)
        .json(&spec_example())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
}

#[sqlx::test]
async fn sigterm_fails_readiness_at_once_keeps_serving_for_the_delay_then_exits_cleanly(
    pool: PgPool,
) {
    let mut server = start(&database_url(&pool), &[("DEPBADGE_SHUTDOWN_DELAY", "2s")]);
    let client = reqwest::Client::new();
    wait_for(&client, &server, "/readyz", 200, Duration::from_secs(20)).await;
    let signalled = Instant::now();
    server.terminate();
    // Readiness fails before the process logs that it heard the signal: from that line on, every
    // probe is 503 while everything else is still served, until the listener closes.
    server
        .wait_for_line("shutdown signal received", Duration::from_secs(20))
        .await;
    let mut unready_answers = 0;
    let closed_after = loop {
        let ready = get(&client, &server, "/readyz").await;
        let listing = get(&client, &server, "/v1/projects").await;
        match (ready, listing) {
            (Some(503), Some(200)) => unready_answers += 1,
            (None, _) | (_, None) => break signalled.elapsed(),
            other => panic!("after the signal was heard: {other:?}"),
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(30),
            "never stopped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        unready_answers > 0,
        "the listener closed before any probe was answered"
    );
    // A lower bound only: a slow machine can make the delay longer, never shorter.
    assert!(
        closed_after >= Duration::from_secs(2),
        "the listener closed {closed_after:?} after SIGTERM, before the 2 s delay"
    );

    server
        .assert_exits_cleanly_within(
            Duration::from_secs(10),
            "the server did not exit after the delay",
        )
        .await;

    // The logs are JSON lines, with an access event per request.
    let stdout = server.stdout();
    let events: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let access = events
        .iter()
        .find(|e| {
            e["target"] == "depbadge::access" && e["route"] == "/readyz" && e["status"] == 503
        })
        .unwrap_or_else(|| panic!("no access event for /readyz in {stdout}"));
    for field in [
        "timestamp",
        "level",
        "message",
        "method",
        "latency_ms",
        "request_id",
    ] {
        assert!(
            access.get(field).is_some(),
            "access event lacks {field}: {access}"
        );
    }
}

/// Tokens sent with successful and refused writes, valid and not, appear in no log line, at the
/// most verbose level either.
#[sqlx::test]
async fn no_token_reaches_the_logs_whatever_the_request(pool: PgPool) {
    const WRONG: &str = "wrong-token-fedcba9876543210";
    for rust_log in ["info", "trace"] {
        let mut server = start(
            &database_url(&pool),
            &[("RUST_LOG", rust_log), ("DEPBADGE_SHUTDOWN_DELAY", "0")],
        );
        let client = reqwest::Client::new();
        wait_for(&client, &server, "/readyz", 200, Duration::from_secs(20)).await;
        let project = server.url("/v1/projects/github.com/e2e/tokens");
        let invalid = serde_json::json!({ "dependencies": [{ "purl": "nope" }] });
        let requests = [
            (
                client
                    .put(&project)
                    .bearer_auth(TOKEN)
                    .json(&spec_example()),
                201,
            ),
            (client.put(&project).bearer_auth(TOKEN).json(&invalid), 422),
            (
                client
                    .put(&project)
                    .bearer_auth(WRONG)
                    .json(&spec_example()),
                401,
            ),
            (
                client
                    .put(&project)
                    .header("authorization", WRONG)
                    .json(&spec_example()),
                401,
            ),
            (client.get(&project).bearer_auth(TOKEN), 200),
            (client.delete(&project).bearer_auth(WRONG), 401),
            (client.delete(&project).bearer_auth(TOKEN), 204),
        ];
        let sent = requests.len();
        for (request, expected) in requests {
            let response = request.send().await.unwrap();
            assert_eq!(response.status().as_u16(), expected, "{}", response.url());
        }
        let logs = server.stop().await;
        let logged = logs
            .lines()
            .filter(|line| {
                line.contains("/v1/projects/{*slug}") && line.contains("depbadge::access")
            })
            .count();
        assert_eq!(
            logged, sent,
            "RUST_LOG={rust_log}: every request is logged:\n{logs}"
        );
        for secret in [TOKEN, WRONG] {
            assert!(
                !logs.contains(secret),
                "RUST_LOG={rust_log}: a token appeared in the logs:\n{}",
                logs.lines()
                    .filter(|l| l.contains(secret))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

/// The same settings given as flags instead of variables, and the text log format either way.
#[sqlx::test(migrations = false)]
async fn flags_and_the_text_log_format_are_honoured(pool: PgPool) {
    let url = database_url(&pool);
    let client = reqwest::Client::new();
    for (run, use_flags) in [("flags", true), ("environment", false)] {
        // Port 0 on 127.0.0.1: unset, the listeners would be on 0.0.0.0:8080 and 0.0.0.0:9090.
        let (listen, metrics) = ("127.0.0.1:0", "127.0.0.1:0");
        let flags = [
            "serve",
            "--database-url",
            &url,
            "--listen-addr",
            listen,
            "--metrics-addr",
            metrics,
            "--migrate",
            "--log-format",
            "text",
        ];
        let variables = [
            ("DATABASE_URL", url.as_str()),
            ("DEPBADGE_LISTEN_ADDR", listen),
            ("DEPBADGE_METRICS_ADDR", metrics),
            ("DEPBADGE_MIGRATE", "true"),
            ("DEPBADGE_LOG_FORMAT", "text"),
        ];
        let common = [("DEPBADGE_SHUTDOWN_DELAY", "0")];
        let mut server = if use_flags {
            spawn(&flags, &common)
        } else {
            spawn(&[], &[&variables[..], &common].concat())
        };
        for listener in [server.address, server.admin] {
            assert!(
                listener.ip().is_loopback() && listener.port() != 0,
                "{run}: listening on {listener}"
            );
        }
        let metrics = server.admin;
        // Ready means the database was reached and migrated (the test database starts empty).
        wait_for(&client, &server, "/readyz", 200, Duration::from_secs(30)).await;
        let scraped = reqwest::get(format!("http://{metrics}/metrics"))
            .await
            .unwrap();
        assert_eq!(
            scraped.status().as_u16(),
            200,
            "{run}: metrics on {metrics}"
        );
        let logs = server.stop().await;
        let access = logs
            .lines()
            .find(|line| line.contains("depbadge::access") && line.contains("/readyz"))
            .unwrap_or_else(|| panic!("{run}: no access line in\n{logs}"));
        assert!(
            serde_json::from_str::<Value>(access).is_err() && access.contains(" INFO "),
            "{run}: not the text format: {access}"
        );
        assert!(
            logs.contains("database migrations applied"),
            "{run}: {logs}"
        );
    }
}

pub fn run_cli(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(BINARY)
        .args(args)
        .env_clear()
        .envs(clock_env())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn invalid_configuration_exits_2_with_one_line_naming_the_variable() {
    let (code, _, stderr) = run_cli(&["config"], &[("DEPBADGE_BADGE_MAX_AGE", "soon")]);
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("DEPBADGE_BADGE_MAX_AGE"), "{stderr}");

    let (code, _, stderr) = run_cli(&["serve", "--listen-addr", "nowhere"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--listen-addr"), "{stderr}");
}

#[test]
fn config_prints_the_effective_settings_with_secrets_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "analyzer:0123456789abcdef0123\n").unwrap();
    let (code, stdout, _) = run_cli(
        &["config", "--listen-addr", "127.0.0.1:9999"],
        &[
            ("DATABASE_URL", "postgres://app:hunter2@db:5432/badges"),
            ("DEPBADGE_API_TOKENS_FILE", tokens.to_str().unwrap()),
        ],
    );
    assert_eq!(code, 0);
    assert!(
        stdout.contains("DEPBADGE_LISTEN_ADDR=127.0.0.1:9999"),
        "{stdout}"
    );
    assert!(
        stdout.contains("DATABASE_URL=postgres://app:***@db:5432/badges"),
        "{stdout}"
    );
    assert!(
        stdout.contains("DEPBADGE_API_TOKENS=(redacted: analyzer for every slug)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("hunter2") && !stdout.contains("0123456789abcdef0123"),
        "{stdout}"
    );
}

#[test]
fn render_prints_the_badge_without_configuration_or_database() {
    // A broken environment does not matter to `render`.
    let (code, stdout, stderr) = run_cli(
        &[
            "render",
            "--label",
            "build",
            "--message",
            "passing",
            "--color",
            "green",
            "--style",
            "plastic",
        ],
        &[("DEPBADGE_BADGE_MAX_AGE", "soon")],
    );
    assert_eq!(code, 0, "{stderr}");
    let expected = depbadge::badge::BadgeSpec {
        label: "build".into(),
        message: "passing".into(),
        color: Some("green".into()),
        label_color: None,
        style: depbadge::badge::Style::Plastic,
    };
    assert_eq!(stdout.trim_end(), expected.render_svg());
    let (code, _, stderr) = run_cli(&["render", "--message", "x", "--style", "3d"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--style"), "{stderr}");
}

#[test]
fn help_and_version_exit_0() {
    let (code, stdout, _) = run_cli(&["--help"], &[]);
    assert_eq!(code, 0);
    for command in ["serve", "migrate", "config", "status", "render"] {
        assert!(stdout.contains(command), "{stdout}");
    }
    let (code, stdout, _) = run_cli(&["--version"], &[]);
    assert_eq!(code, 0);
    assert!(stdout.contains(env!("CARGO_PKG_VERSION")));
}

#[sqlx::test(migrations = false)]
async fn migrate_then_status_from_the_command_line(pool: PgPool) {
    let url = database_url(&pool);
    let env = [("DATABASE_URL", url.as_str())];
    let (code, _, stderr) = run_cli(&["migrate"], &env);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run_cli(&["status", "github.com/a/b"], &env);
    assert_eq!(code, 1);
    assert!(stderr.contains("no report for github.com/a/b"), "{stderr}");

    let report: depbadge::domain::ReportInput = serde_json::from_value(spec_example()).unwrap();
    let report = depbadge::domain::Report::from_input(report, chrono::Utc::now()).unwrap();
    let slug = depbadge::domain::Slug::parse("github.com/a/b").unwrap();
    depbadge::db::projects::write_report(
        &pool.clone().into(),
        &slug,
        &report,
        Default::default(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let (code, stdout, stderr) = run_cli(&["status", "github.com/A/B", "--scope", "all"], &env);
    assert_eq!(code, 0, "{stderr}");
    let document: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(document["status"], "vulnerable");
    assert_eq!(document["counts"]["total"], 2);
    assert_eq!(document["visibility"], "public");

    let (code, _, stderr) = run_cli(
        &["migrate"],
        &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
    );
    assert_eq!(code, 1);
    assert!(stderr.contains("cannot connect"), "{stderr}");
}

#[sqlx::test]
async fn export_then_import_restores_every_report_exactly(pool: PgPool) {
    let app = crate::helpers::spawn_listening_app(pool.clone(), &[]).await;
    let slugs = [
        "github.com/Backup/One",
        "gitlab.com/group/sub/two",
        "github.com/backup/empty",
    ];
    app.put_report(slugs[0], &spec_example()).await;
    app.put_report(
        slugs[1],
        &crate::helpers::report_at(&crate::helpers::days_ago(7), "1.0.0", 3),
    )
    .await;
    app.put_report(slugs[2], &serde_json::json!({ "dependencies": [] }))
        .await;
    let mut before = Vec::new();
    for slug in slugs {
        before.push(
            app.get_json(&format!("/v1/projects/{slug}?scope=all"))
                .await
                .1,
        );
    }

    let url = database_url(&pool);
    let env = [("DATABASE_URL", url.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.jsonl");
    let (code, _, stderr) = run_cli(&["export", file.to_str().unwrap()], &env);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("exported 3 reports"), "{stderr}");
    let exported = std::fs::read_to_string(&file).unwrap();
    assert_eq!(exported.lines().count(), 3);
    let (_, to_stdout, _) = run_cli(&["export"], &env);
    assert_eq!(to_stdout, exported, "export to stdout and to a file agree");

    for slug in slugs {
        let deleted = app.delete_project(slug).await;
        assert_eq!(deleted.status().as_u16(), 204);
    }
    // The running server has the deleted project's badge cached as "unknown" (for the default
    // ten minutes): only the import's NOTIFY can change what it shows. The notifications of its
    // own 3 writes and 3 deletes are behind us first.
    crate::metrics::wait_for_sample(&app, crate::invalidation::NOTIFICATIONS, 6.0).await;
    let unknown = "dependencies: unknown";
    for _ in 0..2 {
        assert_eq!(
            crate::badges::badge(&app, "/badges/github.com/backup/one.svg")
                .await
                .aria_label(),
            unknown
        );
    }
    let hits = r#"depbadge_badge_cache_requests_total{result="hit"}"#;
    let metrics = crate::metrics::scrape(&app).await;
    assert_eq!(crate::metrics::sample(&metrics, hits), Some(1.0), "cached");

    let (code, _, stderr) = run_cli(&["import", file.to_str().unwrap()], &env);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("3 created"), "{stderr}");
    for (slug, expected) in slugs.iter().zip(&before) {
        let (status, restored) = app
            .get_json(&format!("/v1/projects/{slug}?scope=all"))
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            &restored, expected,
            "{slug} restored exactly, updated_at included"
        );
    }
    // The restore reached the running server's badge cache through NOTIFY.
    let started = Instant::now();
    loop {
        let label = crate::badges::badge(&app, "/badges/github.com/backup/one.svg")
            .await
            .aria_label();
        if label == "dependencies: 1 of 1 outdated" {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the server still shows {label:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let (code, _, stderr) = run_cli(&["import", file.to_str().unwrap()], &env);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("0 created, 0 updated, 3 unchanged"),
        "{stderr}"
    );

    let first = exported
        .lines()
        .find(|line| line.contains("pkg:cargo/serde@1.0.100"))
        .unwrap();
    // The same write, exported without its dependencies (as a replica of release 0.1.0 did
    // beside migration 20261128150000): refused, the stored report kept.
    let mut emptied: serde_json::Value = serde_json::from_str(first).unwrap();
    emptied["dependencies"] = serde_json::json!([]);
    let incomplete = dir.path().join("incomplete.jsonl");
    std::fs::write(&incomplete, format!("{emptied}\n")).unwrap();
    let (code, _, stderr) = run_cli(&["import", incomplete.to_str().unwrap()], &env);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "line 1: github.com/Backup/One: differs from the stored report of the same write"
        ),
        "{stderr}"
    );
    let (_, kept) = app
        .get_json("/v1/projects/github.com/backup/one?scope=all")
        .await;
    assert_eq!(kept, before[0], "the stored report is kept");

    let broken = dir.path().join("broken.jsonl");
    std::fs::write(
        &broken,
        format!(
            "{first}\nnot json\n{}\n",
            first.replace("pkg:cargo/serde@1.0.100", "serde")
        ),
    )
    .unwrap();
    let (code, _, stderr) = run_cli(&["import", broken.to_str().unwrap()], &env);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("line 2:") && stderr.contains("line 3:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 unchanged"),
        "the good line still counts: {stderr}"
    );
}

/// A request in flight when the listener closes is finished, not dropped: a PUT whose body is
/// still arriving after SIGTERM and after the shutdown delay gets its 201, then the process exits.
#[sqlx::test]
async fn a_request_in_flight_during_shutdown_completes(pool: PgPool) {
    let mut server = start(&database_url(&pool), &[("DEPBADGE_SHUTDOWN_DELAY", "1s")]);
    let client = reqwest::Client::new();
    wait_for(&client, &server, "/readyz", 200, Duration::from_secs(20)).await;

    let body = serde_json::to_vec(&spec_example()).unwrap();
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let (send, receive) = tokio::sync::mpsc::channel::<Vec<u8>>(2);
    let stream = futures_util::stream::unfold(receive, |mut receive| async move {
        receive
            .recv()
            .await
            .map(|chunk| (Ok::<_, std::io::Error>(chunk), receive))
    });
    let put = client
        .put(format!(
            "http://{}/v1/projects/github.com/e2e/in-flight",
            server.address
        ))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(stream))
        .send();
    let put = tokio::spawn(put);
    send.send(first_half.to_vec()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    server.terminate();
    // Past the delay the listener closes: new connections are refused while the server drains.
    let signalled = Instant::now();
    while TcpStream::connect(server.address).await.is_ok() {
        assert!(
            signalled.elapsed() < Duration::from_secs(30),
            "the listener never closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server waits for the request in flight"
    );

    send.send(second_half.to_vec()).await.unwrap();
    drop(send);
    let response = put.await.unwrap().unwrap();
    assert_eq!(
        response.status().as_u16(),
        201,
        "the request in flight completed"
    );

    server
        .assert_exits_cleanly_within(
            Duration::from_secs(10),
            "the server did not exit after draining",
        )
        .await;
}

/// Log lines are written in batches (docs/performance.md); none may be lost when the process
/// stops. Clients keep requesting, each with its own request id, from before SIGTERM until the
/// listener closes; every request that got an answer has exactly one access line, every line
/// is whole JSON, and the last line the process logs ("depbadge stopped") is there.
#[sqlx::test]
async fn no_log_line_is_lost_across_shutdown_under_load(pool: PgPool) {
    let mut server = start(&database_url(&pool), &[("DEPBADGE_SHUTDOWN_DELAY", "1s")]);
    let client = reqwest::Client::new();
    wait_for(&client, &server, "/readyz", 200, Duration::from_secs(20)).await;

    let signalled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|worker| {
            let (client, url, signalled) = (
                client.clone(),
                server.url("/badge/load-test-blue.svg"),
                signalled.clone(),
            );
            tokio::spawn(async move {
                // (request id, answered after SIGTERM) for every answered request.
                let mut answered = Vec::new();
                for n in 0.. {
                    let id = format!("load-{worker}-{n}");
                    let after_signal = signalled.load(std::sync::atomic::Ordering::SeqCst);
                    match client.get(&url).header("x-request-id", &id).send().await {
                        Ok(response) => {
                            assert_eq!(response.status().as_u16(), 200);
                            assert_eq!(response.headers()["x-request-id"], id.as_str());
                            answered.push((id, after_signal));
                        }
                        // The listener closed: this client is done.
                        Err(_) if after_signal => break,
                        Err(e) => panic!("{id} failed before SIGTERM: {e}"),
                    }
                }
                answered
            })
        })
        .collect();
    // Load first, then the signal while it runs.
    tokio::time::sleep(Duration::from_millis(300)).await;
    signalled.store(true, std::sync::atomic::Ordering::SeqCst);
    server.terminate();
    let mut answered = Vec::new();
    for client in clients {
        answered.extend(client.await.unwrap());
    }
    server
        .assert_exits_cleanly_within(Duration::from_secs(20), "no exit after SIGTERM")
        .await;

    let stdout = server.stdout();
    let events: Vec<Value> = stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not one JSON line: {line}"))
        })
        .collect();
    let mut logged: HashMap<&str, usize> = HashMap::new();
    for event in &events {
        if let (true, Some(id)) = (
            event["target"] == "depbadge::access",
            event["request_id"].as_str(),
        ) {
            *logged.entry(id).or_default() += 1;
        }
    }
    let after_signal = answered.iter().filter(|(_, after)| *after).count();
    println!(
        "{} requests answered, {after_signal} after SIGTERM; {} lines logged",
        answered.len(),
        events.len()
    );
    assert!(after_signal > 0, "no request was answered after SIGTERM");
    for (id, _) in &answered {
        assert_eq!(logged.get(id.as_str()), Some(&1), "access lines for {id}");
    }
    assert_eq!(
        events.last().and_then(|e| e["message"].as_str()),
        Some("depbadge stopped"),
        "the last line"
    );
}

/// Every line a request logs carries its request id, at the top level like its access line's: an
/// operator joins a 503's cause to its access line on `request_id`. Shown for the JSON API, the
/// page and a badge, each answered while the database is cut.
#[sqlx::test]
async fn a_requests_error_lines_and_its_access_line_share_its_request_id(pool: PgPool) {
    let switch = crate::outage::DatabaseSwitch::start(&pool, true).await;
    let options = pool.connect_options();
    let url = database_url(&pool).replacen(
        &format!("{}:{}", options.get_host(), options.get_port()),
        &format!("127.0.0.1:{}", switch.port),
        1,
    );
    let mut server = start(&url, &[("DEPBADGE_SHUTDOWN_DELAY", "0")]);
    let client = reqwest::Client::new();
    wait_for(&client, &server, "/readyz", 200, Duration::from_secs(20)).await;
    let put = client
        .put(server.url("/v1/projects/github.com/e2e/joined"))
        .bearer_auth(TOKEN)
        .json(&spec_example())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 201);
    switch.cut();
    let requests = [
        ("/v1/projects/github.com/e2e/joined", 503, "api-join-1"),
        ("/projects/github.com/e2e/joined", 503, "page-join-2"),
        // Written, never read here: no last known badge, so `unavailable`, with its cause.
        ("/badges/github.com/e2e/joined.svg", 200, "badge-join-3"),
    ];
    for (path, status, id) in requests {
        let response = client
            .get(server.url(path))
            .header("x-request-id", id)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert_eq!(response.headers()["x-request-id"], id);
    }
    let logs = server.stop().await;
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    for (path, status, id) in requests {
        let of_request: Vec<&Value> = lines.iter().filter(|l| l["request_id"] == id).collect();
        let access = of_request
            .iter()
            .find(|l| l["target"] == "depbadge::access")
            .unwrap_or_else(|| panic!("{path}: no access line with {id}:\n{logs}"));
        assert_eq!(access["status"], status, "{path}");
        let causes: Vec<&&Value> = of_request
            .iter()
            .filter(|l| l["target"] != "depbadge::access")
            .collect();
        assert!(
            causes
                .iter()
                .any(|l| l["level"] == "WARN" && l["error"].as_str().is_some_and(|e| !e.is_empty())),
            "{path}: no warning with its cause and {id}:\n{logs}"
        );
        // Logged once: one line for the cause, not one per layer it went through.
        assert_eq!(causes.len(), 1, "{path}: {causes:?}");
    }
}

#[sqlx::test]
async fn export_reads_past_its_batches_in_slug_order_and_import_keeps_each_projects_line_order(
    pool: PgPool,
) {
    // 2,500 projects, more than two of the export's batches of 1,000, imported newest slug first.
    let url = database_url(&pool);
    let env = [("DATABASE_URL", url.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.jsonl");
    let at = crate::helpers::days_ago(1);
    let lines: String = (1..=2500)
        .rev()
        .map(|i| {
            format!(
                r#"{{"slug":"github.com/batch/P{i:05}","analyzed_at":"{at}","updated_at":"{at}","dependencies":[]}}"#
            ) + "\n"
        })
        .collect();
    std::fs::write(&seed, lines).unwrap();
    let (code, _, stderr) = run_cli(&["import", seed.to_str().unwrap()], &env);
    assert_eq!(code, 0, "{stderr}");
    let (code, exported, stderr) = run_cli(&["export"], &env);
    assert_eq!(code, 0, "{stderr}");
    let slugs: Vec<String> = exported
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["slug"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let expected: Vec<String> = (1..=2500)
        .map(|i| format!("github.com/batch/P{i:05}"))
        .collect();
    assert_eq!(slugs, expected);

    // One project's lines, newest last, among others': each applied in the file's order, so
    // the last one wins and none counts as older, however the lines are shared among writers.
    let file = dir.path().join("lines.jsonl");
    let mut lines = String::new();
    for day in (1..=30).rev() {
        for other in 0..5 {
            lines.push_str(&format!(
                r#"{{"slug":"github.com/order/other{other}-{day}","analyzed_at":"{at}","updated_at":"{at}","dependencies":[]}}"#,
                at = crate::helpers::days_ago(day)
            ));
            lines.push('\n');
        }
        lines.push_str(&format!(
            r#"{{"slug":"github.com/order/one","analyzed_at":"{at}","updated_at":"{at}","dependencies":[{{"purl":"pkg:npm/a@{day}.0.0","scope":"runtime","advisories":[]}}]}}"#,
            at = crate::helpers::days_ago(day)
        ));
        lines.push('\n');
    }
    std::fs::write(&file, lines).unwrap();
    let (code, _, stderr) = run_cli(&["import", file.to_str().unwrap()], &env);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(
            "imported: 151 created, 29 updated, 0 unchanged, 0 older than stored (kept), 0 invalid"
        ),
        "{stderr}"
    );
    let version: String =
        sqlx::query_scalar("SELECT version FROM dependencies WHERE slug = 'github.com/order/one'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(version, "1.0.0");
}
