//! Badge text hygiene (docs/contract.md §3.3): trimmed, control characters removed, at most 255 characters.
//! XML escaping is the renderer's job and is checked by the fixture tests.

pub const MAX_TEXT_CHARS: usize = 255;

/// JavaScript's `String.prototype.trim` (which badge-maker applies) also strips U+FEFF.
fn is_trimmed(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

pub fn clean(text: &str) -> String {
    let without_controls: String = text.chars().filter(|c| !c.is_control()).collect();
    let trimmed = without_controls.trim_matches(is_trimmed);
    match trimmed.char_indices().nth(MAX_TEXT_CHARS) {
        Some((cut, _)) => trimmed[..cut].trim_end_matches(is_trimmed).to_owned(),
        None => trimmed.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_is_trimmed_cleaned_and_cut() {
        let cases = [
            ("  up to date  ", "up to date"),
            ("\tmessage \n", "message"),
            ("\u{feff}bom", "bom"),
            ("a\u{0}b\u{1b}[31mc\u{7f}", "ab[31mc"),
            ("line\nbreak", "linebreak"),
            ("\u{1} x", "x"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(clean(input), expected, "{input:?}");
        }
        assert_eq!(clean(&"é".repeat(300)).chars().count(), MAX_TEXT_CHARS);
        assert_eq!(clean(&format!("{} b", "a".repeat(254))), "a".repeat(254));
    }

    proptest! {
        #[test]
        fn cleaned_text_is_bounded_and_has_no_controls(s in "\\PC*|[\\x00-\\x1f a-z]*") {
            let cleaned = clean(&s);
            prop_assert!(cleaned.chars().count() <= MAX_TEXT_CHARS);
            prop_assert!(!cleaned.chars().any(char::is_control));
            prop_assert_eq!(clean(&cleaned), cleaned.clone());
        }
    }
}
