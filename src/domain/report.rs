//! A project's dependency report: what an analyzer sends (docs/contract.md §2), validated into a [`Report`]
//! whose every dependency already carries its freshness (docs/contract.md §2.1).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub mod cyclonedx;
pub mod tools;

use super::access::Visibility;
use super::package::Package;
use super::status::Freshness;

/// contract §2: more dependencies than this are refused with 422.
pub const MAX_DEPENDENCIES: usize = 10_000;
const MAX_TOOLS: usize = 32;
const MAX_TOOL_TEXT_LEN: usize = 256;
const MAX_PURL_LEN: usize = 2048;
const MAX_VERSION_LEN: usize = 256;
const MAX_ADVISORY_ID_LEN: usize = 256;
const MAX_URL_LEN: usize = 2048;
/// An `analyzed_at` further ahead than this is a broken clock; accepting it would make every
/// correct report after it look out of order (409) until the wall clock catches up.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Runtime,
    Dev,
    Build,
    Optional,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Runtime => "runtime",
            Self::Dev => "dev",
            Self::Build => "build",
            Self::Optional => "optional",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Runtime, Self::Dev, Self::Build, Self::Optional]
            .into_iter()
            .find(|scope| scope.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
    Unknown,
}

impl Severity {
    /// Unknown lowest, then low to critical: to take the highest of several.
    pub fn rank(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::Low => 1,
            Self::Medium => 2,
            Self::High => 3,
            Self::Critical => 4,
        }
    }

    /// A severity as tools write it (`HIGH`, `moderate`, ...); `None` for anything else.
    pub fn from_label(label: &str) -> Option<Self> {
        match label.to_ascii_lowercase().as_str() {
            "critical" => Some(Self::Critical),
            "high" => Some(Self::High),
            "medium" | "moderate" => Some(Self::Medium),
            "low" => Some(Self::Low),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A dependency as sent by an analyzer, before validation (and as `depbadge report` writes it).
#[derive(Debug, Deserialize, Serialize)]
pub struct DependencyInput {
    pub purl: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub advisories: Vec<AdvisoryInput>,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct AdvisoryInput {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The body of `PUT /v1/projects/{slug}`, before validation. Unknown fields are ignored so that
/// analyzers can send more than this version understands.
#[derive(Debug, Deserialize, Serialize)]
pub struct ReportInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analyzed_at: Option<DateTime<Utc>>,
    pub dependencies: Vec<DependencyInput>,
    /// The tools whose outputs made this report, shown on the project page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolUsed>,
    /// Who may read the project; absent, a new project gets the service's default and an
    /// existing one keeps its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visibility: Option<Visibility>,
}

/// A tool that produced (part of) a report: `npm outdated --json`, version `11.19.1`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ToolUsed {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A validated dependency with its computed freshness.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub purl: String,
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    pub latest: Option<String>,
    pub scope: Scope,
    pub freshness: Freshness,
    pub advisories: Vec<Advisory>,
}

/// A validated report, ready to be stored.
#[derive(Debug, Clone)]
pub struct Report {
    pub analyzed_at: DateTime<Utc>,
    /// False when the client left `analyzed_at` out and the time of receipt stands in for it.
    pub analyzed_at_given: bool,
    pub dependencies: Vec<Dependency>,
    pub tools: Vec<ToolUsed>,
    /// `None`: as the project is (a new one: the service's default).
    pub visibility: Option<Visibility>,
}

/// Why a report was refused: a stable code, a message for humans and the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ReportError {
    pub code: &'static str,
    pub message: String,
    pub field: String,
}

impl ReportError {
    fn new(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: field.into(),
        }
    }
}

