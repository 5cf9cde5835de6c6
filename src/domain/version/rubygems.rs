//! RubyGems' `Gem::Version#<=>`, ported from rubygems/version.rb: `1.0.0.pre < 1.0.0 < 1.0.0.1`.
//! A `-` starts a pre-release (`1.0-beta` is `1.0.pre.beta`); letters sort before numbers;
//! trailing zeros of the release and of the pre-release part are ignored (`1.0 == 1`).

use std::cmp::Ordering;

use super::generic::compare_digits;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Digits without leading zeros.
    Number(String),
    Text(String),
}

pub(super) fn compare(a: &str, b: &str) -> Option<Ordering> {
    let (a, b) = (canonical_segments(a)?, canonical_segments(b)?);
    let zero = Segment::Number(String::new());
    for i in 0..a.len().max(b.len()) {
        let ordering = match (a.get(i).unwrap_or(&zero), b.get(i).unwrap_or(&zero)) {
            (Segment::Number(x), Segment::Number(y)) => compare_digits(x, y),
            (Segment::Text(_), Segment::Number(_)) => Ordering::Less,
            (Segment::Number(_), Segment::Text(_)) => Ordering::Greater,
            // Ruby compares strings byte by byte, so `B < a`.
            (Segment::Text(x), Segment::Text(y)) => x.cmp(y),
        };
        if ordering != Ordering::Equal {
            return Some(ordering);
        }
    }
    Some(Ordering::Equal)
}

/// `Gem::Version::ANCHORED_VERSION_PATTERN`:
/// `[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?`, surrounded by optional spaces.
fn is_valid(version: &str) -> bool {
    let (release, prerelease) = match version.split_once('-') {
        Some((release, prerelease)) => (release, Some(prerelease)),
        None => (version, None),
    };
    let mut parts = release.split('.');
    let starts_with_number = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let release_ok = starts_with_number
        && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    let prerelease_ok = prerelease.is_none_or(|pre| {
        pre.split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
    });
    release_ok && prerelease_ok
}

fn canonical_segments(input: &str) -> Option<Vec<Segment>> {
    let trimmed = input.trim();
    if !is_valid(trimmed) {
        return None;
    }
    let version = trimmed.replace('-', ".pre.");
    let segments = scan(&version);
    // Split at the first text segment, drop trailing zeros of each half (canonical_segments).
    let first_text = segments
        .iter()
        .position(|s| matches!(s, Segment::Text(_)))
        .unwrap_or(segments.len());
    let (release, prerelease) = segments.split_at(first_text);
    let mut canonical = without_trailing_zeros(release);
    canonical.extend(without_trailing_zeros(prerelease));
    Some(canonical)
}

fn without_trailing_zeros(segments: &[Segment]) -> Vec<Segment> {
    let keep = segments
        .iter()
        .rposition(|s| *s != Segment::Number(String::new()))
        .map_or(0, |i| i + 1);
    segments[..keep].to_vec()
}

/// `@version.scan(/[0-9]+|[a-z]+/i)`: runs of digits and runs of letters; dots are dropped.
fn scan(version: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let bytes = version.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        if bytes[i].is_ascii_digit() {
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            segments.push(Segment::Number(
                version[start..i].trim_start_matches('0').to_owned(),
            ));
        } else if bytes[i].is_ascii_alphabetic() {
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            segments.push(Segment::Text(version[start..i].to_owned()));
        } else {
            i += 1;
        }
    }
    segments
}
