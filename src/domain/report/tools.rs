//! The JSON that the tools people already run print, merged into one report (docs/contract.md §7,
//! `depbadge report`): the inventory from a listing, `latest` from an "outdated" output,
//! advisories from an audit, scopes from whichever tool knows them. Pure code: files are read by
//! the command line.
//!
//! Recognized by shape: `npm ls --json --long`, `npm outdated --json --long`, `npm audit --json`,
//! `pip list --format=json`, `pip list --outdated --format=json`, `pip-audit -f json`, a CycloneDX
//! BOM, and a depbadge report. Exit codes of those tools say nothing (npm outdated exits 1 when
//! something is outdated, pip-audit 0 when it checked nothing): only their content counts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::cyclonedx::Bom;
use super::{AdvisoryInput, DependencyInput, ReportInput, Scope, Severity};

/// One tool's output, with a name for messages (its file name, or `stdin`).
pub struct ToolOutput<'a> {
    pub source: &'a str,
    pub json: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input}: {message}")]
pub struct ToolError {
    /// The file (or `stdin`) the output came from.
    pub input: String,
    pub message: String,
}

/// What a tool's output is, recognized by its shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    NpmLs,
    NpmOutdated,
    NpmAudit,
    PipList,
    PipOutdated,
    PipAudit,
    CycloneDx,
    Depbadge,
}

impl Tool {
    pub fn name(self) -> &'static str {
        match self {
            Self::NpmLs => "npm ls --json",
            Self::NpmOutdated => "npm outdated --json",
            Self::NpmAudit => "npm audit --json",
            Self::PipList => "pip list --format=json",
            Self::PipOutdated => "pip list --outdated --format=json",
            Self::PipAudit => "pip-audit -f json",
            Self::CycloneDx => "CycloneDX BOM",
            Self::Depbadge => "depbadge report",
        }
    }

    pub fn detect(json: &Value) -> Option<Self> {
        match json {
            Value::Array(items) => {
                let entries: Option<Vec<&Map<String, Value>>> =
                    items.iter().map(Value::as_object).collect();
                let entries = entries?;
                if !entries.iter().all(|e| e.contains_key("name")) {
                    return None;
                }
                // An empty list is what `pip list --outdated` prints when nothing is outdated.
                if entries.is_empty() || entries.iter().any(|e| e.contains_key("latest_version")) {
                    Some(Self::PipOutdated)
                } else {
                    Some(Self::PipList)
                }
            }
            Value::Object(object) => {
                if object.contains_key("bomFormat") {
                    Some(Self::CycloneDx)
                } else if object.contains_key("auditReportVersion") {
                    Some(Self::NpmAudit)
                } else if let Some(Value::Array(dependencies)) = object.get("dependencies") {
                    let first = dependencies.first().and_then(Value::as_object);
                    match first {
                        Some(d) if d.contains_key("purl") => Some(Self::Depbadge),
                        Some(d) if d.contains_key("name") => Some(Self::PipAudit),
                        None if object.contains_key("fixes") => Some(Self::PipAudit),
                        None => Some(Self::Depbadge),
                        Some(_) => None,
                    }
                } else if object.get("dependencies").is_some_and(Value::is_object)
                    || object.contains_key("_id")
                {
                    Some(Self::NpmLs)
                } else if object.values().all(|v| {
                    v.get("current").is_some()
                        || v.get("latest").is_some()
                        || v.as_array()
                            .is_some_and(|a| a.iter().all(|e| e.get("latest").is_some()))
                }) {
                    // `{}` included: npm outdated's answer when nothing is outdated.
                    Some(Self::NpmOutdated)
                } else {
                    None
                }
            }
            _ => None,
        }
    }
}

#[derive(Debug, Default)]
struct Package {
    version: Option<String>,
    latest: Option<String>,
    scope: Option<Scope>,
    advisories: Vec<AdvisoryInput>,
    /// An audit could not look it up: it has not been said to be fine.
    skipped: bool,
    /// Listed by a listing or an outdated output (not only named by an audit).
    installed: bool,
}

