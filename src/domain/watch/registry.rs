//! The registries the watcher asks for a package's newest release (docs/contract.md §10): where
//! each keeps a package, and how its answer names the newest stable release.

use serde::Deserialize;
use serde_json::Value;

/// A registry depbadge can watch, one per ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Registry {
    Npm,
    Pypi,
    Cargo,
    Gem,
    Golang,
}

impl Registry {
    pub const ALL: [Self; 5] = [Self::Npm, Self::Pypi, Self::Cargo, Self::Gem, Self::Golang];

    /// The purl type of the packages it knows, also its label in metrics.
    pub fn ecosystem(self) -> &'static str {
        match self {
            Self::Npm => "npm",
            Self::Pypi => "pypi",
            Self::Cargo => "cargo",
            Self::Gem => "gem",
            Self::Golang => "golang",
        }
    }

    /// Where the package's metadata is, under the registry's base URL.
    pub fn package_url(self, base: &str, name: &str) -> String {
        let base = base.trim_end_matches('/');
        match self {
            // A scoped name's slash is escaped: `@types%2fnode`.
            Self::Npm => format!("{base}/{}", name.replace('/', "%2f")),
            Self::Pypi => format!("{base}/pypi/{name}/json"),
            Self::Cargo => format!("{base}/{}", cargo_index_path(name)),
            Self::Gem => format!("{base}/api/v1/versions/{name}/latest.json"),
            Self::Golang => format!("{base}/{}/@latest", go_escape(name)),
        }
    }

    /// The `Accept` header the registry documents for this request, if any.
    pub fn accept(self) -> Option<&'static str> {
        match self {
            Self::Npm => Some("application/vnd.npm.install-v1+json"),
            _ => None,
        }
    }

    /// The newest stable release in the registry's answer; `Ok(None)` when it names none.
    pub fn newest(self, body: &[u8]) -> Result<Option<String>, String> {
        match self {
            Self::Npm => json_text(body, &["dist-tags", "latest"]),
            Self::Pypi => json_text(body, &["info", "version"]),
            Self::Gem => json_text(body, &["version"]),
            Self::Golang => json_text(body, &["Version"]),
            Self::Cargo => newest_in_cargo_index(body),
        }
    }
}

/// A PyPI release's own page, where its advisories are listed.
pub fn pypi_release_url(base: &str, name: &str, version: &str) -> String {
    format!("{}/pypi/{name}/{version}/json", base.trim_end_matches('/'))
}

fn json_text(body: &[u8], path: &[&str]) -> Result<Option<String>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let found = path.iter().try_fold(&value, |value, key| value.get(key));
    Ok(found
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned))
}

/// cargo's index layout: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`, lowercased.
pub fn cargo_index_path(name: &str) -> String {
    let name = name.to_lowercase();
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => match name.get(..1) {
            Some(first) => format!("3/{first}/{name}"),
            None => name.clone(),
        },
        _ => match (name.get(..2), name.get(2..4)) {
            (Some(first), Some(second)) => format!("{first}/{second}/{name}"),
            _ => name.clone(),
        },
    }
}

/// Go's module path escaping: each capital letter is `!` and its lower case.
pub fn go_escape(module: &str) -> String {
    let mut out = String::with_capacity(module.len() + 4);
    for c in module.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The highest `vers` of the index file's lines that is neither yanked nor a pre-release.
fn newest_in_cargo_index(body: &[u8]) -> Result<Option<String>, String> {
    #[derive(Deserialize)]
    struct Line {
        vers: String,
        #[serde(default)]
        yanked: bool,
    }
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    let mut newest: Option<semver::Version> = None;
    for (number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let line: Line =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}", number + 1))?;
        let Ok(version) = semver::Version::parse(&line.vers) else {
            continue;
        };
        if line.yanked || !version.pre.is_empty() {
            continue;
        }
        if newest
            .as_ref()
            .is_none_or(|n| version.cmp_precedence(n).is_gt())
        {
            newest = Some(version);
        }
    }
    Ok(newest.map(|v| v.to_string()))
}
