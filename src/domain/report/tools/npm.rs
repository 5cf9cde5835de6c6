//! npm: `npm ls --json --long` (the inventory, with scopes), `npm outdated --json --long`
//! (`latest`), `npm audit --json` (advisories, followed through the packages that pull them in).

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::{Merged, array, names_for_message, objects, one_or_many, text};
use crate::domain::report::{AdvisoryInput, Scope, Severity};

pub(super) fn ls(merged: &mut Merged, json: &Value) -> Result<(), String> {
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
    merged.listed_none |= objects(json.get("dependencies")).next().is_none();
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
        let package = merged.package("npm", name);
        package.version = Some(version);
        package.scope = Some(scope);
        package.installed = true;
        package.listed = true;
    }
    Ok(())
}

pub(super) fn outdated(merged: &mut Merged, json: &Value) -> Result<(), String> {
    merged.outdated_checked.insert("npm");
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
            let package = merged.package("npm", name);
            if package.version.is_none() {
                package.version = Some(current);
            }
            package.latest = Some(latest);
            package.scope = package.scope.or(scope);
            package.installed = true;
            package.listed = true;
        }
    }
    Ok(())
}

pub(super) fn audit(merged: &mut Merged, json: &Value) -> Result<(), String> {
    let entries: HashMap<&str, &Value> = objects(json.get("vulnerabilities")).collect();
    for name in entries.keys() {
        let mut advisories = Vec::new();
        let mut seen = BTreeSet::new();
        collect_npm_advisories(&entries, name, &mut seen, &mut advisories);
        let package = merged.package("npm", name);
        for advisory in advisories {
            if !package.advisories.iter().any(|a| a.id == advisory.id) {
                package.advisories.push(advisory);
            }
        }
    }
    Ok(())
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
