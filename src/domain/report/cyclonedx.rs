//! CycloneDX JSON BOMs (1.4 to 1.6) as reports (docs/contract.md §2.0), as `npm sbom`,
//! `cyclonedx-py`, `cargo cyclonedx`, syft, Trivy, Grype or osv-scanner write them.
//!
//! Every component with a versioned purl is a dependency, nested components included and the
//! BOM's own `metadata.component` excluded, one per purl. Scope: `excluded` or the npm property
//! `cdx:npm:package:development=true` is dev, `optional` is optional, anything else runtime.
//! Vulnerabilities become advisories of the components their `affects[].ref` names. A BOM lists
//! what is installed, not what is newest: `latest` comes only from a `depbadge:latest` property.
//! Errors name the BOM's own path (`components[12].purl`), never the report's.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{
    AdvisoryInput, DependencyInput, Report, ReportError, ReportInput, Scope, Severity, ToolUsed,
};

const SUPPORTED_VERSIONS: [&str; 3] = ["1.4", "1.5", "1.6"];
/// Components deeper than this are refused: a BOM is a tree, and recursion must stay bounded.
const MAX_NESTING: usize = 32;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    bom_format: String,
    spec_version: String,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    components: Vec<Component>,
    #[serde(default)]
    vulnerabilities: Vec<Vulnerability>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default)]
    timestamp: Option<DateTime<Utc>>,
    #[serde(default)]
    component: Option<Component>,
    /// 1.4: a list of tools; 1.5 and later: `{"components": [...]}` (both are read).
    #[serde(default)]
    tools: Option<serde_json::Value>,
}

/// The tools a BOM names as its makers, by name (with vendor or group) and version.
fn tools_of(value: Option<&serde_json::Value>) -> Vec<ToolUsed> {
    let Some(value) = value else {
        return Vec::new();
    };
    let entries = value.as_array().or_else(|| {
        value
            .get("components")
            .and_then(serde_json::Value::as_array)
    });
    entries
        .into_iter()
        .flatten()
        .filter_map(|tool| {
            let name = tool.get("name")?.as_str()?.trim();
            let vendor = tool
                .get("vendor")
                .or_else(|| tool.get("group"))
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty());
            Some(ToolUsed {
                name: match vendor {
                    Some(vendor) => format!("{vendor} {name}"),
                    None => name.to_owned(),
                },
                version: tool
                    .get("version")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned),
            })
        })
        .filter(|tool| !tool.name.is_empty())
        .take(8)
        .collect()
}

#[derive(Debug, Deserialize)]
struct Component {
    #[serde(rename = "bom-ref", default)]
    bom_ref: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    properties: Vec<Property>,
    #[serde(default)]
    components: Vec<Component>,
}

