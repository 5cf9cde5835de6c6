//! Freshness of one dependency (docs/contract.md §2.1) and status of a project for a scope selection (docs/contract.md §2.2).

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::access::Access;
use super::report::Scope;
use super::version::Ecosystem;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Freshness {
    UpToDate,
    Outdated,
    Vulnerable,
    Unknown,
}

impl Freshness {
    /// contract §2.1: vulnerable beats outdated beats up-to-date; anything unparseable is unknown.
    pub fn of(
        ecosystem: &Ecosystem,
        version: &str,
        latest: Option<&str>,
        vulnerable: bool,
    ) -> Self {
        if vulnerable {
            return Self::Vulnerable;
        }
        match latest.and_then(|latest| ecosystem.compare(version, latest)) {
            Some(Ordering::Less) => Self::Outdated,
            Some(Ordering::Equal | Ordering::Greater) => Self::UpToDate,
            None => Self::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UpToDate => "up-to-date",
            Self::Outdated => "outdated",
            Self::Vulnerable => "vulnerable",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::UpToDate,
            Self::Outdated,
            Self::Vulnerable,
            Self::Unknown,
        ]
        .into_iter()
        .find(|f| f.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    UpToDate,
    OutOfDate,
    Vulnerable,
    None,
    Unknown,
}

impl Status {
    pub const ALL: [Self; 5] = [
        Self::UpToDate,
        Self::OutOfDate,
        Self::Vulnerable,
        Self::None,
        Self::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::UpToDate => "up-to-date",
            Self::OutOfDate => "out-of-date",
            Self::Vulnerable => "vulnerable",
            Self::None => "none",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// Which dependencies a badge or status counts (`?scope=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ScopeSelection {
    /// Everything that is not a dev dependency: runtime, build and optional.
    #[default]
    Runtime,
    Dev,
    All,
}

impl ScopeSelection {
    pub const ALL: [Self; 3] = [Self::Runtime, Self::Dev, Self::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Runtime => "runtime",
            Self::Dev => "dev",
            Self::All => "all",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|selection| selection.as_str() == s)
    }

    pub fn includes(self, scope: Scope) -> bool {
        match self {
            Self::Runtime => scope != Scope::Dev,
            Self::Dev => scope == Scope::Dev,
            Self::All => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    pub total: u32,
    pub up_to_date: u32,
    pub outdated: u32,
    pub vulnerable: u32,
    pub unknown: u32,
}

/// The status and counts of one scope selection, computed when a report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub status: Status,
    pub counts: Counts,
}

impl Summary {
    /// The summary of a project with no report.
    pub const NO_REPORT: Self = Self {
        status: Status::Unknown,
        counts: Counts {
            total: 0,
            up_to_date: 0,
            outdated: 0,
            vulnerable: 0,
            unknown: 0,
        },
    };

    /// contract §2.2, applied to the dependencies that `selection` includes.
    pub fn of(
        dependencies: impl IntoIterator<Item = (Scope, Freshness)>,
        selection: ScopeSelection,
    ) -> Self {
        let mut counts = Counts::default();
        for (_, freshness) in dependencies
            .into_iter()
            .filter(|(scope, _)| selection.includes(*scope))
        {
            counts.total += 1;
            match freshness {
                Freshness::UpToDate => counts.up_to_date += 1,
                Freshness::Outdated => counts.outdated += 1,
                Freshness::Vulnerable => counts.vulnerable += 1,
                Freshness::Unknown => counts.unknown += 1,
            }
        }
        let status = if counts.vulnerable > 0 {
            Status::Vulnerable
        } else if counts.outdated > 0 {
            Status::OutOfDate
        } else if counts.up_to_date > 0 {
            Status::UpToDate
        } else if counts.total == 0 {
            Status::None
        } else {
            Status::Unknown
        };
        Self { status, counts }
    }
}

/// A project's status for one scope with the report's times: everything a badge needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeStatus {
    pub summary: Summary,
    pub analyzed_at: DateTime<Utc>,
    /// When the report was written: the badge's Last-Modified.
    pub updated_at: DateTime<Utc>,
}

/// A project's status for one scope as a badge read needs it: with who may read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardedStatus {
    pub status: ScopeStatus,
    pub access: Access,
}

/// contract §3.2: when a report analyzed at `analyzed_at` turns stale (shown grey from then on);
/// `None` when it never does: no limit, or one beyond the calendar.
pub fn stale_at(
    analyzed_at: DateTime<Utc>,
    stale_after: Option<std::time::Duration>,
) -> Option<DateTime<Utc>> {
    let limit = chrono::Duration::from_std(stale_after?).ok()?;
    analyzed_at.checked_add_signed(limit)
}

/// Whether a report older than `stale_after` is stale at `now`; `None` disables the rule.
pub fn is_stale(
    analyzed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    stale_after: Option<std::time::Duration>,
) -> bool {
    stale_at(analyzed_at, stale_after).is_some_and(|at| now > at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    use Freshness::{Outdated as O, Unknown as U, UpToDate as Up, Vulnerable as V};
    use Scope::{Build, Dev, Optional, Runtime};

    #[test]
    fn freshness_follows_the_spec_rules() {
        let cargo = Ecosystem::Cargo;
        let cases = [
            ("1.0.0", Some("1.0.1"), false, Freshness::Outdated),
            ("1.0.1", Some("1.0.1"), false, Freshness::UpToDate),
            ("2.0.0-rc.1", Some("1.9.0"), false, Freshness::UpToDate),
            ("1.0.0", Some("1.0.1"), true, Freshness::Vulnerable),
            ("1.0.1", Some("1.0.1"), true, Freshness::Vulnerable),
            ("1.0.0", None, false, Freshness::Unknown),
            ("1.0.0", None, true, Freshness::Vulnerable),
            ("not-a-version", Some("1.0.0"), false, Freshness::Unknown),
            ("1.0.0", Some("latest"), false, Freshness::Unknown),
        ];
        for (version, latest, vulnerable, expected) in cases {
            assert_eq!(
                Freshness::of(&cargo, version, latest, vulnerable),
                expected,
                "{version} {latest:?} {vulnerable}"
            );
        }
    }

    #[test]
    fn status_and_counts_follow_the_scope_selection() {
        let report = [
            (Runtime, Up),
            (Build, O),
            (Optional, U),
            (Dev, V),
            (Dev, Up),
        ];
        let table = [
            (ScopeSelection::Runtime, Status::OutOfDate, (3, 1, 1, 0, 1)),
            (ScopeSelection::Dev, Status::Vulnerable, (2, 1, 0, 1, 0)),
            (ScopeSelection::All, Status::Vulnerable, (5, 2, 1, 1, 1)),
        ];
        for (selection, status, (total, up_to_date, outdated, vulnerable, unknown)) in table {
            let summary = Summary::of(report, selection);
            assert_eq!(summary.status, status, "{selection:?}");
            assert_eq!(
                summary.counts,
                Counts {
                    total,
                    up_to_date,
                    outdated,
                    vulnerable,
                    unknown
                },
                "{selection:?}"
            );
        }
    }

    #[test]
    fn project_status_rules() {
        let cases: &[(&[(Scope, Freshness)], Status)] = &[
            (&[], Status::None),
            (&[(Dev, V)], Status::None), // runtime selection of a dev-only report
            (&[(Runtime, U)], Status::Unknown),
            (&[(Runtime, U), (Runtime, U)], Status::Unknown),
            (&[(Runtime, U), (Runtime, Up)], Status::UpToDate),
            (&[(Runtime, Up), (Runtime, O)], Status::OutOfDate),
            (
                &[(Runtime, O), (Runtime, V), (Runtime, Up)],
                Status::Vulnerable,
            ),
        ];
        for (dependencies, expected) in cases {
            assert_eq!(
                Summary::of(dependencies.iter().copied(), ScopeSelection::Runtime).status,
                *expected,
                "{dependencies:?}"
            );
        }
    }

    #[test]
    fn reports_older_than_the_limit_are_stale_and_zero_disables_the_rule() {
        let analyzed = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
        let thirty_days = Some(std::time::Duration::from_secs(30 * 86_400));
        assert!(!is_stale(
            analyzed,
            analyzed + chrono::Duration::days(30),
            thirty_days
        ));
        assert!(is_stale(
            analyzed,
            analyzed + chrono::Duration::days(31),
            thirty_days
        ));
        assert!(!is_stale(
            analyzed,
            analyzed + chrono::Duration::days(3650),
            None
        ));
    }

    #[test]
    fn status_and_scope_names_round_trip() {
        for status in Status::ALL {
            assert_eq!(Status::parse(status.as_str()), Some(status));
        }
        for selection in ScopeSelection::ALL {
            assert_eq!(ScopeSelection::parse(selection.as_str()), Some(selection));
        }
        assert_eq!(Status::parse("outdated"), None);
        assert_eq!(ScopeSelection::parse("build"), None);
    }
}
