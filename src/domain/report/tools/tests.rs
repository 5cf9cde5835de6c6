use super::*;
use crate::domain::report::Severity;

const NPM_LS: &str = include_str!("../../../../tests/fixtures/reports/npm-11.19.1/ls.json");
const NPM_OUTDATED: &str =
    include_str!("../../../../tests/fixtures/reports/npm-11.19.1/outdated.json");
const NPM_AUDIT: &str =
    include_str!("../../../../tests/fixtures/reports/npm-cli-snapshot/audit.json");
const PIP_LIST: &str = include_str!("../../../../tests/fixtures/reports/pip-23.2.1/pip-list.json");
const PIP_OUTDATED: &str =
    include_str!("../../../../tests/fixtures/reports/pip-23.2.1/pip-outdated.json");
const PIP_AUDIT_SKIPPED: &str =
    include_str!("../../../../tests/fixtures/reports/pip-audit-2.10.0/pip-audit.json");
const NPM_SBOM: &str = include_str!("../../../../tests/fixtures/reports/npm-11.19.1/sbom.json");

fn merge(outputs: &[&str]) -> (Vec<Tool>, ReportInput) {
    let mut merged = Merged::default();
    for (i, text) in outputs.iter().enumerate() {
        let json = serde_json::from_str(text).unwrap();
        merged
            .add(ToolOutput {
                source: &format!("input {i}"),
                json,
            })
            .unwrap();
    }
    (merged.tools().to_vec(), merged.into_report().unwrap())
}

fn find<'a>(report: &'a ReportInput, purl: &str) -> &'a DependencyInput {
    report
        .dependencies
        .iter()
        .find(|d| d.purl == purl)
        .unwrap_or_else(|| panic!("{purl} not in {:?}", report.dependencies))
}

#[test]
fn each_fixture_is_recognized() {
    let cases = [
        (NPM_LS, Tool::NpmLs),
        (NPM_OUTDATED, Tool::NpmOutdated),
        ("{}", Tool::NpmOutdated),
        (NPM_AUDIT, Tool::NpmAudit),
        (PIP_LIST, Tool::PipList),
        (PIP_OUTDATED, Tool::PipOutdated),
        ("[]", Tool::PipOutdated),
        (PIP_AUDIT_SKIPPED, Tool::PipAudit),
        (NPM_SBOM, Tool::CycloneDx),
        (
            r#"{"dependencies":[{"purl":"pkg:npm/a@1.0.0"}]}"#,
            Tool::Depbadge,
        ),
    ];
    for (text, tool) in cases {
        let json: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            Tool::detect(&json),
            Some(tool),
            "{}",
            &text[..text.len().min(80)]
        );
    }
    for text in [
        "42",
        r#""text""#,
        r#"{"something":"else"}"#,
        r#"[{"no":"name"}]"#,
    ] {
        let json: Value = serde_json::from_str(text).unwrap();
        assert_eq!(Tool::detect(&json), None, "{text}");
    }
}

#[test]
fn npm_listing_and_outdated_make_the_counts_npm_shows() {
    let (tools, report) = merge(&[NPM_LS, NPM_OUTDATED]);
    assert_eq!(tools, [Tool::NpmLs, Tool::NpmOutdated]);
    // npm ls listed 5 direct dependencies; npm outdated listed 3 of them.
    assert_eq!(report.dependencies.len(), 5);
    let lodash = find(&report, "pkg:npm/lodash@4.17.20");
    assert_eq!(
        (lodash.latest.as_deref(), lodash.scope),
        (Some("4.18.1"), Some(Scope::Runtime))
    );
    let minimist = find(&report, "pkg:npm/minimist@1.2.5");
    assert_eq!(
        (minimist.latest.as_deref(), minimist.scope),
        (Some("1.2.8"), Some(Scope::Dev))
    );
    // Not listed as outdated: up to date, its latest its own version.
    let left_pad = find(&report, "pkg:npm/left-pad@1.3.0");
    assert_eq!(left_pad.latest.as_deref(), Some("1.3.0"));
    assert_eq!(
        find(&report, "pkg:npm/is-number@7.0.0").scope,
        Some(Scope::Optional)
    );
    // Without the outdated output nothing is known to be current.
    let (_, listing_only) = merge(&[NPM_LS]);
    assert!(listing_only.dependencies.iter().all(|d| d.latest.is_none()));
}

