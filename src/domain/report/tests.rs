use chrono::TimeZone;

use super::*;

fn received() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 9, 0, 0).unwrap()
}

fn parse(json: &str) -> Result<Report, ReportError> {
    let input: ReportInput = serde_json::from_str(json).expect("test JSON deserializes");
    Report::from_input(input, received())
}

#[test]
fn the_spec_example_report_is_valid() {
    let report = parse(
        r#"{"analyzed_at": "2026-11-26T08:00:00Z", "dependencies": [
            {"purl": "pkg:cargo/serde@1.0.100", "latest": "1.0.215", "scope": "runtime", "advisories": []},
            {"purl": "pkg:npm/lodash@4.17.20", "latest": "4.17.21", "scope": "dev",
             "advisories": [{"id": "GHSA-35jh-r3h4-6jhm", "severity": "high",
                             "url": "https://github.com/advisories/GHSA-35jh-r3h4-6jhm"}]}]}"#,
    )
    .unwrap();
    assert!(report.analyzed_at_given);
    assert_eq!(
        report.analyzed_at,
        Utc.with_ymd_and_hms(2026, 11, 26, 8, 0, 0).unwrap()
    );
    let freshness: Vec<_> = report
        .dependencies
        .iter()
        .map(|d| (d.name.as_str(), d.scope, d.freshness))
        .collect();
    assert_eq!(
        freshness,
        [
            ("serde", Scope::Runtime, Freshness::Outdated),
            ("lodash", Scope::Dev, Freshness::Vulnerable)
        ]
    );
}

