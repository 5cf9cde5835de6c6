//! Colors as badge-maker 6 reads them (its `color.js`): the current shields.io palette, the
//! aliases, bare hex, and CSS colors. The `shields` crate still has the older palette, so named
//! colors are resolved here to badge-maker 6's hex values before it sees them.

/// badge-maker 6's `namedColors`.
pub const PALETTE: [(&str, &str); 9] = [
    ("brightgreen", "#4b0"),
    ("green", "#67ac09"),
    ("yellow", "#d8b800"),
    ("yellowgreen", "#95991a"),
    ("orange", "#ea7233"),
    ("red", "#dd4343"),
    ("blue", "#007ec6"),
    ("grey", "#555"),
    ("lightgrey", "#939393"),
];

const ALIASES: [(&str, &str); 7] = [
    ("gray", "grey"),
    ("lightgray", "lightgrey"),
    ("critical", "red"),
    ("important", "orange"),
    ("success", "brightgreen"),
    ("informational", "blue"),
    ("inactive", "lightgrey"),
];

/// badge-maker's default message color when none (or an invalid one) is given.
pub const DEFAULT_MESSAGE_COLOR: &str = "#4b0";

/// Longer color texts are invalid (the default applies). badge-maker has no limit, but every
/// color it knows fits (`rgba(255, 255, 255, 0.5)` is 25 bytes), and an unbounded text would
/// make the rendered-badge cache pay for whatever a client sends.
pub const MAX_COLOR_LEN: usize = 64;

/// A color as written into the SVG, or `None` for an invalid color (the caller's default applies).
/// Matching is case-sensitive for names, as in badge-maker. Applying it to its own result gives
/// the same result, so it also serves as the color's normalized form.
pub fn to_svg_color(color: &str) -> Option<String> {
    if color.len() > MAX_COLOR_LEN {
        return None;
    }
    let name = ALIASES
        .iter()
        .find(|(alias, _)| *alias == color)
        .map_or(color, |(_, name)| name);
    if let Some((_, hex)) = PALETTE.iter().find(|(named, _)| *named == name) {
        return Some((*hex).to_owned());
    }
    let bare_hex = matches!(color.len(), 3 | 6) && color.bytes().all(|b| b.is_ascii_hexdigit());
    if bare_hex {
        return Some(format!("#{}", color.to_ascii_lowercase()));
    }
    // Any other CSS color passes through lowercased (badge-maker does not trim it either).
    let trimmed = color.trim();
    (!trimmed.is_empty() && csscolorparser::parse(trimmed).is_ok())
        .then(|| color.to_ascii_lowercase())
}

/// Whether badge-maker would accept `color` (else the default color applies).
pub fn is_valid(color: &str) -> bool {
    to_svg_color(color).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_colors_and_aliases_use_the_badge_maker_6_palette() {
        assert_eq!(to_svg_color("brightgreen").as_deref(), Some("#4b0"));
        assert_eq!(to_svg_color("success").as_deref(), Some("#4b0"));
        assert_eq!(to_svg_color("lightgray").as_deref(), Some("#939393"));
        assert_eq!(to_svg_color("critical").as_deref(), Some("#dd4343"));
    }

    #[test]
    fn hex_css_and_invalid_colors() {
        let cases = [
            ("ABCDEF", Some("#abcdef")),
            ("4b0", Some("#4b0")),
            ("#FFF", Some("#fff")),
            ("rgb(0,128,255)", Some("rgb(0,128,255)")),
            ("hsl(120, 100%, 25%)", Some("hsl(120, 100%, 25%)")),
            ("RebeccaPurple", Some("rebeccapurple")),
            ("notacolor", None),
            ("#12345", None),
            ("", None),
            ("\"><script>", None),
        ];
        for (input, expected) in cases {
            assert_eq!(to_svg_color(input).as_deref(), expected, "{input:?}");
        }
    }
}