#[test]
fn npm_audit_advisories_by_url_and_through_transitive_entries() {
    // The npm CLI's own snapshot: a direct dependency with one advisory.
    let listing = r#"{"name":"app","dependencies":{"test-dep-a":{"version":"1.0.0"},
                      "astro":{"version":"4.0.0"}}}"#;
    let (_, report) = merge(&[listing, NPM_AUDIT]);
    let advisories = &find(&report, "pkg:npm/test-dep-a@1.0.0").advisories;
    assert_eq!(advisories.len(), 1);
    assert_eq!(advisories[0].id, "GHSA-100");
    assert_eq!(advisories[0].severity, Some(Severity::High));
    // `via` as plain strings: astro is vulnerable through http-cache-semantics (the shape npm
    // prints for transitive advisories).
    let transitive = r#"{"auditReportVersion":2,"vulnerabilities":{
        "http-cache-semantics":{"name":"http-cache-semantics","severity":"high","isDirect":false,
          "via":[{"source":1240991,"name":"http-cache-semantics",
                  "url":"https://github.com/advisories/GHSA-ch52-4w7c-c8xp","severity":"high"}]},
        "astro":{"name":"astro","severity":"high","isDirect":true,"via":["http-cache-semantics"]}}}"#;
    let (_, report) = merge(&[listing, transitive]);
    let astro = find(&report, "pkg:npm/astro@4.0.0");
    assert_eq!(astro.advisories.len(), 1);
    assert_eq!(astro.advisories[0].id, "GHSA-ch52-4w7c-c8xp");
    // A transitive package that no listing names is not invented.
    assert_eq!(report.dependencies.len(), 2);
}

#[test]
fn pip_names_are_normalized_and_outdated_merged() {
    let (_, report) = merge(&[PIP_LIST, PIP_OUTDATED]);
    let requests = find(&report, "pkg:pypi/requests@2.25.0");
    assert!(requests.latest.is_some());
    assert_ne!(requests.latest.as_deref(), Some("2.25.0"));
    // Display-case names from one tool meet lower-case ones from another.
    let listing = r#"[{"name":"Django_Rest.Framework","version":"3.14.0"}]"#;
    let outdated = r#"[{"name":"django-rest-framework","version":"3.14.0","latest_version":"3.15.2","latest_filetype":"wheel"}]"#;
    let (_, report) = merge(&[listing, outdated]);
    assert_eq!(report.dependencies.len(), 1);
    assert_eq!(
        report.dependencies[0].purl,
        "pkg:pypi/django-rest-framework@3.14.0"
    );
    assert_eq!(report.dependencies[0].latest.as_deref(), Some("3.15.2"));
}

#[test]
fn a_skipped_audit_never_makes_a_package_look_fine() {
    // pip-audit 2.10.0 here could not look anything up and exited 0.
    let (_, report) = merge(&[PIP_LIST, PIP_OUTDATED, PIP_AUDIT_SKIPPED]);
    assert!(
        report
            .dependencies
            .iter()
            .all(|d| d.latest.is_none() && d.advisories.is_empty()),
        "{:?}",
        report.dependencies
    );
    // A vulnerability found by pip-audit is an advisory of unknown severity.
    let audit = r#"{"dependencies":[{"name":"Requests","version":"2.25.0","vulns":[
        {"id":"GHSA-j8r2-6x86-q33q","fix_versions":["2.31.0"],"aliases":["CVE-2023-32681"]}]}],
        "fixes":[]}"#;
    let (_, report) = merge(&[PIP_LIST, audit]);
    let advisories = &find(&report, "pkg:pypi/requests@2.25.0").advisories;
    assert_eq!(advisories[0].id, "GHSA-j8r2-6x86-q33q");
    assert_eq!(advisories[0].severity, Some(Severity::Unknown));
}

#[test]
fn npm_outdated_with_all_lists_arrays() {
    let outdated = r#"{"ms":[{"current":"2.0.0","wanted":"2.0.0","latest":"2.1.3","type":"dependencies"},
                             {"current":"2.1.1","wanted":"2.1.1","latest":"2.1.3","type":"dependencies"}]}"#;
    let (_, report) = merge(&[outdated]);
    assert_eq!(report.dependencies.len(), 1);
    assert_eq!(report.dependencies[0].latest.as_deref(), Some("2.1.3"));
}

