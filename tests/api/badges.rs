use std::time::Duration;

use depbadge::badge::{BadgeSpec, Style};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{
    TestApp, days_ago, minutes_ago, raw_get, report_at, spawn_app, spawn_listening_app,
    spec_example,
};

/// A badge as fetched: status, headers and the SVG's accessible text and colors.
pub struct Badge {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Badge {
    pub fn aria_label(&self) -> String {
        let document = roxmltree::Document::parse(&self.body)
            .unwrap_or_else(|e| panic!("not XML ({e}): {}", self.body));
        document
            .root_element()
            .attribute("aria-label")
            .unwrap()
            .to_owned()
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    /// The message's background color: the second `<rect>`'s fill in the flat style.
    fn message_fill(&self) -> String {
        let document = roxmltree::Document::parse(&self.body).unwrap();
        let fills: Vec<_> = document
            .descendants()
            .filter(|n| n.has_tag_name("rect"))
            .filter_map(|n| n.attribute("fill"))
            .collect();
        fills[1].to_owned()
    }

    fn assert_is_an_image(&self) {
        assert_eq!(self.status, 200);
        assert_eq!(self.header("content-type"), "image/svg+xml;charset=utf-8");
        assert!(self.body.starts_with("<svg "), "{}", self.body);
    }
}

pub async fn badge(app: &TestApp, path: &str) -> Badge {
    fetch(app, path, &[]).await
}

pub async fn fetch(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Badge {
    let mut request = app.client.get(app.url(path));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    Badge {
        status,
        headers,
        body: response.text().await.unwrap(),
    }
}

#[sqlx::test]
async fn each_status_has_its_message_and_color(pool: PgPool) {
    // Its filter of known slugs built: a slug nobody reported is answered without a read.
    let app = crate::helpers::spawn_listening_app(pool, &[]).await;
    let reports = [
        (
            "fresh",
            report_at(&minutes_ago(120), "5.0.0", 12),
            "up to date",
            "#4b0",
        ),
        (
            "outdated",
            json!({"analyzed_at": minutes_ago(120), "dependencies": (0..12).map(|i| json!({"purl": format!("pkg:cargo/c{i}@{}", if i < 3 { "1.0.0" } else { "5.0.0" }), "latest": "5.0.0"})).collect::<Vec<_>>()}),
            "3 of 12 outdated",
            "#d8b800",
        ),
        (
            "insecure",
            spec_example_all_runtime(),
            "1 insecure",
            "#dd4343",
        ),
        ("empty", json!({"dependencies": []}), "none", "#4b0"),
        (
            "unknowable",
            json!({"dependencies": [{"purl": "pkg:cargo/a@1.0.0"}]}),
            "unknown",
            "#939393",
        ),
        (
            "stale",
            report_at(&days_ago(400), "5.0.0", 1),
            "up to date",
            "#939393",
        ),
    ];
    for (name, report, message, fill) in reports {
        assert!(
            app.put_report(&format!("github.com/badges/{name}"), &report)
                .await
                .status()
                .is_success()
        );
        let badge = badge(&app, &format!("/badges/github.com/badges/{name}.svg")).await;
        badge.assert_is_an_image();
        assert_eq!(
            badge.aria_label(),
            format!("dependencies: {message}"),
            "{name}"
        );
        assert_eq!(badge.message_fill(), fill, "{name}");
    }
    let badge = badge(&app, "/badges/github.com/badges/nobody-reported-this.svg").await;
    badge.assert_is_an_image();
    assert_eq!(badge.aria_label(), "dependencies: unknown");
    assert_eq!(badge.message_fill(), "#939393");
    // Resting on the filter alone, not cacheable (known_slugs.rs has the 60 s of a "no report"
    // the database gave).
    assert_eq!(badge.header("cache-control"), "no-cache");
}

fn spec_example_all_runtime() -> Value {
    let mut report = spec_example();
    report["dependencies"][1]["scope"] = json!("runtime");
    report
}

#[sqlx::test]
async fn badge_headers_follow_the_spec(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.put_report("github.com/a/b", &spec_example()).await;
    let badge = badge(&app, "/badges/github.com/a/b.svg").await;
    badge.assert_is_an_image();
    assert_eq!(badge.header("cache-control"), "max-age=300, s-maxage=300");
    assert_eq!(badge.header("access-control-allow-origin"), "*");
    assert_eq!(badge.header("cross-origin-resource-policy"), "cross-origin");
    assert_eq!(
        badge.header("content-security-policy"),
        "default-src 'none'; style-src 'unsafe-inline'"
    );
    let etag = badge.header("etag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"),
        "strong ETag: {etag}"
    );
    let (_, document) = app.get_json("/v1/projects/github.com/a/b").await;
    let updated_at: chrono::DateTime<chrono::Utc> =
        document["updated_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        badge.header("last-modified"),
        updated_at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
    );
}

#[sqlx::test]
async fn conditional_requests_get_304_without_a_body(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.put_report("github.com/a/b", &spec_example()).await;
    let first = badge(&app, "/badges/github.com/a/b.svg").await;
    let etag = first.header("etag").to_owned();
    let last_modified = first.header("last-modified").to_owned();

    for headers in [
        vec![("if-none-match", etag.as_str())],
        vec![("if-none-match", "\"other\", W/".to_owned().leak())],
        vec![("if-modified-since", last_modified.as_str())],
    ] {
        let again = fetch(&app, "/badges/github.com/a/b.svg", &headers).await;
        if headers[0].1.contains("other") && !headers[0].1.contains(&etag) {
            assert_eq!(again.status, 200, "a different ETag gets the badge");
            continue;
        }
        assert_eq!(again.status, 304, "{headers:?}");
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), etag);
    }
    let weak = format!("W/{etag}");
    assert_eq!(
        fetch(
            &app,
            "/badges/github.com/a/b.svg",
            &[("if-none-match", &weak)]
        )
        .await
        .status,
        304
    );
    let older = fetch(
        &app,
        "/badges/github.com/a/b.svg",
        &[("if-modified-since", "Mon, 01 Jan 2024 00:00:00 GMT")],
    )
    .await;
    assert_eq!(older.status, 200);
    // If-None-Match wins over If-Modified-Since.
    let mismatch = fetch(
        &app,
        "/badges/github.com/a/b.svg",
        &[
            ("if-none-match", "\"nope\""),
            ("if-modified-since", &last_modified),
        ],
    )
    .await;
    assert_eq!(mismatch.status, 200);
}