/// Packages by ecosystem and normalized name, with what each tool said of them.
#[derive(Debug, Default)]
pub struct Merged {
    packages: BTreeMap<(&'static str, String), Package>,
    /// Ecosystems whose "outdated" output was given: a package it does not list is up to date.
    outdated_checked: BTreeSet<&'static str>,
    /// Reports and BOMs given whole, added as they are.
    whole: Vec<DependencyInput>,
    /// The latest `analyzed_at` of the reports and BOMs given whole; else the time of receipt.
    analyzed_at: Option<chrono::DateTime<chrono::Utc>>,
    tools: Vec<Tool>,
}

impl Merged {
    pub fn add(&mut self, output: ToolOutput<'_>) -> Result<Tool, ToolError> {
        let error = |message: String| ToolError {
            input: output.source.to_owned(),
            message,
        };
        let tool = Tool::detect(&output.json).ok_or_else(|| {
            error(
                "not the JSON output of a tool depbadge reads (npm ls/outdated/audit, pip list, \
                 pip-audit, a CycloneDX BOM or a depbadge report)"
                    .to_owned(),
            )
        })?;
        match tool {
            Tool::NpmLs => self.npm_ls(&output.json),
            Tool::NpmOutdated => self.npm_outdated(&output.json),
            Tool::NpmAudit => self.npm_audit(&output.json),
            Tool::PipList => self.pip_list(&output.json, false),
            Tool::PipOutdated => self.pip_list(&output.json, true),
            Tool::PipAudit => self.pip_audit(&output.json),
            Tool::CycloneDx => {
                let bom: Bom =
                    serde_json::from_value(output.json).map_err(|e| error(e.to_string()))?;
                let report = bom
                    .into_report()
                    .map_err(|e| error(format!("{}: {}", e.field, e.message)))?;
                let input = report.into_input();
                self.analyzed_at = self.analyzed_at.max(input.analyzed_at);
                self.whole.extend(input.dependencies);
            }
            Tool::Depbadge => {
                let report: ReportInput =
                    serde_json::from_value(output.json).map_err(|e| error(e.to_string()))?;
                self.analyzed_at = self.analyzed_at.max(report.analyzed_at);
                self.whole.extend(report.dependencies);
            }
        }
        self.tools.push(tool);
        Ok(tool)
    }

    /// The tools whose outputs were read, in order.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    pub fn into_report(self) -> ReportInput {
        let mut dependencies = self.whole;
        for ((ecosystem, name), package) in self.packages {
            let Some(version) = package.version.filter(|_| package.installed) else {
                continue;
            };
            let latest = match package.latest {
                Some(latest) => Some(latest),
                // Checked for updates, not listed as outdated: up to date.
                None if self.outdated_checked.contains(ecosystem) => Some(version.clone()),
                None => None,
            };
            // A skipped lookup never makes a package look fine.
            let latest = latest.filter(|_| !package.skipped || !package.advisories.is_empty());
            dependencies.push(DependencyInput {
                purl: purl(ecosystem, &name, &version),
                latest,
                scope: package.scope,
                advisories: package.advisories,
            });
        }
        ReportInput {
            analyzed_at: self.analyzed_at,
            dependencies,
        }
    }

    fn package(&mut self, ecosystem: &'static str, name: &str) -> &mut Package {
        let key = match ecosystem {
            "pypi" => pep503(name),
            _ => name.to_owned(),
        };
        self.packages.entry((ecosystem, key)).or_default()
    }

    fn npm_ls(&mut self, json: &Value) {
        // Direct dependencies: the ones `npm outdated` (without --all) checks.
        for (name, entry) in objects(json.get("dependencies")) {
            let Some(version) = text(entry.get("version")) else {
                continue;
            };
            let scope = if entry.get("dev") == Some(&Value::Bool(true)) {
                Scope::Dev
            } else if entry.get("optional") == Some(&Value::Bool(true)) {
                Scope::Optional
            } else {
                Scope::Runtime
            };
            let package = self.package("npm", name);
            package.version = Some(version);
            package.scope = Some(scope);
            package.installed = true;
        }
    }

    fn npm_outdated(&mut self, json: &Value) {
        self.outdated_checked.insert("npm");
        for (name, value) in json.as_object().into_iter().flatten() {
            // With --all, a package installed at several versions is an array of entries.
            let entries: Vec<&Value> = match value {
                Value::Array(entries) => entries.iter().collect(),
                entry => vec![entry],
            };
            for entry in entries {
                let (Some(current), Some(latest)) =
                    (text(entry.get("current")), text(entry.get("latest")))
                else {
                    continue;
                };
                let scope = match entry.get("type").and_then(Value::as_str) {
                    Some("devDependencies") => Some(Scope::Dev),
                    Some("optionalDependencies") => Some(Scope::Optional),
                    Some("dependencies") => Some(Scope::Runtime),
                    _ => None,
                };
                let package = self.package("npm", name);
                if package.version.is_none() {
                    package.version = Some(current);
                }
                package.latest = Some(latest);
                package.scope = package.scope.or(scope);
                package.installed = true;
            }
        }
    }