#[test]
fn scoped_npm_names_make_valid_purls() {
    let listing = r#"{"name":"app","dependencies":{"@types/node":{"version":"20.1.0"}}}"#;
    let (_, report) = merge(&[listing]);
    let input = report.dependencies[0].purl.clone();
    assert_eq!(input, "pkg:npm/%40types/node@20.1.0");
    let validated = crate::domain::Report::from_input(report, chrono::Utc::now()).unwrap();
    assert_eq!(validated.dependencies[0].name, "@types/node");
}

proptest::proptest! {
    /// Whatever JSON arrives, recognizing and merging it never panics, and what comes out is a
    /// report the server validates or refuses with an error.
    #[test]
    fn any_json_is_merged_or_refused(json in arbitrary_json()) {
        let mut merged = Merged::default();
        if merged.add(ToolOutput { source: "x", json }).is_ok()
            && let Ok(report) = merged.into_report()
        {
            let _ = crate::domain::Report::from_input(report, chrono::Utc::now());
        }
    }
}

fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        "[a-z@/._ -]{0,8}".prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let keys = prop_oneof![
            Just("name".to_owned()),
            Just("version".to_owned()),
            Just("dependencies".to_owned()),
            Just("via".to_owned()),
            Just("vulnerabilities".to_owned()),
            Just("auditReportVersion".to_owned()),
            Just("latest".to_owned()),
            Just("current".to_owned()),
            Just("latest_version".to_owned()),
            Just("vulns".to_owned()),
            Just("id".to_owned()),
            Just("url".to_owned()),
            Just("skip_reason".to_owned()),
            "[a-z]{1,4}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(keys, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const CARGO_METADATA: &str =
    include_str!("../../../../tests/fixtures/reports/cargo-1.95.0/metadata.json");

#[test]
fn cargo_metadata_lists_the_direct_dependencies_with_their_kinds() {
    let (tools, report) = merge(&[CARGO_METADATA]);
    assert_eq!(tools, [Tool::CargoMetadata]);
    let scopes: Vec<(&str, Option<Scope>)> = report
        .dependencies
        .iter()
        .map(|d| (d.purl.as_str(), d.scope))
        .collect();
    // cfg-if is also a normal dependency of log, but of the project it is a build dependency.
    assert_eq!(
        scopes,
        [
            ("pkg:cargo/cfg-if@0.1.10", Some(Scope::Build)),
            ("pkg:cargo/itoa@0.4.8", Some(Scope::Runtime)),
            ("pkg:cargo/log@0.4.8", Some(Scope::Runtime)),
            ("pkg:cargo/smallvec@1.6.1", Some(Scope::Dev)),
        ]
    );
    assert!(report.dependencies.iter().all(|d| d.latest.is_none()));
}

/// cargo-outdated 0.17.0 on the metadata fixture's project: `log->cfg-if` is log's own
/// dependency, listed with `Removed`.
const CARGO_OUTDATED: &str =
    include_str!("../../../../tests/fixtures/reports/cargo-outdated-0.17.0/outdated.json");

#[test]
fn cargo_outdated_and_audit_complete_the_metadata() {
    let audit = r#"{"database":{"advisory-count":900},"lockfile":{"dependency-count":5},
        "vulnerabilities":{"found":true,"count":1,"list":[{"advisory":{"id":"RUSTSEC-2021-0003",
        "package":"smallvec","title":"Buffer overflow in SmallVec::insert_many",
        "url":"https://github.com/servo/rust-smallvec/issues/252","cvss":null},
        "versions":{"patched":[">=1.6.1"],"unaffected":[]},
        "package":{"name":"smallvec","version":"1.6.1"}},
        {"advisory":{"id":"RUSTSEC-2020-0071","package":"time","url":""},
        "package":{"name":"time","version":"0.1.43"}}]},"warnings":{}}"#;
    let (tools, report) = merge(&[CARGO_METADATA, CARGO_OUTDATED, audit]);
    assert_eq!(
        tools,
        [Tool::CargoMetadata, Tool::CargoOutdated, Tool::CargoAudit]
    );
    let latest: Vec<(&str, Option<&str>)> = report
        .dependencies
        .iter()
        .map(|d| (d.purl.as_str(), d.latest.as_deref()))
        .collect();
    // Four direct dependencies, all outdated; `log->cfg-if` is not one of them; the audit adds
    // the vulnerable transitive `time`.
    assert_eq!(
        latest,
        [
            ("pkg:cargo/cfg-if@0.1.10", Some("1.0.5")),
            ("pkg:cargo/itoa@0.4.8", Some("1.0.19")),
            ("pkg:cargo/log@0.4.8", Some("0.4.35")),
            ("pkg:cargo/smallvec@1.6.1", Some("1.16.6")),
            // Not checked for updates by anything: no latest (it is vulnerable anyway).
            ("pkg:cargo/time@0.1.43", None),
        ]
    );
    let smallvec = find(&report, "pkg:cargo/smallvec@1.6.1");
    assert_eq!(smallvec.advisories[0].id, "RUSTSEC-2021-0003");
    // A vulnerable crate the inventory does not name is listed with the version the audit saw.
    let time = find(&report, "pkg:cargo/time@0.1.43");
    assert_eq!(
        time.advisories[0].url.as_deref(),
        Some("https://rustsec.org/advisories/RUSTSEC-2020-0071.html")
    );
}

