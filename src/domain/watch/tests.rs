use std::collections::HashMap;

use proptest::prelude::*;

use super::registry::{Registry, cargo_index_path, go_escape, pypi_release_url};
use super::*;
use crate::domain::report::{Scope, Severity};
use crate::domain::status::Status;

const LODASH_GHSA: &str = include_str!("../../../tests/fixtures/osv/GHSA-35jh-r3h4-6jhm.json");

fn dependency(purl_type: &str, name: &str, version: &str, latest: Option<&str>) -> Dependency {
    let ecosystem = Ecosystem::from_purl_type(purl_type);
    Dependency {
        purl: format!("pkg:{purl_type}/{name}@{version}"),
        ecosystem: purl_type.to_owned(),
        name: name.to_owned(),
        version: version.to_owned(),
        latest: latest.map(str::to_owned),
        scope: Scope::Runtime,
        freshness: Freshness::of(&ecosystem, version, latest, false),
        advisories: Vec::new(),
    }
}

fn lodash_rules() -> Vec<(String, AdvisoryRule)> {
    osv::read_record(LODASH_GHSA.as_bytes()).unwrap()
}

#[test]
fn keys_follow_each_ecosystems_idea_of_a_name() {
    for (ecosystem, name, key) in [
        ("pypi", "Django", "pypi/django"),
        ("pypi", "zope.interface", "pypi/zope-interface"),
        ("pypi", "typing__Extensions", "pypi/typing-extensions"),
        ("cargo", "Serde_JSON", "cargo/serde_json"),
        ("npm", "@types/node", "npm/@types/node"),
        (
            "golang",
            "github.com/BurntSushi/toml",
            "golang/github.com/BurntSushi/toml",
        ),
        ("maven", "org.slf4j:slf4j-api", "maven/org.slf4j:slf4j-api"),
        ("nuget", "Newtonsoft.Json", "nuget/newtonsoft.json"),
    ] {
        let made = package_key(ecosystem, name);
        assert_eq!(made, key);
        assert_eq!(key_ecosystem(&made), ecosystem);
    }
    assert_eq!(key_name("npm/@types/node"), "@types/node");
}

#[test]
fn registry_urls_are_where_each_registry_keeps_a_package() {
    let cases = [
        (Registry::Npm, "lodash", "http://r/lodash"),
        (Registry::Npm, "@types/node", "http://r/@types%2fnode"),
        (Registry::Pypi, "six", "http://r/pypi/six/json"),
        (Registry::Cargo, "a", "http://r/1/a"),
        (Registry::Cargo, "ab", "http://r/2/ab"),
        (Registry::Cargo, "log", "http://r/3/l/log"),
        (Registry::Cargo, "Serde", "http://r/se/rd/serde"),
        (Registry::Cargo, "itoa", "http://r/it/oa/itoa"),
        (
            Registry::Gem,
            "rake",
            "http://r/api/v1/versions/rake/latest.json",
        ),
        (
            Registry::Golang,
            "github.com/BurntSushi/toml",
            "http://r/github.com/!burnt!sushi/toml/@latest",
        ),
    ];
    for (registry, name, url) in cases {
        assert_eq!(
            registry.package_url("http://r/", name),
            url,
            "{registry:?} {name}"
        );
    }
    assert_eq!(
        pypi_release_url("http://r", "six", "1.0"),
        "http://r/pypi/six/1.0/json"
    );
    assert_eq!(cargo_index_path("abcd"), "ab/cd/abcd");
    assert_eq!(go_escape("golang.org/x/net"), "golang.org/x/net");
}

