//! OSV records (https://ossf.github.io/osv-schema/) read into the rules the watcher keeps per
//! package: which versions an advisory affects, its aliases, severity and link.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::report::Severity;
use crate::domain::version::Ecosystem;

use super::package_key;

/// One advisory as it applies to one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvisoryRule {
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Versions affected, listed one by one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// `SEMVER` and `ECOSYSTEM` ranges, each a list of events (`GIT` ranges name commits, which
    /// a report does not have).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Vec<Event>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
}

impl Event {
    fn version(&self) -> &str {
        match self {
            Self::Introduced(v) | Self::Fixed(v) | Self::LastAffected(v) => v,
        }
    }
}

impl AdvisoryRule {
    /// Whether `version` is affected: listed, or inside a range in the ecosystem's order.
    pub fn affects(&self, ecosystem: &Ecosystem, version: &str) -> bool {
        self.versions.iter().any(|listed| {
            listed == version || ecosystem.compare(listed, version) == Some(Ordering::Equal)
        }) || self
            .ranges
            .iter()
            .any(|events| in_range(events, ecosystem, version))
    }
}

/// OSV's evaluation: the events in version order ("0" first), each `introduced` at or below
/// the version opening the range, each `fixed` at or below it (or `last_affected` below it)
/// closing it. A version or event that does not parse in the ecosystem matches nothing.
fn in_range(events: &[Event], ecosystem: &Ecosystem, version: &str) -> bool {
    let compare = |a: &str, b: &str| -> Option<Ordering> {
        match (a == "0", b == "0") {
            (true, true) => Some(Ordering::Equal),
            (true, false) => Some(Ordering::Less),
            (false, true) => Some(Ordering::Greater),
            (false, false) => ecosystem.compare(a, b),
        }
    };
    if compare(version, version).is_none() {
        return false;
    }
    let mut sorted: Vec<&Event> = events.iter().collect();
    let mut comparable = true;
    sorted.sort_by(|a, b| {
        compare(a.version(), b.version()).unwrap_or_else(|| {
            comparable = false;
            Ordering::Equal
        })
    });
    if !comparable {
        return false;
    }
    let mut affected = false;
    for event in sorted {
        let Some(order) = compare(version, event.version()) else {
            return false;
        };
        match event {
            Event::Introduced(_) if order != Ordering::Less => affected = true,
            Event::Fixed(_) if order != Ordering::Less => affected = false,
            Event::LastAffected(_) if order == Ordering::Greater => affected = false,
            _ => {}
        }
    }
    affected
}

/// The purl type of an OSV ecosystem name; `None` for ecosystems depbadge has no reports of.
pub fn purl_type(osv_ecosystem: &str) -> Option<&'static str> {
    Some(match osv_ecosystem {
        "npm" => "npm",
        "PyPI" => "pypi",
        "crates.io" => "cargo",
        "RubyGems" => "gem",
        "Go" => "golang",
        "Packagist" => "composer",
        "Maven" => "maven",
        "NuGet" => "nuget",
        _ => return None,
    })
}

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    withdrawn: Option<Value>,
    #[serde(default)]
    severity: Vec<SeverityScore>,
    #[serde(default)]
    affected: Vec<Affected>,
    #[serde(default)]
    references: Vec<Reference>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct SeverityScore {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct Affected {
    #[serde(default)]
    package: Option<AffectedPackage>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    ranges: Vec<Range>,
    #[serde(default)]
    database_specific: Option<Value>,
}

#[derive(Deserialize)]
struct AffectedPackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct Range {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<Value>,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(rename = "type")]
    kind: String,
    url: String,
}

/// The rules one OSV record gives, with the key of the package each applies to. A withdrawn
/// record gives none; a package of an ecosystem depbadge does not know is skipped.
pub fn read_record(json: &[u8]) -> Result<Vec<(String, AdvisoryRule)>, String> {
    let record: Record = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    if record.withdrawn.as_ref().is_some_and(|w| !w.is_null()) {
        return Ok(Vec::new());
    }
    let record_severity = severity_label(record.database_specific.as_ref())
        .or_else(|| cvss_severity(&record.severity))
        .unwrap_or(Severity::Unknown);
    let url = record
        .references
        .iter()
        .find(|r| r.kind == "ADVISORY")
        .map(|r| r.url.clone());
    let mut rules = Vec::new();
    for affected in record.affected {
        let Some(package) = affected.package else {
            continue;
        };
        let Some(ty) = purl_type(&package.ecosystem) else {
            continue;
        };
        let ranges: Vec<Vec<Event>> = affected
            .ranges
            .iter()
            .filter(|r| r.kind == "SEMVER" || r.kind == "ECOSYSTEM")
            .map(|r| r.events.iter().filter_map(event).collect())
            .collect();
        rules.push((
            package_key(ty, &package.name),
            AdvisoryRule {
                id: record.id.clone(),
                aliases: record.aliases.clone(),
                severity: severity_label(affected.database_specific.as_ref())
                    .unwrap_or(record_severity),
                url: url.clone(),
                versions: affected.versions,
                ranges,
            },
        ));
    }
    Ok(rules)
}

fn event(value: &Value) -> Option<Event> {
    let object = value.as_object()?;
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
    text("introduced")
        .map(Event::Introduced)
        .or_else(|| text("fixed").map(Event::Fixed))
        .or_else(|| text("last_affected").map(Event::LastAffected))
}

fn severity_label(database_specific: Option<&Value>) -> Option<Severity> {
    database_specific?
        .get("severity")?
        .as_str()
        .and_then(Severity::from_label)
}

/// The highest severity of the record's CVSS vectors, by their base score.
fn cvss_severity(scores: &[SeverityScore]) -> Option<Severity> {
    scores
        .iter()
        .filter(|s| s.kind.starts_with("CVSS_"))
        .filter_map(|s| s.score.parse::<cvss::Cvss>().ok())
        .map(|vector| match vector.severity() {
            cvss::Severity::None | cvss::Severity::Low => Severity::Low,
            cvss::Severity::Medium => Severity::Medium,
            cvss::Severity::High => Severity::High,
            cvss::Severity::Critical => Severity::Critical,
        })
        .max_by_key(|severity| severity.rank())
}

/// The advisories PyPI lists for one release (`GET /pypi/NAME/VERSION/json`,
/// `vulnerabilities`): each affects that version; withdrawn ones are left out. PyPI gives no
/// severity.
pub fn pypi_release_rules(json: &[u8], version: &str) -> Result<Vec<AdvisoryRule>, String> {
    #[derive(Deserialize)]
    struct Release {
        #[serde(default)]
        vulnerabilities: Vec<Vulnerability>,
    }
    #[derive(Deserialize)]
    struct Vulnerability {
        id: String,
        #[serde(default)]
        aliases: Vec<String>,
        #[serde(default)]
        link: Option<String>,
        #[serde(default)]
        withdrawn: Option<Value>,
    }
    let release: Release = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    Ok(release
        .vulnerabilities
        .into_iter()
        .filter(|v| v.withdrawn.as_ref().is_none_or(Value::is_null))
        .map(|v| AdvisoryRule {
            id: v.id,
            aliases: v.aliases,
            severity: Severity::Unknown,
            url: v.link,
            versions: vec![version.to_owned()],
            ranges: Vec::new(),
        })
        .collect())
}