/// The fields of `go help list`'s Module struct, as `go list -m -u -json all` streams them.
#[test]
fn go_modules_stream_with_updates() {
    let stream = r#"[
        {"Path":"example.com/app","Main":true,"Dir":"/src/app","GoMod":"/src/app/go.mod","GoVersion":"1.21"},
        {"Path":"golang.org/x/text","Version":"v0.3.0","Update":{"Path":"golang.org/x/text","Version":"v0.14.0"},"Indirect":true},
        {"Path":"github.com/google/uuid","Version":"v1.6.0"}]"#;
    let json: Value = serde_json::from_str(stream).unwrap();
    assert_eq!(Tool::detect(&json), Some(Tool::GoList));
    let (_, report) = merge(&[stream]);
    assert_eq!(report.dependencies.len(), 2);
    assert_eq!(
        find(&report, "pkg:golang/golang.org/x/text@v0.3.0")
            .latest
            .as_deref(),
        Some("v0.14.0")
    );
    assert_eq!(
        find(&report, "pkg:golang/github.com/google/uuid@v1.6.0")
            .latest
            .as_deref(),
        Some("v1.6.0")
    );
}

/// `composer outdated --all --format=json` (composer 2: `installed`, `latest-status`).
#[test]
fn composer_outdated_all() {
    let output = r#"{"installed":[
        {"name":"monolog/monolog","direct-dependency":true,"version":"2.9.1","latest":"3.5.0","latest-status":"update-possible","description":"Logging","abandoned":false},
        {"name":"psr/log","direct-dependency":false,"version":"3.0.0","latest":"3.0.0","latest-status":"up-to-date","abandoned":false}]}"#;
    let (tools, report) = merge(&[output]);
    assert_eq!(tools, [Tool::ComposerOutdated]);
    assert_eq!(
        find(&report, "pkg:composer/monolog/monolog@2.9.1")
            .latest
            .as_deref(),
        Some("3.5.0")
    );
    assert_eq!(
        find(&report, "pkg:composer/psr/log@3.0.0")
            .latest
            .as_deref(),
        Some("3.0.0")
    );
}

/// osv-scanner's JSON: results, packages, vulnerabilities, groups with a CVSS `max_severity`.
#[test]
fn osv_scanner_advisories_for_any_ecosystem() {
    let output = r#"{"results":[{"source":{"path":"/src/package-lock.json","type":"lockfile"},
        "packages":[
          {"package":{"name":"lodash","version":"4.17.20","ecosystem":"npm"},
           "vulnerabilities":[{"id":"GHSA-35jh-r3h4-6jhm","aliases":["CVE-2021-23337"],
                               "database_specific":{"severity":"HIGH"}}],
           "groups":[{"ids":["GHSA-35jh-r3h4-6jhm"],"max_severity":"7.2"}]},
          {"package":{"name":"requests","version":"2.25.0","ecosystem":"PyPI"},
           "vulnerabilities":[{"id":"PYSEC-2023-74"}],
           "groups":[{"ids":["PYSEC-2023-74"],"max_severity":"6.1"}]}]}]}"#;
    let (tools, report) = merge(&[NPM_LS, NPM_OUTDATED, output]);
    assert_eq!(tools[2], Tool::OsvScanner);
    let lodash = find(&report, "pkg:npm/lodash@4.17.20");
    assert_eq!(
        (
            lodash.advisories[0].id.as_str(),
            lodash.advisories[0].severity
        ),
        ("GHSA-35jh-r3h4-6jhm", Some(Severity::High))
    );
    let requests = find(&report, "pkg:pypi/requests@2.25.0");
    assert_eq!(requests.advisories[0].severity, Some(Severity::Medium));
}

