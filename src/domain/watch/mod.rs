//! What the watcher (`depbadge watch`, docs/contract.md §10) knows about a package beyond what a
//! report says, and how that changes a dependency: the registry's newest release raises `latest`,
//! advisories from OSV sources and PyPI are added to the report's. Free of I/O: the watcher, the
//! write path and the readers all apply it the same way.

pub mod osv;
pub mod registry;

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::report::{Advisory, Dependency};
use super::status::{Freshness, ScopeSelection, Summary};
use super::version::Ecosystem;

pub use osv::{AdvisoryRule, Event};

/// The key a package is watched under: its ecosystem (the purl type) and its name as the
/// ecosystem compares names (PyPI's PEP 503 normalization; crates.io and NuGet ignore case).
pub fn package_key(ecosystem: &str, name: &str) -> String {
    format!("{ecosystem}/{}", normalized_name(ecosystem, name))
}

/// The ecosystem of a key made by [`package_key`].
pub fn key_ecosystem(key: &str) -> &str {
    key.split_once('/').map_or(key, |(ecosystem, _)| ecosystem)
}

/// The name of a key made by [`package_key`].
pub fn key_name(key: &str) -> &str {
    key.split_once('/').map_or("", |(_, name)| name)
}

fn normalized_name(ecosystem: &str, name: &str) -> String {
    match ecosystem {
        "pypi" => {
            // PEP 503: lowercase, and every run of `-`, `_` and `.` is one `-`.
            let mut out = String::with_capacity(name.len());
            let mut in_run = false;
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !in_run {
                        out.push('-');
                    }
                    in_run = true;
                } else {
                    out.extend(c.to_lowercase());
                    in_run = false;
                }
            }
            out
        }
        "cargo" | "nuget" => name.to_lowercase(),
        _ => name.to_owned(),
    }
}

/// The distinct keys of a report's dependencies, sorted: the project's entry in the reverse
/// index from packages to the projects that use them.
pub fn report_keys(dependencies: &[Dependency]) -> Vec<String> {
    let mut keys: Vec<String> = dependencies
        .iter()
        .map(|d| package_key(&d.ecosystem, &d.name))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// What the watcher knows about one package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watched {
    /// The registry's newest stable release, once a look-up has said so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest: Option<String>,
    /// Advisories for the package from OSV sources and the registry, each with the versions it
    /// affects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub advisories: Vec<AdvisoryRule>,
}

/// Where a dependency's `latest` came from (the JSON API's `latest_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LatestSource {
    Report,
    Registry,
}

/// A dependency as the watcher's knowledge leaves it, with where its `latest` came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watchful {
    pub dependency: Dependency,
    pub latest_source: Option<LatestSource>,
}

/// The dependency with the registry's newest release (when higher than the report's, in the
/// ecosystem's order) and the advisories that match its version, each counted once with its
/// aliases, also against the report's own; freshness recomputed from both.
pub fn apply(dependency: &Dependency, watched: Option<&Watched>) -> Watchful {
    let reported = dependency.latest.as_deref();
    let Some(watched) = watched else {
        return Watchful {
            dependency: dependency.clone(),
            latest_source: reported.map(|_| LatestSource::Report),
        };
    };
    let ecosystem = Ecosystem::from_purl_type(&dependency.ecosystem);
    let (latest, latest_source) = chosen_latest(reported, watched, &ecosystem);
    let advisories = merged_advisories(
        &dependency.advisories,
        &watched.advisories,
        &ecosystem,
        &dependency.version,
    );
    let freshness = Freshness::of(
        &ecosystem,
        &dependency.version,
        latest,
        !advisories.is_empty(),
    );
    Watchful {
        dependency: Dependency {
            latest: latest.map(str::to_owned),
            freshness,
            advisories,
            ..dependency.clone()
        },
        latest_source,
    }
}

/// The higher of the report's and the registry's newest release, in the ecosystem's order (the
/// report's when they are equal or do not compare), and where it came from.
fn chosen_latest<'a>(
    reported: Option<&'a str>,
    watched: &'a Watched,
    ecosystem: &Ecosystem,
) -> (Option<&'a str>, Option<LatestSource>) {
    match (reported, watched.latest.as_deref()) {
        (None, None) => (None, None),
        (Some(report), None) => (Some(report), Some(LatestSource::Report)),
        (None, Some(registry)) => (Some(registry), Some(LatestSource::Registry)),
        (Some(report), Some(registry)) => match ecosystem.compare(report, registry) {
            Some(Ordering::Less) => (Some(registry), Some(LatestSource::Registry)),
            // Equal, higher, or not comparable: the report's stands.
            _ => (Some(report), Some(LatestSource::Report)),
        },
    }
}

/// The freshness [`apply`] gives, without building the dependency: what statuses need, for
/// every dependency of every recomputed project.
fn watched_freshness(dependency: &Dependency, watched: &Watched) -> Freshness {
    let ecosystem = Ecosystem::from_purl_type(&dependency.ecosystem);
    let (latest, _) = chosen_latest(dependency.latest.as_deref(), watched, &ecosystem);
    // Counting each advisory once changes how many there are, never whether there is one.
    let vulnerable = !dependency.advisories.is_empty()
        || watched
            .advisories
            .iter()
            .any(|rule| rule.affects(&ecosystem, &dependency.version));
    Freshness::of(&ecosystem, &dependency.version, latest, vulnerable)
}

/// The report's advisories, then each matching rule whose id and aliases are all new.
fn merged_advisories(
    reported: &[Advisory],
    rules: &[AdvisoryRule],
    ecosystem: &Ecosystem,
    version: &str,
) -> Vec<Advisory> {
    let mut seen: HashSet<&str> = reported.iter().map(|a| a.id.as_str()).collect();
    let mut advisories = reported.to_vec();
    for rule in rules {
        if !rule.affects(ecosystem, version) {
            continue;
        }
        let known = std::iter::once(&rule.id)
            .chain(&rule.aliases)
            .any(|id| seen.contains(id.as_str()));
        if known {
            continue;
        }
        seen.insert(&rule.id);
        seen.extend(rule.aliases.iter().map(String::as_str));
        advisories.push(Advisory {
            id: rule.id.clone(),
            severity: rule.severity,
            url: rule.url.clone(),
        });
    }
    advisories
}

/// Every dependency with what is known of its package.
pub fn apply_all(dependencies: &[Dependency], watched: &HashMap<String, Watched>) -> Vec<Watchful> {
    dependencies
        .iter()
        .map(|d| apply(d, watched.get(&package_key(&d.ecosystem, &d.name))))
        .collect()
}

/// The summary of each scope selection, from the dependencies as the watcher leaves them.
pub fn summaries(
    dependencies: &[Dependency],
    watched: &HashMap<String, Watched>,
) -> Vec<(ScopeSelection, Summary)> {
    let freshness: Vec<_> = dependencies
        .iter()
        .map(|d| {
            let watched = watched.get(&package_key(&d.ecosystem, &d.name));
            let freshness = match watched {
                None => d.freshness,
                Some(watched) => watched_freshness(d, watched),
            };
            (d.scope, freshness)
        })
        .collect();
    ScopeSelection::ALL
        .into_iter()
        .map(|selection| (selection, Summary::of(freshness.iter().copied(), selection)))
        .collect()
}

#[cfg(test)]
mod tests;
