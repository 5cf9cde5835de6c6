use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{TestApp, spawn_app};

/// Methods a client could try; HEAD is left out (axum answers it wherever GET is served, and
/// OpenAPI documents GET only).
const METHODS: [&str; 6] = ["GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"];

/// A documented path template (`/badges/{slug}.svg`) as an anchored pattern.
fn matches(template: &str, path: &str) -> bool {
    fn walk(template: &[u8], path: &[u8]) -> bool {
        match template.first() {
            None => path.is_empty(),
            Some(b'{') => {
                let Some(close) = template.iter().position(|&b| b == b'}') else {
                    return false;
                };
                let rest = &template[close + 1..];
                (1..=path.len()).any(|taken| walk(rest, &path[taken..]))
            }
            Some(&b) => path.first() == Some(&b) && walk(&template[1..], &path[1..]),
        }
    }
    walk(template.as_bytes(), path.as_bytes())
}

/// A concrete path for a template of either syntax: every parameter becomes a valid slug with
/// an extension, which each route accepts (a badge, a slug with a dot, a static badge's text).
fn concrete(template: &str) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        path.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        path.push_str(if rest[close + 1..].starts_with('.') {
            "github.com/a/b"
        } else {
            "github.com/a/b.svg"
        });
        rest = &rest[close + 1..];
    }
    path.push_str(rest);
    path
}

/// Whether the router sends `method path` to a handler: neither its 405 nor its 404 fallback.
async fn served(app: &TestApp, method: &str, path: &str) -> bool {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let response = app
        .client
        .request(method, app.url(path))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    status != 405 && !body.contains("route not found")
}

#[sqlx::test]
async fn the_openapi_document_is_served_and_lists_exactly_the_served_routes(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (status, document) = app.get_json("/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(
        document,
        serde_json::from_str::<Value>(depbadge::http::OPENAPI).unwrap()
    );

    let mut documented = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method.to_lowercase()).is_some() {
                documented.push((method, path.clone()));
            }
        }
    }
    // Each documented operation reaches a handler.
    for (method, path) in &documented {
        assert!(
            served(&app, method, &concrete(path)).await,
            "{method} {path} is documented but not served"
        );
    }
    // Each method the router serves on each of its paths is documented.
    for template in depbadge::http::route_paths() {
        let path = concrete(template);
        for method in METHODS {
            if !served(&app, method, &path).await {
                continue;
            }
            assert!(
                documented
                    .iter()
                    .any(|(m, doc)| *m == method && matches(doc, &path)),
                "the router serves {method} {template} ({path}), which docs/openapi.json does not document"
            );
        }
    }
}

#[test]
fn documented_templates_match_the_paths_they_describe() {
    assert!(matches("/badges/{slug}.svg", "/badges/github.com/a/b.svg"));
    assert!(!matches(
        "/badges/{slug}.json",
        "/badges/github.com/a/b.svg"
    ));
    assert!(matches(
        "/v1/projects/{slug}",
        "/v1/projects/github.com/a/b.svg"
    ));
    assert!(!matches("/v1/projects", "/v1/projects/github.com/a/b.svg"));
    assert!(!matches("/projects/{slug}", "/v1/projects/github.com/a/b"));
    assert_eq!(concrete("/badges/{*path}"), "/badges/github.com/a/b.svg");
    assert_eq!(
        concrete("/badges/{slug}.json"),
        "/badges/github.com/a/b.json"
    );
}