#[test]
fn newest_releases_from_real_registry_answers() {
    let fixture = |name: &str| {
        std::fs::read(format!(
            "{}/tests/fixtures/registries/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let cases: [(Registry, Vec<u8>, Option<&str>); 7] = [
        (Registry::Npm, fixture("npm-left-pad.json"), Some("1.3.0")),
        (
            Registry::Npm,
            fixture("npm-types-left-pad.json"),
            Some("1.2.0"),
        ),
        (Registry::Pypi, fixture("pypi-six.json"), Some("1.17.0")),
        // 0.4.0-rc.1 is a pre-release and several versions are yanked; none is the newest.
        (Registry::Cargo, fixture("crates-log"), Some("0.4.35")),
        (Registry::Cargo, fixture("crates-itoa"), Some("1.0.19")),
        (
            Registry::Gem,
            br#"{"version":"13.2.1"}"#.to_vec(),
            Some("13.2.1"),
        ),
        (
            Registry::Golang,
            br#"{"Version":"v1.5.0","Time":"2025-03-01T10:00:00Z"}"#.to_vec(),
            Some("v1.5.0"),
        ),
    ];
    for (registry, body, newest) in cases {
        assert_eq!(
            registry.newest(&body).unwrap().as_deref(),
            newest,
            "{registry:?}"
        );
    }
}

#[test]
fn cargo_skips_yanked_and_pre_releases_and_refuses_a_broken_line() {
    let index = concat!(
        r#"{"name":"x","vers":"1.0.0","yanked":false}"#,
        "\n",
        r#"{"name":"x","vers":"2.0.0","yanked":true}"#,
        "\n",
        r#"{"name":"x","vers":"1.5.0-beta.1","yanked":false}"#,
        "\n",
        r#"{"name":"x","vers":"1.2.0","yanked":false}"#,
        "\n"
    );
    assert_eq!(
        Registry::Cargo.newest(index.as_bytes()).unwrap().as_deref(),
        Some("1.2.0")
    );
    let only_yanked = r#"{"name":"x","vers":"2.0.0","yanked":true}"#;
    assert_eq!(
        Registry::Cargo.newest(only_yanked.as_bytes()).unwrap(),
        None
    );
    let broken = format!("{index}{{not json\n");
    assert!(
        Registry::Cargo
            .newest(broken.as_bytes())
            .unwrap_err()
            .starts_with("line 5")
    );
    assert!(Registry::Npm.newest(b"<html>").is_err());
    assert_eq!(Registry::Npm.newest(br#"{"dist-tags":{}}"#).unwrap(), None);
}

#[test]
fn the_lodash_record_gives_one_rule_per_package_with_its_severity_and_ranges() {
    let rules = lodash_rules();
    let keys: Vec<&str> = rules.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["npm/lodash", "npm/lodash-es"]);
    let rule = &rules[0].1;
    assert_eq!(rule.id, "GHSA-35jh-r3h4-6jhm");
    assert_eq!(rule.aliases, ["CVE-2021-23337"]);
    assert_eq!(rule.severity, Severity::High);
    assert_eq!(
        rule.url.as_deref(),
        Some("https://nvd.nist.gov/vuln/detail/CVE-2021-23337")
    );
    let npm = Ecosystem::Npm;
    for (version, affected) in [
        ("4.17.20", true),
        ("1.0.0", true),
        ("4.17.21", false),
        ("5.0.0", false),
    ] {
        assert_eq!(rule.affects(&npm, version), affected, "{version}");
    }
    assert!(!rule.affects(&npm, "not a version"));
}

#[test]
fn severity_comes_from_the_database_then_from_cvss_then_is_unknown() {
    let mut record: serde_json::Value = serde_json::from_str(LODASH_GHSA).unwrap();
    record["database_specific"] = serde_json::json!({});
    // CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H is 7.2: high.
    let rules = osv::read_record(record.to_string().as_bytes()).unwrap();
    assert_eq!(rules[0].1.severity, Severity::High);
    record["severity"][0]["score"] = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into();
    let rules = osv::read_record(record.to_string().as_bytes()).unwrap();
    assert_eq!(rules[0].1.severity, Severity::Critical);
    record["severity"] = serde_json::json!([]);
    let rules = osv::read_record(record.to_string().as_bytes()).unwrap();
    assert_eq!(rules[0].1.severity, Severity::Unknown);
}

#[test]
fn a_withdrawn_record_and_unknown_ecosystems_give_nothing() {
    let mut record: serde_json::Value = serde_json::from_str(LODASH_GHSA).unwrap();
    record["withdrawn"] = "2024-01-01T00:00:00Z".into();
    assert!(
        osv::read_record(record.to_string().as_bytes())
            .unwrap()
            .is_empty()
    );
    let mut record: serde_json::Value = serde_json::from_str(LODASH_GHSA).unwrap();
    record["affected"][0]["package"]["ecosystem"] = "Debian:12".into();
    let rules = osv::read_record(record.to_string().as_bytes()).unwrap();
    assert_eq!(rules.len(), 1);
    assert!(osv::read_record(b"[]").is_err());
}

#[test]
fn ranges_follow_osv_events_in_each_ecosystems_order() {
    let rule = |ranges: Vec<Vec<Event>>, versions: &[&str]| AdvisoryRule {
        id: "X".into(),
        aliases: vec![],
        severity: Severity::Low,
        url: None,
        versions: versions.iter().map(|v| (*v).to_owned()).collect(),
        ranges,
    };
    use Event::{Fixed, Introduced, LastAffected};
    let two_ranges = rule(
        vec![vec![
            Fixed("1.5.0".into()),
            Introduced("1.0.0".into()),
            Introduced("2.0.0".into()),
            LastAffected("2.3.0".into()),
        ]],
        &[],
    );
    let semver = Ecosystem::Npm;
    for (version, affected) in [
        ("0.9.0", false),
        ("1.0.0", true),
        ("1.4.9", true),
        ("1.5.0", false),
        ("2.0.0", true),
        ("2.3.0", true),
        ("2.3.1", false),
    ] {
        assert_eq!(two_ranges.affects(&semver, version), affected, "{version}");
    }
    // PEP 440: 1.0rc1 < 1.0 < 1.0.post1; `1.0` and `1.0.0` are one version.
    let pypi = Ecosystem::Pypi;
    let fixed_at_one = rule(
        vec![vec![Introduced("0".into()), Fixed("1.0".into())]],
        &["2.0"],
    );
    for (version, affected) in [
        ("1.0rc1", true),
        ("1.0", false),
        ("1.0.0", false),
        ("1.0.post1", false),
        ("2.0.0", true),
    ] {
        assert_eq!(fixed_at_one.affects(&pypi, version), affected, "{version}");
    }
    // RubyGems: 1.0.0.pre < 1.0.0.
    let gem = Ecosystem::Gem;
    let gem_rule = rule(
        vec![vec![Introduced("0".into()), Fixed("1.0.0".into())]],
        &[],
    );
    assert!(gem_rule.affects(&gem, "1.0.0.pre"));
    assert!(!gem_rule.affects(&gem, "1.0.0.1"));
}

#[test]
fn pypi_release_advisories_skip_withdrawn_ones() {
    let body = br#"{"info":{"version":"2.4"},"vulnerabilities":[
        {"aliases":["CVE-2014-1402"],"details":"...","fixed_in":["2.7.2"],"id":"PYSEC-2014-8","link":"https://osv.dev/vulnerability/PYSEC-2014-8","source":"osv","summary":null,"withdrawn":null},
        {"aliases":[],"details":"...","fixed_in":[],"id":"PYSEC-2099-1","link":"https://osv.dev/vulnerability/PYSEC-2099-1","source":"osv","summary":null,"withdrawn":"2024-01-01T00:00:00Z"}]}"#;
    let rules = osv::pypi_release_rules(body, "2.4").unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].id, "PYSEC-2014-8");
    assert!(rules[0].affects(&Ecosystem::Pypi, "2.4"));
    assert!(!rules[0].affects(&Ecosystem::Pypi, "2.5"));
}