#[test]
fn optional_fields_take_their_defaults() {
    let report = parse(r#"{"dependencies": [{"purl": "pkg:pypi/requests@2.31.0", "advisories": [{"id": "PYSEC-1"}]}]}"#).unwrap();
    assert!(!report.analyzed_at_given);
    assert_eq!(report.analyzed_at, received());
    let dependency = &report.dependencies[0];
    assert_eq!(dependency.scope, Scope::Runtime);
    assert_eq!(dependency.latest, None);
    assert_eq!(dependency.advisories[0].severity, Severity::Unknown);
}

#[test]
fn invalid_content_names_the_field() {
    let cases = [
        (
            r#"{"dependencies": [{"purl": "pkg:cargo/a@1"}, {"purl": "serde"}]}"#,
            "invalid_purl",
            "dependencies[1].purl",
        ),
        (
            r#"{"dependencies": [{"purl": "pkg:cargo/serde"}]}"#,
            "invalid_purl",
            "dependencies[0].purl",
        ),
        (
            r#"{"dependencies": [{"purl": "pkg:cargo/a@1", "latest": " "}]}"#,
            "invalid_latest",
            "dependencies[0].latest",
        ),
        (
            r#"{"dependencies": [{"purl": "pkg:cargo/a@1", "advisories": [{"id": "A"}, {"id": ""}]}]}"#,
            "invalid_advisory",
            "dependencies[0].advisories[1].id",
        ),
        (
            r#"{"dependencies": [{"purl": "pkg:cargo/a@1", "advisories": [{"id": "A", "url": "javascript:alert(1)"}]}]}"#,
            "invalid_advisory",
            "dependencies[0].advisories[0].url",
        ),
        (
            r#"{"analyzed_at": "2026-11-27T09:00:00Z", "dependencies": []}"#,
            "analyzed_at_in_future",
            "analyzed_at",
        ),
        (
            r#"{"dependencies": [{"purl": "pkg:cargo/a%00b@1.0.0"}]}"#,
            "invalid_characters",
            "dependencies[0].purl",
        ),
        (
            r#"{"dependencies": [{"purl": "pkg:cargo/ab@1.0%0A"}]}"#,
            "invalid_characters",
            "dependencies[0].purl",
        ),
        (
            r#"{"dependencies": [{"purl": "pkg:cargo/a@1", "latest": "1.0\u0000"}]}"#,
            "invalid_characters",
            "dependencies[0].latest",
        ),
        (
            r#"{"dependencies": [{"purl": "pkg:cargo/a@1", "advisories": [{"id": "X\u0000"}]}]}"#,
            "invalid_characters",
            "dependencies[0].advisories[0].id",
        ),
    ];
    for (json, code, field) in cases {
        let error = parse(json).unwrap_err();
        assert_eq!(
            (error.code, error.field.as_str()),
            (code, field),
            "{json}: {error}"
        );
    }
}

#[test]
fn at_most_ten_thousand_dependencies_are_accepted() {
    let dependency = r#"{"purl": "pkg:cargo/a@1.0.0"}"#;
    let body = |n: usize| format!(r#"{{"dependencies": [{}]}}"#, vec![dependency; n].join(","));
    assert_eq!(
        parse(&body(MAX_DEPENDENCIES)).unwrap().dependencies.len(),
        MAX_DEPENDENCIES
    );
    let error = parse(&body(MAX_DEPENDENCIES + 1)).unwrap_err();
    assert_eq!(
        (error.code, error.field.as_str()),
        ("too_many_dependencies", "dependencies")
    );
}

#[test]
fn the_digest_covers_the_dependencies_but_not_the_timestamp() {
    let a = parse(r#"{"analyzed_at": "2026-11-26T08:00:00Z", "dependencies": [{"purl": "pkg:cargo/a@1.0.0"}]}"#).unwrap();
    let b = parse(r#"{"analyzed_at": "2026-11-26T08:30:00Z", "dependencies": [{"purl": "pkg:cargo/a@1.0.0"}]}"#).unwrap();
    let c =
        parse(r#"{"dependencies": [{"purl": "pkg:cargo/a@1.0.0", "latest": "1.0.1"}]}"#).unwrap();
    assert_eq!(a.content_digest(), b.content_digest());
    assert_ne!(a.content_digest(), c.content_digest());
}

/// Stored digests decide whether a retried PUT changes anything, also after an upgrade: the
/// digest of a given report must not change between versions. (Pinned from the code as it was
/// before the digest was computed through one reused buffer.)
#[test]
fn the_digest_of_a_given_report_never_changes() {
    let report = parse(
        r#"{"dependencies": [
            {"purl": "pkg:cargo/a@1.0.0", "latest": "1.2.0", "scope": "dev"},
            {"purl": "pkg:npm/%40s/b@2.0.0", "advisories": [{"id": "GHSA-1", "severity": "high", "url": "https://x.io/1"}]}
        ], "tools": [{"name": "npm outdated --json", "version": "11.19.1"}]}"#,
    )
    .unwrap();
    let hex: String = report
        .content_digest()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        hex,
        "37b91f1894822f5310ab62c845f8d11a7e9ba786719f0de101b1064500551b96"
    );
}

#[test]
fn tools_are_bounded_and_named() {
    let report = |tools: serde_json::Value| {
        let input: ReportInput = serde_json::from_value(serde_json::json!({
            "dependencies": [], "tools": tools
        }))
        .unwrap();
        Report::from_input(input, Utc::now())
    };
    let ok = report(serde_json::json!([{ "name": " npm ls --json " }, { "name": "pip-audit", "version": "2.10.0" }]))
        .unwrap();
    assert_eq!(ok.tools[0].name, "npm ls --json");
    assert_eq!(ok.tools[1].version.as_deref(), Some("2.10.0"));
    let many: Vec<_> = (0..33)
        .map(|i| serde_json::json!({ "name": format!("t{i}") }))
        .collect();
    assert_eq!(report(serde_json::json!(many)).unwrap_err().field, "tools");
    assert_eq!(
        report(serde_json::json!([{ "name": "ok" }, { "name": "  " }]))
            .unwrap_err()
            .field,
        "tools[1].name"
    );
    assert_eq!(
        report(serde_json::json!([{ "name": "x".repeat(300) }]))
            .unwrap_err()
            .field,
        "tools[0].name"
    );
}
