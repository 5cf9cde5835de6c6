use std::cmp::Ordering;

use proptest::prelude::*;

use super::Ecosystem;

/// Asserts that `ascending` is strictly increasing in `ecosystem`'s order, for every pair.
fn assert_ascending(ecosystem: &Ecosystem, ascending: &[&str]) {
    for (i, a) in ascending.iter().enumerate() {
        for (j, b) in ascending.iter().enumerate() {
            let expected = i.cmp(&j);
            assert_eq!(
                ecosystem.compare(a, b),
                Some(expected),
                "{ecosystem}: expected {a} {expected:?} {b}"
            );
        }
    }
}

fn assert_equal(ecosystem: &Ecosystem, pairs: &[(&str, &str)]) {
    for (a, b) in pairs {
        assert_eq!(
            ecosystem.compare(a, b),
            Some(Ordering::Equal),
            "{ecosystem}: {a} == {b}"
        );
    }
}

fn assert_unparseable(ecosystem: &Ecosystem, versions: &[&str]) {
    for v in versions {
        assert_eq!(
            ecosystem.compare(v, "1.0.0"),
            None,
            "{ecosystem}: {v:?} should not parse"
        );
    }
}

#[test]
fn cargo_and_npm_follow_semver_precedence() {
    // The SemVer 2.0 specification's own example chain, then real crate and package releases.
    let ascending = [
        "0.0.1",
        "0.1.0",
        "0.9.9",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.100",
        "1.0.215",
        "1.2.0",
        "2.0.0-rc.0",
        "2.0.0",
        "10.0.0",
    ];
    assert_ascending(&Ecosystem::Cargo, &ascending);
    assert_ascending(&Ecosystem::Npm, &ascending);
    assert_ascending(&Ecosystem::Composer, &ascending);
}

#[test]
fn semver_ignores_build_metadata_and_accepts_a_leading_v() {
    assert_equal(
        &Ecosystem::Cargo,
        &[
            ("1.0.0+build.1", "1.0.0+build.2"),
            ("1.0.0+20130313144700", "1.0.0"),
            ("0.2.2+wasi-snapshot-preview1", "0.2.2"),
            ("v1.2.3", "1.2.3"),
        ],
    );
    assert_equal(&Ecosystem::Composer, &[("1.2", "1.2.0"), ("v2", "2.0.0")]);
    assert_unparseable(
        &Ecosystem::Npm,
        &["", "latest", "1.0.0.0", "01.0.0", "^1.2.3", "1.x"],
    );
}

#[test]
fn go_modules_order_pseudo_versions_as_pre_releases() {
    let ascending = [
        "v0.0.0-20180904163835-0709b304e793",
        "v0.0.0-20191109021931-daa7c04131f5",
        "v0.1.0",
        "v0.3.0",
        "v0.3.1-0.20200101000000-abcdefabcdef",
        "v0.3.1",
        "v0.17.0",
        "v0.18.0",
        "v1.0.0-rc1",
        "v1.0.0",
        "v1.4.0",
        "v1.9.1",
        "v1.10.0",
        "v2.0.0+incompatible",
        "v2.1.0",
        "v3.0.0",
    ];
    assert_ascending(&Ecosystem::Golang, &ascending);
}

#[test]
fn pypi_follows_pep_440() {
    let ascending = [
        "0.9",
        "1.0.dev0",
        "1.0a1",
        "1.0a2.dev1",
        "1.0a2",
        "1.0b1",
        "1.0rc1",
        "1.0",
        "1.0+local.7",
        "1.0.post1",
        "1.0.1",
        "1.1.dev1",
        "1.1",
        "2.31.0",
        "2024.1",
        "1!0.1",
        "1!1.0",
    ];
    assert_ascending(&Ecosystem::Pypi, &ascending);
    assert_equal(
        &Ecosystem::Pypi,
        &[
            ("1.0", "1.0.0"),
            ("1.0", "1.0.0.0"),
            ("1.0RC1", "1.0rc1"),
            ("1.0-rc.1", "1.0rc1"),
            ("1.0alpha1", "1.0a1"),
            ("v1.0", "1.0"),
            ("0!1.0", "1.0"),
            ("1.0-1", "1.0.post1"),
        ],
    );
    assert_unparseable(&Ecosystem::Pypi, &["", "latest", "1.0.0-beta+", "1..0"]);
}

#[test]
fn gems_follow_rubygems_order() {
    let ascending = [
        "0.9",
        "1.0.0.a",
        "1.0.0.a1",
        "1.0.0.b",
        "1.0.0.beta",
        "1.0.0.beta.2",
        "1.0.0.pre",
        "1.0.0.rc1",
        "1.0.0",
        "1.0.0.1",
        "1.0.1",
        "1.1",
        "2.0.0-alpha",
        "2.0.0",
        "6.1.7.4",
        "7.0.0",
        "7.1.2",
    ];
    assert_ascending(&Ecosystem::Gem, &ascending);
    assert_equal(
        &Ecosystem::Gem,
        &[
            ("1.0", "1"),
            ("1.0.0", "1"),
            ("1.0.0.pre", "1.0.pre"),
            ("2.0.0-alpha", "2.0.0.pre.alpha"),
        ],
    );
    assert_unparseable(&Ecosystem::Gem, &["", "latest", "1.0.0..1", "-1", "1.0_1"]);
}