#[derive(Debug, Deserialize)]
struct Property {
    name: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Vulnerability {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    ratings: Vec<Rating>,
    #[serde(default)]
    advisories: Vec<Source>,
    #[serde(default)]
    affects: Vec<Affect>,
}

#[derive(Debug, Deserialize)]
struct Source {
    #[serde(default)]
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Rating {
    #[serde(default)]
    severity: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Affect {
    #[serde(rename = "ref")]
    reference: String,
}

/// A report read from a BOM, with where in the BOM each dependency came from.
#[derive(Debug)]
pub struct BomReport {
    input: ReportInput,
    /// `components[3].components[0]` for each dependency of `input`, in order.
    paths: Vec<String>,
}

impl BomReport {
    /// Validates the report as [`Report::from_input`] does, naming the BOM's paths in errors.
    pub fn into_report(self, received_at: DateTime<Utc>) -> Result<Report, ReportError> {
        let paths = self.paths;
        Report::from_input(self.input, received_at).map_err(|e| locate(&paths, e))
    }

    /// The dependencies read from the BOM, as the native format would list them.
    pub fn into_input(self) -> ReportInput {
        self.input
    }
}

/// A validation error about `dependencies[i]…`, renamed to the BOM's path of that component.
fn locate(paths: &[String], mut error: ReportError) -> ReportError {
    if let Some(rest) = error.field.strip_prefix("dependencies[")
        && let Some((index, tail)) = rest.split_once(']')
        && let Some(path) = index.parse::<usize>().ok().and_then(|i| paths.get(i))
    {
        error.field = format!("{path}{tail}");
    }
    error
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ReportError {
    ReportError {
        code: "invalid_bom",
        message: message.into(),
        field: field.into(),
    }
}

impl Bom {
    pub fn into_report(self) -> Result<BomReport, ReportError> {
        if self.bom_format != "CycloneDX" {
            return Err(invalid(
                "bomFormat",
                format!("`{}` is not CycloneDX", self.bom_format),
            ));
        }
        if !SUPPORTED_VERSIONS.contains(&self.spec_version.as_str()) {
            return Err(invalid(
                "specVersion",
                format!(
                    "CycloneDX {} is not supported; send 1.4, 1.5 or 1.6",
                    self.spec_version
                ),
            ));
        }
        let (analyzed_at, own, tools) = match self.metadata {
            Some(metadata) => (
                metadata.timestamp,
                metadata.component.and_then(|c| c.purl.or(c.bom_ref)),
                tools_of(metadata.tools.as_ref()),
            ),
            None => (None, None, Vec::new()),
        };
        let mut collected = Collected::default();
        for (i, component) in self.components.iter().enumerate() {
            collected.add(component, format!("components[{i}]"), own.as_deref(), 0)?;
        }
        // A BOM that lists packages but none that can be judged would be stored as `none`, a
        // green badge for a project that has dependencies (contract §2.2): refused.
        if collected.dependencies.is_empty() && collected.packages_named > 0 {
            return Err(invalid(
                "components",
                format!(
                    "none of the {} components that name a package has a purl with a version                      (pkg:TYPE/NAME@VERSION): there is nothing to judge. A BOM without any                      component is stored as a project without dependencies",
                    collected.packages_named
                ),
            ));
        }
        for (i, vulnerability) in self.vulnerabilities.into_iter().enumerate() {
            collected.add_vulnerability(vulnerability, i)?;
        }
        Ok(BomReport {
            input: ReportInput {
                analyzed_at,
                dependencies: collected.dependencies,
                tools,
                visibility: None,
            },
            paths: collected.paths,
        })
    }
}

#[derive(Default)]
struct Collected {
    dependencies: Vec<DependencyInput>,
    paths: Vec<String>,
    /// Index in `dependencies` by purl and by bom-ref.
    by_reference: HashMap<String, usize>,
    /// Components other than the BOM's own that name a package (a purl, or the type of a
    /// package), usable or not.
    packages_named: usize,
}

impl Collected {
    fn add(
        &mut self,
        component: &Component,
        path: String,
        own: Option<&str>,
        depth: usize,
    ) -> Result<(), ReportError> {
        if depth > MAX_NESTING {
            return Err(invalid(
                path,
                format!("components are nested more than {MAX_NESTING} deep"),
            ));
        }
        let purl = component.purl.as_deref().map(str::trim);
        let is_own =
            own.is_some_and(|own| purl == Some(own) || component.bom_ref.as_deref() == Some(own));
        let names_a_package =
            purl.is_some() || matches!(component.kind.as_deref(), Some("library" | "framework"));
        if names_a_package && !is_own {
            self.packages_named += 1;
        }
        // A purl without a version names a package, not an installed one: nothing to judge.
        if let Some(purl) = purl.filter(|purl| has_version(purl))
            && !is_own
        {
            let index = match self.by_reference.get(purl) {
                Some(&index) => index,
                None => {
                    self.dependencies.push(DependencyInput {
                        purl: purl.to_owned(),
                        latest: property(component, "depbadge:latest").map(str::to_owned),
                        scope: Some(scope_of(component)),
                        advisories: Vec::new(),
                    });
                    self.paths.push(path.clone());
                    self.dependencies.len() - 1
                }
            };
            self.by_reference.insert(purl.to_owned(), index);
            if let Some(bom_ref) = &component.bom_ref {
                self.by_reference.insert(bom_ref.clone(), index);
            }
        }
        for (i, child) in component.components.iter().enumerate() {
            self.add(child, format!("{path}.components[{i}]"), own, depth + 1)?;
        }
        Ok(())
    }

    fn add_vulnerability(
        &mut self,
        vulnerability: Vulnerability,
        i: usize,
    ) -> Result<(), ReportError> {
        let field = format!("vulnerabilities[{i}]");
        let id = vulnerability
            .id
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| invalid(format!("{field}.id"), "a vulnerability needs an id"))?;
        let severity = vulnerability
            .ratings
            .iter()
            .filter_map(|rating| rating.severity.as_deref().and_then(Severity::from_label))
            .max_by_key(|severity| severity.rank())
            .unwrap_or(Severity::Unknown);
        let url = vulnerability
            .source
            .and_then(|source| source.url)
            .or_else(|| vulnerability.advisories.into_iter().find_map(|a| a.url))
            .filter(|url| url.starts_with("https://") || url.starts_with("http://"));
        for (j, affect) in vulnerability.affects.iter().enumerate() {
            let index = *self
                .by_reference
                .get(affect.reference.trim())
                .ok_or_else(|| {
                    invalid(
                        format!("{field}.affects[{j}].ref"),
                        format!(
                            "`{}` names no component of this BOM with a versioned purl",
                            affect.reference
                        ),
                    )
                })?;
            let advisories = &mut self.dependencies[index].advisories;
            if !advisories.iter().any(|a| a.id == id) {
                advisories.push(AdvisoryInput {
                    id: id.clone(),
                    severity: Some(severity),
                    url: url.clone(),
                });
            }
        }
        Ok(())
    }
}

fn has_version(purl: &str) -> bool {
    // The version follows the last `@` before any qualifiers or subpath.
    let end = purl.find(['?', '#']).unwrap_or(purl.len());
    purl[..end]
        .rsplit_once('@')
        .is_some_and(|(_, version)| !version.is_empty())
}

fn property<'a>(component: &'a Component, name: &str) -> Option<&'a str> {
    component
        .properties
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.as_deref())
}

