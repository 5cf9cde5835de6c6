//! The JSON that the tools people already run print, merged into one report (docs/contract.md §7,
//! `depbadge report`): the inventory from a listing, `latest` from an "outdated" output,
//! advisories from an audit, scopes from whichever tool knows them. Pure code: files are read by
//! the command line.
//!
//! Recognized by shape ([`Tool::detect`]); each family is read by its own module, all with one
//! signature ([`Reader`]):
//! - `npm`: `npm ls --json --long`, `npm outdated --json --long`, `npm audit --json`;
//! - `pip`: `pip list --format=json`, `pip list --outdated --format=json`, `pip-audit -f json`;
//! - `cargo`: `cargo metadata --format-version 1`, `cargo outdated --format json`,
//!   `cargo audit --json`;
//! - `go`: `go list -m -u -json all`;
//! - `composer`: `composer outdated --all --format=json`;
//! - `osv`: `osv-scanner --format json`;
//!
//! and, given whole, a CycloneDX BOM (`super::cyclonedx`) and a depbadge report. Exit codes of
//! those tools say nothing (npm outdated exits 1 when something is outdated, pip-audit 0 when it
//! checked nothing): only their content counts.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::cyclonedx::Bom;
use super::{AdvisoryInput, DependencyInput, ReportInput, Scope, ToolUsed};

mod cargo;
mod composer;
mod go;
mod npm;
mod osv;
mod pip;

