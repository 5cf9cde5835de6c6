//! shields.io's static badge grammar: `/badge/{label}-{message}-{color}.svg`, or
//! `{message}-{color}`, where `--` is a dash, `__` an underscore and `_` a space.

use super::render::BadgeSpec;
use super::text::clean;

/// Longer static badge paths are refused: texts are cut at 255 characters anyway.
pub const MAX_SPEC_LEN: usize = 1024;

/// Parses the part of the path before `.svg` (already percent-decoded).
pub fn parse(spec: &str) -> Option<BadgeSpec> {
    if spec.is_empty() || spec.len() > MAX_SPEC_LEN {
        return None;
    }
    let parts = split_on_single_dashes(spec);
    let (label, message, color) = match parts.as_slice() {
        [label, message, color] => (
            clean(&unescape(label)),
            clean(&unescape(message)),
            color.clone(),
        ),
        [message, color] => (String::new(), clean(&unescape(message)), color.clone()),
        _ => return None,
    };
    Some(BadgeSpec {
        label,
        message,
        color: Some(color),
        label_color: None,
        style: Default::default(),
    })
}

/// Splits on `-` but not on `--` (an escaped dash, kept as one `-`).
fn split_on_single_dashes(spec: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '-' if chars.peek() == Some(&'-') => {
                chars.next();
                if let Some(part) = parts.last_mut() {
                    part.push('-');
                }
            }
            '-' => parts.push(String::new()),
            c => {
                if let Some(part) = parts.last_mut() {
                    part.push(c);
                }
            }
        }
    }
    parts
}

/// `__` is an underscore, a lone `_` a space.
fn unescape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    let mut chars = part.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '_' if chars.peek() == Some(&'_') => {
                chars.next();
                out.push('_');
            }
            '_' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(spec: &str) -> Option<(String, String, String)> {
        parse(spec).map(|b| (b.label, b.message, b.color.unwrap_or_default()))
    }

    #[test]
    fn the_shields_grammar() {
        let cases = [
            (
                "build-passing-brightgreen",
                ("build", "passing", "brightgreen"),
            ),
            ("just_the_message-blue", ("", "just the message", "blue")),
            ("a--b-c--d-red", ("a-b", "c-d", "red")),
            (
                "snake__case-with_space-ff69b4",
                ("snake_case", "with space", "ff69b4"),
            ),
            (
                "--dash-start--end---green",
                ("-dash", "start-end-", "green"),
            ),
            ("-empty label-grey", ("", "empty label", "grey")),
            ("🦀-crab-orange", ("🦀", "crab", "orange")),
        ];
        for (spec, (label, message, color)) in cases {
            assert_eq!(
                texts(spec),
                Some((label.to_owned(), message.to_owned(), color.to_owned())),
                "{spec}"
            );
        }
    }

    #[test]
    fn other_shapes_are_invalid() {
        for spec in ["", "onlyone", "a-b-c-d", &"x".repeat(MAX_SPEC_LEN + 1)] {
            assert_eq!(parse(spec), None, "{spec}");
        }
    }
}