fn scope_of(component: &Component) -> Scope {
    if component.scope.as_deref() == Some("excluded")
        || property(component, "cdx:npm:package:development") == Some("true")
    {
        Scope::Dev
    } else if component.scope.as_deref() == Some("optional") {
        Scope::Optional
    } else {
        Scope::Runtime
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const NPM_SBOM: &str = include_str!("../../../tests/fixtures/reports/npm-11.19.1/sbom.json");
    const CYCLONEDX_PY: &str =
        include_str!("../../../tests/fixtures/reports/cyclonedx-py-7.2.1/bom.json");
    const SPEC_VULNERABILITY: &str =
        include_str!("../../../tests/fixtures/reports/cyclonedx-spec/valid-vulnerability-1.5.json");

    fn read(json: &str) -> Result<BomReport, ReportError> {
        serde_json::from_str::<Bom>(json)
            .map_err(|e| invalid("body", e.to_string()))?
            .into_report()
    }

    fn purls(report: &BomReport) -> Vec<&str> {
        report
            .input
            .dependencies
            .iter()
            .map(|d| d.purl.as_str())
            .collect()
    }

    fn dependency<'a>(report: &'a BomReport, purl: &str) -> &'a DependencyInput {
        report
            .input
            .dependencies
            .iter()
            .find(|d| d.purl == purl)
            .unwrap_or_else(|| panic!("{purl} not in the report"))
    }

    #[test]
    fn npm_sbom_lists_every_installed_package_with_its_scope() {
        let report = read(NPM_SBOM).unwrap();
        // 54 components; the project itself (metadata.component) is not one of its dependencies.
        assert_eq!(report.input.dependencies.len(), 54);
        assert!(
            report
                .input
                .dependencies
                .iter()
                .all(|d| !d.purl.contains("fixture-app"))
        );
        assert_eq!(
            dependency(&report, "pkg:npm/lodash@4.17.20").scope,
            Some(Scope::Runtime)
        );
        // npm marks devDependencies with a property, keeping scope `required`.
        assert_eq!(
            dependency(&report, "pkg:npm/minimist@1.2.5").scope,
            Some(Scope::Dev)
        );
        assert_eq!(
            dependency(&report, "pkg:npm/is-number@7.0.0").scope,
            Some(Scope::Optional)
        );
        assert!(report.input.dependencies.iter().all(|d| d.latest.is_none()));
        assert_eq!(
            report.input.analyzed_at.map(|at| at.to_rfc3339()),
            Some("2026-11-27T22:55:46.200+00:00".to_owned())
        );
    }

    #[test]
    fn cyclonedx_py_1_6_environment_bom() {
        let report = read(CYCLONEDX_PY).unwrap();
        let purls = purls(&report);
        assert_eq!(
            purls,
            [
                "pkg:pypi/certifi@2026.10.19.post1",
                "pkg:pypi/chardet@3.0.4",
                "pkg:pypi/idna@2.10",
                "pkg:pypi/pip@23.2.1",
                "pkg:pypi/requests@2.25.0",
                "pkg:pypi/setuptools@65.5.0",
                "pkg:pypi/urllib3@1.26.5",
            ]
        );
        assert!(
            report
                .input
                .dependencies
                .iter()
                .all(|d| d.scope == Some(Scope::Runtime))
        );
    }

    #[test]
    fn vulnerabilities_become_advisories_of_the_components_they_affect() {
        let report = read(SPEC_VULNERABILITY).unwrap();
        let jackson = dependency(
            &report,
            "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.4",
        );
        assert_eq!(jackson.advisories.len(), 1);
        let advisory = &jackson.advisories[0];
        assert_eq!(advisory.id, "SNYK-JAVA-COMFASTERXMLJACKSONCORE-32111");
        assert_eq!(advisory.severity, Some(Severity::Critical));
        assert_eq!(
            advisory.url.as_deref(),
            Some("https://snyk.io/vuln/SNYK-JAVA-COMFASTERXMLJACKSONCORE-32111")
        );
    }

    /// What no captured producer output here shows: nested components, `excluded`, duplicates,
    /// refs by purl, `moderate`, `depbadge:latest`, ratings without a usable severity.
    const HAND_MADE: &str = r#"{
      "bomFormat": "CycloneDX", "specVersion": "1.4",
      "metadata": { "component": { "bom-ref": "app", "purl": "pkg:npm/app@1.0.0" } },
      "components": [
        { "bom-ref": "a", "purl": "pkg:npm/a@1.0.0", "scope": "excluded",
          "properties": [ { "name": "depbadge:latest", "value": "2.0.0" } ],
          "components": [
            { "bom-ref": "b", "purl": "pkg:npm/b@1.0.0",
              "components": [ { "purl": "pkg:npm/c@3.0.0", "scope": "optional" } ] }
          ] },
        { "purl": "pkg:npm/a@1.0.0" },
        { "name": "no purl" },
        { "purl": "pkg:npm/unversioned" },
        { "bom-ref": "app", "purl": "pkg:npm/app@1.0.0" }
      ],
      "vulnerabilities": [
        { "id": "GHSA-1", "ratings": [ { "severity": "moderate" }, { "severity": "low" } ],
          "advisories": [ { "url": "https://github.com/advisories/GHSA-1" } ],
          "affects": [ { "ref": "b" }, { "ref": "pkg:npm/c@3.0.0" } ] },
        { "id": "OSV-2", "ratings": [ { "severity": "none" } ], "affects": [ { "ref": "b" } ] }
      ]
    }"#;

    #[test]
    fn nested_components_scopes_duplicates_and_ratings() {
        let report = read(HAND_MADE).unwrap();
        let purls = purls(&report);
        assert_eq!(
            purls,
            ["pkg:npm/a@1.0.0", "pkg:npm/b@1.0.0", "pkg:npm/c@3.0.0"]
        );
        let a = dependency(&report, "pkg:npm/a@1.0.0");
        assert_eq!(
            (a.scope, a.latest.as_deref()),
            (Some(Scope::Dev), Some("2.0.0"))
        );
        let b = dependency(&report, "pkg:npm/b@1.0.0");
        let severities: Vec<_> = b
            .advisories
            .iter()
            .map(|a| (a.id.as_str(), a.severity))
            .collect();
        assert_eq!(
            severities,
            [
                ("GHSA-1", Some(Severity::Medium)),
                ("OSV-2", Some(Severity::Unknown))
            ]
        );
        assert_eq!(
            b.advisories[0].url.as_deref(),
            Some("https://github.com/advisories/GHSA-1")
        );
        let c = dependency(&report, "pkg:npm/c@3.0.0");
        assert_eq!((c.scope, c.advisories.len()), (Some(Scope::Optional), 1));
        assert_eq!(report.paths[2], "components[0].components[0].components[0]");
    }

    /// A BOM that names packages, none of them usable, would be a green `none`: refused naming
    /// `components`. One without packages is a project without dependencies.
    #[test]
    fn a_bom_without_one_usable_component_is_refused_and_an_empty_one_is_none() {
        let head = r#""bomFormat":"CycloneDX","specVersion":"1.5""#;
        for components in [
            r#"[{"purl":"nope"}]"#,
            r#"[{"purl":"pkg:npm/left-pad"}, {"purl":"pkg:npm/is-number@"}]"#,
            r#"[{"type":"library","name":"left-pad"}]"#,
            r#"[{"type":"file","name":"x"},{"type":"framework","name":"rails","components":[{"purl":"pkg:gem/rack"}]}]"#,
        ] {
            let error = read(&format!(r#"{{{head},"components":{components}}}"#)).unwrap_err();
            assert_eq!(
                (error.code, error.field.as_str()),
                ("invalid_bom", "components"),
                "{components}"
            );
            assert!(
                error.message.contains("purl with a version"),
                "{}",
                error.message
            );
        }
        for components in [
            "[]",
            r#"[{"type":"file","name":"README"}, {"type":"operating-system","name":"debian"}]"#,
        ] {
            let report = read(&format!(r#"{{{head},"components":{components}}}"#)).unwrap();
            assert!(report.input.dependencies.is_empty(), "{components}");
        }
        assert!(
            read(&format!("{{{head}}}"))
                .unwrap()
                .input
                .dependencies
                .is_empty()
        );
        // The BOM's own component alone names no dependency.
        let own = format!(
            r#"{{{head},"metadata":{{"component":{{"bom-ref":"app","purl":"pkg:npm/app@1.0.0"}}}},
                "components":[{{"bom-ref":"app","purl":"pkg:npm/app@1.0.0"}}]}}"#
        );
        assert!(read(&own).unwrap().input.dependencies.is_empty());
        // One usable component among unusable ones is enough.
        let one =
            format!(r#"{{{head},"components":[{{"purl":"nope"}},{{"purl":"pkg:npm/a@1.0.0"}}]}}"#);
        assert_eq!(purls(&read(&one).unwrap()), ["pkg:npm/a@1.0.0"]);
    }

    #[test]
    fn errors_name_the_bom_path() {
        let cases = [
            (r#"{"bomFormat":"SPDX","specVersion":"1.5"}"#, "bomFormat"),
            (
                r#"{"bomFormat":"CycloneDX","specVersion":"1.3"}"#,
                "specVersion",
            ),
            (
                r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"purl":"pkg:npm/a@1"}],
                   "vulnerabilities":[{"id":"X","affects":[{"ref":"nothing"}]}]}"#,
                "vulnerabilities[0].affects[0].ref",
            ),
            (
                r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{"purl":"pkg:npm/a@1"}],
                   "vulnerabilities":[{"affects":[]}]}"#,
                "vulnerabilities[0].id",
            ),
        ];
        for (json, field) in cases {
            assert_eq!(read(json).unwrap_err().field, field, "{json}");
        }
        // Validation of the dependencies themselves, renamed to where they are in the BOM.
        let bad_purl = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","components":[
            {"purl":"pkg:npm/a@1.0.0"},
            {"purl":"pkg:npm/b@1.0.0","components":[{"purl":"not-a-purl@1.0"}]}]}"#;
        let error = read(bad_purl).unwrap().into_report(Utc::now()).unwrap_err();
        assert_eq!(error.field, "components[1].components[0].purl", "{error:?}");
    }

    #[test]
    fn nesting_is_bounded() {
        let mut json = String::from(r#"{"purl":"pkg:npm/leaf@1.0.0"}"#);
        for _ in 0..40 {
            json = format!(r#"{{"components":[{json}]}}"#);
        }
        let bom =
            format!(r#"{{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{json}]}}"#);
        let error = read(&bom).unwrap_err();
        assert!(error.message.contains("nested"), "{error:?}");
        // The bound itself: a leaf MAX_NESTING levels below the top is read, one more is not.
        let nested = |depth: usize| {
            let mut json = String::from(r#"{"purl":"pkg:npm/leaf@1.0.0"}"#);
            for _ in 0..depth {
                json = format!(r#"{{"components":[{json}]}}"#);
            }
            read(&format!(
                r#"{{"bomFormat":"CycloneDX","specVersion":"1.5","components":[{json}]}}"#
            ))
        };
        assert_eq!(purls(&nested(MAX_NESTING).unwrap()), ["pkg:npm/leaf@1.0.0"]);
        assert!(nested(MAX_NESTING + 1).is_err());
    }

    proptest! {
        /// Whatever the JSON, reading a BOM returns a report or an error, never a panic.
        #[test]
        fn any_json_bom_is_read_or_refused(
            components in proptest::collection::vec(
                (proptest::option::of("[a-z:/@.%?#-]{0,24}"), proptest::option::of("[a-z]{0,9}"),
                 proptest::option::of("[a-z0-9]{0,5}")), 0..8),
            refs in proptest::collection::vec("[a-z:/@.-]{0,12}", 0..4),
            severity in "[a-zA-Z]{0,9}",
        ) {
            let components: Vec<serde_json::Value> = components
                .into_iter()
                .map(|(purl, scope, bom_ref)| serde_json::json!({
                    "purl": purl, "scope": scope, "bom-ref": bom_ref,
                    "components": [ { "purl": "pkg:npm/x@1.0.0" } ],
                }))
                .collect();
            let affects: Vec<serde_json::Value> =
                refs.iter().map(|r| serde_json::json!({ "ref": r })).collect();
            let bom = serde_json::json!({
                "bomFormat": "CycloneDX", "specVersion": "1.6", "components": components,
                "vulnerabilities": [ { "id": "X", "ratings": [ { "severity": severity } ],
                                       "affects": affects } ],
            });
            if let Ok(report) = read(&bom.to_string()) {
                let _ = report.into_report(Utc::now());
            }
        }

        #[test]
        fn any_bytes_are_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(bom) = serde_json::from_slice::<Bom>(&bytes)
                && let Ok(report) = bom.into_report()
            {
                let _ = report.into_report(Utc::now());
            }
        }
    }
}
