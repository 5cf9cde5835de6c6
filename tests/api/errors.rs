use serde_json::{Value, json};
use sqlx::PgPool;

use crate::helpers::{TOKEN, minutes_ago, raw_get, spawn_app, spawn_app_with, spec_example};

/// One bad request: what is sent and the JSON error expected.
struct Case {
    name: &'static str,
    slug: &'static str,
    token: Option<&'static str>,
    content_type: &'static str,
    body: String,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
}

/// A request that is valid in every way (token, slug, media type, body) but is expected to be
/// refused; each row changes the one thing that makes it so.
fn refused(
    name: &'static str,
    status: u16,
    code: &'static str,
    field: Option<&'static str>,
) -> Case {
    Case {
        name,
        slug: "github.com/a/b",
        token: Some(TOKEN),
        content_type: "application/json",
        body: spec_example().to_string(),
        status,
        code,
        field,
    }
}

/// A well-formed request whose report content is refused with 422.
fn case(name: &'static str, body: Value, code: &'static str, field: &'static str) -> Case {
    Case {
        body: body.to_string(),
        ..refused(name, 422, code, Some(field))
    }
}

fn cases() -> Vec<Case> {
    let ok = spec_example().to_string();
    let dep = |d: Value| json!({ "dependencies": [ { "purl": "pkg:cargo/ok@1.0.0" }, d ] });
    let many: Vec<Value> = (0..10_001)
        .map(|i| json!({ "purl": format!("pkg:npm/p{i}@1.0.0") }))
        .collect();
    vec![
        Case {
            token: None,
            ..refused("no token", 401, "unauthorized", None)
        },
        Case {
            token: Some("wrong-token-0123456789abcdef"),
            ..refused("wrong token", 401, "unauthorized", None)
        },
        Case {
            slug: "localhost/repo",
            ..refused("invalid slug", 400, "invalid_slug", Some("slug"))
        },
        Case {
            slug: "github.com/a%20b",
            ..refused("slug with a space", 400, "invalid_slug", Some("slug"))
        },
        Case {
            content_type: "text/plain",
            ..refused("text body", 415, "unsupported_media_type", None)
        },
        // For malformed JSON, the field is where parsing stopped.
        Case {
            body: "{\"dependencies\": [".to_owned(),
            ..refused(
                "malformed JSON",
                400,
                "malformed_json",
                Some("dependencies"),
            )
        },
        Case {
            body: format!("{ok} x"),
            ..refused("trailing garbage", 400, "malformed_json", None)
        },
        case(
            "missing dependencies",
            json!({ "analyzed_at": minutes_ago(120) }),
            "invalid_field",
            "dependencies",
        ),
        case(
            "dependencies not a list",
            json!({ "dependencies": {} }),
            "invalid_field",
            "dependencies",
        ),
        case(
            "missing purl",
            dep(json!({ "latest": "1.0.0" })),
            "invalid_field",
            "dependencies[1].purl",
        ),
        case(
            "invalid purl",
            dep(json!({ "purl": "serde@1.0" })),
            "invalid_purl",
            "dependencies[1].purl",
        ),
        case(
            "purl without version",
            dep(json!({ "purl": "pkg:cargo/serde" })),
            "invalid_purl",
            "dependencies[1].purl",
        ),
        case(
            "unknown scope",
            dep(json!({ "purl": "pkg:cargo/a@1", "scope": "test" })),
            "invalid_field",
            "dependencies[1].scope",
        ),
        case(
            "latest not a string",
            dep(json!({ "purl": "pkg:cargo/a@1", "latest": 2 })),
            "invalid_field",
            "dependencies[1].latest",
        ),
        case(
            "unknown severity",
            dep(
                json!({ "purl": "pkg:cargo/a@1", "advisories": [{ "id": "X", "severity": "severe" }] }),
            ),
            "invalid_field",
            "dependencies[1].advisories[0].severity",
        ),
        case(
            "advisory without id",
            dep(json!({ "purl": "pkg:cargo/a@1", "advisories": [{ "severity": "low" }] })),
            "invalid_field",
            "dependencies[1].advisories[0].id",
        ),
        case(
            "bad timestamp",
            json!({ "analyzed_at": "yesterday", "dependencies": [] }),
            "invalid_field",
            "analyzed_at",
        ),
        case(
            "future timestamp",
            json!({ "analyzed_at": "2999-01-01T00:00:00Z", "dependencies": [] }),
            "analyzed_at_in_future",
            "analyzed_at",
        ),
        case(
            "NUL in an advisory id (PostgreSQL cannot store it)",
            dep(json!({ "purl": "pkg:cargo/a@1", "advisories": [{ "id": "GHSA\u{0}" }] })),
            "invalid_characters",
            "dependencies[1].advisories[0].id",
        ),
        case(
            "percent-encoded NUL in a purl name",
            dep(json!({ "purl": "pkg:npm/a%00b@1.0.0" })),
            "invalid_characters",
            "dependencies[1].purl",
        ),
        case(
            "too many dependencies",
            json!({ "dependencies": many }),
            "too_many_dependencies",
            "dependencies",
        ),
    ]
}

