use proptest::prelude::*;

use super::*;

#[test]
fn patterns_cover_exact_slugs_and_prefixes_case_insensitively() {
    let coverage =
        Coverage::parse("github.com/Acme/*, gitlab.com/group/sub/repo,example.org/*").unwrap();
    let cases = [
        ("github.com/acme/api", true),
        ("github.com/acme/api/sub", true),
        // A prefix ends at a segment boundary.
        ("github.com/acme-other/api", false),
        ("github.com/acmex/api", false),
        ("gitlab.com/group/sub/repo", true),
        ("gitlab.com/group/sub/repo2", false),
        ("gitlab.com/group/sub", false),
        ("example.org/anything", true),
        ("sub.example.org/anything", false),
    ];
    for (slug, expected) in cases {
        assert_eq!(coverage.covers(slug), expected, "{slug}");
    }
    assert!(!coverage.covers_everything());
    assert_eq!(
        coverage.split(),
        (
            vec!["gitlab.com/group/sub/repo"],
            vec!["github.com/acme/", "example.org/"]
        )
    );
    assert_eq!(
        coverage.describe(),
        "github.com/acme/*,gitlab.com/group/sub/repo,example.org/*"
    );
    let everything = Coverage::everything();
    assert!(everything.covers("any.host/x") && everything.covers_everything());
}

#[test]
fn malformed_patterns_are_refused_quoting_the_pattern() {
    for pattern in [
        "",
        "*",
        "github.com",
        "github.com/*/x",
        "github.com/acme*",
        "github.com/acme/",
        "nodot/*",
        "github.com/a/../*",
        "github.com/acme/*,",
    ] {
        let error = Coverage::parse(pattern).unwrap_err();
        assert!(error.contains('`'), "{pattern}: {error}");
    }
}

#[test]
fn keys_are_prefixed_long_and_verified_by_digest() {
    let (key, digest) = new_key(&[7; KEY_RANDOM_BYTES]);
    assert!(key.starts_with("dbk_") && key.len() == KEY_LEN, "{key}");
    assert!(is_key_shaped(&key));
    assert_eq!(digest, key_digest(&key));
    let (other, other_digest) = new_key(&[8; KEY_RANDOM_BYTES]);
    assert_ne!(key, other);
    let keys = ReadKeys::new(vec![
        (Arc::from("a"), digest),
        (Arc::from("b"), other_digest),
    ]);
    assert_eq!(keys.verify(&key).map(|id| &**id), Some("a"));
    assert_eq!(keys.verify(&other).map(|id| &**id), Some("b"));
    let mut wrong = key.clone();
    wrong.replace_range(10..11, if &key[10..11] == "A" { "B" } else { "A" });
    assert_eq!(keys.verify(&wrong), None);
    assert_eq!(keys.verify(&key[..KEY_LEN - 1]), None);
    assert_eq!(keys.verify(&format!("{key}x")), None);
    assert_eq!(keys.verify(""), None);
    assert_eq!((keys.len(), keys.is_empty()), (2, false));
    assert!(ReadKeys::default().is_empty());
}

#[test]
fn only_key_shaped_texts_are_compared() {
    let digest_of_odd = key_digest("not a key");
    // Even a stored digest of an odd text never matches it: it is not compared.
    let keys = ReadKeys::new(vec![(Arc::from("odd"), digest_of_odd)]);
    assert_eq!(keys.verify("not a key"), None);
    assert!(!is_key_shaped(&format!("dbk_{}", "=".repeat(43))));
    assert!(!is_key_shaped(&format!("dbx_{}", "a".repeat(43))));
    assert!(is_key_shaped(&format!("dbk_{}", "a-_".repeat(14) + "z")));
}

#[test]
fn grants_follow_visibility_keys_and_covering_tokens() {
    let (key, digest) = new_key(&[1; KEY_RANDOM_BYTES]);
    let private = Access::Private(Arc::new(ReadKeys::new(vec![(Arc::from("k1"), digest)])));
    let slug = "github.com/acme/api";
    let covering = Coverage::parse("github.com/acme/*").unwrap();
    let elsewhere = Coverage::parse("github.com/other/*").unwrap();
    let with = |key: Option<&str>, token: Option<&Coverage>| grant(&private, slug, key, token);
    assert_eq!(
        with(Some(&key), None),
        Granted::Private {
            key_id: Some(Arc::from("k1"))
        }
    );
    assert_eq!(with(None, None), Granted::Denied);
    assert_eq!(with(Some("dbk_wrong"), None), Granted::Denied);
    assert_eq!(
        with(None, Some(&covering)),
        Granted::Private { key_id: None }
    );
    assert_eq!(with(None, Some(&elsewhere)), Granted::Denied);
    assert_eq!(
        Access::Public.grant(slug, Credentials::default()),
        Granted::Public
    );
    assert_eq!(private.visibility(), Visibility::Private);
    assert_eq!(Access::Public.visibility(), Visibility::Public);
}

fn grant(access: &Access, slug: &str, key: Option<&str>, token: Option<&Coverage>) -> Granted {
    access.grant(slug, Credentials { key, token })
}

#[test]
fn visibility_reads_and_writes_its_two_words() {
    for visibility in [Visibility::Public, Visibility::Private] {
        assert_eq!(Visibility::parse(visibility.as_str()), Some(visibility));
        assert_eq!(
            serde_json::to_value(visibility).unwrap(),
            serde_json::json!(visibility.as_str())
        );
    }
    assert_eq!(Visibility::parse("Private"), None);
    assert_eq!(Visibility::parse("internal"), None);
}

proptest! {
    #[test]
    fn any_pattern_list_parses_or_is_refused_without_panicking(text in "[ -~]{0,80}") {
        if let Ok(coverage) = Coverage::parse(&text) {
            prop_assert!(!coverage.covers_everything());
        }
    }

    #[test]
    fn any_presented_key_is_checked_without_panicking(text in "\\PC{0,60}") {
        let (_, digest) = new_key(&[3; KEY_RANDOM_BYTES]);
        let keys = ReadKeys::new(vec![(Arc::from("k"), digest)]);
        prop_assert_eq!(keys.verify(&text), None);
    }
}
