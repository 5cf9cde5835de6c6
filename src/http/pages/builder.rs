//! The badge builder on a project's page: the badge options read from the page's own query
//! (the builder is a GET form, so it works without script), and the snippets that embed the badge
//! with a link to the page. `assets/builder.js` builds the same strings in the browser as the form
//! changes; the browser test holds the two to each other.

use crate::badge::Style;
use crate::domain::ScopeSelection;

use super::super::badges::compact_flag;
use super::super::extract::QueryParams;

/// The badge's alternative text in every snippet.
const ALT: &str = "dependencies";

/// The options a badge URL carries, as the form shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuilderOptions {
    pub style: Style,
    pub scope: ScopeSelection,
    pub label: String,
    pub compact: bool,
    pub color: String,
    pub label_color: String,
}

impl BuilderOptions {
    /// What the page's query says; a value the badge would not take is shown as the default.
    pub fn from_query(query: &QueryParams, scope: ScopeSelection) -> Self {
        let text = |name: &str| query.get(name).unwrap_or_default().trim().to_owned();
        Self {
            style: query
                .get("style")
                .and_then(Style::parse)
                .unwrap_or_default(),
            scope,
            label: text("label"),
            compact: compact_flag(query.get("compact")).unwrap_or_default(),
            color: text("color"),
            label_color: text("labelColor"),
        }
    }

    /// The badge URL's query pairs: defaults left out, in the order the script uses, then the
    /// key of a private project.
    pub fn badge_query<'a>(&'a self, key: Option<&'a str>) -> Vec<(&'static str, &'a str)> {
        let mut pairs = Vec::new();
        if self.style != Style::default() {
            pairs.push(("style", self.style.as_str()));
        }
        if self.scope != ScopeSelection::default() {
            pairs.push(("scope", self.scope.as_str()));
        }
        let texts = [
            ("label", self.label.as_str()),
            ("compact", if self.compact { "true" } else { "" }),
            ("color", self.color.as_str()),
            ("labelColor", self.label_color.as_str()),
            ("key", key.unwrap_or_default()),
        ];
        pairs.extend(texts.into_iter().filter(|(_, value)| !value.is_empty()));
        pairs
    }
}

/// One badge, embedded four ways, each wrapped in a link to the project's page.
#[derive(Debug, PartialEq, Eq)]
pub struct Snippets {
    pub markdown: String,
    pub html: String,
    pub rst: String,
    pub asciidoc: String,
}

impl Snippets {
    pub fn new(badge_url: &str, page_url: &str) -> Self {
        Self {
            markdown: format!("[![{ALT}]({badge_url})]({page_url})"),
            html: format!(
                "<a href=\"{}\"><img src=\"{}\" alt=\"{ALT}\"></a>",
                attribute(page_url),
                attribute(badge_url)
            ),
            rst: format!(".. image:: {badge_url}\n   :target: {page_url}\n   :alt: {ALT}"),
            asciidoc: format!("image:{badge_url}[{ALT},link=\"{page_url}\"]"),
        }
    }
}

impl Snippets {
    /// Each with its element id and its name, in the order the page shows them.
    pub fn named(self) -> [(&'static str, &'static str, String); 4] {
        [
            ("markdown", "Markdown", self.markdown),
            ("html", "HTML", self.html),
            ("rst", "reStructuredText", self.rst),
            ("asciidoc", "AsciiDoc", self.asciidoc),
        ]
    }
}

/// A URL as an HTML attribute value (double-quoted).
fn attribute(url: &str) -> String {
    url.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(text: &str) -> QueryParams {
        QueryParams::parse(text).unwrap()
    }

    #[test]
    fn the_badge_query_leaves_defaults_out_and_keeps_the_key_last() {
        let cases = [
            ("", None, ""),
            ("style=flat&scope=runtime&label=&compact=false", None, ""),
            ("style=plastic", None, "style=plastic"),
            ("style=nonsense", None, ""),
            (
                "labelColor=%23555&color=blue&compact=true&label=deps%20%26%20co&style=social",
                None,
                "style=social&label=deps+%26+co&compact=true&color=blue&labelColor=%23555",
            ),
            ("label=%20%20spaced%20", None, "label=spaced"),
            (
                "style=for-the-badge",
                Some("k1"),
                "style=for-the-badge&key=k1",
            ),
        ];
        for (input, key, expected) in cases {
            let parsed = query(input);
            let scope = parsed.scope().unwrap();
            let options = BuilderOptions::from_query(&parsed, scope);
            let pairs = options.badge_query(key);
            assert_eq!(
                serde_urlencoded::to_string(&pairs).unwrap(),
                expected,
                "{input}"
            );
        }
        let dev = query("scope=dev");
        let options = BuilderOptions::from_query(&dev, dev.scope().unwrap());
        assert_eq!(options.badge_query(None), [("scope", "dev")]);
    }

    #[test]
    fn every_snippet_links_the_badge_to_the_page() {
        let snippets = Snippets::new(
            "https://b.example/badges/github.com/o/r.svg?style=flat-square&color=blue",
            "https://b.example/projects/github.com/o/r",
        );
        assert_eq!(
            snippets,
            Snippets {
                markdown: "[![dependencies](https://b.example/badges/github.com/o/r.svg?style=flat-square&color=blue)](https://b.example/projects/github.com/o/r)".into(),
                html: "<a href=\"https://b.example/projects/github.com/o/r\"><img src=\"https://b.example/badges/github.com/o/r.svg?style=flat-square&amp;color=blue\" alt=\"dependencies\"></a>".into(),
                rst: ".. image:: https://b.example/badges/github.com/o/r.svg?style=flat-square&color=blue\n   :target: https://b.example/projects/github.com/o/r\n   :alt: dependencies".into(),
                asciidoc: "image:https://b.example/badges/github.com/o/r.svg?style=flat-square&color=blue[dependencies,link=\"https://b.example/projects/github.com/o/r\"]".into(),
            }
        );
    }
}