#[sqlx::test]
async fn every_refusal_is_a_json_error_naming_the_field_and_writes_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    for case in cases() {
        let mut request = app
            .client
            .put(app.url(&format!("/v1/projects/{}", case.slug)))
            .header("content-type", case.content_type)
            .body(case.body.clone());
        if let Some(token) = case.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), case.status, "{}", case.name);
        if case.status == 401 {
            assert_eq!(
                response.headers()["www-authenticate"],
                "Bearer",
                "{}",
                case.name
            );
        }
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{}",
            case.name
        );
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], case.code, "{}: {error}", case.name);
        assert!(
            !error["error"]["message"].as_str().unwrap().is_empty(),
            "{}",
            case.name
        );
        assert_eq!(
            error["error"]["field"].as_str(),
            case.field,
            "{}: {error}",
            case.name
        );
        assert_eq!(
            app.row_counts().await,
            (0, 0),
            "{} wrote something",
            case.name
        );
    }
}

#[sqlx::test]
async fn a_body_over_the_limit_is_refused_with_413(pool: PgPool) {
    let app = spawn_app_with(pool, &[("DEPBADGE_MAX_REPORT_BYTES", "2KiB")]).await;
    let filler: Vec<Value> = (0..100)
        .map(|i| json!({ "purl": format!("pkg:cargo/crate-number-{i}@1.0.0") }))
        .collect();
    let response = app
        .put_report("github.com/a/b", &json!({ "dependencies": filler }))
        .await;
    assert_eq!(response.status().as_u16(), 413);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["code"], "payload_too_large");
    assert_eq!(app.row_counts().await, (0, 0));

    // Also when the client streams the body without declaring its length.
    let chunks: Vec<Result<String, std::io::Error>> = vec![
        Ok("{\"dependencies\": [".to_owned()),
        Ok(" ".repeat(4096)),
        Ok("]}".to_owned()),
    ];
    let response = app
        .client
        .put(app.url("/v1/projects/github.com/a/b"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks,
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
}

#[sqlx::test]
async fn read_routes_name_the_bad_parameter(pool: PgPool) {
    let app = spawn_app(pool).await;
    let cases = [
        (
            "/v1/projects/github.com/a/b?scope=build",
            400,
            "invalid_parameter",
            Some("scope"),
        ),
        ("/v1/projects/not-a-slug", 400, "invalid_slug", Some("slug")),
        ("/v1/projects/github.com/a/b", 404, "not_found", None),
        (
            "/v1/projects?status=outdated",
            400,
            "invalid_parameter",
            Some("status"),
        ),
        (
            "/v1/projects?limit=0",
            400,
            "invalid_parameter",
            Some("limit"),
        ),
        (
            "/v1/projects?limit=1000",
            400,
            "invalid_parameter",
            Some("limit"),
        ),
        (
            "/v1/projects?cursor=%00",
            400,
            "invalid_parameter",
            Some("cursor"),
        ),
        ("/nope", 404, "not_found", None),
    ];
    for (path, status, code, field) in cases {
        let (actual, error) = app.get_json(path).await;
        assert_eq!(actual, status, "{path}");
        assert_eq!(error["error"]["code"], code, "{path}");
        assert_eq!(error["error"]["field"].as_str(), field, "{path}");
    }
    let (status, error) = app.get_json("/v1/projects/github.com/a/%FF").await;
    assert_eq!(status, 400);
    assert_eq!(
        error["error"]["message"],
        "the slug is not valid UTF-8 once percent-decoded"
    );
    // `..` sent as is (HTTP clients would normalize it away).
    for path in [
        "/v1/projects/github.com/a/../b",
        "/v1/projects/github.com/a/%2e%2e/b",
    ] {
        let (status, body) = raw_get(app.address, path).await;
        assert_eq!(status, 400, "{path}");
        assert!(body.contains("\"invalid_slug\""), "{path}: {body}");
    }
    let response = app
        .client
        .post(app.url("/v1/projects/github.com/a/b"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["code"],
        "method_not_allowed"
    );
}

#[sqlx::test]
async fn a_broken_database_gives_a_500_json_error_without_internal_details(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.put_report("github.com/a/b", &spec_example()).await;
    sqlx::query("ALTER TABLE dependencies RENAME TO dependencies_gone")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, error) = app.get_json("/v1/projects/github.com/a/b").await;
    assert_eq!(status, 500);
    assert_eq!(
        error,
        json!({ "error": { "code": "internal", "message": "internal error" } })
    );
}
