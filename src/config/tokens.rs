//! API tokens for the write routes: `NAME:TOKEN` (every slug) or `NAME:TOKEN:PATTERNS` (the
//! slugs the patterns cover) per line, compared in constant time.

use std::fmt;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::domain::Coverage;

/// Tokens shorter than this are refused at start: they can be guessed.
pub const MIN_TOKEN_LEN: usize = 16;

/// The configured tokens. Only SHA-256 digests are kept, so that comparisons take the same time
/// whatever the presented token's length, and no plaintext token stays in memory to be logged.
#[derive(Clone, Default)]
pub struct ApiTokens {
    tokens: Vec<(Token, [u8; 32])>,
}

/// A configured token, without its secret: its name (for logs) and the slugs it covers.
#[derive(Debug, Clone)]
pub struct Token {
    pub name: Arc<str>,
    pub coverage: Arc<Coverage>,
}

impl ApiTokens {
    /// Parses `NAME:TOKEN[:PATTERNS]` lines; blank lines and `#` comments are skipped. Errors
    /// name the line and, once it is known, the token's name; never the token.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut tokens: Vec<(Token, [u8; 32])> = Vec::new();
        for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, rest)) = line.split_once(':') else {
                return Err(format!(
                    "line {number} is not NAME:TOKEN or NAME:TOKEN:PATTERNS"
                ));
            };
            let name = name.trim();
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                return Err(format!(
                    "line {number}: the token name must be letters, digits, `-`, `_` or `.`"
                ));
            }
            // A token has no `:`: what follows a second one is the token's scope.
            let (token, coverage) = match rest.split_once(':') {
                None => (rest.trim(), Coverage::everything()),
                Some((token, patterns)) => (
                    token.trim(),
                    Coverage::parse(patterns).map_err(|error| {
                        format!("line {number}: the patterns of token `{name}`: {error}")
                    })?,
                ),
            };
            if token.len() < MIN_TOKEN_LEN || token.chars().any(char::is_whitespace) {
                return Err(format!(
                    "line {number}: the token for `{name}` must be at least {MIN_TOKEN_LEN} characters without spaces"
                ));
            }
            if tokens.iter().any(|(existing, _)| &*existing.name == name) {
                return Err(format!(
                    "line {number}: the token name `{name}` appears twice"
                ));
            }
            let token_entry = Token {
                name: Arc::from(name),
                coverage: Arc::new(coverage),
            };
            tokens.push((token_entry, digest(token)));
        }
        Ok(Self { tokens })
    }

    /// The token that matches `presented`, comparing against every token so that the time taken
    /// does not tell which one matched or how much of it.
    pub fn verify(&self, presented: &str) -> Option<&Token> {
        let presented = digest(presented);
        let mut found = None;
        for (token, digest) in &self.tokens {
            if bool::from(digest.ct_eq(&presented)) {
                found = Some(token);
            }
        }
        found
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().map(|(token, _)| &*token.name)
    }

    /// Each token's name with the slugs it covers, for `depbadge config`.
    pub fn scopes(&self) -> impl Iterator<Item = (&str, String)> {
        self.tokens
            .iter()
            .map(|(token, _)| (&*token.name, token.coverage.describe()))
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

impl fmt::Debug for ApiTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_verified_by_name() {
        let tokens = ApiTokens::parse(
            "# analyzers\nanalyzer:0123456789abcdef0123\n\nci: fedcba9876543210fedc \n",
        )
        .unwrap();
        let name = |presented| tokens.verify(presented).map(|token| &*token.name);
        assert_eq!(name("0123456789abcdef0123"), Some("analyzer"));
        assert_eq!(name("fedcba9876543210fedc"), Some("ci"));
        assert_eq!(name("0123456789abcdef012"), None);
        assert_eq!(name(""), None);
        assert_eq!(tokens.names().collect::<Vec<_>>(), ["analyzer", "ci"]);
    }

    #[test]
    fn bad_token_lines_are_refused_without_quoting_the_token() {
        for text in [
            "no-colon-here-0123456789",
            "a:short",
            ":0123456789abcdef",
            "a b:0123456789abcdef",
            "a:0123456789abcdef\na:fedcba9876543210",
        ] {
            let error = ApiTokens::parse(text).unwrap_err();
            assert!(
                !error.contains("0123456789abcdef") && !error.contains("short"),
                "{error}"
            );
        }
    }

    /// The error names the line (counted from 1, blank and comment lines included), and a token
    /// of exactly the minimum length is taken.
    #[test]
    fn errors_name_the_line_and_the_minimum_length_is_allowed() {
        let error = ApiTokens::parse("# ci tokens\na:0123456789abcdef\nb:short").unwrap_err();
        assert!(error.starts_with("line 3:"), "{error}");
        let exactly = "x".repeat(MIN_TOKEN_LEN);
        assert!(ApiTokens::parse(&format!("a:{exactly}")).is_ok());
        assert!(ApiTokens::parse(&format!("a:{}", &exactly[1..])).is_err());
    }

    #[test]
    fn a_third_field_scopes_the_token_to_its_patterns() {
        let tokens = ApiTokens::parse(
            "all:0123456789abcdef0123\nacme:fedcba9876543210fedc: github.com/acme/*,gitlab.com/g/r\n",
        )
        .unwrap();
        let all = tokens.verify("0123456789abcdef0123").unwrap();
        assert!(all.coverage.covers_everything());
        let acme = tokens.verify("fedcba9876543210fedc").unwrap();
        assert!(acme.coverage.covers("github.com/acme/api"));
        assert!(acme.coverage.covers("gitlab.com/g/r"));
        assert!(!acme.coverage.covers("github.com/other/api"));
        assert_eq!(
            tokens.scopes().collect::<Vec<_>>(),
            [
                ("all", "every slug".to_owned()),
                ("acme", "github.com/acme/*,gitlab.com/g/r".to_owned())
            ]
        );
    }

    /// A malformed scope names the line and the token's name, never the token.
    #[test]
    fn a_malformed_scope_names_the_line_and_the_token_name() {
        let error = ApiTokens::parse(
            "# tokens\nok:0123456789abcdef0123\nteam-a:s3cr3t-s3cr3t-s3cr3t:github.com",
        )
        .unwrap_err();
        assert!(error.starts_with("line 3:"), "{error}");
        assert!(error.contains("`team-a`"), "{error}");
        assert!(!error.contains("s3cr3t"), "{error}");
        let error = ApiTokens::parse("team-b:s3cr3t-s3cr3t-s3cr3t:").unwrap_err();
        assert!(
            error.starts_with("line 1:") && error.contains("`team-b`"),
            "{error}"
        );
        assert!(!error.contains("s3cr3t"), "{error}");
    }

    #[test]
    fn debug_output_shows_names_only() {
        let tokens = ApiTokens::parse("analyzer:0123456789abcdef0123").unwrap();
        assert_eq!(format!("{tokens:?}"), r#"["analyzer"]"#);
    }
}
