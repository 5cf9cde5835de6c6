//! A dependency's identity, parsed from its Package URL (purl-spec) with the `packageurl` crate.

use packageurl::PackageUrl;

use super::version::Ecosystem;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub ecosystem: Ecosystem,
    /// The name with its namespace: `@types/node`, `golang.org/x/net`, `org.slf4j:slf4j-api`.
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageError {
    #[error("not a valid Package URL: {0}")]
    Invalid(String),
    #[error("the Package URL has no version (expected pkg:TYPE/NAME@VERSION)")]
    MissingVersion,
}

impl Package {
    pub fn from_purl(purl: &str) -> Result<Self, PackageError> {
        let parsed: PackageUrl<'static> = purl
            .parse()
            .map_err(|e: packageurl::Error| PackageError::Invalid(e.to_string()))?;
        let version = parsed
            .version()
            .filter(|v| !v.trim().is_empty())
            .ok_or(PackageError::MissingVersion)?
            .to_owned();
        let ecosystem = Ecosystem::from_purl_type(parsed.ty());
        // Maven coordinates are conventionally written group:artifact; every other ecosystem
        // writes its namespace as a path prefix.
        let separator = if ecosystem == Ecosystem::Maven {
            ":"
        } else {
            "/"
        };
        let name = match parsed.namespace() {
            Some(namespace) if !namespace.is_empty() => {
                format!("{namespace}{separator}{}", parsed.name())
            }
            _ => parsed.name().to_owned(),
        };
        // The purl parser lowercases Go module paths, but they are case-sensitive (the module
        // proxy escapes capitals): the path is taken as the purl writes it.
        let name = match ecosystem {
            Ecosystem::Golang => go_module_path(purl).unwrap_or(name),
            _ => name,
        };
        Ok(Self {
            ecosystem,
            name,
            version,
        })
    }
}

/// The module path of a `pkg:golang/…@…` purl, percent-decoded, case kept.
fn go_module_path(purl: &str) -> Option<String> {
    let rest = purl
        .get(..11)?
        .eq_ignore_ascii_case("pkg:golang/")
        .then(|| &purl[11..])?;
    let path = rest.split(['@', '?', '#']).next()?.trim_matches('/');
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    (!decoded.is_empty()).then(|| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn purls_of_each_ecosystem_give_ecosystem_name_and_version() {
        let cases = [
            ("pkg:cargo/serde@1.0.100", "cargo", "serde", "1.0.100"),
            ("pkg:npm/lodash@4.17.20", "npm", "lodash", "4.17.20"),
            (
                "pkg:npm/%40types/node@20.1.0",
                "npm",
                "@types/node",
                "20.1.0",
            ),
            (
                "pkg:golang/golang.org/x/net@v0.17.0",
                "golang",
                "golang.org/x/net",
                "v0.17.0",
            ),
            (
                "pkg:golang/github.com/BurntSushi/toml@v1.5.0",
                "golang",
                "github.com/BurntSushi/toml",
                "v1.5.0",
            ),
            (
                "pkg:golang/github.com/Azure/azure-sdk-for-go@v68.0.0%2Bincompatible",
                "golang",
                "github.com/Azure/azure-sdk-for-go",
                "v68.0.0+incompatible",
            ),
            ("pkg:pypi/django@4.2.7", "pypi", "django", "4.2.7"),
            ("pkg:gem/rails@7.1.2", "gem", "rails", "7.1.2"),
            (
                "pkg:composer/laravel/framework@v10.0.0",
                "composer",
                "laravel/framework",
                "v10.0.0",
            ),
            (
                "pkg:maven/org.slf4j/slf4j-api@2.0.9",
                "maven",
                "org.slf4j:slf4j-api",
                "2.0.9",
            ),
            (
                "pkg:nuget/Newtonsoft.Json@13.0.3",
                "nuget",
                "Newtonsoft.Json",
                "13.0.3",
            ),
            (
                "pkg:deb/debian/curl@7.50.3-1?arch=i386",
                "deb",
                "debian/curl",
                "7.50.3-1",
            ),
        ];
        for (purl, ecosystem, name, version) in cases {
            let package = Package::from_purl(purl).unwrap_or_else(|e| panic!("{purl}: {e}"));
            assert_eq!(package.ecosystem.as_str(), ecosystem, "{purl}");
            assert_eq!(package.name, name, "{purl}");
            assert_eq!(package.version, version, "{purl}");
        }
    }

    #[test]
    fn purls_without_a_version_or_malformed_are_refused() {
        assert_eq!(
            Package::from_purl("pkg:cargo/serde"),
            Err(PackageError::MissingVersion)
        );
        assert_eq!(
            Package::from_purl("pkg:cargo/serde@"),
            Err(PackageError::MissingVersion)
        );
        for bad in [
            "",
            "serde@1.0",
            "cargo/serde@1.0",
            "pkg:/serde@1.0",
            "pkg:cargo/@1.0",
            "https://crates.io/serde",
        ] {
            assert!(
                matches!(Package::from_purl(bad), Err(PackageError::Invalid(_))),
                "{bad:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn purl_parsing_never_panics(s in "(pkg:)?\\PC{0,80}") {
            let _ = Package::from_purl(&s);
        }
    }
}
