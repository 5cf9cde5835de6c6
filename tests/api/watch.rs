//! `depbadge watch` (docs/watching.md): badges that turn when a registry publishes a release or
//! an advisory appears, without a push. No test reaches the Internet: each registry is a
//! stand-in inside the test, answering in the registry's own shape (fixtures captured from the
//! real registries, tests/fixtures/registries), and able to change its answer, fail or throttle.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use depbadge::config::{Config, Sources};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::badges::badge;
use crate::helpers::{TestApp, database_url, minutes_ago, spawn_listening_app};
use crate::metrics::sample;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
/// Every wait below ends here: a bound on a broken watcher, not a speed expectation.
const PATIENCE: Duration = Duration::from_secs(60);

/// One answer of a stand-in registry.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn ok(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            body: body.into(),
            headers: Vec::new(),
        }
    }

    pub fn status(status: u16) -> Self {
        Self {
            status,
            body: String::new(),
            headers: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// A request a stand-in received.
#[derive(Debug, Clone)]
pub struct Asked {
    pub path: String,
    pub at: Instant,
    pub headers: HeaderMap,
}

/// A registry inside the test: answers each path as told (404 for any other), honours
/// `If-None-Match` against the `ETag` it gives, and keeps every request it got.
#[derive(Clone, Default)]
pub struct StandIn {
    answers: Arc<Mutex<HashMap<String, Reply>>>,
    log: Arc<Mutex<Vec<Asked>>>,
    pub base: String,
}

impl StandIn {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address: SocketAddr = listener.local_addr().unwrap();
        let stand_in = Self {
            base: format!("http://{address}"),
            ..Self::default()
        };
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(stand_in.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        stand_in
    }

    pub fn answer(&self, path: &str, reply: Reply) {
        self.answers.lock().unwrap().insert(path.to_owned(), reply);
    }

    pub fn asked(&self, path: &str) -> Vec<Asked> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a.path == path)
            .cloned()
            .collect()
    }
}

async fn answer(
    State(stand_in): State<StandIn>,
    uri: Uri,
    headers: HeaderMap,
) -> impl IntoResponse {
    let path = uri.path().to_owned();
    stand_in.log.lock().unwrap().push(Asked {
        path: path.clone(),
        at: Instant::now(),
        headers: headers.clone(),
    });
    let reply = stand_in.answers.lock().unwrap().get(&path).cloned();
    let Some(reply) = reply else {
        return (StatusCode::NOT_FOUND, HeaderMap::new(), String::new());
    };
    let mut out = HeaderMap::new();
    for (name, value) in &reply.headers {
        out.insert(*name, value.parse().unwrap());
    }
    let etag = reply
        .headers
        .iter()
        .find(|(n, _)| *n == "etag")
        .map(|(_, v)| v.as_str());
    let asked_for = headers.get("if-none-match").and_then(|v| v.to_str().ok());
    if reply.status == 200 && etag.is_some() && etag == asked_for {
        return (StatusCode::NOT_MODIFIED, out, String::new());
    }
    (StatusCode::from_u16(reply.status).unwrap(), out, reply.body)
}

/// The npm registry's abbreviated metadata of left-pad (captured), with `latest` set to `newest`.
pub fn npm_left_pad(newest: &str) -> String {
    let mut document: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/registries/npm-left-pad.json")).unwrap(),
    )
    .unwrap();
    document["dist-tags"]["latest"] = json!(newest);
    document.to_string()
}

/// A watcher running in the test's process, stopped when dropped.
pub struct Watcher {
    pub admin: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Watcher {
    pub async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.admin))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn metric(&self, series: &str) -> f64 {
        sample(&self.metrics().await, series).unwrap_or(0.0)
    }
}

/// Checks every second, reads advisories every second, 50 requests a second.
pub async fn start_watcher(pool: &PgPool, env: &[(&str, &str)]) -> Watcher {
    let url = database_url(pool);
    let mut all = vec![
        ("DATABASE_URL", url.as_str()),
        ("DEPBADGE_METRICS_ADDR", "127.0.0.1:0"),
        ("DEPBADGE_WATCH_INTERVAL", "1s"),
        ("DEPBADGE_ADVISORIES_INTERVAL", "1s"),
        ("DEPBADGE_WATCH_RATE", "50"),
    ];
    all.extend_from_slice(env);
    let config = Config::from_sources(&Sources::from_env(all).unwrap()).unwrap();
    let admin = tokio::net::TcpListener::bind(config.metrics_addr)
        .await
        .unwrap();
    let address = admin.local_addr().unwrap();
    let pool = pool.clone();
    let task = tokio::spawn(async move {
        depbadge::watch::run(&config, admin, pool.into(), std::future::pending())
            .await
            .unwrap();
    });
    Watcher {
        admin: address,
        task,
    }
}

