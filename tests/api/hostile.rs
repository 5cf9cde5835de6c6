//! What the Internet sends, against the real binary: each attack has a bound, and the test
//! asserts the bound (a connection closed, a process that exits, a 503 at the cap). Deadlines in
//! these tests only decide when to give up; without the limits under test the wait is forever.

use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::binary::{Server, start, wait_for};
use crate::helpers::database_url;

/// Half a request: the request line and one header, never the blank line that ends the headers.
const HALF_A_REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: slow.example\r\n";

async fn half_open(server: &Server) -> TcpStream {
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream.write_all(HALF_A_REQUEST).await.unwrap();
    stream
}

/// Reads until the server closes the connection; everything it sent meanwhile.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(limit, stream.read_to_end(&mut received)).await;
    assert!(
        read.is_ok(),
        "the server kept the connection open for {limit:?}, after sending {:?}",
        String::from_utf8_lossy(&received)
    );
    String::from_utf8_lossy(&received).into_owned()
}

/// 11 s, above the 10 s default: a server that ignored the setting would close both connections
/// before the lower bound. The upper bound only ends the wait for a server that never closes them.
#[sqlx::test]
async fn slow_and_idle_connections_are_closed_after_the_header_timeout(pool: PgPool) {
    let timeout = Duration::from_secs(11);
    let server = start(&database_url(&pool), &[("DEPBADGE_HEADER_TIMEOUT", "11s")]);
    let client = reqwest::Client::new();
    wait_for(&client, &server, "/healthz", 200, Duration::from_secs(20)).await;

    // A client that never finishes its headers. Timed from before it connects: the server's
    // timer starts when it accepts the connection, which may be before `connect` returns here.
    let slow = async {
        let started = Instant::now();
        let mut slow = half_open(&server).await;
        read_until_closed(&mut slow, Duration::from_secs(60)).await;
        started.elapsed()
    };
    // A keep-alive connection that goes quiet after its first answer. Timed from before the
    // request is sent: the server's timer starts when its answer is sent.
    let idle = async {
        let started = Instant::now();
        let mut idle = TcpStream::connect(server.address).await.unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: idle.example\r\n\r\n")
            .await
            .unwrap();
        let answered = read_until_closed(&mut idle, Duration::from_secs(60)).await;
        assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
        started.elapsed()
    };
    let (slow, idle) = tokio::join!(slow, idle);
    assert!(slow >= timeout, "a slow client was closed after {slow:?}");
    assert!(
        idle >= timeout,
        "an idle connection was closed after {idle:?}"
    );
}

#[sqlx::test]
async fn sigterm_ends_the_process_within_the_drain_timeout_whatever_clients_do(pool: PgPool) {
    let mut server = start(
        &database_url(&pool),
        &[
            ("DEPBADGE_HEADER_TIMEOUT", "300s"),
            ("DEPBADGE_DRAIN_TIMEOUT", "1s"),
            ("DEPBADGE_SHUTDOWN_DELAY", "0"),
        ],
    );
    let client = reqwest::Client::new();
    wait_for(&client, &server, "/healthz", 200, Duration::from_secs(20)).await;
    let mut held = Vec::new();
    for _ in 0..50 {
        held.push(half_open(&server).await);
    }
    // SIGTERM, then a clean exit within 20 s although 50 requests never finish.
    let logs = server.stop().await;
    assert!(logs.contains("drain timeout"), "{logs}");
    drop(held);
}