#[test]
fn other_ecosystems_use_the_generic_order() {
    let ascending = [
        "0.9",
        "1.0-alpha",
        "1.0-alpha-2",
        "1.0-beta",
        "1.0-rc1",
        "1.0-rc2",
        "1.0-rc10",
        "1.0",
        "1.0.1",
        "1.0.2",
        "1.0.10",
        "1.1",
        "2.0",
        "6.0.0.1",
        "13.0.3",
        "20041231",
    ];
    assert_ascending(&Ecosystem::Nuget, &ascending);
    assert_ascending(&Ecosystem::Other("deb".into()), &ascending);
    assert_equal(
        &Ecosystem::Nuget,
        &[
            ("1.0", "1.0.0"),
            ("1", "1.0.0.0"),
            ("1.01", "1.1"),
            ("v2.0", "2"),
            ("1.0-RC1", "1.0-rc1"),
        ],
    );
    assert_unparseable(&Ecosystem::Nuget, &["", "   ", "1.0 beta", "1.0/2", "∞"]);
}

/// Orderings after maven-artifact's ComparableVersionTest (Maven 3.x). Where a pair looked
/// doubtful it was worked through by hand with ComparableVersion's rules: `2.0.a` is `[2, 0, "a"]`
/// and `2-1` is `[2, [1]]`, and an integer item beats a list item, so `2-1 < 2.0.a`.
#[test]
fn maven_follows_comparable_version() {
    let qualifiers = [
        "1-alpha2snapshot",
        "1-alpha2",
        "1-alpha-123",
        "1-beta-2",
        "1-beta123",
        "1-m2",
        "1-m11",
        "1-rc",
        "1-cr2",
        "1-rc123",
        "1-SNAPSHOT",
        "1",
        "1-sp",
        "1-sp2",
        "1-sp123",
        "1-abc",
        "1-def",
        "1-pom-1",
        "1-1-snapshot",
        "1-1",
        "1-2",
        "1-123",
    ];
    assert_ascending(&Ecosystem::Maven, &qualifiers);
    let numbers = [
        "2.0", "2-1", "2.0.a", "2.0.0.a", "2.0.2", "2.0.123", "2.1.0", "2.1-a", "2.1b", "2.1-c",
        "2.1-1", "2.1.0.1", "2.2", "2.123", "11.a2", "11.a11", "11.b2", "11.b11", "11.m2",
        "11.m11", "11", "11.a", "11b", "11c", "11m",
    ];
    assert_ascending(&Ecosystem::Maven, &numbers);
    assert_equal(
        &Ecosystem::Maven,
        &[
            ("1", "1.0.0"),
            ("1.0", "1-0"),
            ("1-ga", "1"),
            ("1.0-final", "1"),
            ("1-release", "1"),
            ("1a1", "1-alpha-1"),
            ("1b2", "1-beta-2"),
            ("1m3", "1-milestone-3"),
            ("1-cr1", "1-rc1"),
            ("1.0-RC1", "1.0-rc1"),
            ("1x", "1-x"),
        ],
    );
    // Real releases: Spring (milestones, release candidates, service releases) and Guava (flavours).
    assert_ascending(
        &Ecosystem::Maven,
        &[
            "5.3.0-M1",
            "5.3.0-RC1",
            "5.3.0",
            "5.3.0.SR1",
            "5.3.1",
            "31.1-jre",
            "32.0.0-android",
            "32.0.0-jre",
            "32.1.3-jre",
        ],
    );
    assert_unparseable(&Ecosystem::Maven, &["", "   ", "1.0 beta", "1.0/2", "∞"]);
}

fn ecosystems() -> impl Strategy<Value = Ecosystem> {
    prop_oneof![
        Just(Ecosystem::Cargo),
        Just(Ecosystem::Golang),
        Just(Ecosystem::Pypi),
        Just(Ecosystem::Gem),
        Just(Ecosystem::Maven),
    ]
}

/// Version-shaped strings, so that most of them parse and the order itself is exercised.
fn versions() -> impl Strategy<Value = String> {
    "v?[0-9]{1,3}(\\.[0-9]{1,2}){0,3}([-.](alpha|beta|rc|pre|a|b|post|dev|SNAPSHOT)[0-9]{0,2}(\\.[0-9])?)?(\\+[a-z0-9]{1,4})?"
}

proptest! {
    #[test]
    fn comparison_never_panics_on_arbitrary_input(eco in ecosystems(), a in "\\PC{0,40}", b in "\\PC{0,40}") {
        let _ = eco.compare(&a, &b);
    }

    #[test]
    fn the_order_is_antisymmetric_and_reflexive(eco in ecosystems(), a in versions(), b in versions()) {
        let forward = eco.compare(&a, &b);
        prop_assert_eq!(forward.map(Ordering::reverse), eco.compare(&b, &a));
        if forward.is_some() {
            prop_assert_eq!(eco.compare(&a, &a), Some(Ordering::Equal));
        }
    }

    #[test]
    fn the_order_is_transitive(eco in ecosystems(), a in versions(), b in versions(), c in versions()) {
        if let (Some(ab), Some(bc), Some(ac)) = (eco.compare(&a, &b), eco.compare(&b, &c), eco.compare(&a, &c)) {
            if ab != Ordering::Greater && bc != Ordering::Greater {
                prop_assert_ne!(ac, Ordering::Greater, "{} <= {} <= {} but {} > {}", a, b, c, a, c);
            }
            if ab == Ordering::Equal && bc == Ordering::Equal {
                prop_assert_eq!(ac, Ordering::Equal);
            }
        }
    }
}