    fn npm_audit(&mut self, json: &Value) {
        let entries: HashMap<&str, &Value> = objects(json.get("vulnerabilities")).collect();
        for name in entries.keys() {
            let mut advisories = Vec::new();
            let mut seen = BTreeSet::new();
            collect_npm_advisories(&entries, name, &mut seen, &mut advisories);
            let package = self.package("npm", name);
            for advisory in advisories {
                if !package.advisories.iter().any(|a| a.id == advisory.id) {
                    package.advisories.push(advisory);
                }
            }
        }
    }

    fn pip_list(&mut self, json: &Value, outdated: bool) {
        if outdated {
            self.outdated_checked.insert("pypi");
        }
        for entry in json.as_array().into_iter().flatten() {
            let (Some(name), Some(version)) = (
                entry.get("name").and_then(Value::as_str),
                text(entry.get("version")),
            ) else {
                continue;
            };
            let package = self.package("pypi", name);
            package.version = Some(version);
            package.installed = true;
            if outdated {
                package.latest = text(entry.get("latest_version"));
            }
        }
    }

    fn pip_audit(&mut self, json: &Value) {
        for entry in json
            .get("dependencies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = entry.get("name").and_then(Value::as_str) else {
                continue;
            };
            let skipped = entry.get("skip_reason").is_some();
            let advisories: Vec<AdvisoryInput> = entry
                .get("vulns")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|vuln| {
                    let id = text(vuln.get("id"))?;
                    // pip-audit gives no severity: known vulnerable, severity unknown.
                    Some(AdvisoryInput {
                        url: advisory_url(&id),
                        id,
                        severity: Some(Severity::Unknown),
                    })
                })
                .collect();
            let package = self.package("pypi", name);
            package.skipped |= skipped;
            package.advisories.extend(advisories);
        }
    }
}

/// The advisories of an npm audit entry: its own (`via` objects), and through `via` strings
/// those of the packages it depends on, so that a direct dependency carries the vulnerabilities
/// it brings in.
fn collect_npm_advisories<'a>(
    entries: &HashMap<&'a str, &'a Value>,
    name: &'a str,
    seen: &mut BTreeSet<&'a str>,
    advisories: &mut Vec<AdvisoryInput>,
) {
    if !seen.insert(name) {
        return;
    }
    let Some(entry) = entries.get(name) else {
        return;
    };
    for via in entry
        .get("via")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match via {
            Value::String(dependency) => {
                if let Some((key, _)) = entries.get_key_value(dependency.as_str()) {
                    collect_npm_advisories(entries, key, seen, advisories);
                }
            }
            Value::Object(advisory) => {
                let url = advisory.get("url").and_then(Value::as_str);
                // The GHSA id is the last segment of the advisory's URL.
                let id = url
                    .and_then(|url| url.rsplit('/').next())
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned)
                    .or_else(|| advisory.get("source").map(|s| format!("npm-{s}")));
                let Some(id) = id else { continue };
                let severity = match advisory.get("severity").and_then(Value::as_str) {
                    Some("critical") => Severity::Critical,
                    Some("high") => Severity::High,
                    Some("moderate" | "medium") => Severity::Medium,
                    Some("low") => Severity::Low,
                    _ => Severity::Unknown,
                };
                if !advisories.iter().any(|a| a.id == id) {
                    advisories.push(AdvisoryInput {
                        id,
                        severity: Some(severity),
                        url: url.map(str::to_owned),
                    });
                }
            }
            _ => {}
        }
    }
}

fn objects(value: Option<&Value>) -> impl Iterator<Item = (&str, &Value)> {
    value
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), v))
}

fn text(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn advisory_url(id: &str) -> Option<String> {
    id.starts_with("GHSA-")
        .then(|| format!("https://github.com/advisories/{id}"))
        .or_else(|| {
            id.starts_with("PYSEC-")
                .then(|| format!("https://osv.dev/vulnerability/{id}"))
        })
}

/// PEP 503: lowercase, runs of `-`, `_` and `.` become one `-`.
pub fn pep503(name: &str) -> String {
    let mut normalized = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
        } else {
            if separator && !normalized.is_empty() {
                normalized.push('-');
            }
            separator = false;
            normalized.extend(c.to_lowercase());
        }
    }
    normalized
}

fn purl(ecosystem: &str, name: &str, version: &str) -> String {
    // A scoped npm name keeps its `/` as the purl's namespace separator; `@` is encoded.
    let name: String = name
        .chars()
        .map(|c| match c {
            '@' => "%40".to_owned(),
            '?' | '#' | ' ' | '%' => format!("%{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect();
    let version: String = version
        .chars()
        .map(|c| match c {
            '?' | '#' | ' ' | '%' | '@' => format!("%{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect();
    format!("pkg:{ecosystem}/{name}@{version}")
}

#[cfg(test)]
mod tests;