#[sqlx::test]
async fn styles_labels_scopes_and_colors_are_options(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.put_report("github.com/a/b", &spec_example()).await;
    for style in Style::ALL {
        let badge = badge(
            &app,
            &format!("/badges/github.com/a/b.svg?style={}", style.as_str()),
        )
        .await;
        badge.assert_is_an_image();
        let expected = BadgeSpec {
            label: "dependencies".into(),
            message: "1 of 1 outdated".into(),
            color: Some("yellow".into()),
            label_color: None,
            style,
        };
        assert_eq!(badge.body, expected.render_svg(), "{style:?}");
    }
    let cases = [
        ("?compact=true", "deps: 1 of 1 outdated", "#d8b800"),
        (
            "?label=rust%20deps",
            "rust deps: 1 of 1 outdated",
            "#d8b800",
        ),
        ("?scope=dev", "dependencies: 1 insecure", "#dd4343"),
        ("?scope=all", "dependencies: 1 insecure", "#dd4343"),
        ("?color=blue", "dependencies: 1 of 1 outdated", "#007ec6"),
        ("?color=ff69b4", "dependencies: 1 of 1 outdated", "#ff69b4"),
        (
            "?color=not-a-color",
            "dependencies: 1 of 1 outdated",
            "#d8b800",
        ),
        (
            "?labelColor=%23123456",
            "dependencies: 1 of 1 outdated",
            "#d8b800",
        ),
        (
            "?unknown=ignored",
            "dependencies: 1 of 1 outdated",
            "#d8b800",
        ),
    ];
    for (query, aria, fill) in cases {
        let badge = badge(&app, &format!("/badges/github.com/a/b.svg{query}")).await;
        badge.assert_is_an_image();
        assert_eq!(badge.aria_label(), aria, "{query}");
        assert_eq!(badge.message_fill(), fill, "{query}");
    }
    let label_colored = badge(&app, "/badges/github.com/a/b.svg?labelColor=%23123456").await;
    assert!(label_colored.body.contains("fill=\"#123456\""));
}

