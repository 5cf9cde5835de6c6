use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::spawn_app;

/// Every route the router serves, as the OpenAPI document names them.
const SERVED: [(&str, &str); 11] = [
    ("put", "/v1/projects/{slug}"),
    ("get", "/v1/projects/{slug}"),
    ("delete", "/v1/projects/{slug}"),
    ("get", "/v1/projects"),
    ("get", "/badges/{slug}.svg"),
    ("get", "/badges/{slug}.json"),
    ("get", "/badge/{spec}.svg"),
    ("get", "/projects/{slug}"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
];

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
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                documented.push((method.to_owned(), path.clone()));
            }
        }
    }
    let mut served: Vec<(String, String)> = SERVED
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    documented.sort();
    served.sort();
    assert_eq!(
        documented, served,
        "docs/openapi.json and the router disagree"
    );

    // Each documented operation reaches a handler: neither the router's 404 nor its 405.
    for (method, path) in &documented {
        let concrete = path
            .replace("{slug}", "github.com/a/b")
            .replace("{spec}", "a-b-blue");
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), app.url(&concrete))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        assert_ne!(status, 405, "{method} {concrete}");
        assert!(
            !body.contains("route not found"),
            "{method} {concrete} is not routed"
        );
    }
}
