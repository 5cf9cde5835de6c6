//! Python: `pip list --format=json` (the inventory), `pip list --outdated --format=json`
//! (`latest`), `pip-audit -f json` (advisories; a skipped lookup never makes a package look fine).

use serde_json::Value;

use super::{Merged, advisory_url, array, text};
use crate::domain::report::{AdvisoryInput, Severity};

pub(super) fn list(merged: &mut Merged, json: &Value, outdated: bool) -> Result<(), String> {
    if outdated {
        merged.outdated_checked.insert("pypi");
    }
    for entry in json.as_array().into_iter().flatten() {
        let (Some(name), Some(version)) = (
            entry.get("name").and_then(Value::as_str),
            text(entry.get("version")),
        ) else {
            continue;
        };
        let package = merged.package("pypi", name);
        package.version = Some(version);
        package.installed = true;
        package.listed = true;
        if outdated {
            package.latest = text(entry.get("latest_version"));
        }
    }
    Ok(())
}

pub(super) fn audit(merged: &mut Merged, json: &Value) -> Result<(), String> {
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
        let package = merged.package("pypi", name);
        package.skipped |= skipped;
        package.advisories.extend(advisories);
    }
    Ok(())
}
