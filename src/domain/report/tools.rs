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
use super::{AdvisoryInput, DependencyInput, ReportInput, Scope, Severity, ToolUsed};

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
                 pip-audit, a CycloneDX BOM or a depbadge report)"
                    .to_owned(),
            )
        })?;
        match tool {
            Tool::NpmLs => self.npm_ls(&output.json).map_err(error)?,
            Tool::NpmOutdated => self.npm_outdated(&output.json),
            Tool::NpmAudit => self.npm_audit(&output.json),
            Tool::PipList => self.pip_list(&output.json, false),
            Tool::PipOutdated => self.pip_list(&output.json, true),
            Tool::PipAudit => self.pip_audit(&output.json),
            Tool::CargoMetadata => self.cargo_metadata(&output.json).map_err(error)?,
            Tool::CargoOutdated => self.cargo_outdated(&output.json),
            Tool::CargoAudit => self.cargo_audit(&output.json),
            Tool::GoList => self.go_list(&output.json).map_err(error)?,
            Tool::ComposerOutdated => self.composer_outdated(&output.json),
            Tool::OsvScanner => self.osv_scanner(&output.json),
            Tool::CycloneDx => {
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
            Tool::Depbadge => {
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
        }
    }

    fn package(&mut self, ecosystem: &'static str, name: &str) -> &mut Package {
        let key = match ecosystem {
            "pypi" => pep503(name),
            _ => name.to_owned(),
        };
        self.packages.entry((ecosystem, key)).or_default()
    }

    fn npm_ls(&mut self, json: &Value) -> Result<(), String> {
        // Declared but not installed (no `node_modules`, or an install that stopped): npm marks
        // them `missing`, without a version. Such a listing says nothing about the project.
        // An optional dependency not installed on this platform is `{}`, and not a problem.
        let missing: Vec<&str> = objects(json.get("dependencies"))
            .filter(|(_, entry)| entry.get("missing") == Some(&Value::Bool(true)))
            .map(|(name, _)| name)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "{} of the project's dependencies are not installed (`missing`: {}): run npm ci \
                 (or npm install) first, then npm ls --json --long",
                missing.len(),
                names_for_message(&missing)
            ));
        }
        self.listed_none |= objects(json.get("dependencies")).next().is_none();
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
            package.listed = true;
        }
        Ok(())
    }

    fn npm_outdated(&mut self, json: &Value) {
        self.outdated_checked.insert("npm");
        for (name, value) in json.as_object().into_iter().flatten() {
            // With --all, a package installed at several versions is an array of entries.
            let entries = one_or_many(value);
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
                package.listed = true;
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
            package.listed = true;
            if outdated {
                package.latest = text(entry.get("latest_version"));
            }
        }
    }

    fn pip_audit(&mut self, json: &Value) {
        for entry in array(json.get("dependencies")) {
            let Some(name) = entry.get("name").and_then(Value::as_str) else {
                continue;
            };
            let skipped = entry.get("skip_reason").is_some();
            let advisories: Vec<AdvisoryInput> = array(entry.get("vulns"))
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

impl Merged {
    /// Direct dependencies of the workspace's members, with their kinds as scopes.
    fn cargo_metadata(&mut self, json: &Value) -> Result<(), String> {
        // `--no-deps` leaves out the dependency graph: nothing says which versions are used.
        let Some(resolve) = json.get("resolve").filter(|r| !r.is_null()) else {
            return Err(
                "`resolve` is null: this output has no dependency graph, as cargo metadata \
                 --no-deps prints it. Run cargo metadata --format-version 1 without --no-deps"
                    .to_owned(),
            );
        };
        let packages: HashMap<&str, (&str, &str)> = array(json.get("packages"))
            .filter_map(|p| {
                Some((
                    p.get("id")?.as_str()?,
                    (p.get("name")?.as_str()?, p.get("version")?.as_str()?),
                ))
            })
            .collect();
        let members: BTreeSet<&str> = array(json.get("workspace_members"))
            .filter_map(Value::as_str)
            .collect();
        let nodes = array(resolve.get("nodes"));
        let mut depends = false;
        for node in nodes {
            if !node
                .get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| members.contains(id))
            {
                continue;
            }
            for dep in array(node.get("deps")) {
                depends = true;
                let Some(pkg) = dep.get("pkg").and_then(Value::as_str) else {
                    continue;
                };
                let Some(&(name, version)) = packages.get(pkg).filter(|_| !members.contains(pkg))
                else {
                    continue;
                };
                let kinds: Vec<Option<&str>> = array(dep.get("dep_kinds"))
                    .map(|k| k.get("kind").and_then(Value::as_str))
                    .collect();
                let scope = if kinds.is_empty() || kinds.contains(&None) {
                    Scope::Runtime
                } else if kinds.contains(&Some("build")) {
                    Scope::Build
                } else {
                    Scope::Dev
                };
                let package = self.package("cargo", name);
                package.version = Some(version.to_owned());
                package.scope = Some(match (package.scope, scope) {
                    (Some(Scope::Runtime), _) | (_, Scope::Runtime) => Scope::Runtime,
                    (Some(Scope::Build), _) | (_, Scope::Build) => Scope::Build,
                    _ => scope,
                });
                package.installed = true;
                package.listed = true;
            }
        }
        // A resolved graph whose members depend on nothing: a crate without dependencies.
        self.listed_none |= !depends;
        Ok(())
    }

    fn cargo_outdated(&mut self, json: &Value) {
        self.outdated_checked.insert("cargo");
        let members = one_or_many(json);
        for dependency in members
            .into_iter()
            .flat_map(|m| array(m.get("dependencies")))
        {
            let (Some(name), Some(current)) = (
                dependency.get("name").and_then(Value::as_str),
                text(dependency.get("project")),
            ) else {
                continue;
            };
            // `log->cfg-if`: a dependency of a dependency, as its parent needs it (and usually
            // `Removed`: gone from the tree once the parent is updated). Not the project's own.
            if name.contains("->") {
                continue;
            }
            // `---` when no newer release exists, `Removed` when the crate is gone.
            let latest = text(dependency.get("latest")).filter(|l| l != "---" && l != "Removed");
            let scope = match dependency.get("kind").and_then(Value::as_str) {
                Some("Development") => Some(Scope::Dev),
                Some("Build") => Some(Scope::Build),
                Some("Normal") => Some(Scope::Runtime),
                _ => None,
            };
            let package = self.package("cargo", name);
            if package.version.is_none() {
                package.version = Some(current);
            }
            // Without one, `into_report` makes it up to date: cargo outdated checked it.
            package.latest = latest;
            package.scope = package.scope.or(scope);
            package.installed = true;
            package.listed = true;
        }
    }

    /// Vulnerable crates with their versions: listed even when the inventory does not name them
    /// (a transitive crate), since the audit says exactly which version is installed.
    fn cargo_audit(&mut self, json: &Value) {
        let list = array(json.get("vulnerabilities").and_then(|v| v.get("list")));
        for entry in list {
            let advisory = entry.get("advisory");
            let (Some(id), Some(name), Some(version)) = (
                text(advisory.and_then(|a| a.get("id"))),
                entry
                    .get("package")
                    .and_then(|p| p.get("name"))
                    .and_then(Value::as_str),
                text(entry.get("package").and_then(|p| p.get("version"))),
            ) else {
                continue;
            };
            let url = text(advisory.and_then(|a| a.get("url")))
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                .or_else(|| Some(format!("https://rustsec.org/advisories/{id}.html")));
            let package = self.package("cargo", name);
            if package.version.is_none() {
                package.version = Some(version);
            }
            package.installed = true;
            if !package.advisories.iter().any(|a| a.id == id) {
                package.advisories.push(AdvisoryInput {
                    id,
                    severity: Some(Severity::Unknown),
                    url,
                });
            }
        }
    }

    /// `go list -m -u -json all`: every module, `Update` when a newer one exists (without `-u`
    /// there is no `Update`, and nothing can be said: give `-u`).
    fn go_list(&mut self, json: &Value) -> Result<(), String> {
        let modules = one_or_many(json);
        // `go list -m -json` without `all` prints the main module alone; so does a module that
        // requires nothing, which cannot be told apart: refused either way.
        if !modules.iter().any(|m| text(m.get("Version")).is_some()) {
            return Err(
                "lists no module with a version, only the main module: run go list -m -u -json \
                 all (with `all`). A module that requires nothing can push {\"dependencies\": []}"
                    .to_owned(),
            );
        }
        // The main module has no `Version`, and is skipped with anything else that has none.
        for module in modules {
            let (Some(path), Some(version)) = (
                module.get("Path").and_then(Value::as_str),
                text(module.get("Version")),
            ) else {
                continue;
            };
            let latest = text(module.get("Update").and_then(|u| u.get("Version")))
                .unwrap_or_else(|| version.clone());
            let package = self.package("golang", path);
            package.version = Some(version);
            package.latest = Some(latest);
            package.scope = Some(Scope::Runtime);
            package.installed = true;
            package.listed = true;
        }
        Ok(())
    }

    fn composer_outdated(&mut self, json: &Value) {
        for entry in array(json.get("installed")) {
            let (Some(name), Some(version)) = (
                entry.get("name").and_then(Value::as_str),
                text(entry.get("version")),
            ) else {
                continue;
            };
            let latest = match entry.get("latest-status").and_then(Value::as_str) {
                Some("up-to-date") => Some(version.clone()),
                _ => text(entry.get("latest")),
            };
            let package = self.package("composer", name);
            package.version = Some(version);
            package.latest = latest;
            package.installed = true;
            package.listed = true;
        }
    }

    /// Vulnerable packages of any ecosystem, with their versions.
    fn osv_scanner(&mut self, json: &Value) {
        let packages = array(json.get("results")).flat_map(|r| array(r.get("packages")));
        for entry in packages {
            let info = entry.get("package");
            let ecosystem = match info
                .and_then(|p| p.get("ecosystem"))
                .and_then(Value::as_str)
            {
                Some("npm") => "npm",
                Some("PyPI") => "pypi",
                Some("crates.io") => "cargo",
                Some("Go") => "golang",
                Some("Packagist") => "composer",
                Some("Maven") => "maven",
                Some("RubyGems") => "gem",
                Some("NuGet") => "nuget",
                _ => continue,
            };
            let (Some(name), Some(version)) = (
                info.and_then(|p| p.get("name")).and_then(Value::as_str),
                text(info.and_then(|p| p.get("version"))),
            ) else {
                continue;
            };
            let groups: Vec<&Value> = array(entry.get("groups")).collect();
            let advisories: Vec<AdvisoryInput> = array(entry.get("vulnerabilities"))
                .filter_map(|vuln| {
                    let id = text(vuln.get("id"))?;
                    let named = vuln
                        .get("database_specific")
                        .and_then(|d| d.get("severity"))
                        .and_then(Value::as_str)
                        .and_then(Severity::from_label);
                    // Else the CVSS score of the group the id belongs to.
                    let scored = groups
                        .iter()
                        .find(|g| array(g.get("ids")).any(|i| i.as_str() == Some(&id)))
                        .and_then(|g| g.get("max_severity").and_then(Value::as_str))
                        .and_then(|score| score.parse::<f64>().ok())
                        .map(|score| match score {
                            s if s >= 9.0 => Severity::Critical,
                            s if s >= 7.0 => Severity::High,
                            s if s >= 4.0 => Severity::Medium,
                            s if s > 0.0 => Severity::Low,
                            _ => Severity::Unknown,
                        });
                    Some(AdvisoryInput {
                        url: advisory_url(&id)
                            .or_else(|| Some(format!("https://osv.dev/vulnerability/{id}"))),
                        severity: Some(named.or(scored).unwrap_or(Severity::Unknown)),
                        id,
                    })
                })
                .collect();
            let groups_named: Vec<&str> = array(entry.get("dependency_groups"))
                .filter_map(Value::as_str)
                .collect();
            let scope = if groups_named.contains(&"dev") {
                Some(Scope::Dev)
            } else if groups_named.contains(&"build") {
                Some(Scope::Build)
            } else if groups_named.contains(&"optional") {
                Some(Scope::Optional)
            } else {
                None
            };
            let package = self.package(ecosystem, name);
            if package.version.is_none() {
                package.version = Some(version);
            }
            package.scope = package.scope.or(scope);
            package.installed = true;
            for advisory in advisories {
                if !package.advisories.iter().any(|a| a.id == advisory.id) {
                    package.advisories.push(advisory);
                }
            }
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
    for via in array(entry.get("via")) {
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
                let severity = advisory
                    .get("severity")
                    .and_then(Value::as_str)
                    .and_then(Severity::from_label)
                    .unwrap_or(Severity::Unknown);
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