/// How a tool family's module adds one output to the merge: what it says of each package, or
/// why the output says nothing about the project (a message naming the fix).
type Reader = fn(&mut Merged, &Value) -> Result<(), String>;

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
    CargoMetadata,
    CargoOutdated,
    CargoAudit,
    GoList,
    ComposerOutdated,
    OsvScanner,
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
            Self::CargoMetadata => "cargo metadata --format-version 1",
            Self::CargoOutdated => "cargo outdated --format json",
            Self::CargoAudit => "cargo audit --json",
            Self::GoList => "go list -m -u -json all",
            Self::ComposerOutdated => "composer outdated --all --format=json",
            Self::OsvScanner => "osv-scanner --format json",
            Self::CycloneDx => "CycloneDX BOM",
            Self::Depbadge => "depbadge report",
        }
    }

    /// The function that adds this tool's output to a merge; `None` for the inputs given whole
    /// (a CycloneDX BOM, a depbadge report).
    fn reader(self) -> Option<Reader> {
        Some(match self {
            Self::NpmLs => npm::ls,
            Self::NpmOutdated => npm::outdated,
            Self::NpmAudit => npm::audit,
            Self::PipList => |merged, json| pip::list(merged, json, false),
            Self::PipOutdated => |merged, json| pip::list(merged, json, true),
            Self::PipAudit => pip::audit,
            Self::CargoMetadata => cargo::metadata,
            Self::CargoOutdated => cargo::outdated,
            Self::CargoAudit => cargo::audit,
            Self::GoList => go::list,
            Self::ComposerOutdated => composer::outdated,
            Self::OsvScanner => osv::scanner,
            Self::CycloneDx | Self::Depbadge => return None,
        })
    }

    pub fn detect(json: &Value) -> Option<Self> {
        match json {
            Value::Array(items) => {
                let entries: Option<Vec<&Map<String, Value>>> =
                    items.iter().map(Value::as_object).collect();
                let entries = entries?;
                // Streams of objects (several JSON documents in one output) arrive as arrays.
                if !entries.is_empty() && entries.iter().all(|e| e.contains_key("Path")) {
                    return Some(Self::GoList);
                }
                if !entries.is_empty() && entries.iter().all(|e| e.contains_key("crate_name")) {
                    return Some(Self::CargoOutdated);
                }
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
                } else if object.contains_key("workspace_members") {
                    Some(Self::CargoMetadata)
                } else if object.contains_key("crate_name") {
                    Some(Self::CargoOutdated)
                } else if object.contains_key("database")
                    && object
                        .get("vulnerabilities")
                        .is_some_and(|v| v.get("list").is_some())
                {
                    Some(Self::CargoAudit)
                } else if object.contains_key("Path") {
                    Some(Self::GoList)
                } else if object.get("installed").is_some_and(Value::is_array) {
                    Some(Self::ComposerOutdated)
                } else if object.get("results").is_some_and(Value::is_array) {
                    Some(Self::OsvScanner)
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
    /// In the report: listed by a listing or an outdated output, or found with its version by
    /// an audit.
    installed: bool,
    /// Listed by a listing or an outdated output: what an "outdated" tool checks.
    listed: bool,
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
    /// Tools named by the reports and BOMs given whole (a BOM's makers).
    named_tools: Vec<ToolUsed>,
    tools: Vec<Tool>,
    /// The inputs read, by name, for messages about all of them.
    sources: Vec<String>,
    /// An input that lists a project's packages said it has none (`npm ls` of a project without
    /// dependencies, a crate's resolved graph without any, a BOM or a report listing nothing):
    /// only then may the report be empty (contract §2.2).
    listed_none: bool,
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
                 pip-audit, cargo metadata/outdated/audit, go list, composer outdated, \
                 osv-scanner, a CycloneDX BOM or a depbadge report)"
                    .to_owned(),
            )
        })?;
        match tool.reader() {
            Some(read) => read(self, &output.json).map_err(error)?,
            None if tool == Tool::CycloneDx => {
                let bom: Bom =
                    serde_json::from_value(output.json).map_err(|e| error(e.to_string()))?;
                let report = bom
                    .into_report()
                    .map_err(|e| error(format!("{}: {}", e.field, e.message)))?;
                let input = report.into_input();
                self.listed_none |= input.dependencies.is_empty();
                self.analyzed_at = self.analyzed_at.max(input.analyzed_at);
                self.named_tools.extend(input.tools);
                self.whole.extend(input.dependencies);
            }
            None => {
                let report: ReportInput =
                    serde_json::from_value(output.json).map_err(|e| error(e.to_string()))?;
                self.listed_none |= report.dependencies.is_empty();
                self.analyzed_at = self.analyzed_at.max(report.analyzed_at);
                self.named_tools.extend(report.tools);
                self.whole.extend(report.dependencies);
            }
        }
        self.tools.push(tool);
        self.sources.push(output.source.to_owned());
        Ok(tool)
    }

    /// The tools whose outputs were read, in order.
    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    /// The merged report; refused when it would name no dependency although no input said the
    /// project has none (an audit or an "outdated" output alone lists only what it found).
    pub fn into_report(self) -> Result<ReportInput, ToolError> {
        let sources = self.sources.join(", ");
        let listed_none = self.listed_none;
        let report = self.merge();
        if report.dependencies.is_empty() && !listed_none {
            return Err(ToolError {
                input: sources,
                message: "no installed package is listed, and no input says the project has \
                          none: an audit or an \"outdated\" output names only what it found. Add \
                          the listing (npm ls --json --long, pip list --format=json, cargo \
                          metadata --format-version 1, go list -m -u -json all, composer \
                          outdated --all --format=json, or a CycloneDX BOM)"
                    .to_owned(),
            });
        }
        Ok(report)
    }

    fn merge(self) -> ReportInput {
        let mut dependencies = self.whole;
        for ((ecosystem, name), package) in self.packages {
            let Some(version) = package.version.filter(|_| package.installed) else {
                continue;
            };
            let latest = match package.latest {
                Some(latest) => Some(latest),
                // Checked for updates, not listed as outdated: up to date.
                None if package.listed && self.outdated_checked.contains(ecosystem) => {
                    Some(version.clone())
                }
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
        // Each tool read, then what the BOMs and reports named; once each.
        let mut tools: Vec<ToolUsed> = Vec::new();
        let read = self
            .tools
            .iter()
            .filter(|tool| !matches!(tool, Tool::CycloneDx | Tool::Depbadge))
            .map(|tool| ToolUsed {
                name: tool.name().to_owned(),
                version: None,
            });
        for tool in read.chain(self.named_tools) {
            if !tools.contains(&tool) && tools.len() < 32 {
                tools.push(tool);
            }
        }
        ReportInput {
            analyzed_at: self.analyzed_at,
            dependencies,
            tools,
            visibility: None,
        }
    }

    fn package(&mut self, ecosystem: &'static str, name: &str) -> &mut Package {
        let key = match ecosystem {
            "pypi" => pep503(name),
            _ => name.to_owned(),
        };
        self.packages.entry((ecosystem, key)).or_default()
    }
}

/// Up to five names, then how many more: a message stays one readable line.
fn names_for_message(names: &[&str]) -> String {
    let shown = names.iter().take(5).copied().collect::<Vec<_>>().join(", ");
    match names.len() {
        n if n > 5 => format!("{shown} and {} more", n - 5),
        _ => shown,
    }
}

/// The items of an array; nothing for anything else.
fn array(value: Option<&Value>) -> impl Iterator<Item = &Value> {
    value.and_then(Value::as_array).into_iter().flatten()
}

/// A stream of documents arrives as an array (see the command line); one document is one item.
fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        item => vec![item],
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
