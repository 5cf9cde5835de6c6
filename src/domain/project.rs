//! A project as stored: what the JSON API and the page show, and what the cache keeps of it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::access::{Access, Visibility};
use super::watch::{self, Watched, Watchful};
use super::{Dependency, Slug, Summary, ToolUsed};

/// What is stored about a project besides its dependencies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectMeta {
    pub slug: Slug,
    pub analyzed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The tools that produced the stored report, as it named them.
    pub tools: Vec<ToolUsed>,
    pub visibility: Visibility,
}

/// What the watcher knows about a project's packages (docs/contract.md §10).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectWatch {
    /// By package key: the registry's newest release and the advisories of each package.
    pub packages: HashMap<String, Watched>,
    /// When the registry data behind the status was last confirmed (the oldest confirmation
    /// among the project's packages); `None` before any.
    pub checked_at: Option<DateTime<Utc>>,
    /// When the advisory sources were last read; `None` before any.
    pub advisories_as_of: Option<DateTime<Utc>>,
}

/// A project's report as read back, for one scope selection.
#[derive(Debug, Clone)]
pub struct StoredProject {
    pub meta: ProjectMeta,
    pub summary: Summary,
    /// Every dependency of the report, in the order and with the values reported (what an
    /// export writes); [`Self::watched_dependencies`] is what users are shown.
    pub dependencies: Vec<Dependency>,
    pub watch: ProjectWatch,
    /// Who may read it.
    pub access: Access,
}

impl StoredProject {
    /// Every dependency with what the watcher knows of its package.
    pub fn watched_dependencies(&self) -> Vec<Watchful> {
        watch::apply_all(&self.dependencies, &self.watch.packages)
    }
}