#[sqlx::test]
async fn every_failure_still_answers_an_image(pool: PgPool) {
    let app = spawn_app(pool).await;
    let invalid = [
        "/badges/localhost/repo.svg",
        "/badges/github.com/a/b",
        "/badges/github.com/a/b.png",
        "/badges/github.com/a/b.svg?style=3d",
        "/badges/github.com/a/b.svg?scope=build",
        "/badges/github.com/a/b.svg?compact=maybe",
        "/badges/github.com/a/b%ff.svg",
        "/badge/only-one-too-many-dashes.svg",
        "/badge/nosuffix-x-blue",
    ];
    for path in invalid {
        let badge = badge(&app, path).await;
        badge.assert_is_an_image();
        assert!(
            badge.aria_label().ends_with(": invalid"),
            "{path}: {}",
            badge.aria_label()
        );
        assert_eq!(badge.message_fill(), "#939393", "{path}");
    }
    for path in [
        "/badges/github.com/a/../b.svg",
        "/badges/github.com/a/%2E%2E/b.svg",
        "/badges/github.com/./a.svg",
    ] {
        let (status, body) = raw_get(app.address, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            body.contains("aria-label=\"dependencies: invalid\""),
            "{path}: {body}"
        );
    }
}

#[sqlx::test]
async fn a_database_outage_serves_the_last_known_badge_or_unavailable(pool: PgPool) {
    let app = known_badge_past_its_ttl(pool).await;

    app.pool.close().await;
    let stale = badge(&app, "/badges/github.com/a/known.svg").await;
    stale.assert_is_an_image();
    assert_eq!(
        stale.aria_label(),
        "dependencies: 1 of 1 outdated",
        "stale-if-error"
    );
    assert_eq!(stale.header("cache-control"), "max-age=60, s-maxage=60");

    let unavailable = badge(&app, "/badges/github.com/a/uncached.svg").await;
    unavailable.assert_is_an_image();
    assert_eq!(unavailable.aria_label(), "dependencies: unavailable");
    assert_eq!(unavailable.header("cache-control"), "no-cache");
}

/// An app with a 1 s cache TTL and two reported projects: `known`, whose badge was read and is
/// now past its TTL (a database read is due, the last known badge is there), and `uncached`,
/// whose badge was never read.
async fn known_badge_past_its_ttl(pool: PgPool) -> TestApp {
    let app = crate::helpers::spawn_listening_app(pool, &[("DEPBADGE_CACHE_TTL", "1s")]).await;
    app.put_report("github.com/a/known", &spec_example()).await;
    app.put_report("github.com/a/uncached", &spec_example())
        .await;
    // The writes' own notifications must not drop the badge cached below.
    crate::metrics::wait_for_sample(&app, crate::invalidation::NOTIFICATIONS, 2.0).await;
    let known = badge(&app, "/badges/github.com/a/known.svg").await;
    assert_eq!(known.aria_label(), "dependencies: 1 of 1 outdated");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app
}

#[sqlx::test]
async fn a_write_is_visible_in_the_next_badge_read_on_the_same_process(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.put_report("github.com/a/b", &report_at(&minutes_ago(120), "1.0.0", 2))
        .await;
    // Read three times: from the database, from the cache, and from the answer the cache kept.
    assert_eq!(
        read_thrice(&app, "/badges/github.com/a/b.svg").await,
        "dependencies: 2 of 2 outdated"
    );
    // The badge is cached and its answer kept now; the write must not wait for the TTL.
    app.put_report("github.com/a/b", &report_at(&minutes_ago(60), "5.0.0", 2))
        .await;
    assert_eq!(
        read_thrice(&app, "/badges/github.com/a/b.svg").await,
        "dependencies: up to date"
    );
    let delete = app.delete_project("github.com/a/b").await;
    assert_eq!(delete.status().as_u16(), 204);
    assert_eq!(
        badge(&app, "/badges/github.com/a/b.svg").await.aria_label(),
        "dependencies: unknown"
    );
}

/// The badge's text, the same in three reads in a row.
async fn read_thrice(app: &TestApp, path: &str) -> String {
    let first = badge(app, path).await.aria_label();
    for _ in 0..2 {
        assert_eq!(badge(app, path).await.aria_label(), first);
    }
    first
}

