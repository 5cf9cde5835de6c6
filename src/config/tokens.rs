//! API tokens for the write routes: `NAME:TOKEN` per line, compared in constant time.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Tokens shorter than this are refused at start: they can be guessed.
pub const MIN_TOKEN_LEN: usize = 16;

/// The configured tokens. Only SHA-256 digests are kept, so that comparisons take the same time
/// whatever the presented token's length, and no plaintext token stays in memory to be logged.
#[derive(Clone, Default)]
pub struct ApiTokens {
    tokens: Vec<(String, [u8; 32])>,
}

impl ApiTokens {
    /// Parses `NAME:TOKEN` lines; blank lines and `#` comments are skipped. Errors never quote a token.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut tokens = Vec::new();
        for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, token)) = line.split_once(':') else {
                return Err(format!("line {number} is not NAME:TOKEN"));
            };
            let (name, token) = (name.trim(), token.trim());
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                return Err(format!(
                    "line {number}: the token name must be letters, digits, `-`, `_` or `.`"
                ));
            }
            if token.len() < MIN_TOKEN_LEN || token.chars().any(char::is_whitespace) {
                return Err(format!(
                    "line {number}: the token for `{name}` must be at least {MIN_TOKEN_LEN} characters without spaces"
                ));
            }
            if tokens.iter().any(|(existing, _)| existing == name) {
                return Err(format!(
                    "line {number}: the token name `{name}` appears twice"
                ));
            }
            tokens.push((name.to_owned(), digest(token)));
        }
        Ok(Self { tokens })
    }

    /// The name of the token that matches `presented`, comparing against every token so that the
    /// time taken does not tell which one matched or how much of it.
    pub fn verify(&self, presented: &str) -> Option<&str> {
        let presented = digest(presented);
        let mut found = None;
        for (name, token) in &self.tokens {
            if bool::from(token.ct_eq(&presented)) {
                found = Some(name.as_str());
            }
        }
        found
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().map(|(name, _)| name.as_str())
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
        assert_eq!(tokens.verify("0123456789abcdef0123"), Some("analyzer"));
        assert_eq!(tokens.verify("fedcba9876543210fedc"), Some("ci"));
        assert_eq!(tokens.verify("0123456789abcdef012"), None);
        assert_eq!(tokens.verify(""), None);
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
    fn debug_output_shows_names_only() {
        let tokens = ApiTokens::parse("analyzer:0123456789abcdef0123").unwrap();
        assert_eq!(format!("{tokens:?}"), r#"["analyzer"]"#);
    }
}
