//! Private projects and scoped tokens (docs/contract.md §12): a token writes only the slugs its
//! patterns cover; a private project is read only with one of its read keys (or a covering
//! token on the JSON API), and without one every answer is byte for byte what a slug nobody
//! reported gets; keys are shown once, stored hashed, revoked on every replica within a second.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sha2::Digest;
use sqlx::PgPool;

use crate::badges::badge;
use crate::helpers::{TOKEN, TestApp, spawn_app_with, spawn_listening_app, spec_example};
use crate::invalidation::NOTIFICATIONS;
use crate::metrics::{sample, scrape, wait_for_sample};

/// A token for `github.com/acme/*` and one exact slug.
pub const ACME: &str = "acme-token-0123456789abcdef";

pub fn token_lines() -> String {
    format!("test:{TOKEN}\nacme:{ACME}:github.com/acme/*, gitlab.com/g/r")
}

async fn spawn(pool: PgPool) -> TestApp {
    spawn_listening_app(pool, &[("DEPBADGE_API_TOKENS", &token_lines())]).await
}

fn private(mut report: Value) -> Value {
    report["visibility"] = json!("private");
    report
}

async fn put(app: &TestApp, slug: &str, token: &str, body: &Value) -> (u16, Value) {
    let response = app
        .client
        .put(app.url(&format!("/v1/projects/{slug}")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Creates a read key with `token`: its id and its text.
pub async fn create_key(app: &TestApp, slug: &str, token: &str) -> (String, String) {
    let response = app
        .client
        .post(app.url(&format!("/v1/projects/{slug}/keys")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    (
        body["id"].as_str().unwrap().to_owned(),
        body["key"].as_str().unwrap().to_owned(),
    )
}

async fn revoke(app: &TestApp, slug: &str, id: &str, token: &str) -> u16 {
    app.client
        .delete(app.url(&format!("/v1/projects/{slug}/keys/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// An answer as a client sees it: status, every header but `Date` and the request id, body.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

async fn answer(app: &TestApp, path: &str, token: Option<&str>) -> Answer {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = comparable(response.headers());
    Answer {
        status,
        headers,
        body: response.bytes().await.unwrap().to_vec(),
    }
}

fn comparable(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut kept: Vec<(String, String)> = headers
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("(not text)").to_owned(),
            )
        })
        .collect();
    kept.sort();
    kept
}

#[sqlx::test]
async fn a_token_writes_only_the_slugs_its_patterns_cover(pool: PgPool) {
    let app = spawn(pool).await;
    // Covered: by prefix (any depth below it), and the exact slug, in any case.
    for slug in [
        "github.com/acme/api",
        "github.com/ACME/web/sub",
        "gitlab.com/g/r",
    ] {
        assert_eq!(
            put(&app, slug, ACME, &spec_example()).await.0,
            201,
            "{slug}"
        );
    }
    // One project outside its patterns exists, one does not: the same 403 for both.
    assert_eq!(
        put(&app, "github.com/other/exists", TOKEN, &spec_example())
            .await
            .0,
        201
    );
    let counts = app.row_counts().await;
    let mut refusals = Vec::new();
    for slug in [
        "github.com/other/exists",
        "github.com/other/never",
        "github.com/acme-corp/api",
        "gitlab.com/g/r2",
    ] {
        let (status, body) = put(&app, slug, ACME, &spec_example()).await;
        assert_eq!(status, 403, "{slug}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
        refusals.push(body);
        for method in [reqwest::Method::DELETE, reqwest::Method::POST] {
            let path = match method {
                reqwest::Method::POST => format!("/v1/projects/{slug}/keys"),
                _ => format!("/v1/projects/{slug}"),
            };
            let response = app
                .client
                .request(method.clone(), app.url(&path))
                .bearer_auth(ACME)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 403, "{method} {path}");
        }
        let keys = app
            .client
            .get(app.url(&format!("/v1/projects/{slug}/keys")))
            .bearer_auth(ACME)
            .send()
            .await
            .unwrap();
        assert_eq!(keys.status(), 403, "GET keys of {slug}");
    }
    assert!(
        refusals.windows(2).all(|pair| pair[0] == pair[1]),
        "{refusals:?}"
    );
    // A refused body is not even read: an invalid one outside the patterns is a 403 too.
    let (status, _) = put(&app, "github.com/other/x", ACME, &json!({"nope": 1})).await;
    assert_eq!(status, 403);
    assert_eq!(app.row_counts().await, counts, "a refusal wrote nothing");
    assert_eq!(
        app.get_project("github.com/other/exists").await.status(),
        200,
        "not deleted"
    );
    // The token for every slug still writes anywhere.
    assert_eq!(
        put(&app, "github.com/acme/api", TOKEN, &spec_example())
            .await
            .0,
        200
    );
}

#[sqlx::test]
async fn visibility_is_set_by_the_report_the_url_or_the_default_and_kept_otherwise(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let slug = "github.com/acme/vis";
    let (status, body) = put(&app, slug, TOKEN, &private(spec_example())).await;
    assert_eq!((status, &body["visibility"]), (201, &json!("private")));
    // A report that does not say keeps the project's visibility; saying it again is a retry.
    let mut later = spec_example();
    later["analyzed_at"] = json!(crate::helpers::minutes_ago(30));
    let (status, body) = put(&app, slug, TOKEN, &later).await;
    assert_eq!((status, &body["visibility"]), (200, &json!("private")));
    let (_, body) = put(&app, slug, TOKEN, &private(later.clone())).await;
    assert_eq!(body["changed"], false);
    // Only the visibility changes: a change, announced like any other.
    let mut public = later.clone();
    public["visibility"] = json!("public");
    let (status, body) = put(&app, slug, TOKEN, &public).await;
    assert_eq!(
        (status, &body["visibility"], &body["changed"]),
        (200, &json!("public"), &json!(true))
    );
    // `?visibility=` for any format, a BOM included.
    let bom = json!({
        "bomFormat": "CycloneDX", "specVersion": "1.5",
        "components": [{ "type": "library", "name": "left-pad", "version": "1.3.0",
                         "purl": "pkg:npm/left-pad@1.3.0" }]
    });
    let response = app
        .client
        .put(app.url("/v1/projects/github.com/acme/bom?visibility=private"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/vnd.cyclonedx+json")
        .json(&bom)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.json::<Value>().await.unwrap()["visibility"],
        "private"
    );
    // Bad input, naming the field; nothing written.
    let counts = app.row_counts().await;
    let mut bogus = spec_example();
    bogus["visibility"] = json!("internal");
    for (path, body) in [
        ("/v1/projects/github.com/acme/bad", bogus),
        (
            "/v1/projects/github.com/acme/bad?visibility=secret",
            spec_example(),
        ),
    ] {
        let response = app
            .client
            .put(app.url(path))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 422, "{path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["field"], "visibility", "{path}: {error}");
    }
    assert_eq!(app.row_counts().await, counts);
    // The URL's word wins over the body's.
    let response = app
        .client
        .put(app.url("/v1/projects/github.com/acme/both?visibility=public"))
        .bearer_auth(TOKEN)
        .json(&private(spec_example()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.json::<Value>().await.unwrap()["visibility"],
        "public"
    );

    // A service whose default is private: a new project is private unless its report says.
    let private_by_default = spawn_app_with(
        pool,
        &[
            ("DEPBADGE_API_TOKENS", &token_lines()),
            ("DEPBADGE_DEFAULT_VISIBILITY", "private"),
        ],
    )
    .await;
    let (_, body) = put(
        &private_by_default,
        "github.com/acme/new",
        TOKEN,
        &spec_example(),
    )
    .await;
    assert_eq!(body["visibility"], "private");
    let (_, body) = put(&private_by_default, slug, TOKEN, &later).await;
    assert_eq!(
        body["visibility"], "public",
        "an existing project keeps its own"
    );
}

/// Every option of every read route, without a key and with keys that are not the project's:
/// the same bytes and headers before the slug was ever reported and once it is private.
#[sqlx::test]
async fn without_its_key_a_private_project_is_answered_as_a_slug_nobody_reported(pool: PgPool) {
    let app = spawn(pool).await;
    // Outside the patterns of the ACME token, which reads it as anyone does.
    let slug = "github.com/other/secret";
    let other = "github.com/other/other";
    assert_eq!(
        put(&app, other, TOKEN, &private(spec_example())).await.0,
        201
    );
    let (_, others_key) = create_key(&app, other, TOKEN).await;
    let wrong_shape = "dbk_short";
    let wrong = format!("dbk_{}", "A".repeat(43));
    let mut paths = Vec::new();
    for style in ["flat", "flat-square", "plastic", "for-the-badge", "social"] {
        paths.push(format!("/badges/{slug}.svg?style={style}"));
    }
    for query in [
        "",
        "?label=deps&color=red&labelColor=blue",
        "?compact=true",
        "?scope=dev",
        "?scope=all",
        "?style=bogus",
    ] {
        paths.push(format!("/badges/{slug}.svg{query}"));
        paths.push(format!("/badges/{slug}.json{query}"));
    }
    paths.push(format!("/projects/{slug}"));
    paths.push(format!("/projects/{slug}?scope=dev"));
    paths.push(format!("/v1/projects/{slug}"));
    paths.push(format!("/v1/projects/{slug}?scope=all"));
    let mut requests: Vec<(String, Option<&str>)> = Vec::new();
    for path in &paths {
        let joiner = if path.contains('?') { '&' } else { '?' };
        requests.push((path.clone(), None));
        for key in [wrong_shape, wrong.as_str(), others_key.as_str()] {
            requests.push((format!("{path}{joiner}key={key}"), None));
        }
        if path.starts_with("/v1/") {
            // A token whose patterns do not cover the slug reads it as anyone does.
            requests.push((path.clone(), Some(ACME)));
        }
    }
    let mut never_reported = Vec::new();
    for (path, token) in &requests {
        never_reported.push(answer(&app, path, *token).await);
    }
    assert!(
        never_reported
            .iter()
            .any(|a| a.status == 200 && a.body.starts_with(b"<svg"))
    );

    // The project is reported, private, with a key; then one key revoked.
    assert_eq!(
        put(&app, slug, TOKEN, &private(spec_example())).await.0,
        201
    );
    let (revoked_id, revoked) = create_key(&app, slug, TOKEN).await;
    let (_, key) = create_key(&app, slug, TOKEN).await;
    assert_eq!(revoke(&app, slug, &revoked_id, TOKEN).await, 204);
    // Read with the key until its answer is kept and given before the router: from then on,
    // that answer is there for any request of the same path to be given.
    let kept = r#"depbadge_badge_kept_answers_total{badge="project"}"#;
    let kept_before = sample(&scrape(&app).await, kept).unwrap_or(0.0);
    for _ in 0..3 {
        let with_key = answer(&app, &format!("/badges/{slug}.svg?key={key}"), None).await;
        assert!(
            String::from_utf8_lossy(&with_key.body).contains("1 of 1 outdated"),
            "the key reads the badge"
        );
    }
    assert!(
        sample(&scrape(&app).await, kept).unwrap_or(0.0) > kept_before,
        "the private badge's answer is kept for its key's holders"
    );

    for ((path, token), before) in requests.iter().zip(&never_reported) {
        let now = answer(&app, path, *token).await;
        assert_eq!(&now, before, "{path} with {token:?}");
        // Twice: the second from whatever this replica kept of the first.
        assert_eq!(&answer(&app, path, *token).await, before, "{path} again");
    }
    for path in &paths {
        let joiner = if path.contains('?') { '&' } else { '?' };
        let revoked_answer = answer(&app, &format!("{path}{joiner}key={revoked}"), None).await;
        let unknown_key = answer(&app, &format!("{path}{joiner}key={wrong}"), None).await;
        assert_eq!(revoked_answer, unknown_key, "{path} with a revoked key");
    }
}

#[sqlx::test]
async fn a_key_reads_every_route_privately_and_a_covering_token_reads_the_json(pool: PgPool) {
    let app = spawn(pool).await;
    let slug = "github.com/acme/private-api";
    assert_eq!(put(&app, slug, ACME, &private(spec_example())).await.0, 201);
    let (_, key) = create_key(&app, slug, ACME).await;

    let svg = answer(&app, &format!("/badges/{slug}.svg?key={key}"), None).await;
    let json_badge = answer(
        &app,
        &format!("/badges/{slug}.json?key={key}&scope=all"),
        None,
    )
    .await;
    let page = answer(&app, &format!("/projects/{slug}?key={key}"), None).await;
    let api_by_key = answer(&app, &format!("/v1/projects/{slug}?key={key}"), None).await;
    let api_by_token = answer(&app, &format!("/v1/projects/{slug}"), Some(ACME)).await;
    for (what, answer) in [
        ("svg", &svg),
        ("json badge", &json_badge),
        ("page", &page),
        ("api by key", &api_by_key),
        ("api by token", &api_by_token),
    ] {
        assert_eq!(answer.status, 200, "{what}");
        let header = |name: &str| {
            answer
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let cache_control = header("cache-control").unwrap_or_default();
        assert!(
            cache_control.starts_with("private, max-age="),
            "{what}: {cache_control}"
        );
        assert_eq!(
            header("referrer-policy").as_deref(),
            Some("no-referrer"),
            "{what}"
        );
    }
    assert!(String::from_utf8_lossy(&svg.body).contains("1 of 1 outdated"));
    let endpoint: Value = serde_json::from_slice(&json_badge.body).unwrap();
    assert_eq!(endpoint["message"], "1 insecure");
    let document: Value = serde_json::from_slice(&api_by_token.body).unwrap();
    assert_eq!(document["visibility"], "private");
    assert_eq!(document["status"], "out-of-date");
    // The page's badge and snippets carry the key the visitor came with.
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        html.contains(&format!("/badges/{slug}.svg?key={key}")),
        "{html}"
    );
    assert!(
        html.contains(&format!("[![dependencies](http://{}/badges/{slug}.svg?key={key})](http://{}/projects/{slug}?key={key})", app.address, app.address)),
        "{html}"
    );
    // The same page without a key: nothing reported, no key anywhere.
    let anonymous = answer(&app, &format!("/projects/{slug}"), None).await;
    assert_eq!(anonymous.status, 404);
    assert!(!String::from_utf8_lossy(&anonymous.body).contains("dbk_"));
    // The public badge of another project is unchanged by a key: public headers.
    assert_eq!(
        put(&app, "github.com/acme/open", ACME, &spec_example())
            .await
            .0,
        201
    );
    let open = answer(
        &app,
        &format!("/badges/github.com/acme/open.svg?key={key}"),
        None,
    )
    .await;
    assert!(
        open.headers.contains(&(
            "cache-control".to_owned(),
            "max-age=300, s-maxage=300".to_owned()
        )),
        "{open:?}"
    );
    assert!(
        !open
            .headers
            .iter()
            .any(|(name, _)| name == "referrer-policy")
    );
}

#[sqlx::test]
async fn the_listing_shows_private_projects_only_to_tokens_covering_them(pool: PgPool) {
    let app = spawn(pool).await;
    for (slug, report) in [
        ("github.com/acme/hidden", private(spec_example())),
        ("github.com/other/hidden", private(spec_example())),
        ("github.com/other/open", spec_example()),
    ] {
        assert_eq!(put(&app, slug, TOKEN, &report).await.0, 201);
    }
    let listed = |token: Option<&'static str>| {
        let app = &app;
        async move {
            let mut request = app.client.get(app.url("/v1/projects?limit=10"));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let page: Value = request.send().await.unwrap().json().await.unwrap();
            page["projects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["slug"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(None).await, ["github.com/other/open"]);
    assert_eq!(
        listed(Some(ACME)).await,
        ["github.com/acme/hidden", "github.com/other/open"]
    );
    assert_eq!(
        listed(Some(TOKEN)).await,
        [
            "github.com/acme/hidden",
            "github.com/other/hidden",
            "github.com/other/open"
        ]
    );
    let wrong = app
        .client
        .get(app.url("/v1/projects"))
        .bearer_auth("not-a-token-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

#[sqlx::test]
async fn keys_are_shown_once_stored_hashed_listed_without_secret_and_limited(pool: PgPool) {
    let app = spawn(pool).await;
    let slug = "github.com/acme/keys-test";
    // Keys of a project that does not exist: 404 to a covering token.
    let response = app
        .client
        .post(app.url(&format!("/v1/projects/{slug}/keys")))
        .bearer_auth(ACME)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(put(&app, slug, ACME, &private(spec_example())).await.0, 201);
    // The project's status is cached without keys; a key created now reads at once here.
    let cached = format!("/badges/{slug}.svg?key=dbk_{}", "C".repeat(43));
    assert_eq!(
        badge(&app, &cached).await.aria_label(),
        "dependencies: unknown"
    );
    let (_, first) = create_key(&app, slug, ACME).await;
    assert_eq!(
        badge(&app, &format!("/badges/{slug}.svg?key={first}"))
            .await
            .aria_label(),
        "dependencies: 1 of 1 outdated"
    );
    let mut keys = Vec::new();
    for _ in 0..15 {
        keys.push(create_key(&app, slug, ACME).await);
    }
    for (_, key) in &keys {
        assert!(key.starts_with("dbk_") && key.len() == 47, "{key}");
        // At least 128 random bits: 43 base64url characters are 256.
        assert!(
            key[4..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
    }
    let distinct: std::collections::HashSet<_> = keys.iter().map(|(_, k)| k).collect();
    assert_eq!(distinct.len(), 15);
    let response = app
        .client
        .post(app.url(&format!("/v1/projects/{slug}/keys")))
        .bearer_auth(ACME)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "too_many_keys");
    assert!(
        error["error"]["message"].as_str().unwrap().contains("16"),
        "{error}"
    );

    // Stored as SHA-256 only.
    let (id, key) = &keys[0];
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT key_sha256 FROM read_keys WHERE id = $1::uuid")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, sha2::Sha256::digest(key.as_bytes()).to_vec());
    let row: String = sqlx::query_scalar("SELECT row_to_json(k)::text FROM read_keys k LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!row.contains("dbk_"), "{row}");

    // Listed with ids and times, never the key.
    let listing = app
        .client
        .get(app.url(&format!("/v1/projects/{slug}/keys")))
        .bearer_auth(ACME)
        .send()
        .await
        .unwrap();
    assert_eq!(listing.status(), 200);
    let text = listing.text().await.unwrap();
    assert!(!text.contains("dbk_"), "{text}");
    let listed: Value = serde_json::from_str(&text).unwrap();
    let listed = listed["keys"].as_array().unwrap();
    assert_eq!(listed.len(), 16);
    assert_eq!(listed[1]["id"], json!(id));
    assert!(listed[0]["last_used_at"].is_null());
    // Without a token: 401; the key routes are not for readers.
    let anonymous = app
        .client
        .get(app.url(&format!("/v1/projects/{slug}/keys")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);

    // A use is recorded within seconds (a deadline, not a speed claim).
    assert_eq!(
        badge(&app, &format!("/badges/{slug}.svg?key={key}"))
            .await
            .aria_label(),
        "dependencies: 1 of 1 outdated"
    );
    let started = Instant::now();
    loop {
        let used: Option<chrono::DateTime<chrono::Utc>> =
            sqlx::query_scalar("SELECT last_used_at FROM read_keys WHERE id = $1::uuid")
                .bind(id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        if used.is_some() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "last_used_at never recorded"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Revoked: 204, then 404; the key reads nothing, at once, on this replica.
    assert_eq!(revoke(&app, slug, id, ACME).await, 204);
    assert_eq!(revoke(&app, slug, id, ACME).await, 404);
    assert_eq!(
        badge(&app, &format!("/badges/{slug}.svg?key={key}"))
            .await
            .aria_label(),
        "dependencies: unknown"
    );
    // Room for one more.
    create_key(&app, slug, ACME).await;
}

/// Revoking a key through one replica reaches another's cache (where the key's answers were
/// hits) through NOTIFY; and a project made private there stops its kept public answer too.
#[sqlx::test]
async fn revocation_and_a_change_of_visibility_reach_every_replica(pool: PgPool) {
    let a = spawn(pool.clone()).await;
    let b = spawn(pool).await;
    let slug = "github.com/acme/two-replicas";
    assert_eq!(put(&a, slug, TOKEN, &private(spec_example())).await.0, 201);
    let (id, key) = create_key(&a, slug, TOKEN).await;
    let with_key = format!("/badges/{slug}.svg?key={key}");
    let notified = sample(&scrape(&b).await, NOTIFICATIONS).unwrap_or(0.0);
    wait_for_sample(&b, NOTIFICATIONS, notified.max(2.0)).await;
    let hits = r#"depbadge_badge_cache_requests_total{result="hit"}"#;
    let before = sample(&scrape(&b).await, hits).unwrap_or(0.0);
    for _ in 0..3 {
        assert_eq!(
            badge(&b, &with_key).await.aria_label(),
            "dependencies: 1 of 1 outdated"
        );
    }
    assert!(
        sample(&scrape(&b).await, hits).unwrap_or(0.0) >= before + 2.0,
        "b answers the key from its cache"
    );

    assert_eq!(revoke(&a, slug, &id, TOKEN).await, 204);
    let took = until(&b, &with_key, "dependencies: unknown").await;
    println!("the revocation reached the other replica after {took:?}");

    // Public, with its default badge kept finished on b; made private through a.
    let mut public = spec_example();
    public["visibility"] = json!("public");
    public["analyzed_at"] = json!(crate::helpers::minutes_ago(30));
    assert_eq!(put(&a, slug, TOKEN, &public).await.0, 200);
    let plain = format!("/badges/{slug}.svg");
    until(&b, &plain, "dependencies: 1 of 1 outdated").await;
    for _ in 0..3 {
        assert_eq!(
            badge(&b, &plain).await.aria_label(),
            "dependencies: 1 of 1 outdated"
        );
    }
    let kept = r#"depbadge_badge_kept_answers_total{badge="project"}"#;
    assert!(
        sample(&scrape(&b).await, kept).unwrap_or(0.0) >= 1.0,
        "b answers the plain badge before the router:\n{}",
        scrape(&b).await
    );
    public["visibility"] = json!("private");
    assert_eq!(put(&a, slug, TOKEN, &public).await.0, 200);
    let took = until(&b, &plain, "dependencies: unknown").await;
    println!("the change to private reached the other replica after {took:?}");
    let after = badge(&b, &plain).await;
    assert_eq!(after.header("cache-control"), "no-cache");
}

/// Reads `path` on `app` until its badge says `expected`; fails after 10 s (a deadline: without
/// a notification the cache would keep the old answer for its 10-minute TTL).
async fn until(app: &TestApp, path: &str, expected: &str) -> Duration {
    let started = Instant::now();
    loop {
        let label = badge(app, path).await.aria_label();
        if label == expected {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{path}: still {label:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[sqlx::test]
async fn key_routes_are_told_from_slugs_by_the_path_as_sent(pool: PgPool) {
    let app = spawn(pool).await;
    let send = |method: reqwest::Method, path: &str, token: Option<&str>| {
        let mut request = app.client.request(method, app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            request
                .json(&spec_example())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    use reqwest::Method;
    // `…/keys` as sent is the key route: a PUT there is 405, token or not.
    assert_eq!(
        send(
            Method::PUT,
            "/v1/projects/github.com/acme/keys",
            Some(TOKEN)
        )
        .await,
        405
    );
    assert_eq!(
        send(Method::PUT, "/v1/projects/github.com/acme/keys", None).await,
        405
    );
    assert_eq!(
        send(
            Method::DELETE,
            "/v1/projects/github.com/acme/keys",
            Some(TOKEN)
        )
        .await,
        405
    );
    // The project named `keys` is reached with an escaped letter, on every JSON route.
    let escaped = "/v1/projects/github.com/acme/%6Beys";
    assert_eq!(send(Method::PUT, escaped, Some(TOKEN)).await, 201);
    assert_eq!(send(Method::GET, escaped, None).await, 200);
    assert_eq!(
        badge(&app, "/badges/github.com/acme/keys.svg")
            .await
            .aria_label(),
        "dependencies: 1 of 1 outdated"
    );
    // …while GET …/keys lists the keys of github.com/acme (no such project: 404).
    assert_eq!(
        send(
            Method::GET,
            "/v1/projects/github.com/acme/keys",
            Some(TOKEN)
        )
        .await,
        404
    );
    // A key route's token is asked for before its slug; a key id's other methods are 405.
    assert_eq!(send(Method::GET, "/v1/projects/0/keys", None).await, 401);
    assert_eq!(send(Method::POST, "/v1/projects/0/keys", None).await, 401);
    assert_eq!(
        send(Method::POST, "/v1/projects/0/keys", Some(TOKEN)).await,
        400
    );
    let key = "/v1/projects/github.com/acme/x/keys/0b0e6b6c-4a4e-4c57-9d3e-6f1f2a3b4c5d";
    assert_eq!(send(Method::PUT, key, Some(TOKEN)).await, 405);
    assert_eq!(send(Method::GET, key, None).await, 405);
    assert_eq!(send(Method::DELETE, key, Some(TOKEN)).await, 404);
    // POST anywhere else is 405, whatever the path.
    assert_eq!(
        send(Method::POST, "/v1/projects/github.com/acme/x", Some(TOKEN)).await,
        405
    );
    assert_eq!(send(Method::POST, "/v1/projects/0", None).await, 405);
    assert_eq!(send(Method::DELETE, escaped, Some(TOKEN)).await, 204);
}

/// The real binary's log lines, at the most verbose level, name no key, valid or not, however
/// the query spells the parameter; an export keeps keys' digests only, and an import restores
/// keys that work.
#[sqlx::test]
async fn keys_reach_neither_logs_nor_exports_and_an_import_restores_them(pool: PgPool) {
    use crate::binary::{run_cli, start, wait_for};
    use crate::helpers::database_url;
    let url = database_url(&pool);
    let mut server = start(
        &url,
        &[("RUST_LOG", "trace"), ("DEPBADGE_SHUTDOWN_DELAY", "0")],
    );
    let client = reqwest::Client::new();
    wait_for(&client, &server, "/readyz", 200, Duration::from_secs(20)).await;
    let slug = "github.com/acme/logged";
    let put = client
        .put(server.url(&format!("/v1/projects/{slug}")))
        .bearer_auth(TOKEN)
        .json(&private(spec_example()))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    let created: Value = client
        .post(server.url(&format!("/v1/projects/{slug}/keys")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = created["key"].as_str().unwrap().to_owned();
    let wrong = format!("dbk_{}", "B".repeat(43));
    for (path, status) in [
        (format!("/badges/{slug}.svg?key={key}"), 200),
        (format!("/badges/{slug}.svg?style=flat&key={wrong}"), 200),
        (format!("/badges/{slug}.json?%6Bey={key}"), 200),
        (format!("/projects/{slug}?key={key}"), 200),
        (format!("/v1/projects/{slug}?key={key}"), 200),
        (format!("/v1/projects/{slug}?k%65y={wrong}"), 404),
    ] {
        let response = client.get(server.url(&path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
    }
    let logs = server.stop().await;
    assert!(
        logs.contains(&format!("/badges/{slug}.svg?key=REDACTED")),
        "the access line shows the path, the key redacted:\n{logs}"
    );
    for secret in [key.as_str(), wrong.as_str(), &key[4..], &wrong[4..]] {
        assert!(
            !logs.contains(secret),
            "a key reached the logs:\n{}",
            logs.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    let env = [("DATABASE_URL", url.as_str())];
    let (code, exported, stderr) = run_cli(&["export"], &env);
    assert_eq!(code, 0, "{stderr}");
    assert!(!exported.contains(&key[4..]), "{exported}");
    let line: Value = serde_json::from_str(exported.lines().next().unwrap()).unwrap();
    assert_eq!(line["visibility"], "private");
    let digest: String = sha2::Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(line["read_keys"][0]["sha256"], json!(digest));
    assert_eq!(line["read_keys"][0]["id"], created["id"]);

    // Gone with its project; back with the import.
    sqlx::query("DELETE FROM projects")
        .execute(&pool)
        .await
        .unwrap();
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM read_keys")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "keys go with their project");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.jsonl");
    std::fs::write(&file, &exported).unwrap();
    let (code, _, stderr) = run_cli(&["import", file.to_str().unwrap()], &env);
    assert_eq!(code, 0, "{stderr}");
    let app = spawn(pool).await;
    assert_eq!(
        badge(&app, &format!("/badges/{slug}.svg?key={key}"))
            .await
            .aria_label(),
        "dependencies: 1 of 1 outdated"
    );
    assert_eq!(
        badge(&app, &format!("/badges/{slug}.svg"))
            .await
            .aria_label(),
        "dependencies: unknown",
        "still private"
    );
}

/// A malformed `DEPBADGE_API_TOKENS` line stops the start with exit code 2, naming the line and
/// the token's name, never the token.
#[test]
fn a_malformed_token_line_stops_the_start_naming_it_without_the_token() {
    let secret = "s3cr3t-value-0123456789";
    let tokens = format!("# tokens\nci:{TOKEN}\nteam-b:{secret}:github.com\n");
    let (code, stdout, stderr) = crate::binary::run_cli(
        &["serve"],
        &[
            ("DEPBADGE_API_TOKENS", tokens.as_str()),
            ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none"),
        ],
    );
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for expected in ["DEPBADGE_API_TOKENS", "line 3", "`team-b`", "`github.com`"] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }
    assert!(!stderr.contains(secret) && !stdout.contains(secret));
}
