//! Parsers for configuration values: humantime durations, byte sizes, booleans.

use std::time::Duration;

/// `300`, `300s`, `5m`, `30d`: a bare number is seconds, anything else is humantime.
pub fn duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(value).map_err(|e| {
        format!("`{value}` is not a duration ({e}); use seconds or a form like 300s, 5m, 30d")
    })
}

/// `1048576`, `512KiB`, `64MiB`, `1GiB`, `10MB`: a bare number is bytes.
pub fn byte_size(value: &str) -> Result<u64, String> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "kB" | "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => {
            return Err(format!(
                "`{value}` is not a size; use bytes or a form like 512KiB, 64MiB"
            ));
        }
    };
    number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .filter(|&n| n > 0)
        .ok_or_else(|| {
            format!("`{value}` is not a positive size; use bytes or a form like 512KiB, 64MiB")
        })
}

pub fn boolean(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        other => Err(format!("`{other}` is not a boolean; use true or false")),
    }
}

/// A public base URL: `http(s)://host[:port][/path]`, no query or fragment; a trailing `/` is
/// dropped so that paths can be appended.
pub fn public_url(value: &str) -> Result<String, String> {
    let url = value.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{value}` is not an http:// or https:// URL"))?;
    let host = rest.split('/').next().unwrap_or_default();
    let safe = |b: u8| b.is_ascii_alphanumeric() || b"-._~/:%[]".contains(&b);
    if host.is_empty() || url.len() > 2048 || !rest.bytes().all(safe) {
        return Err(format!(
            "`{value}` is not a base URL like https://badges.example.com (no query, no fragment)"
        ));
    }
    Ok(url.to_owned())
}

/// OSV sources: each a directory (an absolute or relative path) or an http(s) URL.
pub fn advisory_sources(value: &str) -> Result<Vec<String>, String> {
    let sources: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    for source in &sources {
        if source.contains("://") && public_url(source).is_err() {
            return Err(format!(
                "`{source}` is neither a directory nor an http(s) URL"
            ));
        }
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_or_humantime_forms() {
        for (input, seconds) in [
            ("300", 300),
            ("300s", 300),
            ("5m", 300),
            ("30d", 2_592_000),
            ("1h 30m", 5_400),
            ("0", 0),
        ] {
            assert_eq!(duration(input), Ok(Duration::from_secs(seconds)), "{input}");
        }
        for bad in ["", "five minutes", "-1", "5 parsecs"] {
            assert!(duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sizes_take_bytes_or_binary_and_decimal_units() {
        for (input, bytes) in [
            ("1048576", 1_048_576),
            ("512KiB", 524_288),
            ("64MiB", 67_108_864),
            ("1GiB", 1 << 30),
            ("10MB", 10_000_000),
            ("10kB", 10_000),
            ("10KB", 10_000),
            ("2GB", 2_000_000_000),
            ("7B", 7),
        ] {
            assert_eq!(byte_size(input), Ok(bytes), "{input}");
        }
        for bad in [
            "",
            "0",
            "MiB",
            "1.5MiB",
            "-1",
            "64mb",
            "99999999999999999999",
        ] {
            assert!(byte_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn public_urls_are_http_base_urls() {
        for (value, expected) in [
            ("https://badges.example.com", "https://badges.example.com"),
            ("https://badges.example.com/", "https://badges.example.com"),
            ("http://127.0.0.1:8080/deps/", "http://127.0.0.1:8080/deps"),
        ] {
            assert_eq!(public_url(value).as_deref(), Ok(expected), "{value}");
        }
        for value in [
            "badges.example.com",
            "ftp://example.com",
            "https://",
            "https://example.com/?q=1",
            "https://example.com/#top",
            "https://exa mple.com",
            "javascript:alert(1)",
            "https://example.com/\"><script>",
            "https:///no-host",
        ] {
            assert!(public_url(value).is_err(), "{value}");
        }
        // At most 2,048 characters.
        let at_most = format!("https://example.com/{}", "a".repeat(2048 - 20));
        assert_eq!(at_most.len(), 2048);
        assert_eq!(public_url(&at_most).as_deref(), Ok(at_most.as_str()));
        assert!(public_url(&format!("{at_most}a")).is_err());
    }
}
