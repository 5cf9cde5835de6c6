//! The generic version order (docs/contract.md §2.1) for ecosystems without an order of their own:
//! dot/dash separated segments, numeric segments compared as numbers, a segment with letters
//! before any number, and missing trailing zero segments equal to zero (`1.0 == 1.0.0`).

use std::cmp::Ordering;

#[derive(Debug, PartialEq, Eq)]
enum Segment<'a> {
    /// Digits with leading zeros removed, so that `01 == 1` and numbers of any length compare.
    Number(&'a str),
    /// A segment with at least one letter, such as `rc1`, `beta` or `SNAPSHOT`.
    Text(&'a str),
}

const ZERO: Segment<'static> = Segment::Number("");

pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (segments(a)?, segments(b)?);
    let len = a.len().max(b.len());
    for i in 0..len {
        let ordering = compare_segment(a.get(i).unwrap_or(&ZERO), b.get(i).unwrap_or(&ZERO));
        if ordering != Ordering::Equal {
            return Some(ordering);
        }
    }
    Some(Ordering::Equal)
}

fn segments(input: &str) -> Option<Vec<Segment<'_>>> {
    let trimmed = input.trim();
    // `v1.2` is a tag name for version 1.2, not a version whose first segment is a word.
    let bare = match trimmed.strip_prefix(['v', 'V']) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => trimmed,
    };
    if bare.is_empty()
        || !bare
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || is_separator(b))
    {
        return None;
    }
    let segments: Vec<Segment<'_>> = bare
        .split(|c: char| c.is_ascii() && is_separator(c as u8))
        .filter(|s| !s.is_empty())
        .map(|s| {
            if s.bytes().all(|b| b.is_ascii_digit()) {
                Segment::Number(s.trim_start_matches('0'))
            } else {
                Segment::Text(s)
            }
        })
        .collect();
    (!segments.is_empty()).then_some(segments)
}

fn is_separator(b: u8) -> bool {
    matches!(b, b'.' | b'-' | b'_' | b'+' | b'~')
}

fn compare_segment(a: &Segment<'_>, b: &Segment<'_>) -> Ordering {
    match (a, b) {
        (Segment::Number(a), Segment::Number(b)) => compare_digits(a, b),
        (Segment::Text(_), Segment::Number(_)) => Ordering::Less,
        (Segment::Number(_), Segment::Text(_)) => Ordering::Greater,
        (Segment::Text(a), Segment::Text(b)) => compare_text(a, b),
    }
}

/// Compares two texts run by run: `rc2 < rc10`, `alpha < beta`, case-insensitively.
fn compare_text(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (runs(a), runs(b));
    loop {
        match (a.next(), b.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let x_digits = x.bytes().all(|c| c.is_ascii_digit());
                let y_digits = y.bytes().all(|c| c.is_ascii_digit());
                let ordering = match (x_digits, y_digits) {
                    (true, true) => {
                        compare_digits(x.trim_start_matches('0'), y.trim_start_matches('0'))
                    }
                    (false, true) => Ordering::Less,
                    (true, false) => Ordering::Greater,
                    (false, false) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
                };
                if ordering != Ordering::Equal {
                    return ordering;
                }
            }
        }
    }
}

/// Splits `rc10a` into `rc`, `10`, `a`.
fn runs(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let digit = first.is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digit)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some(run)
    })
}

/// Compares two non-negative integers written in decimal without leading zeros.
pub(super) fn compare_digits(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}
