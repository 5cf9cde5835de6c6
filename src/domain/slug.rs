//! Project slugs: `HOST/PATH`, validated once at the edge and normalized for lookups.

use std::fmt;

/// Longest accepted slug, in bytes (docs/contract.md §1).
pub const MAX_SLUG_LEN: usize = 255;
const MAX_HOST_LEN: usize = 253;
const MAX_DNS_LABEL_LEN: usize = 63;
const MAX_PATH_SEGMENTS: usize = 8;

/// A valid project slug. `key` is the lowercased form used for storage and lookups;
/// `display` keeps the spelling the client used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug {
    key: String,
    display: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    #[error("the slug is empty")]
    Empty,
    #[error("the slug is not valid UTF-8 once percent-decoded")]
    NotUtf8,
    #[error("the slug is longer than {MAX_SLUG_LEN} characters")]
    TooLong,
    #[error("the slug needs a host and a path, like github.com/owner/repo")]
    MissingPath,
    #[error("the host `{0}` is not a DNS name with at least one dot")]
    InvalidHost(String),
    #[error("the path has more than {MAX_PATH_SEGMENTS} segments")]
    TooManySegments,
    #[error("the path segment `{0}` is empty, `.`, `..` or has characters outside [A-Za-z0-9._-]")]
    InvalidSegment(String),
}

impl Slug {
    pub fn parse(input: &str) -> Result<Self, SlugError> {
        if input.is_empty() {
            return Err(SlugError::Empty);
        }
        if input.len() > MAX_SLUG_LEN {
            return Err(SlugError::TooLong);
        }
        // Every badge request parses its slug: two allocations, for the two forms kept.
        let (host, path) = input.split_once('/').ok_or(SlugError::MissingPath)?;
        if !is_dns_name(host) {
            return Err(SlugError::InvalidHost(host.to_ascii_lowercase()));
        }
        if path.split('/').nth(MAX_PATH_SEGMENTS).is_some() {
            return Err(SlugError::TooManySegments);
        }
        if let Some(bad) = path.split('/').find(|s| !is_path_segment(s)) {
            return Err(SlugError::InvalidSegment(bad.to_owned()));
        }
        let key = input.to_ascii_lowercase();
        let mut display = String::with_capacity(input.len());
        display.push_str(&key[..host.len()]);
        display.push_str(&input[host.len()..]);
        Ok(Self { key, display })
    }

    /// Rebuilds a slug that was validated before it was stored.
    pub fn from_stored(key: String, display: String) -> Self {
        Self { key, display }
    }

    /// The lowercased form: the storage and lookup key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The slug as first reported.
    pub fn display(&self) -> &str {
        &self.display
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// Whether `host` is a DNS name with a dot, in any case (hosts are kept lowercased).
pub(crate) fn is_dns_name(host: &str) -> bool {
    host.len() <= MAX_HOST_LEN
        && host.contains('.')
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= MAX_DNS_LABEL_LEN
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn is_path_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_slugs_are_accepted_and_lowercased_for_lookup() {
        let cases = [
            ("github.com/rust-lang/cargo", "github.com/rust-lang/cargo"),
            ("GitHub.com/Rust-Lang/Cargo", "github.com/rust-lang/cargo"),
            ("gitlab.com/group/sub/repo", "gitlab.com/group/sub/repo"),
            ("git.example.co.uk/a", "git.example.co.uk/a"),
            ("github.com/owner/repo.rs", "github.com/owner/repo.rs"),
            ("github.com/a_b/c-d.e", "github.com/a_b/c-d.e"),
            ("h.io/1/2/3/4/5/6/7/8", "h.io/1/2/3/4/5/6/7/8"),
        ];
        for (input, key) in cases {
            let slug = Slug::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(slug.key(), key, "{input}");
        }
    }

    #[test]
    fn the_display_form_keeps_the_path_case_and_lowercases_the_host() {
        let slug = Slug::parse("GitHub.com/Rust-Lang/Cargo").unwrap();
        assert_eq!(slug.display(), "github.com/Rust-Lang/Cargo");
    }

    #[test]
    fn invalid_slugs_are_refused_with_a_reason() {
        let too_long = format!("github.com/{}", "a".repeat(250));
        let cases: &[(&str, SlugError)] = &[
            ("", SlugError::Empty),
            ("github.com", SlugError::MissingPath),
            ("github.com/", SlugError::InvalidSegment(String::new())),
            ("localhost/repo", SlugError::InvalidHost("localhost".into())),
            ("-bad.com/repo", SlugError::InvalidHost("-bad.com".into())),
            ("bad..com/repo", SlugError::InvalidHost("bad..com".into())),
            (
                "git_hub.com/repo",
                SlugError::InvalidHost("git_hub.com".into()),
            ),
            ("github.com/a/../b", SlugError::InvalidSegment("..".into())),
            ("github.com/a/./b", SlugError::InvalidSegment(".".into())),
            ("github.com/a//b", SlugError::InvalidSegment(String::new())),
            ("github.com/a/b/", SlugError::InvalidSegment(String::new())),
            ("github.com/a b", SlugError::InvalidSegment("a b".into())),
            (
                "github.com/<script>",
                SlugError::InvalidSegment("<script>".into()),
            ),
            ("github.com/ü", SlugError::InvalidSegment("ü".into())),
            ("h.io/1/2/3/4/5/6/7/8/9", SlugError::TooManySegments),
            (&too_long, SlugError::TooLong),
        ];
        for (input, expected) in cases {
            assert_eq!(Slug::parse(input).as_ref(), Err(expected), "{input:?}");
        }
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_keys_are_lowercase(s in "\\PC{0,300}") {
            if let Ok(slug) = Slug::parse(&s) {
                prop_assert_eq!(slug.key().to_ascii_lowercase(), slug.key());
                prop_assert!(slug.key().len() <= MAX_SLUG_LEN);
                prop_assert_eq!(Slug::parse(slug.key()).map(|s| s.key().to_owned()), Ok(slug.key().to_owned()));
            }
        }
    }
}
