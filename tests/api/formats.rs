//! Report formats on `PUT /v1/projects/{slug}` (docs/contract.md §2.0): CycloneDX BOMs by content
//! type or `?format=`, gzip bodies with the size limit counted after decompression.

use std::io::Write;

use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{TOKEN, TestApp, spawn_app};

const NPM_SBOM: &str = include_str!("../fixtures/reports/npm-11.19.1/sbom.json");
const SPEC_VULNERABILITY: &str =
    include_str!("../fixtures/reports/cyclonedx-spec/valid-vulnerability-1.5.json");

async fn put(
    app: &TestApp,
    path_and_query: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut request = app
        .client
        .put(app.url(&format!("/v1/projects/{path_and_query}")))
        .bearer_auth(TOKEN)
        .header("content-type", content_type)
        .body(body);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[sqlx::test]
async fn a_cyclonedx_bom_is_a_report_plain_or_gzipped(pool: PgPool) {
    let app = spawn_app(pool).await;
    let slug = "github.com/formats/npm-app";
    let (status, document) = put(
        &app,
        &format!("{slug}?scope=all"),
        "application/vnd.cyclonedx+json",
        None,
        NPM_SBOM.into(),
    )
    .await;
    assert_eq!(status, 201, "{document}");
    // 54 installed packages, none with a known latest release: all `unknown`, never up to date.
    assert_eq!(document["counts"]["total"], 54, "{document}");
    assert_eq!(document["counts"]["unknown"], 54, "{document}");
    assert_eq!(document["analyzed_at"], "2026-11-27T22:55:46.200Z");

    // The same BOM gzipped, its format named in the query: the same report, nothing changed.
    let (status, document) = put(
        &app,
        &format!("{slug}?format=cyclonedx"),
        "application/json",
        Some("gzip"),
        gzip(NPM_SBOM.as_bytes()),
    )
    .await;
    assert_eq!(
        (status, &document["changed"]),
        (200, &Value::Bool(false)),
        "{document}"
    );
}

#[sqlx::test]
async fn a_bom_with_vulnerabilities_makes_an_insecure_badge(pool: PgPool) {
    let app = spawn_app(pool).await;
    let slug = "github.com/formats/java-app";
    let (status, document) = put(
        &app,
        slug,
        "application/vnd.cyclonedx+json; charset=utf-8",
        None,
        SPEC_VULNERABILITY.into(),
    )
    .await;
    assert_eq!(status, 201, "{document}");
    assert_eq!(document["status"], "vulnerable");
    let advisory = &document["dependencies"][0]["advisories"][0];
    assert_eq!(advisory["id"], "SNYK-JAVA-COMFASTERXMLJACKSONCORE-32111");
    assert_eq!(advisory["severity"], "critical");
    let badge = crate::badges::badge(&app, &format!("/badges/{slug}.svg")).await;
    assert_eq!(badge.aria_label(), "dependencies: 1 insecure");
}

#[sqlx::test]
async fn refused_bodies_name_the_place_and_write_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let slug = "github.com/formats/refused";
    let bad_purl = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
        {"purl":"pkg:npm/a@1.0.0"},{"purl":"pkg:npm/b@1.0.0","components":[{"purl":"nope@1"}]}]}"#;
    struct Refusal {
        path: &'static str,
        content_type: &'static str,
        encoding: Option<&'static str>,
        body: Vec<u8>,
        status: u16,
        code: &'static str,
        field: Option<&'static str>,
    }
    let bom = "application/vnd.cyclonedx+json";
    let cases = [
        Refusal {
            path: slug,
            content_type: bom,
            encoding: None,
            body: bad_purl.into(),
            status: 422,
            code: "invalid_purl",
            field: Some("components[1].components[0].purl"),
        },
        Refusal {
            path: slug,
            content_type: bom,
            encoding: None,
            body: br#"{"bomFormat":"CycloneDX","specVersion":"1.2"}"#.to_vec(),
            status: 422,
            code: "invalid_bom",
            field: Some("specVersion"),
        },
        // Packages named, none with a version: it would be a green `none` badge.
        Refusal {
            path: slug,
            content_type: bom,
            encoding: None,
            body:
                br#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"purl":"nope"}]}"#
                    .to_vec(),
            status: 422,
            code: "invalid_bom",
            field: Some("components"),
        },
        Refusal {
            path: slug,
            content_type: bom,
            encoding: None,
            body: b"{\"bomFormat\":".to_vec(),
            status: 400,
            code: "malformed_json",
            field: None,
        },
        Refusal {
            path: slug,
            content_type: "application/json",
            encoding: Some("gzip"),
            body: b"not gzip at all".to_vec(),
            status: 400,
            code: "malformed_body",
            field: None,
        },
        Refusal {
            path: slug,
            content_type: "application/json",
            encoding: Some("br"),
            body: b"{}".to_vec(),
            status: 415,
            code: "unsupported_encoding",
            field: None,
        },
        Refusal {
            path: "github.com/formats/refused?format=spdx",
            content_type: "application/json",
            encoding: None,
            body: b"{}".to_vec(),
            status: 400,
            code: "invalid_parameter",
            field: Some("format"),
        },
    ];
    for case in cases {
        let (got, error) = put(&app, case.path, case.content_type, case.encoding, case.body).await;
        assert_eq!(got, case.status, "{error}");
        assert_eq!(error["error"]["code"], case.code, "{error}");
        if let Some(field) = case.field {
            assert_eq!(error["error"]["field"], field, "{error}");
        }
    }
    assert_eq!(app.row_counts().await, (0, 0));
}

/// A gigabyte of zeros, gzipped to about a megabyte (within the body limit), is refused once
/// the limit's worth has been decompressed: 413, nothing written, and the server fine.
#[sqlx::test]
async fn a_gzip_bomb_is_refused_after_the_limit(pool: PgPool) {
    let app = spawn_app(pool).await;
    let bomb = std::process::Command::new("sh")
        .args(["-c", "head -c 1073741824 /dev/zero | gzip -9"])
        .output()
        .unwrap()
        .stdout;
    assert!(bomb.len() < 1 << 20, "{} bytes compressed", bomb.len());
    let (status, error) = put(
        &app,
        "github.com/formats/bomb",
        "application/vnd.cyclonedx+json",
        Some("gzip"),
        bomb,
    )
    .await;
    assert_eq!(status, 413, "{error}");
    assert_eq!(error["error"]["code"], "payload_too_large");
    assert_eq!(app.row_counts().await, (0, 0));
    assert_eq!(app.get_json("/healthz").await.0, 200);
    // The server runs in this process: had it inflated the bomb, this process's peak memory
    // would have passed a gigabyte.
    let peak_kib: u64 = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert!(peak_kib < 512 * 1024, "peak RSS {} MiB", peak_kib / 1024);
}
