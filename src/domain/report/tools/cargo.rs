//! Rust: `cargo metadata --format-version 1` (the resolved graph: the members' direct
//! dependencies and their kinds), `cargo outdated --format json` (`latest`), `cargo audit --json`
//! (advisories).

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::{Merged, array, one_or_many, text};
use crate::domain::report::{AdvisoryInput, Scope, Severity};

/// Direct dependencies of the workspace's members, with their kinds as scopes.
pub(super) fn metadata(merged: &mut Merged, json: &Value) -> Result<(), String> {
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
            let package = merged.package("cargo", name);
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
    merged.listed_none |= !depends;
    Ok(())
}

pub(super) fn outdated(merged: &mut Merged, json: &Value) -> Result<(), String> {
    merged.outdated_checked.insert("cargo");
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
        let package = merged.package("cargo", name);
        if package.version.is_none() {
            package.version = Some(current);
        }
        // Without one, `into_report` makes it up to date: cargo outdated checked it.
        package.latest = latest;
        package.scope = package.scope.or(scope);
        package.installed = true;
        package.listed = true;
    }
    Ok(())
}

/// Vulnerable crates with their versions: listed even when the inventory does not name them
/// (a transitive crate), since the audit says exactly which version is installed.
pub(super) fn audit(merged: &mut Merged, json: &Value) -> Result<(), String> {
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
        let package = merged.package("cargo", name);
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
    Ok(())
}
