//! Who may read and write a project (docs/contract.md §12): a project's visibility, the slugs a
//! write token covers, and read keys. Key texts are made from random bytes given by the caller;
//! nothing here reads the system's randomness or stores anything.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Slug;
use super::slug::is_dns_name;

/// Who can read a project.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Public,
    /// Read only with one of its read keys, or a write token covering it.
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "public" => Some(Self::Public),
            "private" => Some(Self::Private),
            _ => None,
        }
    }
}

impl fmt::Display for Visibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One pattern of a write token's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SlugPattern {
    /// A slug key.
    Exact(String),
    /// A lowercased prefix ending in `/`: `github.com/acme/*` is `github.com/acme/`.
    Prefix(String),
}

/// The slugs a write token may write, create keys for, and read when private.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// `None`: every slug (a `NAME:TOKEN` line).
    patterns: Option<Vec<SlugPattern>>,
}

impl Coverage {
    /// Every slug.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses a comma-separated list of exact slugs and prefixes ending in `/*`; an error
    /// quotes the pattern that is not one.
    pub fn parse(text: &str) -> Result<Self, String> {
        let patterns = text
            .split(',')
            .map(str::trim)
            .map(|pattern| {
                let bad = || {
                    format!(
                        "`{pattern}` is neither a slug (github.com/owner/repo) nor a prefix \
                         ending in `/*` (github.com/owner/*)"
                    )
                };
                if let Some(prefix) = pattern.strip_suffix("/*") {
                    let valid = is_dns_name(prefix) || Slug::parse(prefix).is_ok();
                    valid
                        .then(|| SlugPattern::Prefix(format!("{}/", prefix.to_ascii_lowercase())))
                        .ok_or_else(bad)
                } else {
                    Slug::parse(pattern)
                        .map(|slug| SlugPattern::Exact(slug.key().to_owned()))
                        .map_err(|_| bad())
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            patterns: Some(patterns),
        })
    }

    pub fn covers(&self, slug_key: &str) -> bool {
        self.patterns.as_ref().is_none_or(|patterns| {
            patterns.iter().any(|pattern| match pattern {
                SlugPattern::Exact(key) => key == slug_key,
                SlugPattern::Prefix(prefix) => slug_key.starts_with(prefix.as_str()),
            })
        })
    }

    pub fn covers_everything(&self) -> bool {
        self.patterns.is_none()
    }

    /// The exact slug keys and the prefixes, for a query that filters by them.
    pub fn split(&self) -> (Vec<&str>, Vec<&str>) {
        let mut exact = Vec::new();
        let mut prefixes = Vec::new();
        for pattern in self.patterns.iter().flatten() {
            match pattern {
                SlugPattern::Exact(key) => exact.push(key.as_str()),
                SlugPattern::Prefix(prefix) => prefixes.push(prefix.as_str()),
            }
        }
        (exact, prefixes)
    }

    /// As written in `DEPBADGE_API_TOKENS` (lowercased): for `depbadge config`.
    pub fn describe(&self) -> String {
        match &self.patterns {
            None => "every slug".to_owned(),
            Some(patterns) => patterns
                .iter()
                .map(|pattern| match pattern {
                    SlugPattern::Exact(key) => key.clone(),
                    SlugPattern::Prefix(prefix) => format!("{prefix}*"),
                })
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

/// What a read key starts with: recognisable in a leaked file, and by secret scanners.
pub const KEY_PREFIX: &str = "dbk_";
/// Random bytes in a key: 256 bits, well past the 128 a guess must beat.
pub const KEY_RANDOM_BYTES: usize = 32;
/// The length of a key's text: the prefix and the bytes in unpadded base64url.
pub const KEY_LEN: usize = KEY_PREFIX.len() + 43;
/// Read keys a project may have at once.
pub const MAX_KEYS_PER_PROJECT: usize = 16;

/// SHA-256 of a key's text: all that is stored of it. A key has 256 random bits, so a fast
/// hash is enough (no guess is cheaper than trying the key itself).
pub type KeyDigest = [u8; 32];

/// A new key's text, made from `random` bytes, and its digest.
pub fn new_key(random: &[u8; KEY_RANDOM_BYTES]) -> (String, KeyDigest) {
    let key = format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(random));
    let digest = key_digest(&key);
    (key, digest)
}

pub fn key_digest(key: &str) -> KeyDigest {
    Sha256::digest(key.as_bytes()).into()
}

/// Whether `text` has the shape of a key. A text of another shape is not hashed or compared:
/// it matches no key.
pub fn is_key_shaped(text: &str) -> bool {
    text.len() == KEY_LEN
        && text.starts_with(KEY_PREFIX)
        && text[KEY_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A project's read keys: ids and digests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadKeys {
    keys: Vec<(Arc<str>, KeyDigest)>,
}

impl ReadKeys {
    pub fn new(keys: Vec<(Arc<str>, KeyDigest)>) -> Self {
        Self { keys }
    }

    /// The id of the key `presented` is, comparing its digest with every key's so that the time
    /// taken does not tell which one matched or how much of it.
    pub fn verify(&self, presented: &str) -> Option<&Arc<str>> {
        if !is_key_shaped(presented) {
            return None;
        }
        let presented = key_digest(presented);
        let mut found = None;
        for (id, digest) in &self.keys {
            if bool::from(digest.ct_eq(&presented)) {
                found = Some(id);
            }
        }
        found
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Who may read a project, as its reads need to know: kept with its cached status and report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Access {
    #[default]
    Public,
    Private(Arc<ReadKeys>),
}

/// What a reader presented: a read key from the URL, and the scope of a write token sent with
/// the request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    pub key: Option<&'a str>,
    pub token: Option<&'a Coverage>,
}

/// What a reader is granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Granted {
    Public,
    /// A private project, by this key (its id) or by a covering token (`None`).
    Private {
        key_id: Option<Arc<str>>,
    },
    /// A private project, to someone without a key or covering token: answered as if nothing
    /// were reported for it.
    Denied,
}

impl Access {
    pub fn grant(&self, slug_key: &str, credentials: Credentials<'_>) -> Granted {
        let Self::Private(keys) = self else {
            return Granted::Public;
        };
        if credentials
            .token
            .is_some_and(|token| token.covers(slug_key))
        {
            return Granted::Private { key_id: None };
        }
        match credentials.key.and_then(|key| keys.verify(key)) {
            Some(id) => Granted::Private {
                key_id: Some(id.clone()),
            },
            None => Granted::Denied,
        }
    }

    pub fn visibility(&self) -> Visibility {
        match self {
            Self::Public => Visibility::Public,
            Self::Private(_) => Visibility::Private,
        }
    }
}

#[cfg(test)]
mod tests;
