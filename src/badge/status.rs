//! What a status badge says (docs/contract.md §3.2): message and color for a project's status in a scope.

use chrono::{DateTime, Utc};

use crate::domain::{Status, Summary};

pub const DEFAULT_LABEL: &str = "dependencies";
pub const COMPACT_LABEL: &str = "deps";

/// The message and the shields.io color name of a badge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Face {
    pub message: String,
    pub color: &'static str,
}

impl Face {
    /// The badge for a status; a stale report keeps its message and turns lightgrey.
    pub fn of(summary: &Summary, stale: bool) -> Self {
        let counts = &summary.counts;
        let (message, color) = match summary.status {
            Status::UpToDate => ("up to date".to_owned(), "brightgreen"),
            Status::OutOfDate => (
                format!("{} of {} outdated", counts.outdated, counts.total),
                "yellow",
            ),
            Status::Vulnerable => (format!("{} insecure", counts.vulnerable), "red"),
            Status::None => ("none".to_owned(), "brightgreen"),
            Status::Unknown => ("unknown".to_owned(), "lightgrey"),
        };
        Self {
            message,
            color: if stale { "lightgrey" } else { color },
        }
    }

    /// No report for the project.
    pub fn no_report() -> Self {
        Self {
            message: "unknown".to_owned(),
            color: "lightgrey",
        }
    }

    /// An invalid slug or option: still an image, so that image proxies show something.
    pub fn invalid() -> Self {
        Self {
            message: "invalid".to_owned(),
            color: "lightgrey",
        }
    }

    /// The database is down and this replica has no earlier badge for the project.
    pub fn unavailable() -> Self {
        Self {
            message: "unavailable".to_owned(),
            color: "lightgrey",
        }
    }
}

/// When the badge last changed, seen at `now`: the report's write time, or the moment it went
/// stale if that is later (so that `If-Modified-Since` never hides the grey stale badge).
pub fn last_modified(
    updated_at: DateTime<Utc>,
    analyzed_at: DateTime<Utc>,
    stale_after: Option<std::time::Duration>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    match crate::domain::stale_at(analyzed_at, stale_after) {
        Some(stale_at) if now > stale_at => updated_at.max(stale_at),
        _ => updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Counts;

    fn summary(status: Status, total: u32, outdated: u32, vulnerable: u32) -> Summary {
        Summary {
            status,
            counts: Counts {
                total,
                up_to_date: total - outdated - vulnerable,
                outdated,
                vulnerable,
                unknown: 0,
            },
        }
    }

    #[test]
    fn last_modified_moves_to_the_moment_the_report_went_stale() {
        let day = chrono::Duration::days(1);
        let thirty_days = Some(std::time::Duration::from_secs(30 * 86_400));
        let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        // Written 20 days ago about an analysis 40 days old: stale since 10 days ago.
        let (updated_at, analyzed_at) = (now - day * 20, now - day * 40);
        let cases = [
            (thirty_days, now, now - day * 10),
            // Before it went stale, the write time.
            (thirty_days, now - day * 15, updated_at),
            // Stale when written: the write time is later than the moment it went stale.
            (
                Some(std::time::Duration::from_secs(86_400)),
                now,
                updated_at,
            ),
            (None, now, updated_at),
        ];
        for (stale_after, at, expected) in cases {
            assert_eq!(
                last_modified(updated_at, analyzed_at, stale_after, at),
                expected,
                "{stale_after:?} at {at}"
            );
        }
    }

    #[test]
    fn messages_and_colors_follow_the_spec_table() {
        let cases = [
            (
                summary(Status::UpToDate, 12, 0, 0),
                false,
                "up to date",
                "brightgreen",
            ),
            (
                summary(Status::OutOfDate, 12, 3, 0),
                false,
                "3 of 12 outdated",
                "yellow",
            ),
            (
                summary(Status::Vulnerable, 12, 3, 1),
                false,
                "1 insecure",
                "red",
            ),
            (summary(Status::None, 0, 0, 0), false, "none", "brightgreen"),
            (
                summary(Status::Unknown, 2, 0, 0),
                false,
                "unknown",
                "lightgrey",
            ),
            (
                summary(Status::OutOfDate, 12, 3, 0),
                true,
                "3 of 12 outdated",
                "lightgrey",
            ),
            (
                summary(Status::UpToDate, 1, 0, 0),
                true,
                "up to date",
                "lightgrey",
            ),
        ];
        for (summary, stale, message, color) in cases {
            assert_eq!(
                Face::of(&summary, stale),
                Face {
                    message: message.to_owned(),
                    color
                },
                "{summary:?} stale={stale}"
            );
        }
    }
}