/// Repeated requests without a query string are answered before the router, from the answer kept
/// the last time (docs/performance.md): the router's answer exactly, validators, request id and
/// counters included. An empty query (`?`) is always routed, and answered alike.
#[sqlx::test]
async fn a_kept_answer_is_the_one_the_router_gives(pool: PgPool) {
    use crate::metrics::{sample, scrape};

    // Listening first: the cache is flushed when listening starts, which would drop the kept
    // answer between the requests below.
    let app = spawn_listening_app(pool, &[]).await;
    app.put_report("github.com/a/b", &spec_example()).await;
    // And the write's own notification heard: arriving later, it would invalidate the answer
    // kept meanwhile (under load it did).
    crate::metrics::wait_for_sample(&app, "depbadge_notifications_received_total", 1.0).await;
    for (path, route) in [
        ("/badges/github.com/a/b.svg", "/badges/{*path}"),
        ("/badge/build-passing-brightgreen.svg", "/badge/{*spec}"),
    ] {
        // A read from the database, then a hit that keeps its answer.
        let first = badge(&app, path).await;
        badge(&app, path).await;
        let etag = first.header("etag").to_owned();
        let last_modified = first
            .headers
            .get("last-modified")
            .map_or("Sat, 28 Nov 2026 00:00:00 GMT", |v| v.to_str().unwrap())
            .to_owned();
        for headers in [
            vec![],
            vec![("if-none-match", etag.as_str())],
            vec![("if-none-match", "\"other\"")],
            vec![("if-modified-since", last_modified.as_str())],
            vec![("if-modified-since", "Mon, 01 Jan 2024 00:00:00 GMT")],
            vec![("x-request-id", "given-by-the-client")],
        ] {
            let routed = fetch(&app, &format!("{path}?"), &headers).await;
            let before = scrape(&app).await;
            let kept = fetch(&app, path, &headers).await;
            let after = scrape(&app).await;

            let context = format!("{path} {headers:?}");
            assert_eq!(kept.status, routed.status, "{context}");
            assert_eq!(kept.body, routed.body, "{context}");
            let comparable = |badge: &Badge| {
                let mut headers: Vec<(String, String)> = badge
                    .headers
                    .iter()
                    .filter(|(name, _)| !matches!(name.as_str(), "date" | "x-request-id"))
                    .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
                    .collect();
                headers.sort();
                headers
            };
            assert_eq!(comparable(&kept), comparable(&routed), "{context}");
            let request_id = kept.header("x-request-id");
            if headers.iter().any(|(name, _)| *name == "x-request-id") {
                assert_eq!(request_id, "given-by-the-client");
            } else {
                assert_eq!(
                    uuid::Uuid::parse_str(request_id).unwrap().get_version_num(),
                    4
                );
            }

            let delta = |series: &str| {
                sample(&after, series).unwrap_or(0.0) - sample(&before, series).unwrap_or(0.0)
            };
            let requests = format!(
                r#"http_requests_total{{method="GET",route="{route}",status="{}"}}"#,
                kept.status
            );
            assert_eq!(delta(&requests), 1.0, "{context}");
            let hits = r#"depbadge_badge_cache_requests_total{result="hit"}"#;
            let project = route == "/badges/{*path}";
            assert_eq!(delta(hits), if project { 1.0 } else { 0.0 }, "{context}");
            // Answered from the kept answer, not by the router giving the same bytes.
            let kind = if project { "project" } else { "static" };
            let kept_answers = format!(r#"depbadge_badge_kept_answers_total{{badge="{kind}"}}"#);
            assert_eq!(delta(&kept_answers), 1.0, "{context}");
        }
    }
}

/// What a kept answer must never answer: a request with a query string (even one that changes
/// nothing), `HEAD`, the JSON badge, and a badge whose report has turned stale since its answer
/// was kept (the badge turns grey although the cached status is still fresh).
#[sqlx::test]
async fn a_kept_answer_never_answers_what_it_does_not_show(pool: PgPool) {
    use crate::metrics::{sample, scrape};

    let stale_after = 30 * 86_400;
    // Listening first: the cache is flushed when listening starts.
    let app = spawn_listening_app(pool, &[("DEPBADGE_STALE_AFTER", "30d")]).await;
    let slug = "github.com/kept/stale-soon";
    // Analyzed so that the report turns stale a few seconds from now.
    let analyzed_at = chrono::Utc::now() - chrono::Duration::seconds(stale_after - 3);
    let report = report_at(&analyzed_at.to_rfc3339(), "5.0.0", 2);
    assert_eq!(app.put_report(slug, &report).await.status().as_u16(), 201);
    // The write's own notification heard first: arriving later, it would drop the kept answer.
    crate::metrics::wait_for_sample(&app, "depbadge_notifications_received_total", 1.0).await;
    let path = format!("/badges/{slug}.svg");
    let kept_answers = |metrics: &str| {
        sample(
            metrics,
            r#"depbadge_badge_kept_answers_total{badge="project"}"#,
        )
        .unwrap_or(0.0)
    };

    // A read from the database, then a hit that keeps its answer, then the kept answer.
    let first = badge(&app, &path).await;
    badge(&app, &path).await;
    let before = scrape(&app).await;
    let kept = badge(&app, &path).await;
    assert_eq!(kept.body, first.body);
    assert_eq!(
        kept_answers(&scrape(&app).await) - kept_answers(&before),
        1.0
    );

    let before = scrape(&app).await;
    let flat_square = badge(&app, &format!("{path}?style=flat-square")).await;
    assert_ne!(flat_square.body, first.body, "the query string is honoured");
    badge(&app, &format!("{path}?")).await;
    let head = app
        .client
        .head(format!("http://{}{path}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 200);
    let json = badge(&app, &format!("/badges/{slug}.json")).await;
    assert_eq!(json.status, 200);
    assert_eq!(
        kept_answers(&scrape(&app).await),
        kept_answers(&before),
        "a query string, HEAD or .json was answered from a kept answer"
    );

    // The report turns stale: the badge turns grey, though its answer was kept while fresh.
    assert!(
        first.body.contains("up to date"),
        "fresh first: {}",
        first.body
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let now = badge(&app, &path).await;
        if now.body.contains("#939393") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the kept green answer was still served a minute after the report turned stale"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[sqlx::test]
async fn the_json_badge_follows_the_shields_endpoint_schema(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.put_report("github.com/a/b", &report_at(&minutes_ago(120), "5.0.0", 1))
        .await;
    let (status, body) = app.get_json("/badges/github.com/a/b.json").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"schemaVersion": 1, "label": "dependencies", "message": "up to date", "color": "brightgreen"})
    );
    let (_, body) = app
        .get_json("/badges/github.com/a/b.json?compact=true&style=flat-square")
        .await;
    assert_eq!(
        body,
        json!({"schemaVersion": 1, "label": "deps", "message": "up to date", "color": "brightgreen", "style": "flat-square"})
    );
    let (status, body) = app.get_json("/badges/nope.json").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"schemaVersion": 1, "label": "dependencies", "message": "invalid", "color": "lightgrey", "isError": true})
    );
}