const OSV_MAX_SEVERITY: &str =
    include_str!("../../../../tests/fixtures/reports/osv-scanner-snapshot/max-severity.json");
const OSV_MIXED: &str =
    include_str!("../../../../tests/fixtures/reports/osv-scanner-snapshot/mixed-ecosystems.json");

/// osv-scanner's own output snapshots: a CVSS group score, ecosystems, dependency groups, and a
/// package known only by a commit (no version: nothing to report).
#[test]
fn osv_scanner_snapshots() {
    let (_, report) = merge(&[OSV_MAX_SEVERITY]);
    let mine1 = find(&report, "pkg:npm/mine1@1.2.3");
    assert_eq!(
        (
            mine1.advisories[0].id.as_str(),
            mine1.advisories[0].severity
        ),
        ("OSV-1", Some(Severity::Critical))
    );
    let (_, report) = merge(&[OSV_MIXED]);
    let purls: Vec<(&str, Option<Scope>, usize)> = report
        .dependencies
        .iter()
        .map(|d| (d.purl.as_str(), d.scope, d.advisories.len()))
        .collect();
    assert_eq!(
        purls,
        [
            ("pkg:composer/author1/mine1@1.2.3", None, 2),
            ("pkg:composer/author3/mine3@0.4.1", Some(Scope::Build), 2),
            ("pkg:nuget/mine2@3.2.5", Some(Scope::Dev), 1),
        ]
    );
    assert!(
        report
            .dependencies
            .iter()
            .flat_map(|d| &d.advisories)
            .all(|a| a.severity == Some(Severity::Unknown))
    );
}

const CARGO_NO_DEPS: &str =
    include_str!("../../../../tests/fixtures/reports/cargo-1.95.0/metadata-no-deps.json");
const CARGO_WITHOUT_DEPENDENCIES: &str =
    include_str!("../../../../tests/fixtures/reports/cargo-1.95.0/metadata-no-dependencies.json");
const NPM_LS_NOT_INSTALLED: &str = include_str!(
    "../../../../tests/fixtures/reports/npm-11.19.1-not-installed/ls-no-node-modules.json"
);
const NPM_LS_ONE_REMOVED: &str = include_str!(
    "../../../../tests/fixtures/reports/npm-11.19.1-not-installed/ls-one-removed.json"
);
const NPM_LS_NO_DEPENDENCIES: &str = include_str!(
    "../../../../tests/fixtures/reports/npm-11.19.1-not-installed/ls-no-dependencies.json"
);
/// `go list -m -u -json` without `all`: the main module alone.
const GO_LIST_MAIN_ONLY: &str = r#"{"Path":"example.com/app","Main":true,"Dir":"/src/app","GoMod":"/src/app/go.mod","GoVersion":"1.21"}"#;

/// Merges `outputs` named `a.json`, `b.json`…: the report, or the error of the first refusal.
fn try_merge(outputs: &[&str]) -> Result<ReportInput, ToolError> {
    let mut merged = Merged::default();
    for (i, text) in outputs.iter().enumerate() {
        let json = serde_json::from_str(text).unwrap();
        let name = format!("{}.json", char::from(b'a' + i as u8));
        merged.add(ToolOutput {
            source: &name,
            json,
        })?;
    }
    merged.into_report()
}

