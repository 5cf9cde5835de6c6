//! Any ecosystem: `osv-scanner --format json` (vulnerable packages, with their versions).

use serde_json::Value;

use super::{Merged, advisory_url, array, text};
use crate::domain::report::{AdvisoryInput, Scope, Severity};

/// Vulnerable packages of any ecosystem, with their versions.
pub(super) fn scanner(merged: &mut Merged, json: &Value) -> Result<(), String> {
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
        let package = merged.package(ecosystem, name);
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
    Ok(())
}
