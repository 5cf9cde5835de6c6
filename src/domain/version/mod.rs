//! Version order per ecosystem (docs/contract.md §2.1). Every comparison answers `None` instead of failing
//! when a version does not parse in its ecosystem: the dependency's freshness is then `unknown`.

mod generic;
mod rubygems;

use std::cmp::Ordering;
use std::fmt;

/// The package ecosystem, taken from the purl type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ecosystem {
    Cargo,
    Npm,
    Pypi,
    Gem,
    Golang,
    Composer,
    Maven,
    Nuget,
    /// Any other purl type; compared with the generic order.
    Other(String),
}

impl Ecosystem {
    pub fn from_purl_type(ty: &str) -> Self {
        match ty {
            "cargo" => Self::Cargo,
            "npm" => Self::Npm,
            "pypi" => Self::Pypi,
            "gem" => Self::Gem,
            "golang" => Self::Golang,
            "composer" => Self::Composer,
            "maven" => Self::Maven,
            "nuget" => Self::Nuget,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Cargo => "cargo",
            Self::Npm => "npm",
            Self::Pypi => "pypi",
            Self::Gem => "gem",
            Self::Golang => "golang",
            Self::Composer => "composer",
            Self::Maven => "maven",
            Self::Nuget => "nuget",
            Self::Other(ty) => ty,
        }
    }

    /// Compares two versions in this ecosystem's order; `None` when either does not parse.
    pub fn compare(&self, a: &str, b: &str) -> Option<Ordering> {
        match self {
            Self::Cargo | Self::Npm | Self::Composer | Self::Golang => {
                let (a, b) = (parse_semver(a)?, parse_semver(b)?);
                // SemVer 2.0 precedence ignores build metadata; `Ord` on semver::Version does not.
                Some(a.cmp_precedence(&b))
            }
            Self::Pypi => {
                let a: pep440_rs::Version = a.trim().parse().ok()?;
                let b: pep440_rs::Version = b.trim().parse().ok()?;
                Some(a.cmp(&b))
            }
            Self::Gem => rubygems::compare(a, b),
            Self::Maven => compare_maven(a, b),
            Self::Nuget | Self::Other(_) => generic::compare(a, b),
        }
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Maven's `ComparableVersion` order (`alpha < beta < milestone < rc < snapshot < release < sp`,
/// `ga`/`final`/`release` equal to the release, `cr` equal to `rc`), from the `mvn_version` crate.
/// ComparableVersion accepts any string; we accept only the characters Maven versions use, so that
/// a purl version with spaces or non-ASCII text is `unknown` rather than ordered by accident.
fn compare_maven(a: &str, b: &str) -> Option<Ordering> {
    let parse = |v: &str| {
        let v = v.trim();
        let plausible = !v.is_empty()
            && v.len() <= 128
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b'+'));
        plausible.then(|| mvn_version::ComparableVersion::new(v))
    };
    Some(parse(a)?.cmp(&parse(b)?))
}

/// SemVer with the leniency real manifests need: a leading `v` (Go tags, some npm tags) and
/// versions with fewer than three core parts (`1.2` as written by Composer users) padded with `.0`.
fn parse_semver(input: &str) -> Option<semver::Version> {
    let trimmed = input.trim();
    let bare = trimmed
        .strip_prefix('v')
        .or_else(|| trimmed.strip_prefix('V'))
        .unwrap_or(trimmed);
    if let Ok(version) = semver::Version::parse(bare) {
        return Some(version);
    }
    let split_at = bare.find(['-', '+']).unwrap_or(bare.len());
    let (core, rest) = bare.split_at(split_at);
    let parts = core.split('.').count();
    if parts == 0
        || parts >= 3
        || !core
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let padded = format!("{core}{}{rest}", ".0".repeat(3 - parts));
    semver::Version::parse(&padded).ok()
}

#[cfg(test)]
mod tests;