/// Polls `check` until it gives a value, for at most [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{what}: not within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn report(dependencies: Value) -> Value {
    json!({ "analyzed_at": minutes_ago(10), "dependencies": dependencies })
}

async fn label(app: &TestApp, slug: &str) -> String {
    badge(app, &format!("/badges/{slug}.svg"))
        .await
        .aria_label()
}

async fn document(app: &TestApp, slug: &str) -> Value {
    app.get_json(&format!("/v1/projects/{slug}")).await.1
}

#[sqlx::test]
async fn a_release_turns_a_badge_outdated_without_a_push(pool: PgPool) {
    let registry = StandIn::start().await;
    registry.answer(
        "/left-pad",
        Reply::ok(npm_left_pad("1.3.0")).with("etag", "\"v1\""),
    );
    // A confirmation changes no status and announces nothing: the JSON's `checked_at` is as old
    // as the cache's TTL at most (docs/decisions.md).
    let app = spawn_listening_app(pool.clone(), &[("DEPBADGE_CACHE_TTL", "1s")]).await;
    let slug = "github.com/w/release";
    app.put_report(
        slug,
        &report(json!([{ "purl": "pkg:npm/left-pad@1.3.0", "latest": "1.3.0" }])),
    )
    .await;
    assert_eq!(label(&app, slug).await, "dependencies: up to date");
    let before = badge(&app, &format!("/badges/{slug}.svg"))
        .await
        .header("last-modified")
        .to_owned();

    let watcher = start_watcher(&pool, &[("DEPBADGE_REGISTRY_NPM", &registry.base)]).await;
    // Checked and confirmed: nothing changes, and the JSON says when.
    let checked = eventually("the first check", || async {
        let document = document(&app, slug).await;
        (!document["checked_at"].is_null()).then_some(document)
    })
    .await;
    assert_eq!(checked["dependencies"][0]["latest_source"], "report");
    assert_eq!(label(&app, slug).await, "dependencies: up to date");
    let first = registry.asked("/left-pad")[0].clone();
    assert_eq!(
        first.headers["accept"],
        "application/vnd.npm.install-v1+json"
    );
    assert!(
        first.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("depbadge/")
    );
    // The next check is conditional, and the 304 confirms what was known.
    eventually("a conditional check", || async {
        registry
            .asked("/left-pad")
            .iter()
            .any(|a| {
                a.headers
                    .get("if-none-match")
                    .is_some_and(|v| v == "\"v1\"")
            })
            .then_some(())
    })
    .await;
    assert_eq!(label(&app, slug).await, "dependencies: up to date");

    // A release: the badge turns without a push, and its Last-Modified moves.
    registry.answer(
        "/left-pad",
        Reply::ok(npm_left_pad("1.4.0")).with("etag", "\"v2\""),
    );
    eventually("the badge turning outdated", || async {
        (label(&app, slug).await == "dependencies: 1 of 1 outdated").then_some(())
    })
    .await;
    let after = badge(&app, &format!("/badges/{slug}.svg")).await;
    assert_ne!(after.header("last-modified"), before);
    let document = document(&app, slug).await;
    assert_eq!(document["dependencies"][0]["latest"], "1.4.0");
    assert_eq!(document["dependencies"][0]["latest_source"], "registry");
    assert_eq!(document["status"], "out-of-date");
    assert!(
        watcher
            .metric(r#"depbadge_registry_requests_total{registry="npm",result="changed"}"#)
            .await
            >= 2.0
    );
    assert_eq!(watcher.metric("depbadge_watch_active").await, 1.0);
    assert!(watcher.metric("depbadge_status_recomputes_total").await >= 1.0);

    // The page says what the data dates from.
    let page = app
        .client
        .get(app.url(&format!("/projects/{slug}")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Data as of: registries checked"), "{page}");
}

#[sqlx::test]
async fn a_push_after_a_release_is_computed_with_the_registrys_newest(pool: PgPool) {
    let registry = StandIn::start().await;
    registry.answer("/left-pad", Reply::ok(npm_left_pad("2.0.0")));
    let app = spawn_listening_app(pool.clone(), &[]).await;
    let _watcher = start_watcher(&pool, &[("DEPBADGE_REGISTRY_NPM", &registry.base)]).await;
    let slug = "github.com/w/first";
    app.put_report(
        slug,
        &report(json!([{ "purl": "pkg:npm/left-pad@1.3.0", "latest": "1.3.0" }])),
    )
    .await;
    // A package first named by a report is checked at once.
    eventually("the new package's check", || async {
        (label(&app, slug).await == "dependencies: 1 of 1 outdated").then_some(())
    })
    .await;
    // Another project pushes the old answer: its badge is right from the first write.
    let late = "github.com/w/second";
    let response = app
        .put_report(
            late,
            &report(json!([{ "purl": "pkg:npm/left-pad@1.3.0", "latest": "1.3.0" }])),
        )
        .await;
    let written: Value = response.json().await.unwrap();
    assert_eq!(written["status"], "out-of-date");
    assert_eq!(written["dependencies"][0]["latest_source"], "registry");
    assert_eq!(label(&app, late).await, "dependencies: 1 of 1 outdated");
}

fn osv_directory(records: &[(&str, Value)]) -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    for (name, record) in records {
        std::fs::write(directory.path().join(name), record.to_string()).unwrap();
    }
    directory
}

fn lodash_record() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/osv/GHSA-35jh-r3h4-6jhm.json")).unwrap(),
    )
    .unwrap()
}