#[sqlx::test]
async fn static_badges_use_the_shields_grammar(pool: PgPool) {
    let app = spawn_app(pool).await;
    let cases = [
        (
            "/badge/build-passing-brightgreen.svg",
            "build: passing",
            "#4b0",
        ),
        (
            "/badge/just_a_message-blue.svg",
            "just a message",
            "#007ec6",
        ),
        ("/badge/a--b-c__d-ff69b4.svg", "a-b: c_d", "#ff69b4"),
        (
            "/badge/hello%20world-%F0%9F%A6%80-orange.svg",
            "hello world: 🦀",
            "#ea7233",
        ),
        ("/badge/x-y-notacolor.svg", "x: y", "#4b0"),
        ("/badge/x-y-red.svg?color=blue", "x: y", "#007ec6"),
        (
            "/badge/x-y-red.svg?label=override",
            "override: y",
            "#dd4343",
        ),
    ];
    for (path, aria, fill) in cases {
        let badge = badge(&app, path).await;
        badge.assert_is_an_image();
        assert_eq!(badge.aria_label(), aria, "{path}");
        assert_eq!(badge.message_fill(), fill, "{path}");
    }
    let plastic = badge(&app, "/badge/build-passing-green.svg?style=for-the-badge").await;
    let expected = BadgeSpec {
        label: "build".into(),
        message: "passing".into(),
        color: Some("green".into()),
        label_color: None,
        style: Style::ForTheBadge,
    };
    assert_eq!(plastic.body, expected.render_svg());
}

#[sqlx::test]
async fn hostile_text_yields_a_well_formed_svg_showing_the_characters(pool: PgPool) {
    let app = spawn_app(pool).await;
    let badge = badge(
        &app,
        "/badges/github.com/a/b.svg?label=%22%3E%3Cscript%3Ealert(1)%3C/script%3E%26%27",
    )
    .await;
    badge.assert_is_an_image();
    assert_eq!(
        badge.aria_label(),
        "\"><script>alert(1)</script>&': unknown"
    );
    assert!(!badge.body.contains("<script>"), "{}", badge.body);
    let long = "x".repeat(1000);
    let badge = badge_of(&app, &format!("/badge/{long}-y-blue.svg")).await;
    badge.assert_is_an_image();
    assert_eq!(badge.aria_label(), format!("{}: y", "x".repeat(255)));
}