#[sqlx::test]
async fn past_the_connection_cap_a_client_gets_503_and_the_server_recovers(pool: PgPool) {
    let server = start(
        &database_url(&pool),
        &[
            ("DEPBADGE_MAX_CONNECTIONS", "4"),
            ("DEPBADGE_HEADER_TIMEOUT", "300s"),
        ],
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    wait_for(&client, &server, "/healthz", 200, Duration::from_secs(20)).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(half_open(&server).await);
    }
    // Until the server has seen the earlier requests' connections close, their slots are taken
    // and a half-open connection may be the one refused; each answered probe means a slot was
    // free, so another half-open connection goes after it, until every slot is held.
    let started = Instant::now();
    let refused = loop {
        let response = client.get(server.url("/healthz")).send().await.unwrap();
        if response.status().as_u16() == 503 {
            break response;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never at the cap"
        );
        held.push(half_open(&server).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_connections");

    let metrics = reqwest::get(format!("http://{}/metrics", server.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        crate::metrics::sample(&metrics, "depbadge_http_connections_refused_total")
            .is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    // Never more than the cap are served (which of the connections hold the slots depends on
    // when the server saw earlier ones close).
    assert!(
        crate::metrics::sample(&metrics, "depbadge_http_connections_open")
            .is_some_and(|n| (1.0..=4.0).contains(&n)),
        "{metrics}"
    );

    // The slots come back when the clients go.
    drop(held);
    wait_for(&client, &server, "/healthz", 200, Duration::from_secs(20)).await;
}

/// A stream of slugs nobody reported costs no database reads and no cache entries: the replica
/// knows which slugs have a report. A slug reported later, on any replica, is read again.
#[sqlx::test]
async fn unknown_slugs_are_answered_without_reading_the_database(pool: PgPool) {
    let app = crate::helpers::spawn_listening_app(pool.clone(), &[]).await;
    let other_replica = crate::helpers::spawn_app(pool).await;
    const REQUESTS: usize = 2_000;
    for i in 0..REQUESTS {
        let path = match i % 4 {
            0 => format!("/v1/projects/github.com/nobody/p{i}"),
            1 => format!("/projects/github.com/nobody/p{i}"),
            _ => format!("/badges/github.com/nobody/p{i}.svg"),
        };
        let status = app
            .client
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .status();
        assert!([200, 404].contains(&status.as_u16()), "{path}: {status}");
    }
    let metrics = crate::metrics::scrape(&app).await;
    let count = |cache: &str, result: &str| {
        crate::metrics::sample(
            &metrics,
            &format!(r#"depbadge_{cache}_cache_requests_total{{result="{result}"}}"#),
        )
        .unwrap_or(0.0)
    };
    // Badges, and the JSON API with the page, ask the same filter.
    for cache in ["badge", "document"] {
        assert_eq!(count(cache, "absent"), (REQUESTS / 2) as f64, "{metrics}");
        assert!(count(cache, "miss") < REQUESTS as f64 / 100.0, "{metrics}");
    }

    // Reported through the other replica: heard, and read on the next request.
    let slug = "github.com/nobody/p2";
    assert_eq!(
        other_replica
            .put_report(slug, &crate::helpers::spec_example())
            .await
            .status(),
        201
    );
    let started = Instant::now();
    loop {
        let (status, _) = app.get_json(&format!("/v1/projects/{slug}")).await;
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still {status}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The resident memory of a process, from /proc (Linux).
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    kib * 1024
}

/// Creates `n` projects directly in SQL (one status row per scope), as fast as PostgreSQL can.
async fn insert_projects(pool: &PgPool, n: i32) {
    sqlx::query(
        "INSERT INTO projects (slug, display_slug, analyzed_at, updated_at, created_at, report_sha256)
         SELECT 'github.com/many/p' || i, 'github.com/many/p' || i, now(), now(), now(), '\\x00'
         FROM generate_series(1, $1) AS i",
    )
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO project_statuses (slug, scope, status, total, up_to_date, outdated, vulnerable, unknown, analyzed_at, updated_at)
         SELECT 'github.com/many/p' || i, scope, 'up-to-date', 1, 1, 0, 0, 0, now(), now()
         FROM generate_series(1, $1) AS i, unnest(ARRAY['runtime', 'dev', 'all']) AS scope",
    )
    .bind(n)
    .execute(pool)
    .await
    .unwrap();
}

/// Sends `paths` from `workers` connections at once; every answer must be a 200.
async fn hammer(server: &Server, paths: Vec<String>, workers: usize) {
    let paths = std::sync::Arc::new(std::sync::Mutex::new(paths));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (paths, base) = (paths.clone(), server.url(""));
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let Some(path) = paths.lock().unwrap().pop() else {
                    return;
                };
                let response = client.get(format!("{base}{path}")).send().await.unwrap();
                assert_eq!(response.status().as_u16(), 200, "{path}");
                response.bytes().await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// Unique slugs (reported and not), labels and colors, as an attacker would send them: the
/// process stays within the cache budget plus a fixed base (the bound the README's "Limits"
/// states: `DEPBADGE_CACHE_MAX_BYTES` × 1.25 + 40 MiB). Also prints what an entry really costs, which
/// is what the cache's weighers are set from.
#[sqlx::test]
async fn a_stream_of_hostile_keys_stays_within_the_cache_budget(pool: PgPool) {
    const PROJECTS: i32 = 30_000;
    const BUDGET: u64 = 8 << 20;
    insert_projects(&pool, PROJECTS).await;
    let server = start(
        &database_url(&pool),
        // No access lines (the hammer is faster), but the line saying where it listens.
        &[
            ("DEPBADGE_CACHE_MAX_BYTES", "8MiB"),
            ("RUST_LOG", "warn,depbadge::cli=info"),
        ],
    );
    let client = reqwest::Client::new();
    wait_for(&client, &server, "/readyz", 200, Duration::from_secs(20)).await;
    let pid = server.child.id();
    let badge = |i: i32| format!("/badges/github.com/many/p{i}.svg");
    hammer(&server, (1..=100).map(badge).collect(), 4).await;
    let base = rss_bytes(pid);

    let phases: [(&str, Vec<String>); 4] = [
        ("reported slugs", (1..=PROJECTS).map(badge).collect()),
        (
            "slugs nobody reported",
            (1..=20_000)
                .map(|i| format!("/badges/github.com/nobody/q{i}.svg"))
                .collect(),
        ),
        (
            "labels",
            (1..=10_000)
                .map(|i| format!("/badge/label{i}-message-blue.svg"))
                .collect(),
        ),
        (
            "29 KB colors (spaces, then a valid color)",
            (1..=4_000)
                .map(|i| {
                    let color = if i % 2 == 0 { "red" } else { "blue" };
                    let padding = "+".repeat(29_000 + i);
                    format!("/badges/github.com/many/p{i}.svg?color={padding}{color}")
                })
                .collect(),
        ),
    ];
    // Each phase fills at most one part of the cache (a third of the budget); its growth must
    // stay within the whole budget, allocator slack included. A weigher that counts a third of
    // what an entry costs (as the status cache's once did) shows here as 11 MiB.
    let mut before = base;
    for (what, paths) in phases {
        let sent = paths.len() as u64;
        hammer(&server, paths, 8).await;
        let after = rss_bytes(pid);
        println!(
            "{what}: {sent} requests, RSS {} -> {} MiB ({} bytes per request)",
            before >> 20,
            after >> 20,
            after.saturating_sub(before) / sent
        );
        assert!(
            after.saturating_sub(before) <= BUDGET,
            "{what}: RSS grew by {} KiB, more than the whole cache budget",
            after.saturating_sub(before) >> 10
        );
        before = after;
    }
    let limit = BUDGET * 5 / 4 + (40 << 20);
    assert!(
        before <= limit,
        "RSS {} MiB after the stream (base {} MiB), over the {} MiB bound",
        before >> 20,
        base >> 20,
        limit >> 20
    );
}

/// Invented HTTP methods, each unique and long, add no metric series and no log text: they all
/// count, and are logged, as `other`.
#[sqlx::test]
async fn invented_methods_add_no_metric_series(pool: PgPool) {
    let mut server = start(&database_url(&pool), &[("DEPBADGE_SHUTDOWN_DELAY", "0")]);
    let client = reqwest::Client::new();
    wait_for(&client, &server, "/healthz", 200, Duration::from_secs(20)).await;
    let admin = server.admin;
    let scrape = || async move {
        reqwest::get(format!("http://{admin}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let before = scrape().await.len();
    for i in 0..500 {
        let method = format!("X{i}{}", "M".repeat(2_000));
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        let request = format!("{method} /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let answer = read_until_closed(&mut stream, Duration::from_secs(30)).await;
        assert!(answer.starts_with("HTTP/1.1 405"), "{answer}");
    }
    let metrics = scrape().await;
    assert!(
        crate::metrics::sample(
            &metrics,
            r#"http_requests_total{method="other",route="/healthz",status="405"}"#
        ) == Some(500.0),
        "{metrics}"
    );
    // One new series and its histogram, whatever the number of methods.
    assert!(
        metrics.len() < before + 4_096,
        "/metrics grew from {before} to {} bytes",
        metrics.len()
    );
    assert!(!metrics.contains("MMMM"));
    // The access log names them `other` too, and never writes what the client sent.
    let logs = server.stop().await;
    assert!(!logs.contains("MMMM"), "an invented method was logged");
    let logged = logs
        .lines()
        .filter(|line| line.contains(r#""method":"other""#) && line.contains(r#""status":405"#))
        .count();
    assert_eq!(logged, 500, "{logs}");
}