#[sqlx::test]
async fn an_osv_record_turns_a_badge_insecure_once_with_its_aliases_and_a_withdrawn_one_does_nothing(
    pool: PgPool,
) {
    // `advisories_as_of` moves without a status change: seen within the cache's TTL.
    let app = spawn_listening_app(pool.clone(), &[("DEPBADGE_CACHE_TTL", "1s")]).await;
    let plain = "github.com/w/plain";
    let reported = "github.com/w/reported";
    let fixed = "github.com/w/fixed";
    let es = "github.com/w/es";
    let minimist = "github.com/w/minimist";
    app.put_report(
        plain,
        &report(json!([{ "purl": "pkg:npm/lodash@4.17.20", "latest": "4.17.20" }])),
    )
    .await;
    // The report's own advisory is the record's alias: one advisory, not two.
    app.put_report(
        reported,
        &report(
            json!([{ "purl": "pkg:npm/lodash@4.17.20", "latest": "4.17.20",
                         "advisories": [{ "id": "CVE-2021-23337", "severity": "high" }] }]),
        ),
    )
    .await;
    app.put_report(
        fixed,
        &report(json!([{ "purl": "pkg:npm/lodash@4.17.21", "latest": "4.17.21" }])),
    )
    .await;
    app.put_report(
        minimist,
        &report(json!([{ "purl": "pkg:npm/minimist@1.0.0", "latest": "1.0.0" }])),
    )
    .await;
    app.put_report(
        es,
        &report(json!([{ "purl": "pkg:npm/lodash-es@4.17.20", "latest": "4.17.20" }])),
    )
    .await;
    assert_eq!(label(&app, plain).await, "dependencies: up to date");

    // The same record under its CVE id (as NVD-derived databases publish it): counted once.
    let mut cve_twin = lodash_record();
    cve_twin["id"] = json!("CVE-2021-23337");
    cve_twin["aliases"] = json!(["GHSA-35jh-r3h4-6jhm"]);
    cve_twin["affected"] = json!([cve_twin["affected"][0].clone()]);
    // A withdrawn record for minimist (the GHSA's shape, withdrawn): it must change nothing.
    let mut withdrawn = lodash_record();
    withdrawn["id"] = json!("GHSA-0000-0000-0000");
    withdrawn["aliases"] = json!([]);
    withdrawn["withdrawn"] = json!("2024-01-01T00:00:00Z");
    withdrawn["affected"][0]["package"]["name"] = json!("minimist");
    withdrawn["affected"] = json!([withdrawn["affected"][0].clone()]);

    let records = osv_directory(&[
        ("GHSA-35jh-r3h4-6jhm.json", lodash_record()),
        ("CVE-2021-23337.json", cve_twin),
        ("withdrawn.json", withdrawn),
    ]);
    let source = records.path().to_str().unwrap().to_owned();
    let watcher = start_watcher(&pool, &[("DEPBADGE_ADVISORIES", &source)]).await;
    eventually("the badge turning insecure", || async {
        (label(&app, plain).await == "dependencies: 1 insecure").then_some(())
    })
    .await;
    // Read in the same pass and recomputed in the same transaction as lodash: the withdrawn
    // record would show by now.
    assert_eq!(label(&app, minimist).await, "dependencies: up to date");
    assert!(document(&app, plain).await["advisories_as_of"].is_string());
    let document_plain = document(&app, plain).await;
    let advisories = document_plain["dependencies"][0]["advisories"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(advisories.len(), 1, "{advisories:?}");
    assert_eq!(advisories[0]["severity"], "high");
    let document_reported = document(&app, reported).await;
    let advisories = document_reported["dependencies"][0]["advisories"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(
        advisories,
        [json!({ "id": "CVE-2021-23337", "severity": "high" })]
    );
    assert_eq!(document_reported["counts"]["vulnerable"], 1);
    assert_eq!(label(&app, fixed).await, "dependencies: up to date");
    // lodash-es is in the GHSA record too.
    eventually("lodash-es turning insecure", || async {
        (label(&app, es).await == "dependencies: 1 insecure").then_some(())
    })
    .await;
    assert!(watcher.metric("depbadge_advisories_loaded").await >= 2.0);
}

#[sqlx::test]
async fn registry_errors_and_404s_keep_what_was_known(pool: PgPool) {
    let registry = StandIn::start().await;
    registry.answer("/left-pad", Reply::ok(npm_left_pad("2.0.0")));
    registry.answer("/failing", Reply::status(500));
    // "/private" is not answered: 404, like a private package the public registry does not know.
    let app = spawn_listening_app(pool.clone(), &[]).await;
    app.put_report(
        "github.com/w/known",
        &report(json!([{ "purl": "pkg:npm/left-pad@1.3.0", "latest": "1.3.0" }])),
    )
    .await;
    app.put_report(
        "github.com/w/failing",
        &report(json!([{ "purl": "pkg:npm/failing@1.0.0" }])),
    )
    .await;
    app.put_report(
        "github.com/w/private",
        &report(json!([{ "purl": "pkg:npm/private@1.0.0" }])),
    )
    .await;
    let watcher = start_watcher(&pool, &[("DEPBADGE_REGISTRY_NPM", &registry.base)]).await;
    eventually("the release", || async {
        (label(&app, "github.com/w/known").await == "dependencies: 1 of 1 outdated").then_some(())
    })
    .await;
    // Now the registry fails for it too.
    registry.answer("/left-pad", Reply::status(500));
    let asked = registry.asked("/left-pad").len();
    eventually("a failed check", || async {
        (registry.asked("/left-pad").len() > asked).then_some(())
    })
    .await;
    eventually("404 and 500 both seen", || async {
        (!registry.asked("/private").is_empty() && !registry.asked("/failing").is_empty())
            .then_some(())
    })
    .await;
    let metrics = watcher.metrics().await;
    assert!(
        sample(
            &metrics,
            r#"depbadge_registry_requests_total{registry="npm",result="error"}"#
        )
        .unwrap_or(0.0)
            >= 2.0,
        "{metrics}"
    );
    assert!(
        sample(
            &metrics,
            r#"depbadge_registry_requests_total{registry="npm",result="not_found"}"#
        )
        .unwrap_or(0.0)
            >= 1.0,
        "{metrics}"
    );
    // Nothing became up to date, and what was known stays.
    assert_eq!(
        label(&app, "github.com/w/known").await,
        "dependencies: 1 of 1 outdated"
    );
    assert_eq!(
        document(&app, "github.com/w/known").await["dependencies"][0]["latest"],
        "2.0.0"
    );
    assert_eq!(
        label(&app, "github.com/w/failing").await,
        "dependencies: unknown"
    );
    assert_eq!(
        label(&app, "github.com/w/private").await,
        "dependencies: unknown"
    );
    assert!(document(&app, "github.com/w/private").await["checked_at"].is_null());
}

#[sqlx::test]
async fn a_registry_that_answers_429_gets_nothing_before_its_retry_after(pool: PgPool) {
    let registry = StandIn::start().await;
    registry.answer("/left-pad", Reply::status(429).with("retry-after", "3"));
    let app = spawn_listening_app(pool.clone(), &[]).await;
    app.put_report(
        "github.com/w/a",
        &report(json!([{ "purl": "pkg:npm/left-pad@1.3.0", "latest": "1.3.0" }])),
    )
    .await;
    app.put_report(
        "github.com/w/b",
        &report(json!([{ "purl": "pkg:npm/other@1.0.0", "latest": "1.0.0" }])),
    )
    .await;
    let watcher = start_watcher(&pool, &[("DEPBADGE_REGISTRY_NPM", &registry.base)]).await;
    let throttled = eventually("the 429", || async {
        registry.asked("/left-pad").first().map(|a| a.at)
    })
    .await;
    // Released after its Retry-After: the check goes through.
    tokio::time::sleep(Duration::from_millis(500)).await;
    registry.answer("/left-pad", Reply::ok(npm_left_pad("2.0.0")));
    eventually("the check after the wait", || async {
        (label(&app, "github.com/w/a").await == "dependencies: 1 of 1 outdated").then_some(())
    })
    .await;
    let all: Vec<Instant> = registry.log.lock().unwrap().iter().map(|a| a.at).collect();
    let during: Vec<&Instant> = all
        .iter()
        .filter(|at| **at > throttled && at.duration_since(throttled) < Duration::from_secs(3))
        .collect();
    assert!(
        during.is_empty(),
        "{} requests within the 3 s Retry-After",
        during.len()
    );
    assert!(
        watcher
            .metric(r#"depbadge_registry_requests_total{registry="npm",result="throttled"}"#)
            .await
            >= 1.0
    );
}

#[sqlx::test]
async fn a_package_used_by_many_projects_turns_all_of_their_badges(pool: PgPool) {
    let registry = StandIn::start().await;
    registry.answer("/left-pad", Reply::ok(npm_left_pad("1.3.0")));
    let app = spawn_listening_app(pool.clone(), &[]).await;
    let projects = 1_200; // more than two batches
    for i in 0..projects {
        app.put_report(
            &format!("github.com/many/p{i}"),
            &report(json!([{ "purl": "pkg:npm/left-pad@1.3.0", "latest": "1.3.0" }, { "purl": format!("pkg:cargo/own{i}@1.0.0"), "latest": "1.0.0" }])),
        )
        .await;
    }
    let watcher = start_watcher(&pool, &[("DEPBADGE_REGISTRY_NPM", &registry.base)]).await;
    eventually("the first check", || async {
        (!registry.asked("/left-pad").is_empty()).then_some(())
    })
    .await;
    registry.answer("/left-pad", Reply::ok(npm_left_pad("1.4.0")));
    eventually("every status recomputed", || async {
        let outdated: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM project_statuses WHERE scope = 'runtime' AND status = 'out-of-date'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        (outdated == projects).then_some(())
    })
    .await;
    for i in [0, projects / 2, projects - 1] {
        assert_eq!(
            label(&app, &format!("github.com/many/p{i}")).await,
            "dependencies: 1 of 2 outdated"
        );
    }
    assert!(watcher.metric("depbadge_status_recomputes_total").await >= projects as f64);
    // One request per package per check, never one per project: every request was for
    // left-pad (the only npm package), far fewer than the projects that use it.
    let requests = registry.log.lock().unwrap().len();
    assert_eq!(registry.asked("/left-pad").len(), requests);
    assert!(requests < projects as usize / 10, "{requests} requests");
}

#[sqlx::test]
async fn a_newer_release_reaches_the_json_even_when_the_status_stays(pool: PgPool) {
    let registry = StandIn::start().await;
    registry.answer("/left-pad", Reply::ok(npm_left_pad("2.0.0")));
    // The default cache TTL (10 minutes): only the watcher's announcement refreshes the JSON.
    let app = spawn_listening_app(pool.clone(), &[]).await;
    let slug = "github.com/w/stays";
    app.put_report(
        slug,
        &report(json!([{ "purl": "pkg:npm/left-pad@1.3.0", "latest": "1.3.0" }])),
    )
    .await;
    let _watcher = start_watcher(&pool, &[("DEPBADGE_REGISTRY_NPM", &registry.base)]).await;
    eventually("2.0.0 in the JSON", || async {
        (document(&app, slug).await["dependencies"][0]["latest"] == "2.0.0").then_some(())
    })
    .await;
    registry.answer("/left-pad", Reply::ok(npm_left_pad("3.0.0")));
    eventually("3.0.0 in the JSON", || async {
        (document(&app, slug).await["dependencies"][0]["latest"] == "3.0.0").then_some(())
    })
    .await;
    assert_eq!(label(&app, slug).await, "dependencies: 1 of 1 outdated");
}

async fn scrape_process(server: &crate::binary::Server) -> String {
    match reqwest::get(format!("http://{}/metrics", server.admin)).await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Every `depbadge_registry_requests_total` series of a scrape, summed.
fn registry_requests(metrics: &str) -> f64 {
    metrics
        .lines()
        .filter(|line| line.starts_with("depbadge_registry_requests_total{"))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

#[sqlx::test]
async fn two_watchers_poll_as_one_and_the_standby_takes_over_after_sigkill(pool: PgPool) {
    let registry = StandIn::start().await;
    registry.answer("/left-pad", Reply::ok(npm_left_pad("1.3.0")));
    let app = spawn_listening_app(pool.clone(), &[]).await;
    let slug = "github.com/w/failover";
    app.put_report(
        slug,
        &report(json!([{ "purl": "pkg:npm/left-pad@1.3.0", "latest": "1.3.0" }])),
    )
    .await;
    let url = database_url(&pool);
    let env = [
        ("DEPBADGE_REGISTRY_NPM", registry.base.as_str()),
        ("DEPBADGE_WATCH_INTERVAL", "1s"),
        ("DEPBADGE_LOG_FORMAT", "text"),
    ];
    let mut watchers = [
        crate::binary::start_watcher(&url, &env),
        crate::binary::start_watcher(&url, &env),
    ];
    // Exactly one is active, and only it asks the registry.
    let active = eventually("one active watcher", || async {
        let a = sample(&scrape_process(&watchers[0]).await, "depbadge_watch_active");
        let b = sample(&scrape_process(&watchers[1]).await, "depbadge_watch_active");
        match (a, b) {
            (Some(1.0), Some(0.0)) => Some(0),
            (Some(0.0), Some(1.0)) => Some(1),
            _ => None,
        }
    })
    .await;
    let standby = 1 - active;
    eventually("three checks", || async {
        (registry.asked("/left-pad").len() >= 3).then_some(())
    })
    .await;
    let asked = registry.asked("/left-pad").len() as f64;
    let by_active = registry_requests(&scrape_process(&watchers[active]).await);
    let by_standby = registry_requests(&scrape_process(&watchers[standby]).await);
    assert_eq!(by_standby, 0.0, "the standby asked the registry");
    assert!(
        by_active >= 3.0 && by_active <= asked,
        "{by_active} counted, {asked} received"
    );

    // SIGKILL: no goodbye; PostgreSQL ends its session and frees the lock.
    watchers[active].child.kill().unwrap();
    watchers[active].child.wait().unwrap();
    let killed = Instant::now();
    eventually("the standby taking over", || async {
        (sample(
            &scrape_process(&watchers[standby]).await,
            "depbadge_watch_active",
        ) == Some(1.0))
        .then_some(())
    })
    .await;
    println!(
        "the standby took over {:?} after the SIGKILL",
        killed.elapsed()
    );
    registry.answer("/left-pad", Reply::ok(npm_left_pad("1.4.0")));
    eventually(
        "the badge turning through the new active watcher",
        || async { (label(&app, slug).await == "dependencies: 1 of 1 outdated").then_some(()) },
    )
    .await;
    assert!(registry_requests(&scrape_process(&watchers[standby]).await) >= 1.0);
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/registries/{name}")).unwrap()
}

/// PyPI's `/pypi/six/json` (captured), with `info.version` set to `newest`.
fn pypi_six(newest: &str) -> String {
    let mut document: Value = serde_json::from_str(&fixture("pypi-six.json")).unwrap();
    document["info"]["version"] = json!(newest);
    document.to_string()
}

/// The sparse index file of `log` (captured), with `extra` lines appended.
fn crates_log(extra: &[&str]) -> String {
    let mut index = fixture("crates-log");
    for vers in extra {
        index.push_str(&format!("{{\"name\":\"log\",\"vers\":\"{vers}\",\"deps\":[],\"cksum\":\"00\",\"features\":{{}},\"yanked\":false}}\n"));
    }
    index
}

#[sqlx::test]
async fn every_registry_is_read_in_its_own_shape(pool: PgPool) {
    let registry = StandIn::start().await;
    let (npm, pypi, cargo, gem, go) = (
        "/left-pad",
        "/pypi/six/json",
        "/3/l/log",
        "/api/v1/versions/rake/latest.json",
        "/github.com/!burnt!sushi/toml/@latest",
    );
    registry.answer(npm, Reply::ok(npm_left_pad("1.3.0")));
    registry.answer(pypi, Reply::ok(pypi_six("1.17.0")));
    registry.answer(cargo, Reply::ok(crates_log(&[])));
    registry.answer(gem, Reply::ok(r#"{"version":"13.2.1"}"#));
    registry.answer(
        go,
        Reply::ok(r#"{"Version":"v1.5.0","Time":"2025-03-01T10:00:00Z"}"#),
    );
    registry.answer(
        "/pypi/six/1.17.0/json",
        Reply::ok(r#"{"info":{"version":"1.17.0"},"vulnerabilities":[]}"#),
    );
    let app = spawn_listening_app(pool.clone(), &[]).await;
    let slug = "github.com/w/every";
    app.put_report(
        slug,
        &report(json!([
            { "purl": "pkg:npm/left-pad@1.3.0" },
            { "purl": "pkg:pypi/six@1.17.0" },
            { "purl": "pkg:cargo/log@0.4.35" },
            { "purl": "pkg:gem/rake@13.2.1" },
            { "purl": "pkg:golang/github.com/BurntSushi/toml@v1.5.0" },
        ])),
    )
    .await;
    // No `latest` in the report: unknown, until the registries say.
    assert_eq!(label(&app, slug).await, "dependencies: unknown");
    let base = registry.base.as_str();
    let _watcher = start_watcher(
        &pool,
        &[
            ("DEPBADGE_REGISTRY_NPM", base),
            ("DEPBADGE_REGISTRY_PYPI", base),
            ("DEPBADGE_REGISTRY_CARGO", base),
            ("DEPBADGE_REGISTRY_GEM", base),
            ("DEPBADGE_REGISTRY_GOLANG", base),
        ],
    )
    .await;
    eventually("every registry's newest", || async {
        (label(&app, slug).await == "dependencies: up to date").then_some(())
    })
    .await;
    let read = document(&app, slug).await;
    for dependency in read["dependencies"].as_array().unwrap() {
        assert_eq!(dependency["latest_source"], "registry", "{dependency}");
        assert_eq!(dependency["freshness"], "up-to-date", "{dependency}");
    }

    // A release in each: a yanked and a pre-release crate do not count.
    registry.answer(npm, Reply::ok(npm_left_pad("1.4.0")));
    registry.answer(pypi, Reply::ok(pypi_six("1.18.0")));
    registry.answer(gem, Reply::ok(r#"{"version":"13.3.0"}"#));
    registry.answer(
        go,
        Reply::ok(r#"{"Version":"v1.6.0","Time":"2026-03-01T10:00:00Z"}"#),
    );
    registry.answer(cargo, Reply::ok(crates_log(&["0.5.0-rc.1"])));
    eventually("four of five outdated", || async {
        (label(&app, slug).await == "dependencies: 4 of 5 outdated").then_some(())
    })
    .await;
    registry.answer(cargo, Reply::ok(crates_log(&["0.5.0-rc.1", "0.4.36"])));
    eventually("five of five outdated", || async {
        (label(&app, slug).await == "dependencies: 5 of 5 outdated").then_some(())
    })
    .await;
    let read = document(&app, slug).await;
    let latest: Vec<&str> = read["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["latest"].as_str().unwrap())
        .collect();
    assert_eq!(latest, ["1.4.0", "1.18.0", "0.4.36", "13.3.0", "v1.6.0"]);

    // PyPI lists an advisory for the release in use (the shape of its JSON API).
    registry.answer(
        "/pypi/six/1.17.0/json",
        Reply::ok(
            json!({"info": {"version": "1.17.0"}, "vulnerabilities": [{
                "aliases": ["CVE-2099-0001"], "details": "…", "fixed_in": ["1.18.0"],
                "id": "PYSEC-2099-1", "link": "https://osv.dev/vulnerability/PYSEC-2099-1",
                "source": "osv", "summary": null, "withdrawn": null}]})
            .to_string(),
        ),
    );
    eventually("six insecure through PyPI", || async {
        (label(&app, slug).await == "dependencies: 1 insecure").then_some(())
    })
    .await;
    let read = document(&app, slug).await;
    assert_eq!(
        read["dependencies"][1]["advisories"][0]["id"],
        "PYSEC-2099-1"
    );
    assert_eq!(
        read["dependencies"][1]["advisories"][0]["severity"],
        "unknown"
    );
}

#[sqlx::test]
async fn an_osv_all_zip_is_read_from_a_url_with_conditional_requests(pool: PgPool) {
    let registry = StandIn::start().await;
    let archive = {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file(
            "GHSA-35jh-r3h4-6jhm.json",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        std::io::Write::write_all(&mut zip, lodash_record().to_string().as_bytes()).unwrap();
        zip.finish().unwrap().into_inner()
    };
    // The body is served as text by the stand-in: the archive's bytes as one Latin-1-free
    // string would not survive, so it is served by a route of its own.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let hits = Arc::new(Mutex::new(Vec::<Option<String>>::new()));
    let seen = hits.clone();
    let router = axum::Router::new().route(
        "/npm/all.zip",
        axum::routing::get(move |headers: HeaderMap| {
            let archive = archive.clone();
            let seen = seen.clone();
            async move {
                let condition = headers
                    .get("if-none-match")
                    .map(|v| v.to_str().unwrap().to_owned());
                seen.lock().unwrap().push(condition.clone());
                if condition.as_deref() == Some("\"zip1\"") {
                    return (StatusCode::NOT_MODIFIED, [("etag", "\"zip1\"")], Vec::new());
                }
                (StatusCode::OK, [("etag", "\"zip1\"")], archive)
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    drop(registry);
    let app = spawn_listening_app(pool.clone(), &[]).await;
    let slug = "github.com/w/zip";
    app.put_report(
        slug,
        &report(json!([{ "purl": "pkg:npm/lodash@4.17.20", "latest": "4.17.20" }])),
    )
    .await;
    let url = format!("http://{address}/npm/all.zip");
    let _watcher = start_watcher(&pool, &[("DEPBADGE_ADVISORIES", &url)]).await;
    eventually("insecure through the archive", || async {
        (label(&app, slug).await == "dependencies: 1 insecure").then_some(())
    })
    .await;
    eventually("a conditional read", || async {
        hits.lock()
            .unwrap()
            .iter()
            .any(|c| c.as_deref() == Some("\"zip1\""))
            .then_some(())
    })
    .await;
    // A 304 keeps what the archive said.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(label(&app, slug).await, "dependencies: 1 insecure");
    assert_eq!(
        hits.lock().unwrap()[0],
        None,
        "the first read is unconditional"
    );
}

#[sqlx::test]
async fn reports_written_without_the_index_are_indexed_and_unnamed_packages_are_forgotten(
    pool: PgPool,
) {
    let registry = StandIn::start().await;
    registry.answer("/left-pad", Reply::ok(npm_left_pad("2.0.0")));
    let app = spawn_listening_app(pool.clone(), &[]).await;
    let slug = "github.com/w/older";
    app.put_report(
        slug,
        &report(json!([{ "purl": "pkg:npm/left-pad@1.3.0", "latest": "1.3.0" }])),
    )
    .await;
    // As a release before the watcher leaves it: no reverse-index entry, no watched package.
    sqlx::query("UPDATE projects SET packages = NULL, packages_sha256 = NULL")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM watched_packages")
        .execute(&pool)
        .await
        .unwrap();
    let _watcher = start_watcher(&pool, &[("DEPBADGE_REGISTRY_NPM", &registry.base)]).await;
    eventually("indexed, watched and recomputed", || async {
        (label(&app, slug).await == "dependencies: 1 of 1 outdated").then_some(())
    })
    .await;
    let packages: Vec<String> = sqlx::query_scalar("SELECT unnest(packages) FROM projects")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(packages, ["npm/left-pad"]);

    // Deleted: no report names left-pad any more, and it is no longer checked.
    let deleted = app
        .client
        .delete(app.url(&format!("/v1/projects/{slug}")))
        .bearer_auth(crate::helpers::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 204);
    eventually("forgotten", || async {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM watched_packages")
            .fetch_one(&pool)
            .await
            .unwrap();
        (left == 0).then_some(())
    })
    .await;
}