impl Report {
    /// Validates an analyzer's report received at `received_at`.
    pub fn from_input(input: ReportInput, received_at: DateTime<Utc>) -> Result<Self, ReportError> {
        if input.dependencies.len() > MAX_DEPENDENCIES {
            return Err(ReportError::new(
                "too_many_dependencies",
                "dependencies",
                format!(
                    "a report may list at most {MAX_DEPENDENCIES} dependencies, this one lists {}",
                    input.dependencies.len()
                ),
            ));
        }
        if let Some(analyzed_at) = input.analyzed_at
            && analyzed_at > received_at + MAX_CLOCK_SKEW
        {
            return Err(ReportError::new(
                "analyzed_at_in_future",
                "analyzed_at",
                format!("{analyzed_at} is in the future (the server's time is {received_at})"),
            ));
        }
        let dependencies = input
            .dependencies
            .into_iter()
            .enumerate()
            .map(|(i, dependency)| validate_dependency(dependency, i))
            .collect::<Result<Vec<_>, _>>()?;
        if input.tools.len() > MAX_TOOLS {
            return Err(ReportError::new(
                "invalid_tools",
                "tools",
                format!("a report may name at most {MAX_TOOLS} tools"),
            ));
        }
        let tools = input
            .tools
            .into_iter()
            .enumerate()
            .map(|(i, tool)| {
                let name = tool.name.trim().to_owned();
                if name.is_empty() {
                    return Err(ReportError::new(
                        "invalid_tools",
                        format!("tools[{i}].name"),
                        "the tool's name is empty",
                    ));
                }
                check_text(&name, MAX_TOOL_TEXT_LEN, || format!("tools[{i}].name"))?;
                let version = tool
                    .version
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty());
                if let Some(version) = &version {
                    check_text(version, MAX_TOOL_TEXT_LEN, || format!("tools[{i}].version"))?;
                }
                Ok(ToolUsed { name, version })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            analyzed_at: input.analyzed_at.unwrap_or(received_at),
            analyzed_at_given: input.analyzed_at.is_some(),
            dependencies,
            tools,
            visibility: input.visibility,
        })
    }

    /// A digest of the dependency list and the tools (not of `analyzed_at`): equal digests mean a
    /// retried PUT.
    pub fn content_digest(&self) -> Vec<u8> {
        let mut hasher = Sha256::new();
        let mut line = Vec::new();
        for dependency in &self.dependencies {
            // serde_json cannot fail on these plain structs; a short write would only make
            // the digest differ, which is the safe direction (the report is stored again).
            line.clear();
            let _ = serde_json::to_writer(&mut line, dependency);
            line.push(b'\n');
            hasher.update(&line);
        }
        // Reports without tools keep the digest they had before tools were recorded.
        if !self.tools.is_empty() {
            hasher.update(serde_json::to_vec(&self.tools).unwrap_or_default());
        }
        hasher.finalize().to_vec()
    }
}

/// Validates `dependencies[index]`. Field names are only formatted for an error: a large report
/// has thousands of valid dependencies.
fn validate_dependency(input: DependencyInput, index: usize) -> Result<Dependency, ReportError> {
    let field = |part: &str| format!("dependencies[{index}].{part}");
    let purl = input.purl.trim().to_owned();
    check_text(&purl, MAX_PURL_LEN, || field("purl"))?;
    let package = Package::from_purl(&purl)
        .map_err(|e| ReportError::new("invalid_purl", field("purl"), e.to_string()))?;
    check_text(&package.version, MAX_VERSION_LEN, || field("purl"))?;
    // The purl's parts are percent-decoded: `%00` in a name is a NUL by now.
    check_text(&package.name, MAX_PURL_LEN, || field("purl"))?;
    let latest = match input.latest {
        Some(latest) if latest.trim().is_empty() => {
            return Err(ReportError::new(
                "invalid_latest",
                field("latest"),
                "`latest` is empty; leave it out when the newest release is not known",
            ));
        }
        Some(latest) => {
            check_text(&latest, MAX_VERSION_LEN, || field("latest"))?;
            Some(latest.trim().to_owned())
        }
        None => None,
    };
    let advisories = input
        .advisories
        .into_iter()
        .enumerate()
        .map(|(j, advisory)| validate_advisory(advisory, index, j))
        .collect::<Result<Vec<_>, _>>()?;
    let freshness = Freshness::of(
        &package.ecosystem,
        &package.version,
        latest.as_deref(),
        !advisories.is_empty(),
    );
    Ok(Dependency {
        purl,
        ecosystem: package.ecosystem.as_str().to_owned(),
        name: package.name,
        version: package.version,
        latest,
        scope: input.scope.unwrap_or(Scope::Runtime),
        freshness,
        advisories,
    })
}

/// Validates `dependencies[dependency].advisories[index]`.
fn validate_advisory(
    input: AdvisoryInput,
    dependency: usize,
    index: usize,
) -> Result<Advisory, ReportError> {
    let part = |name: &str| format!("dependencies[{dependency}].advisories[{index}].{name}");
    let id = input.id.trim().to_owned();
    if id.is_empty() {
        return Err(ReportError::new(
            "invalid_advisory",
            part("id"),
            "the advisory id is empty",
        ));
    }
    check_text(&id, MAX_ADVISORY_ID_LEN, || part("id"))?;
    let url = match input.url {
        Some(url) => {
            check_text(&url, MAX_URL_LEN, || part("url"))?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(ReportError::new(
                    "invalid_advisory",
                    part("url"),
                    "the advisory url must be an http(s) URL",
                ));
            }
            Some(url)
        }
        None => None,
    };
    Ok(Advisory {
        id,
        severity: input.severity.unwrap_or(Severity::Unknown),
        url,
    })
}

/// Every text of a report is bounded and free of control characters: they have no place in a
/// name, version, id or URL, and PostgreSQL cannot store NUL at all.
fn check_text(value: &str, max: usize, field: impl FnOnce() -> String) -> Result<(), ReportError> {
    if value.len() > max {
        return Err(ReportError::new(
            "too_long",
            field(),
            format!("longer than {max} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(ReportError::new(
            "invalid_characters",
            field(),
            "contains control characters (also when percent-decoded)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
