use serde_json::json;
use sqlx::PgPool;

use crate::helpers::{spawn_app, spec_example};

#[sqlx::test]
async fn the_project_page_shows_status_dependencies_by_scope_and_embed_snippets(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut report = spec_example();
    report["dependencies"].as_array_mut().unwrap().push(json!({
        "purl": "pkg:npm/%40types/node@20.1.0", "latest": "24.0.0", "scope": "build",
        "advisories": [{ "id": "<script>alert(1)</script>", "url": "https://example.com/?a=1&b=\"2\"" }]
    }));
    app.put_report("github.com/Rust-Lang/Cargo", &report).await;

    let response = app
        .client
        .get(app.url("/projects/github.com/rust-lang/cargo"))
        .header("host", "badges.example.com")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert!(
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let page = response.text().await.unwrap();

    assert!(
        page.contains("<h1>github.com/Rust-Lang/Cargo</h1>"),
        "{page}"
    );
    assert!(
        page.contains(
            "<img src=\"/badges/github.com/Rust-Lang/Cargo.svg\" alt=\"dependencies: 1 insecure\" height=\"20\">"
        ),
        "{page}"
    );
    assert!(
        page.contains("Status: <strong>vulnerable</strong>"),
        "the build dependency has an advisory"
    );
    let (runtime, build, dev) = (
        page.find(">runtime (1)</h2>"),
        page.find(">build (1)</h2>"),
        page.find(">dev (1)</h2>"),
    );
    assert!(
        runtime < build && build < dev && runtime.is_some(),
        "groups in order runtime, build, dev"
    );
    assert!(page.contains("<td>@types/node</td>"));
    assert!(page.contains("<a href=\"https://github.com/advisories/GHSA-35jh-r3h4-6jhm\">GHSA-35jh-r3h4-6jhm</a> (high)"), "{page}");
    // Everything the analyzer sent is escaped.
    assert!(!page.contains("<script>"), "{page}");
    assert!(
        page.contains("&#60;script&#62;") || page.contains("&lt;script&gt;"),
        "{page}"
    );
    assert!(
        page.contains("https://example.com/?a=1&#38;b=&#34;2&#34;")
            || page.contains("https://example.com/?a=1&amp;b=&quot;2&quot;"),
        "{page}"
    );
    // Snippets use the public URL the client reached.
    for snippet in [
        "[![dependencies](https://badges.example.com/badges/github.com/Rust-Lang/Cargo.svg)](https://badges.example.com/projects/github.com/Rust-Lang/Cargo)",
        ".. image:: https://badges.example.com/badges/github.com/Rust-Lang/Cargo.svg",
        "   :target: https://badges.example.com/projects/github.com/Rust-Lang/Cargo",
    ] {
        assert!(page.contains(snippet), "missing {snippet} in {page}");
    }
    assert!(
        page.contains("&#60;img src=&#34;https://badges.example.com/badges/")
            || page.contains("&lt;img src=&quot;https://badges.example.com/badges/"),
        "{page}"
    );
    // The one script is the builder's, from this origin: nothing inline.
    assert_eq!(page.matches("<script").count(), 1, "{page}");
    assert!(page.contains("<script src=\"/assets/builder.js\" defer></script>"));
    assert!(page.contains("2 dependencies in this scope"), "{page}");
}

#[sqlx::test]
async fn unknown_invalid_and_scoped_pages(pool: PgPool) {
    let app = spawn_app(pool).await;
    let response = app
        .client
        .get(app.url("/projects/github.com/nobody/here"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let page = response.text().await.unwrap();
    assert!(
        page.contains("Nothing is reported for <strong>github.com/nobody/here</strong> yet"),
        "{page}"
    );
    assert!(
        page.contains("--data @report.json \\\n  http://")
            && page.contains("/v1/projects/github.com/nobody/here"),
        "how to send a first report: {page}"
    );
    assert!(
        page.contains("[![dependencies](http://"),
        "snippets are there to copy before the first report"
    );

    let response = app
        .client
        .get(app.url("/projects/not-a-slug"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );

    app.put_report("github.com/a/b", &spec_example()).await;
    let page = app.get_text("/projects/github.com/a/b?scope=dev").await;
    assert!(
        page.contains("Status: <strong>vulnerable</strong>"),
        "{page}"
    );
    assert!(
        page.contains("/badges/github.com/a/b.svg?scope=dev"),
        "the badge and snippets keep the scope"
    );
    assert!(page.contains("1 dependency in this scope"), "{page}");
}

/// The embed snippets link to DEPBADGE_PUBLIC_URL when it is set, whatever Host the request
/// carried; without it they follow the request, and the answer says it varies with it (a shared
/// cache must not hand one host's snippets to another).
#[sqlx::test]
async fn embed_snippets_use_the_public_url_or_vary_with_the_host(pool: PgPool) {
    let slug = "github.com/a/b";
    let fetch = |app: &crate::helpers::TestApp, host: &'static str| {
        app.client
            .get(app.url(&format!("/projects/{slug}")))
            .header("host", host)
            .send()
    };
    let configured = crate::helpers::spawn_app_with(
        pool.clone(),
        &[("DEPBADGE_PUBLIC_URL", "https://badges.example.com/")],
    )
    .await;
    configured.put_report(slug, &spec_example()).await;
    let response = fetch(&configured, "evil.example.net").await.unwrap();
    assert!(response.headers().get("vary").is_none());
    let page = response.text().await.unwrap();
    assert!(
        page.contains("https://badges.example.com/badges/github.com/a/b.svg"),
        "{page}"
    );
    assert!(!page.contains("evil.example.net"), "{page}");

    let from_request = spawn_app(pool).await;
    let response = fetch(&from_request, "mirror.example.org").await.unwrap();
    assert_eq!(response.headers()["vary"], "Host, X-Forwarded-Proto");
    let page = response.text().await.unwrap();
    assert!(
        page.contains("http://mirror.example.org/badges/github.com/a/b.svg"),
        "{page}"
    );
}