#[test]
fn the_registry_raises_latest_and_never_lowers_it() {
    let watched = |latest: &str| Watched {
        latest: Some(latest.into()),
        advisories: vec![],
    };
    let cases = [
        (
            Some("1.0.0"),
            Some("2.0.0"),
            Some("2.0.0"),
            Some(LatestSource::Registry),
            Freshness::Outdated,
        ),
        (
            Some("3.0.0"),
            Some("2.0.0"),
            Some("3.0.0"),
            Some(LatestSource::Report),
            Freshness::Outdated,
        ),
        (
            None,
            Some("1.0.0"),
            Some("1.0.0"),
            Some(LatestSource::Registry),
            Freshness::UpToDate,
        ),
        (
            Some("1.0.0"),
            None,
            Some("1.0.0"),
            Some(LatestSource::Report),
            Freshness::UpToDate,
        ),
        (None, None, None, None, Freshness::Unknown),
    ];
    for (reported, registry, latest, source, freshness) in cases {
        let mut d = dependency("npm", "a", "1.0.0", reported);
        if reported == Some("3.0.0") {
            d.version = "2.5.0".into();
        }
        let known = registry.map(watched);
        let applied = apply(&d, known.as_ref());
        assert_eq!(
            applied.dependency.latest.as_deref(),
            latest,
            "{reported:?} {registry:?}"
        );
        assert_eq!(applied.latest_source, source);
        assert_eq!(
            applied.dependency.freshness, freshness,
            "{reported:?} {registry:?}"
        );
    }
}