/// Real outputs of a project that has dependencies, which say nothing about them: each would
/// be a green `none` badge, so each is refused naming the input and what to run instead.
#[test]
fn listings_that_cannot_tell_a_project_has_dependencies_are_refused() {
    let cases: [(&[&str], &str, &[&str]); 8] = [
        (
            &[CARGO_NO_DEPS],
            "a.json",
            &["`resolve` is null", "without --no-deps"],
        ),
        (
            &[NPM_LS_NOT_INSTALLED],
            "a.json",
            &[
                "3 of the project's dependencies are not installed",
                "is-number, is-odd, left-pad",
                "npm ci",
            ],
        ),
        (
            &[NPM_LS_ONE_REMOVED],
            "a.json",
            &["1 of the project's", "left-pad)"],
        ),
        (
            &[NPM_OUTDATED, NPM_LS_NOT_INSTALLED],
            "b.json",
            &["not installed"],
        ),
        (
            &[GO_LIST_MAIN_ONLY],
            "a.json",
            &["only the main module", "with `all`"],
        ),
        // An "outdated" output that found nothing, or an audit, lists no inventory.
        (
            &["{}"],
            "a.json",
            &["no installed package is listed", "npm ls --json --long"],
        ),
        (&["[]"], "a.json", &["no installed package is listed"]),
        (
            &[PIP_AUDIT_SKIPPED, "{}"],
            "a.json, b.json",
            &["no installed package is listed"],
        ),
    ];
    // A graph whose dependencies are missing from `packages` (a truncated output) names none
    // that can be judged: not the same as a crate without dependencies.
    let mut truncated: Value = serde_json::from_str(CARGO_METADATA).unwrap();
    truncated["packages"]
        .as_array_mut()
        .unwrap()
        .retain(|p| p["name"] == "fixture-app");
    let truncated = truncated.to_string();
    let truncated_case: (&[&str], &str, &[&str]) =
        (&[&truncated], "a.json", &["no installed package is listed"]);
    for (outputs, input, phrases) in cases.into_iter().chain([truncated_case]) {
        let error = try_merge(outputs).unwrap_err();
        assert_eq!(error.input, input, "{error}");
        for phrase in phrases {
            assert!(error.message.contains(phrase), "`{phrase}` not in: {error}");
        }
    }
}

/// `none` stays for inputs that really list no dependency.
#[test]
fn listings_that_say_there_is_nothing_give_an_empty_report() {
    let bom = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}"#;
    for outputs in [
        &[CARGO_WITHOUT_DEPENDENCIES][..],
        &[NPM_LS_NO_DEPENDENCIES],
        &[NPM_LS_NO_DEPENDENCIES, "{}"],
        &[r#"{"dependencies": []}"#],
        &[bom],
    ] {
        let report = try_merge(outputs).unwrap_or_else(|e| panic!("{e}"));
        assert!(report.dependencies.is_empty());
    }
    // The optional dependency npm did not install on this platform (`"fsevents": {}`) is no
    // reason to refuse a listing whose other dependencies are installed.
    let mut listing: Value = serde_json::from_str(NPM_LS_ONE_REMOVED).unwrap();
    listing["dependencies"]["left-pad"] = serde_json::json!({"version": "1.3.0"});
    let report = try_merge(&[&listing.to_string()]).unwrap();
    let purls: Vec<&str> = report
        .dependencies
        .iter()
        .map(|d| d.purl.as_str())
        .collect();
    assert_eq!(
        purls,
        [
            "pkg:npm/is-number@7.0.0",
            "pkg:npm/is-odd@3.0.1",
            "pkg:npm/left-pad@1.3.0"
        ]
    );
}

#[test]
fn messages_name_five_packages_then_count_the_rest() {
    let names = ["a", "b", "c", "d", "e", "f", "g"];
    assert_eq!(names_for_message(&names[..1]), "a");
    assert_eq!(names_for_message(&names[..5]), "a, b, c, d, e");
    assert_eq!(names_for_message(&names[..6]), "a, b, c, d, e and 1 more");
    assert_eq!(names_for_message(&names), "a, b, c, d, e and 2 more");
}

/// Two workspace members need one crate in different kinds: the widest scope wins (runtime over
/// build over dev), whichever member comes first.
#[test]
fn a_crate_two_members_need_takes_the_widest_scope() {
    let metadata = |kinds: [&str; 2]| {
        serde_json::json!({
            "packages": [
                {"id": "a", "name": "a", "version": "0.1.0"},
                {"id": "b", "name": "b", "version": "0.1.0"},
                {"id": "x", "name": "x", "version": "1.0.0"}
            ],
            "workspace_members": ["a", "b"],
            "resolve": {"nodes": [
                {"id": "a", "deps": [{"pkg": "x", "dep_kinds": [{"kind": kinds[0]}]}]},
                {"id": "b", "deps": [{"pkg": "x", "dep_kinds": [{"kind": kinds[1]}]}]}
            ]}
        })
        .to_string()
        .replace(r#""kind":"normal""#, r#""kind":null"#)
    };
    for (kinds, scope) in [
        (["dev", "normal"], Scope::Runtime),
        (["normal", "dev"], Scope::Runtime),
        (["build", "dev"], Scope::Build),
        (["dev", "build"], Scope::Build),
        (["dev", "dev"], Scope::Dev),
    ] {
        let report = try_merge(&[&metadata(kinds)]).unwrap();
        assert_eq!(
            find(&report, "pkg:cargo/x@1.0.0").scope,
            Some(scope),
            "{kinds:?}"
        );
    }
}