async fn badge_of(app: &TestApp, path: &str) -> Badge {
    badge(app, path).await
}

/// A report that went stale after it was written changes the badge (grey) at that moment: the
/// Last-Modified moves forward, so a proxy's If-Modified-Since gets the grey badge, not a 304.
#[sqlx::test]
async fn last_modified_moves_forward_when_the_report_turns_stale(pool: PgPool) {
    let app = crate::helpers::spawn_listening_app(pool.clone(), &[]).await;
    let now = chrono::Utc::now();
    let day = chrono::Duration::days(1);
    // Written 20 days ago about an analysis 40 days old: stale (30 days) since 10 days ago.
    let (written, analyzed) = (now - day * 20, now - day * 40);
    let report = report_at(&analyzed.to_rfc3339(), "5.0.0", 1);
    let input: depbadge::domain::ReportInput = serde_json::from_value(report).unwrap();
    let report = depbadge::domain::Report::from_input(input, written).unwrap();
    let slug = depbadge::domain::Slug::parse("github.com/a/stale").unwrap();
    depbadge::db::projects::write_report(
        &pool.clone().into(),
        &slug,
        &report,
        Default::default(),
        written,
    )
    .await
    .unwrap();
    // Written behind the replica's back: until its NOTIFY is heard, the replica's filter of known
    // slugs rightly says "nobody reported it" (an unknown badge without Last-Modified). Under
    // load, the read below once came first.
    crate::metrics::wait_for_sample(&app, crate::invalidation::NOTIFICATIONS, 1.0).await;

    let http_date =
        |at: chrono::DateTime<chrono::Utc>| at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let grey = badge(&app, "/badges/github.com/a/stale.svg").await;
    assert_eq!(grey.message_fill(), "#939393", "stale: grey");
    assert_eq!(grey.header("last-modified"), http_date(analyzed + day * 30));
    // A proxy that fetched the badge when it was written (green) must get the grey one now.
    let since_written = fetch(
        &app,
        "/badges/github.com/a/stale.svg",
        &[("if-modified-since", &http_date(written))],
    )
    .await;
    assert_eq!(since_written.status, 200);
    assert_eq!(since_written.body, grey.body);
}

/// When the database is slow rather than down, a badge read waits for its budget and then
/// answers the last known badge: an image proxy must not time out.
#[sqlx::test]
async fn a_slow_database_serves_the_last_known_badge_after_the_budget(pool: PgPool) {
    let app = known_badge_past_its_ttl(pool.clone()).await;

    // Every read of the status table now waits for this transaction's lock.
    let mut blocker = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE project_statuses IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    // A deadline for the test, far above the 1 s budget: without the budget it would hang.
    let within = |path| tokio::time::timeout(Duration::from_secs(30), badge(&app, path));
    let slow = within("/badges/github.com/a/known.svg")
        .await
        .expect("no answer although the database never answered");
    let uncached = within("/badges/github.com/a/uncached.svg")
        .await
        .expect("no answer although the database never answered");
    // Nobody reported this one, and the replica knows it without asking the database.
    let never_reported = within("/badges/github.com/a/never-reported.svg")
        .await
        .expect("no answer although the database never answered");
    let metrics = crate::metrics::scrape(&app).await;
    blocker.rollback().await.unwrap();

    slow.assert_is_an_image();
    assert_eq!(
        slow.aria_label(),
        "dependencies: 1 of 1 outdated",
        "stale-if-error"
    );
    assert_eq!(slow.header("cache-control"), "max-age=60, s-maxage=60");
    assert_eq!(uncached.aria_label(), "dependencies: unavailable");
    assert_eq!(uncached.header("cache-control"), "no-cache");
    assert_eq!(never_reported.aria_label(), "dependencies: unknown");
    assert_eq!(
        crate::metrics::sample(
            &metrics,
            r#"depbadge_badge_cache_requests_total{result="stale"}"#
        ),
        Some(1.0),
        "{metrics}"
    );
    // Once the lock is gone the database answers again.
    let again = badge(&app, "/badges/github.com/a/uncached.svg").await;
    assert_eq!(again.aria_label(), "dependencies: 1 of 1 outdated");
}