#[test]
fn an_advisory_counts_once_with_its_aliases_also_against_the_reports_own() {
    let rules: Vec<AdvisoryRule> = lodash_rules().into_iter().map(|(_, r)| r).collect();
    let cve_twin = AdvisoryRule {
        id: "CVE-2021-23337".into(),
        aliases: vec!["GHSA-35jh-r3h4-6jhm".into()],
        ..rules[0].clone()
    };
    let watched = Watched {
        latest: None,
        advisories: vec![rules[0].clone(), cve_twin],
    };
    let d = dependency("npm", "lodash", "4.17.20", Some("4.17.21"));
    let applied = apply(&d, Some(&watched)).dependency;
    assert_eq!(applied.advisories.len(), 1);
    assert_eq!(applied.freshness, Freshness::Vulnerable);

    let mut reported = d.clone();
    reported.advisories.push(Advisory {
        id: "CVE-2021-23337".into(),
        severity: Severity::High,
        url: None,
    });
    let applied = apply(&reported, Some(&watched)).dependency;
    assert_eq!(applied.advisories.len(), 1);
    assert_eq!(applied.advisories[0].id, "CVE-2021-23337");

    let fixed = dependency("npm", "lodash", "4.17.21", Some("4.17.21"));
    assert_eq!(
        apply(&fixed, Some(&watched)).dependency.freshness,
        Freshness::UpToDate
    );
}

#[test]
fn summaries_use_what_the_watcher_knows() {
    let deps = vec![
        dependency("npm", "lodash", "4.17.20", Some("4.17.20")),
        dependency("cargo", "serde", "1.0.0", Some("1.0.0")),
    ];
    let nothing = summaries(&deps, &HashMap::new());
    assert_eq!(nothing[0].1.status, Status::UpToDate);
    let mut known = HashMap::new();
    known.insert(
        "cargo/serde".to_owned(),
        Watched {
            latest: Some("1.0.1".into()),
            advisories: vec![],
        },
    );
    assert_eq!(summaries(&deps, &known)[0].1.status, Status::OutOfDate);
    known.insert(
        "npm/lodash".to_owned(),
        Watched {
            latest: None,
            advisories: lodash_rules().into_iter().map(|(_, r)| r).take(1).collect(),
        },
    );
    let all = summaries(&deps, &known);
    assert_eq!(all[0].1.status, Status::Vulnerable);
    assert_eq!(all[0].1.counts.vulnerable, 1);
    assert_eq!(all[0].1.counts.outdated, 1);
    assert_eq!(report_keys(&deps), ["cargo/serde", "npm/lodash"]);
}

proptest! {
    #[test]
    fn reading_any_osv_or_registry_answer_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = osv::read_record(&body);
        let _ = osv::pypi_release_rules(&body, "1.0");
        for registry in Registry::ALL {
            let _ = registry.newest(&body);
        }
    }

    #[test]
    fn ranges_of_any_versions_never_panic(
        version in "[0-9a-z.\\-+]{0,12}",
        events in proptest::collection::vec(("[0-9a-z.\\-]{0,8}", 0..3u8), 0..6),
    ) {
        let events: Vec<Event> = events.into_iter().map(|(v, kind)| match kind {
            0 => Event::Introduced(v),
            1 => Event::Fixed(v),
            _ => Event::LastAffected(v),
        }).collect();
        let rule = AdvisoryRule { id: "X".into(), aliases: vec![], severity: Severity::Low, url: None, versions: vec![], ranges: vec![events] };
        for ecosystem in [Ecosystem::Npm, Ecosystem::Pypi, Ecosystem::Gem, Ecosystem::Maven, Ecosystem::Other("x".into())] {
            let _ = rule.affects(&ecosystem, &version);
        }
        let _ = package_key("pypi", &version);
        let _ = cargo_index_path(&version);
    }

    #[test]
    fn paths_of_any_name_never_panic(name in "\\PC{0,6}") {
        let _ = cargo_index_path(&name);
        let _ = go_escape(&name);
        let _ = package_key("pypi", &name);
        for registry in Registry::ALL {
            let _ = registry.package_url("http://r", &name);
        }
    }
}

