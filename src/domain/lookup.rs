//! What a person types into the home page's lookup form, read as a project slug: a slug as it
//! is, or a repository's address as a browser, `git clone` or a forge shows it
//! (`https://github.com/Owner/Repo/tree/main/src`, `git@github.com:owner/repo.git`).

use super::slug::{Slug, SlugError};

/// Longest input read; a slug is at most 255 characters, and an address adds a little.
const MAX_LOOKUP_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("type a repository address or a slug, like github.com/owner/repo")]
    Empty,
    #[error("that is longer than any repository address ({MAX_LOOKUP_LEN} characters at most)")]
    TooLong,
    #[error("only http, https, ssh and git addresses name a repository")]
    Scheme,
    #[error("{0}")]
    Slug(#[from] SlugError),
}

/// Forges whose repositories are always `owner/name`: what follows (`/tree/main/…`, `/issues`,
/// `/pull/1`) is a page of the repository, not a part of its name.
const TWO_SEGMENT_FORGES: &[&str] = &["github.com", "bitbucket.org", "codeberg.org", "gitea.com"];

/// GitLab nests groups (`gitlab.com/group/sub/repo`) and marks a repository's pages with `-`
/// (`/group/repo/-/tree/main`): the name is what comes before that marker.
const GITLAB_PAGE_MARKER: &str = "-";

/// The slug a lookup names. Hosts are lowercased and lose `www.`; paths lose `.git`, trailing
/// slashes, query strings and fragments; the path's case is kept (slugs compare without it).
pub fn slug_from_lookup(input: &str) -> Result<Slug, LookupError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(LookupError::Empty);
    }
    if input.len() > MAX_LOOKUP_LEN {
        return Err(LookupError::TooLong);
    }
    let (host, path) = split_address(input)?;
    let host = host.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if TWO_SEGMENT_FORGES.contains(&host) {
        segments.truncate(2);
    } else if let Some(marker) = segments.iter().position(|s| *s == GITLAB_PAGE_MARKER) {
        segments.truncate(marker);
    }
    if let Some(last) = segments.last_mut() {
        *last = last.strip_suffix(".git").unwrap_or(last);
    }
    if segments.is_empty() {
        return Err(SlugError::MissingPath.into());
    }
    Ok(Slug::parse(&format!("{host}/{}", segments.join("/")))?)
}

/// The host and the path of an address: `scheme://[user@]host[:port]/path`,
/// `[user@]host:path` (git's scp-like form), or `host/path`.
fn split_address(input: &str) -> Result<(&str, &str), LookupError> {
    if let Some((scheme, rest)) = input.split_once("://") {
        if !matches!(
            scheme.to_ascii_lowercase().as_str(),
            "http" | "https" | "ssh" | "git" | "git+ssh"
        ) {
            return Err(LookupError::Scheme);
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        let host = host.split_once(':').map_or(host, |(host, _port)| host);
        return Ok((host, path));
    }
    let (before_slash, _) = input.split_once('/').unwrap_or((input, ""));
    if let Some((authority, path)) = before_slash
        .contains(':')
        .then(|| input.split_once(':'))
        .flatten()
    {
        let host = authority
            .rsplit_once('@')
            .map_or(authority, |(_, host)| host);
        return Ok((host, path));
    }
    Ok(input.split_once('/').unwrap_or((input, "")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn addresses_as_people_paste_them_name_their_project() {
        let cases = [
            ("github.com/rust-lang/cargo", "github.com/rust-lang/cargo"),
            ("https://github.com/Owner/Repo", "github.com/Owner/Repo"),
            ("https://github.com/owner/repo.git", "github.com/owner/repo"),
            ("https://github.com/owner/repo/", "github.com/owner/repo"),
            (
                "https://github.com/owner/repo/tree/main/src/lib.rs",
                "github.com/owner/repo",
            ),
            (
                "https://github.com/owner/repo/pull/12",
                "github.com/owner/repo",
            ),
            (
                "https://github.com/owner/repo#readme",
                "github.com/owner/repo",
            ),
            (
                "https://github.com/owner/repo?tab=readme",
                "github.com/owner/repo",
            ),
            ("http://www.GitHub.com/owner/repo", "github.com/owner/repo"),
            ("git@github.com:owner/repo.git", "github.com/owner/repo"),
            (
                "ssh://git@github.com:22/owner/repo.git",
                "github.com/owner/repo",
            ),
            ("git://github.com/owner/repo", "github.com/owner/repo"),
            ("  github.com/owner/repo  ", "github.com/owner/repo"),
            (
                "https://gitlab.com/group/sub/repo/-/tree/main",
                "gitlab.com/group/sub/repo",
            ),
            (
                "git@gitlab.com:group/sub/repo.git",
                "gitlab.com/group/sub/repo",
            ),
            (
                "https://bitbucket.org/team/repo/src/main/",
                "bitbucket.org/team/repo",
            ),
            (
                "https://git.example.com/platform/tools/cli",
                "git.example.com/platform/tools/cli",
            ),
            (
                "https://user:secret@git.example.com/a/b",
                "git.example.com/a/b",
            ),
        ];
        for (input, slug) in cases {
            let found = slug_from_lookup(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(found.display(), slug, "{input}");
        }
    }

    #[test]
    fn what_names_no_repository_says_why() {
        let too_long = "a".repeat(MAX_LOOKUP_LEN + 1);
        let cases: &[(&str, LookupError)] = &[
            ("", LookupError::Empty),
            ("   ", LookupError::Empty),
            (&too_long, LookupError::TooLong),
            ("ftp://github.com/owner/repo", LookupError::Scheme),
            ("javascript://alert(1)", LookupError::Scheme),
            ("https://github.com", SlugError::MissingPath.into()),
            ("https://github.com/", SlugError::MissingPath.into()),
            ("cargo", SlugError::MissingPath.into()),
            (
                "localhost/owner/repo",
                SlugError::InvalidHost("localhost".into()).into(),
            ),
            (
                "github.com/owner/<script>",
                SlugError::InvalidSegment("<script>".into()).into(),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(slug_from_lookup(input).as_ref(), Err(expected), "{input:?}");
        }
    }

    proptest! {
        #[test]
        fn any_input_is_read_without_panicking(s in "\\PC{0,300}") {
            let _ = slug_from_lookup(&s);
        }

        #[test]
        fn every_address_form_of_a_slug_finds_it(
            owner in "[A-Za-z0-9][A-Za-z0-9_-]{0,20}",
            repo in "[A-Za-z0-9][A-Za-z0-9_.-]{0,20}",
        ) {
            prop_assume!(!repo.ends_with(".git") && repo != "." && repo != "..");
            let slug = format!("github.com/{owner}/{repo}");
            for input in [
                slug.clone(),
                format!("https://{slug}"),
                format!("https://{slug}.git"),
                format!("https://{slug}/tree/main"),
                format!("git@github.com:{owner}/{repo}.git"),
            ] {
                prop_assert_eq!(slug_from_lookup(&input).map(|s| s.display().to_owned()), Ok(slug.clone()), "{}", input);
            }
        }
    }
}