#[test]
fn osv_ecosystems_map_to_purl_types_and_registries_name_theirs() {
    for (osv, purl) in [
        ("npm", "npm"),
        ("PyPI", "pypi"),
        ("crates.io", "cargo"),
        ("RubyGems", "gem"),
        ("Go", "golang"),
        ("Packagist", "composer"),
        ("Maven", "maven"),
        ("NuGet", "nuget"),
    ] {
        assert_eq!(osv::purl_type(osv), Some(purl), "{osv}");
    }
    assert_eq!(osv::purl_type("Debian:12"), None);
    let labels: Vec<&str> = Registry::ALL.iter().map(|r| r.ecosystem()).collect();
    assert_eq!(labels, ["npm", "pypi", "cargo", "gem", "golang"]);
    let accepts: Vec<Option<&str>> = Registry::ALL.iter().map(|r| r.accept()).collect();
    assert_eq!(
        accepts,
        [
            Some("application/vnd.npm.install-v1+json"),
            None,
            None,
            None,
            None
        ]
    );
}

#[test]
fn only_semver_and_ecosystem_ranges_are_kept_and_the_database_severity_wins() {
    let mut record: serde_json::Value = serde_json::from_str(LODASH_GHSA).unwrap();
    record["affected"][0]["ranges"] = serde_json::json!([
        {"type": "GIT", "repo": "https://github.com/lodash/lodash", "events": [{"introduced": "0"}, {"fixed": "3469357"}]},
        {"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "2.0.0"}]},
    ]);
    // The database says LOW although the vector scores high: the database's word is taken.
    record["database_specific"]["severity"] = "LOW".into();
    let rules = osv::read_record(record.to_string().as_bytes()).unwrap();
    assert_eq!(rules[0].1.ranges.len(), 1);
    assert!(rules[0].1.affects(&Ecosystem::Npm, "1.5.0"));
    assert!(!rules[0].1.affects(&Ecosystem::Npm, "4.17.20"));
    assert_eq!(rules[0].1.severity, Severity::Low);
    // Without it, the highest of several vectors: medium (5.3) and critical (9.8).
    record["database_specific"] = serde_json::json!({});
    record["severity"] = serde_json::json!([
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"},
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
        {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"},
    ]);
    let rules = osv::read_record(record.to_string().as_bytes()).unwrap();
    assert_eq!(rules[0].1.severity, Severity::Critical);
}

#[test]
fn every_dependency_is_applied_in_order() {
    let deps = vec![
        dependency("npm", "a", "1.0.0", Some("1.0.0")),
        dependency("npm", "b", "1.0.0", None),
    ];
    let mut known = HashMap::new();
    known.insert(
        "npm/b".to_owned(),
        Watched {
            latest: Some("2.0.0".into()),
            advisories: vec![],
        },
    );
    let applied = apply_all(&deps, &known);
    assert_eq!(applied.len(), 2);
    assert_eq!(applied[0].latest_source, Some(LatestSource::Report));
    assert_eq!(applied[1].dependency.latest.as_deref(), Some("2.0.0"));
    assert_eq!(applied[1].latest_source, Some(LatestSource::Registry));
}

#[test]
fn the_freshness_statuses_use_is_the_one_apply_gives() {
    let rules: Vec<AdvisoryRule> = lodash_rules().into_iter().map(|(_, r)| r).collect();
    let mut reported = dependency("npm", "lodash", "4.17.21", Some("4.17.21"));
    reported.advisories.push(Advisory {
        id: "X-1".into(),
        severity: Severity::Low,
        url: None,
    });
    let dependencies = [
        dependency("npm", "lodash", "4.17.20", Some("4.17.20")),
        dependency("npm", "lodash", "4.17.21", None),
        dependency("npm", "lodash", "4.17.21", Some("5.0.0")),
        dependency("npm", "lodash", "not a version", Some("1.0.0")),
        reported,
    ];
    let known = [
        Watched::default(),
        Watched {
            latest: Some("4.17.21".into()),
            advisories: vec![],
        },
        Watched {
            latest: Some("4.18.0".into()),
            advisories: rules.clone(),
        },
        Watched {
            latest: None,
            advisories: rules,
        },
    ];
    for d in &dependencies {
        for w in &known {
            assert_eq!(
                watched_freshness(d, w),
                apply(d, Some(w)).dependency.freshness,
                "{d:?} {w:?}"
            );
        }
    }
}
